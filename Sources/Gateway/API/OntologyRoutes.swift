import Core
import Write

/// Ontology classes under `/api/v1/database/{db}/ontology` (the original's paths).
enum OntologyRoutes {
    static func register(on router: RouteGroup, write: WritePath, responses: CommandResponses, limits: GatewayLimits) {
        let json = JSONParser.Limits(maxDepth: limits.maxJSONDepth)
        let base = "/api/v1/database/{db}/ontology"

        router.post(base, .async { request in
            let options = try WriteRequestOptions(request)
            let accepted = try await write.ontology.create(database: request.parameter("db"),
                                                           definition: .object(try request.jsonObjectBody(limits: json)),
                                                           context: options.context)
            return try await responses.respond(to: accepted, options: options, createdStatus: 201)
        })
        router.post(base + "/validate", .async { request in
            let report = try await write.ontology.validate(database: request.parameter("db"),
                                                           definition: .object(try request.jsonObjectBody(limits: json)))
            return .json(report.json)
        })
        router.post(base + "/{class_id}/validate", .async { request in
            let current = try await write.ontology.get(database: request.parameter("db"), classId: request.parameter("class_id"))
            let existing = try OntologyClass(json: current.state)
            let update = try OntologyClassUpdate(json: .object(try request.jsonObjectBody(limits: json)))
            do {
                let merged = try update.applied(to: existing)
                return .json(["valid": true, "class": merged.json, "errors": [], "warnings": []])
            } catch let problem as Problem {
                return .json(["valid": false, "errors": [problem.json], "warnings": []])
            }
        })
        router.get(base, .async { request in
            let (limit, offset) = try request.paging()
            let page = try await write.ontology.list(database: request.parameter("db"), limit: limit, offset: offset)
            let classes = page.map { describe($0.snapshot, preferred: request.preferredLanguages) }
            return .json(["classes": .array(classes), "limit": .number(Double(limit)), "offset": .number(Double(offset))])
        })
        router.get(base + "/{class_id}", .async { request in
            let snapshot = try await write.ontology.get(database: request.parameter("db"), classId: request.parameter("class_id"))
            var response = Response.json(describe(snapshot, preferred: request.preferredLanguages))
            response.headers.add("etag", "\"\(snapshot.sequenceNumber)\"")
            return response
        })
        router.put(base + "/{class_id}", .async { request in
            let options = try WriteRequestOptions(request)
            let accepted = try await write.ontology.update(
                database: request.parameter("db"), classId: request.parameter("class_id"),
                patch: .object(try request.jsonObjectBody(limits: json)),
                expectedSequence: try WriteRequestOptions.expectedSequence(request), context: options.context)
            return try await responses.respond(to: accepted, options: options)
        })
        router.delete(base + "/{class_id}", .async { request in
            let options = try WriteRequestOptions(request)
            let accepted = try await write.ontology.delete(
                database: request.parameter("db"), classId: request.parameter("class_id"),
                expectedSequence: try WriteRequestOptions.expectedSequence(request), context: options.context)
            return try await responses.respond(to: accepted, options: options)
        })
    }

    static func describe(_ snapshot: AggregateSnapshot, preferred: [String]) -> JSONValue {
        var object = Localization.localize(snapshot.state, preferred: preferred).objectValue ?? [:]
        object["sequence_number"] = .number(Double(snapshot.sequenceNumber))
        object["created_at"] = .string(snapshot.createdAt)
        object["updated_at"] = .string(snapshot.updatedAt)
        return .object(object)
    }
}
