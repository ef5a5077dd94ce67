import Core

/// Routes that exist to exercise the server itself — echo, delay, a server-sent event stream — used by the
/// end-to-end tests and handy when debugging a proxy in front of us. Only registered with
/// `SPICE_DIAGNOSTIC_ROUTES=on`; never part of the public API.
public enum DiagnosticRoutes {
    public static func register(on router: Router) {
        // Echoes the request body with its content type: exercises large bodies in both directions.
        router.post("/_diagnostics/echo", .inline { request in
            Response(status: 200, contentType: request.headers["content-type"] ?? "application/octet-stream",
                     bytes: request.body)
        })
        // Answers after `ms` milliseconds (at most 60 s) from the async pool: in-flight work for
        // shutdown and timeout tests.
        router.get("/_diagnostics/sleep", .async { request in
            let milliseconds = try boundedInt(request, "ms", default: 100, range: 0...60_000)
            try await Task.sleep(for: .milliseconds(milliseconds))
            return .json(["slept_ms": .number(Double(milliseconds))])
        })
        // `count` server-sent events, `interval_ms` apart: a streaming response.
        router.get("/_diagnostics/events", .inline { request in
            let count = try boundedInt(request, "count", default: 3, range: 1...1000)
            let interval = try boundedInt(request, "interval_ms", default: 10, range: 0...10_000)
            let events = AsyncStream<String> { continuation in
                let task = Task {
                    for index in 1...count {
                        continuation.yield(JSONWriter.string(["index": .number(Double(index))]))
                        try? await Task.sleep(for: .milliseconds(interval))
                    }
                    continuation.finish()
                }
                continuation.onTermination = { _ in task.cancel() }
            }
            return .eventStream(events)
        })
        // Throws an unexpected error: shows that internals never reach the client.
        router.get("/_diagnostics/crash", .async { _ in
            struct Unexpected: Error { let secret = "stack and internals" }
            throw Unexpected()
        })
    }

    static func boundedInt(_ request: Request, _ name: String, default fallback: Int, range: ClosedRange<Int>) throws(Problem) -> Int {
        guard let raw = request.queryParameters[name] else { return fallback }
        guard let value = Int(raw), range.contains(value) else {
            throw Problem.badRequest("\(name) must be an integer between \(range.lowerBound) and \(range.upperBound)", field: "query.\(name)")
        }
        return value
    }
}
