/// A request the HTTP/1.1 parser refuses. `status` is the HTTP status to answer with before the
/// connection is closed; `detail` is a short human-readable reason (safe to put in a problem body:
/// it never echoes request bytes).
struct HTTP1ParseError: Error, Equatable {
    var status: Int
    var detail: String

    init(status: Int, detail: String) {
        self.status = status
        self.detail = detail
    }

    /// 400: malformed syntax or an ambiguous message (smuggling defences).
    static func badRequest(_ detail: String) -> HTTP1ParseError { .init(status: 400, detail: detail) }
    /// 413: the declared or cumulative body size is over `maxBodyBytes`.
    static func contentTooLarge(_ detail: String) -> HTTP1ParseError { .init(status: 413, detail: detail) }
    /// 414: the request line alone is over `maxHeaderBytes`.
    static func uriTooLong(_ detail: String) -> HTTP1ParseError { .init(status: 414, detail: detail) }
    /// 417: an `Expect` value other than `100-continue`.
    static func expectationFailed(_ detail: String) -> HTTP1ParseError { .init(status: 417, detail: detail) }
    /// 431: the header (or trailer) section is over `maxHeaderBytes` or `maxHeaderCount`.
    static func headersTooLarge(_ detail: String) -> HTTP1ParseError { .init(status: 431, detail: detail) }
    /// 501: a transfer coding other than `chunked`.
    static func notImplemented(_ detail: String) -> HTTP1ParseError { .init(status: 501, detail: detail) }
    /// 505: a well-formed HTTP version other than 1.0 and 1.1.
    static func versionNotSupported(_ detail: String) -> HTTP1ParseError { .init(status: 505, detail: detail) }
}
