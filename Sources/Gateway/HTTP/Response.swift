import Core

/// What a handler returns. Bodies are bytes, or a stream of chunks for long-lived responses
/// (server-sent events), which the server forwards as they come with flow control.
public struct Response: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        case stream(AsyncStream<[UInt8]>)
    }

    public var status: Int
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: Int = 200, headers: HTTPHeaders = HTTPHeaders(), body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int = 200, contentType: String, bytes: [UInt8]) {
        self.init(status: status, headers: HTTPHeaders([("content-type", contentType)]), body: .bytes(bytes))
    }

    public static func json(_ value: JSONValue, status: Int = 200) -> Response {
        Response(status: status, contentType: "application/json", bytes: JSONWriter.bytes(value))
    }

    public static func text(_ text: String, status: Int = 200) -> Response {
        Response(status: status, contentType: "text/plain; charset=utf-8", bytes: Array(text.utf8))
    }

    public static func problem(_ problem: Problem) -> Response {
        var response = Response(status: problem.status, contentType: "application/problem+json",
                                bytes: JSONWriter.bytes(problem.json))
        if problem.status == 405, let allow = problem.extensions["allow"]?.arrayValue {
            response.headers.set("allow", allow.compactMap(\.stringValue).joined(separator: ", "))
        }
        return response
    }

    /// Server-sent events: each element the handler yields is framed as one `data:` event.
    public static func eventStream(_ events: AsyncStream<String>) -> Response {
        let chunks = AsyncStream<[UInt8]> { continuation in
            let task = Task {
                for await event in events {
                    var frame: [UInt8] = []
                    for line in event.split(separator: "\n", omittingEmptySubsequences: false) {
                        frame.append(contentsOf: "data: ".utf8)
                        frame.append(contentsOf: line.utf8)
                        frame.append(0x0A)
                    }
                    frame.append(0x0A)
                    continuation.yield(frame)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return Response(status: 200, headers: HTTPHeaders([("content-type", "text/event-stream"),
                                                           ("cache-control", "no-cache")]),
                        body: .stream(chunks))
    }
}
