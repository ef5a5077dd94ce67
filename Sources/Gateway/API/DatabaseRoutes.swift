import Core
import Write

/// Databases: the original's routes (`/api/v1/database/...`) and resource-style aliases (`/api/v1/databases`).
enum DatabaseRoutes {
    static func register(on router: RouteGroup, write: WritePath, responses: CommandResponses, limits: GatewayLimits) {
        let json = JSONParser.Limits(maxDepth: limits.maxJSONDepth)
        let create: Handler = .async { request in
            let options = try WriteRequestOptions(request)
            let body = try request.jsonObjectBody(limits: json)
            guard let name = body["name"]?.stringValue else {
                throw Problem.badRequest("name is required (a string)", field: "body.name")
            }
            if let description = body["description"], description.stringValue == nil, description != .null {
                throw Problem.badRequest("description must be a string", field: "body.description")
            }
            let accepted = try await write.databases.create(name: name, description: body["description"]?.stringValue,
                                                            context: options.context)
            return try await responses.respond(to: accepted, options: options, createdStatus: 201)
        }
        router.post("/api/v1/database/create", create)
        router.post("/api/v1/databases", create)

        let delete: Handler = .async { request in
            let options = try WriteRequestOptions(request)
            let accepted = try await write.databases.delete(name: request.parameter("db"),
                                                            expectedSequence: try WriteRequestOptions.expectedSequence(request),
                                                            context: options.context)
            return try await responses.respond(to: accepted, options: options)
        }
        router.delete("/api/v1/database/{db}", delete)
        router.delete("/api/v1/databases/{db}", delete)

        let list: Handler = .async { request in
            let (limit, offset) = try request.paging()
            let page = try await write.databases.list(limit: limit, offset: offset)
            return .json(["databases": .array(page.map { describe(name: $0.id, $0.snapshot) }),
                          "limit": .number(Double(limit)), "offset": .number(Double(offset))])
        }
        router.get("/api/v1/database/list", list)
        router.get("/api/v1/databases", list)

        router.get("/api/v1/database/exists/{db}", .async { request in
            let exists = (try? await write.databases.get(name: request.parameter("db"))) != nil
            return .json(["exists": .bool(exists)])
        })
        router.get("/api/v1/databases/{db}", .async { request in
            let name = request.parameter("db")
            let snapshot = try await write.databases.get(name: name)
            var response = Response.json(describe(name: name, snapshot))
            response.headers.add("etag", "\"\(snapshot.sequenceNumber)\"")
            return response
        })
    }

    static func describe(name: String, _ snapshot: AggregateSnapshot) -> JSONValue {
        var object = snapshot.state.objectValue ?? [:]
        object["name"] = .string(name)
        object["sequence_number"] = .number(Double(snapshot.sequenceNumber))
        object["created_at"] = .string(snapshot.createdAt)
        object["updated_at"] = .string(snapshot.updatedAt)
        return .object(object)
    }
}
