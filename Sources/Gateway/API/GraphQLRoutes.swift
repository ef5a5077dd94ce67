import Core
import Read

/// GraphQL over HTTP (`POST` and `GET /api/v1/graphql/{db}`): reads the request, negotiates the response
/// type and maps the answer to a status. Everything GraphQL happens in `Read.GraphQLService`.
///
/// - POST bodies are `application/json` `{query, variables?, operationName?}` or `application/graphql`
///   (the query text); GET takes `query`, `variables` (JSON text) and `operationName` parameters and runs
///   queries only (405 otherwise).
/// - `Accept`: `application/graphql-response+json` when the client accepts it (`*/*` included), else
///   `application/json`; no `Accept` header means `application/json` (the spec's rule for older clients);
///   accepting neither is 406.
/// - A request refused before execution (parse, validation, variables, depth or cost) is 400 with
///   `application/graphql-response+json` and 200 with `application/json`; an executed one is 200 either
///   way, with `errors` next to the partial `data` when a part failed.
/// - A malformed HTTP request (bad JSON, no query) is a 400 problem that also carries a GraphQL `errors` list.
enum GraphQLRoutes {
    static func register(on router: Router, graph: any GraphStore, executor: TraversalExecutor, limits: GatewayLimits) {
        let service = GraphQLService(graph: graph, executor: executor, limits: limits.graphQL)
        let json = JSONParser.Limits(maxDepth: limits.maxJSONDepth)
        router.post("/api/v1/graphql/{db}", .async { request in
            let mediaType = try GraphQLMediaType.negotiate(request.headers["accept"])
            return try await answer(try postRequest(request, json), request.parameter("db"), mediaType, service)
        })
        router.get("/api/v1/graphql/{db}", .async { request in
            let mediaType = try GraphQLMediaType.negotiate(request.headers["accept"])
            return try await answer(try getRequest(request, json), request.parameter("db"), mediaType, service)
        })
    }

    private static func answer(_ graphQL: GraphQLRequest, _ database: String, _ mediaType: GraphQLMediaType,
                               _ service: GraphQLService) async throws -> Response {
        let response = try await service.run(database: database, graphQL)
        let status = response.hasData || mediaType == .json ? 200 : 400
        var answer = Response(status: status, contentType: mediaType.contentType, bytes: response.body)
        // The body's type (and a refusal's status) depend on Accept: caches must key on it.
        answer.headers.add("vary", "accept")
        return answer
    }

    private static func postRequest(_ request: Request, _ limits: JSONParser.Limits) throws(Problem) -> GraphQLRequest {
        let contentType = request.headers["content-type"].map(GraphQLMediaType.essence) ?? ""
        switch contentType {
        case "application/json":
            let body: JSONValue
            do throws(Problem) {
                body = try request.jsonBody(limits: limits)
            } catch {
                throw malformed(error.detail ?? "the body is not JSON", field: "body")
            }
            guard case .object(let members) = body else { throw malformed("the body must be a JSON object", field: "body") }
            guard case .string(let query)? = members["query"] else {
                throw malformed("query is required (a string holding the GraphQL document)", field: "body.query")
            }
            var variables: [String: JSONValue] = [:]
            switch members["variables"] {
            case nil, .null?: break
            case .object(let object)?: variables = object
            default: throw malformed("variables must be a JSON object", field: "body.variables")
            }
            var operationName: String?
            switch members["operationName"] {
            case nil, .null?: break
            case .string(let name)?: operationName = name
            default: throw malformed("operationName must be a string", field: "body.operationName")
            }
            return GraphQLRequest(query: query, variables: variables, operationName: operationName)
        case "application/graphql":
            return GraphQLRequest(query: String(decoding: request.body, as: UTF8.self))
        default:
            throw Problem(status: 415, code: "unsupported_media_type",
                          detail: "send the request as application/json ({\"query\": …}) or application/graphql", field: "header.content-type")
        }
    }

    private static func getRequest(_ request: Request, _ limits: JSONParser.Limits) throws(Problem) -> GraphQLRequest {
        let parameters = request.queryParameters
        guard let query = parameters["query"], !query.isEmpty else {
            throw malformed("the query parameter 'query' is required", field: "query.query")
        }
        var variables: [String: JSONValue] = [:]
        if let text = parameters["variables"], !text.isEmpty {
            let parsed: JSONValue
            do throws(Problem) {
                parsed = try JSONParser.parse(text, limits: limits)
            } catch {
                throw malformed("variables must be JSON text: \(error.detail ?? "")", field: "query.variables")
            }
            switch parsed {
            case .null: break
            case .object(let object): variables = object
            default: throw malformed("variables must be a JSON object", field: "query.variables")
            }
        }
        let operationName = parameters["operationName"].flatMap { $0.isEmpty ? nil : $0 }
        return GraphQLRequest(query: query, variables: variables, operationName: operationName, queriesOnly: true)
    }

    /// A 400 problem with the GraphQL `errors` list too, for clients that only read that.
    private static func malformed(_ detail: String, field: String) -> Problem {
        Problem(status: 400, code: "invalid_request", detail: detail, field: field,
                extensions: ["errors": .array([.object(["message": .string(detail)])])])
    }
}

/// The two response types GraphQL over HTTP defines.
enum GraphQLMediaType: Equatable {
    case graphQLResponse
    case json

    var contentType: String {
        switch self {
        case .graphQLResponse: "application/graphql-response+json; charset=utf-8"
        case .json: "application/json; charset=utf-8"
        }
    }

    /// The preferred type by `q`, the most specific matching range deciding each type's `q`; ties go to
    /// `application/graphql-response+json`.
    static func negotiate(_ accept: String?) throws(Problem) -> GraphQLMediaType {
        guard let accept, !accept.allSatisfy({ $0 == " " }) else { return .json }
        var best: [GraphQLMediaType: (specificity: Int, q: Double)] = [:]
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: " \t") }
            let type = parts.first?.lowercased() ?? ""
            var q = 1.0
            for parameter in parts.dropFirst() where parameter.lowercased().hasPrefix("q=") {
                q = Double(parameter.dropFirst(2)) ?? 0
            }
            for candidate in [GraphQLMediaType.graphQLResponse, .json] {
                let specificity = candidate.matches(type)
                guard specificity > 0, specificity > best[candidate]?.specificity ?? 0 else { continue }
                best[candidate] = (specificity, q)
            }
        }
        let response = best[.graphQLResponse]?.q ?? 0, json = best[.json]?.q ?? 0
        guard response > 0 || json > 0 else {
            throw Problem(status: 406, code: "not_acceptable",
                          detail: "GraphQL answers application/graphql-response+json or application/json", field: "header.accept")
        }
        return response >= json ? .graphQLResponse : .json
    }

    /// 3 for the exact type, 2 for `application/*`, 1 for `*/*`, 0 for no match.
    private func matches(_ range: String) -> Int {
        let exact = self == .graphQLResponse ? "application/graphql-response+json" : "application/json"
        switch range {
        case exact: return 3
        case "application/*": return 2
        case "*/*": return 1
        default: return 0
        }
    }

    /// `application/json; charset=utf-8` → `application/json`.
    static func essence(_ contentType: String) -> String {
        (contentType.split(separator: ";").first.map(String.init) ?? "").trimmingCharacters(in: " \t").lowercased()
    }
}

private extension StringProtocol {
    func trimmingCharacters(in characters: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice.removeFirst() }
        while let last = slice.last, characters.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
