import Core
import Read

/// `POST /api/v1/graph-query/{db}` (and `?branch=`): multi-hop traversal with documents and data_status.
enum GraphQueryRoutes {
    static func register(on router: Router, engine: GraphQueryEngine, limits: GatewayLimits) {
        let json = JSONParser.Limits(maxDepth: limits.maxJSONDepth)
        router.post("/api/v1/graph-query/{db}", .async { request in
            let database = try Names.databaseName(request.parameter("db"), field: "path.db")
            let body = try request.jsonObjectBody(limits: json)
            let query = try GraphQueryRequest(json: body, branchParameter: request.queryParameters["branch"])
            return Response(contentType: "application/json", bytes: try await engine.run(database, query))
        })
    }
}
