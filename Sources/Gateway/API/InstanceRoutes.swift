import Core
import Write

/// Instances: `/api/v1/instances/{db}/async/{class}/…` answer 202; the same paths with `sync` wait for the
/// command; `?wait=true` works on both.
enum InstanceRoutes {
    static func register(on router: RouteGroup, write: WritePath, responses: CommandResponses, limits: GatewayLimits) {
        let json = JSONParser.Limits(maxDepth: limits.maxJSONDepth)
        for mode in ["async", "sync"] {
            let sync = mode == "sync"
            let base = "/api/v1/instances/{db}/\(mode)/{class_id}"
            router.post(base + "/create", .async { request in
                let options = try WriteRequestOptions(request, syncPath: sync)
                let body = try request.jsonObjectBody(limits: json)
                guard let data = body["data"], data.objectValue != nil else {
                    throw Problem.badRequest("data is required (a JSON object of the instance's fields)", field: "body.data")
                }
                let accepted = try await write.instances.create(database: request.parameter("db"), classId: request.parameter("class_id"),
                                                                data: data, context: options.context)
                return try await responses.respond(to: accepted, options: options, createdStatus: 201)
            })
            router.put(base + "/{instance_id}/update", .async { request in
                let options = try WriteRequestOptions(request, syncPath: sync)
                let body = try request.jsonObjectBody(limits: json)
                guard let patch = body["data"], patch.objectValue != nil else {
                    throw Problem.badRequest("data is required (the fields to change; null removes an optional field)", field: "body.data")
                }
                let accepted = try await write.instances.update(
                    database: request.parameter("db"), classId: request.parameter("class_id"),
                    instanceId: request.parameter("instance_id"), patch: patch,
                    expectedSequence: try WriteRequestOptions.expectedSequence(request), context: options.context)
                return try await responses.respond(to: accepted, options: options)
            })
            router.delete(base + "/{instance_id}/delete", .async { request in
                let options = try WriteRequestOptions(request, syncPath: sync)
                let accepted = try await write.instances.delete(
                    database: request.parameter("db"), classId: request.parameter("class_id"),
                    instanceId: request.parameter("instance_id"),
                    expectedSequence: try WriteRequestOptions.expectedSequence(request), context: options.context)
                return try await responses.respond(to: accepted, options: options)
            })
            router.post(base + "/bulk-create", .async { request in
                let options = try WriteRequestOptions(request, syncPath: sync)
                let body = try request.jsonObjectBody(limits: json)
                guard let items = body["instances"]?.arrayValue else {
                    throw Problem.badRequest("instances is required (an array of instance data objects)", field: "body.instances")
                }
                let results = try await write.instances.bulkCreate(database: request.parameter("db"), classId: request.parameter("class_id"),
                                                                   items: items, context: options.context)
                return try await bulkResponse(results, options: options, responses: responses)
            })
        }
        router.get("/api/v1/instances/{db}/{class_id}/{instance_id}", .async { request in
            let snapshot = try await write.instances.get(database: request.parameter("db"), classId: request.parameter("class_id"),
                                                         instanceId: request.parameter("instance_id"))
            var object = snapshot.state.objectValue ?? [:]
            object["sequence_number"] = .number(Double(snapshot.sequenceNumber))
            object["created_at"] = .string(snapshot.createdAt)
            object["updated_at"] = .string(snapshot.updatedAt)
            var response = Response.json(.object(object))
            response.headers.add("etag", "\"\(snapshot.sequenceNumber)\"")
            return response
        })
    }

    /// 207-style per-item results: each item accepted (with its command) or rejected (with its problem).
    static func bulkResponse(_ results: [InstanceCommands.BulkItemResult], options: WriteRequestOptions,
                             responses: CommandResponses) async throws -> Response {
        var items: [JSONValue] = []
        var accepted = 0
        for (index, result) in results.enumerated() {
            switch result {
            case .accepted(let command):
                accepted += 1
                var item: [String: JSONValue] = ["index": .number(Double(index)), "status": "accepted",
                                                 "command_id": .string(command.commandId), "aggregate_id": .string(command.aggregateId),
                                                 "sequence_number": .number(Double(command.sequenceNumber)),
                                                 "links": CommandResponses.links(command.commandId)]
                if options.wait, case .finished(let record) = try await responses.waiter.waitForTerminal(command.commandId, timeoutSeconds: options.timeoutSeconds) {
                    item["command_status"] = .string(record.status.rawValue)
                }
                items.append(.object(item))
            case .rejected(let problem):
                items.append(["index": .number(Double(index)), "status": "rejected", "problem": problem.json])
            }
        }
        let status = accepted == results.count ? 202 : (accepted == 0 ? 400 : 207)
        return .json(["accepted": .number(Double(accepted)), "rejected": .number(Double(results.count - accepted)),
                      "items": .array(items)], status: status)
    }
}
