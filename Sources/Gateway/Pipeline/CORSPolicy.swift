/// CORS for browser apps: only configured origins (or `*`) get the headers; preflights are answered
/// here, before routing, so handlers never see them.
struct CORSPolicy: Sendable {
    let allowedOrigins: [String]
    static let allowedMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    static let exposedHeaders = "x-request-id, traceparent, location, retry-after, etag"

    private func allowedOrigin(for request: Request) -> String? {
        guard !allowedOrigins.isEmpty, let origin = request.headers["origin"] else { return nil }
        if allowedOrigins.contains("*") { return "*" }
        return allowedOrigins.contains(origin) ? origin : nil
    }

    func preflightResponse(for request: Request) -> Response? {
        guard request.method == "OPTIONS", request.headers.contains("access-control-request-method"),
              let origin = allowedOrigin(for: request) else { return nil }
        var response = Response(status: 204)
        response.headers.add("access-control-allow-origin", origin)
        response.headers.add("access-control-allow-methods", Self.allowedMethods)
        response.headers.add("access-control-allow-headers",
                             request.headers["access-control-request-headers"] ?? "content-type, authorization")
        response.headers.add("access-control-max-age", "600")
        if origin != "*" { response.headers.add("vary", "origin") }
        return response
    }

    func decorate(_ response: inout Response, for request: Request) {
        guard let origin = allowedOrigin(for: request) else { return }
        response.headers.set("access-control-allow-origin", origin)
        response.headers.set("access-control-expose-headers", Self.exposedHeaders)
        if origin != "*" { response.headers.add("vary", "origin") }
    }
}
