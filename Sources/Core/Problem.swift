/// The one error model of the public API: an RFC 9457 problem. Every layer throws this (or something
/// the gateway maps to it), so a client always gets `application/problem+json` naming what was wrong.
public struct Problem: Error, Sendable, Equatable {
    public var status: Int
    public var title: String
    public var detail: String?
    /// The request field that caused the problem, as a JSON-pointer-like path ("body.name", "query.limit").
    public var field: String?
    /// A short machine-readable code (e.g. "optimistic_concurrency_conflict"); becomes the `type` URI suffix.
    public var code: String
    /// Extra members merged into the body (e.g. `actual_seq` on a 409).
    public var extensions: [String: JSONValue]

    public init(status: Int, code: String? = nil, title: String? = nil, detail: String? = nil,
                field: String? = nil, extensions: [String: JSONValue] = [:]) {
        self.status = status
        self.title = title ?? Problem.standardTitle(for: status)
        self.code = code ?? Problem.standardCode(for: status)
        self.detail = detail
        self.field = field
        self.extensions = extensions
    }

    public var type: String { "https://spice-harvester.dev/problems/\(code)" }

    public var json: JSONValue {
        var object: [String: JSONValue] = extensions
        object["type"] = .string(type)
        object["title"] = .string(title)
        object["status"] = .number(Double(status))
        object["error"] = .string(code)
        if let detail { object["detail"] = .string(detail) }
        if let field { object["field"] = .string(field) }
        return .object(object)
    }

    public static func badRequest(_ detail: String, field: String? = nil) -> Problem {
        Problem(status: 400, code: "invalid_request", detail: detail, field: field)
    }
    public static func notFound(_ detail: String) -> Problem {
        Problem(status: 404, code: "not_found", detail: detail)
    }

    public static func standardTitle(for status: Int) -> String {
        HTTPStatus.reasonPhrase(status)
    }

    static func standardCode(for status: Int) -> String {
        switch status {
        case 400: "invalid_request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 408: "request_timeout"
        case 409: "conflict"
        case 413: "payload_too_large"
        case 414: "uri_too_long"
        case 415: "unsupported_media_type"
        case 417: "expectation_failed"
        case 429: "rate_limited"
        case 431: "request_header_fields_too_large"
        case 501: "not_implemented"
        case 503: "service_unavailable"
        case 504: "gateway_timeout"
        case 505: "http_version_not_supported"
        default: status >= 500 ? "internal_error" : "error"
        }
    }
}
