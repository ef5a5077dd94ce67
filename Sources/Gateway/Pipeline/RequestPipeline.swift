import Core
import Glibc

/// What every request goes through, whatever its protocol: request id, CORS, routing, the handler (inline
/// on the loop or async on the pool, with a deadline), error mapping to problems, metrics and the access log.
final class RequestPipeline: Sendable {
    let router: Router
    let config: GatewayConfig
    let cors: CORSPolicy
    let handlerExecutor: (any TaskExecutor)?

    init(router: Router, config: GatewayConfig, handlerExecutor: (any TaskExecutor)? = nil) {
        self.router = router
        self.config = config
        self.handlerExecutor = handlerExecutor
        self.cors = CORSPolicy(allowedOrigins: config.corsAllowedOrigins)
    }

    /// Handles `request` and calls `respond` exactly once, on the loop of `context`. The returned handle
    /// cancels an async handler whose client went away (HTTP/2 RST_STREAM, closed connection).
    @discardableResult
    func dispatch(_ incoming: Request, context: LoopContext, respond: @escaping (Response) -> Void) -> InFlightRequest {
        var request = incoming
        request.requestID = RequestID.accept(request.headers["x-request-id"]) ?? context.requestIDs.next()
        let inFlight = InFlightRequest(request: request, startedAt: context.loop.now, startedAtNanos: Clock.nanoseconds())
        inFlight.respond = { response in
            let finished = self.finish(response, for: inFlight, context: context)
            respond(finished)
        }

        if let preflight = cors.preflightResponse(for: request) {
            inFlight.routeLabel = "preflight"
            inFlight.complete(preflight)
            return inFlight
        }

        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            inFlight.routeLabel = "unmatched"
            inFlight.complete(.problem(.notFound("no route for \(request.path)")))
        case .methodNotAllowed(let allowed):
            inFlight.routeLabel = "unmatched"
            inFlight.complete(.problem(Problem(status: 405, detail: "\(request.method) is not allowed on \(request.path)",
                                               extensions: ["allow": .array(allowed.map { .string($0) })])))
        case .found(let route, let parameters):
            request.pathParameters = parameters
            inFlight.routeLabel = route.pattern
            switch route.handler {
            case .inline(let handler):
                inFlight.complete(Self.run(requestID: request.requestID) { try handler(request) })
            case .async(let handler):
                runAsync(handler, request: request, inFlight: inFlight, context: context,
                         timeoutMs: route.timeoutMs ?? config.limits.requestTimeoutMs)
            }
        }
        return inFlight
    }

    private func runAsync(_ handler: @escaping @Sendable (Request) async throws -> Response, request: Request,
                          inFlight: InFlightRequest, context: LoopContext, timeoutMs: UInt64) {
        let bound = LoopBound(inFlight, loop: context.loop)
        inFlight.task = Task(executorPreference: handlerExecutor) {
            let response = await Self.runAsync(requestID: request.requestID) { try await handler(request) }
            bound.withValueOnLoop { $0.complete(response) }
        }
        context.loop.schedule(after: timeoutMs) { [weak inFlight] in
            guard let inFlight, !inFlight.isComplete else { return }
            inFlight.task?.cancel()
            inFlight.complete(.problem(Problem(status: 504, code: "request_timeout",
                                               detail: "the handler did not answer within \(timeoutMs) ms")))
        }
    }

    static func run(requestID: String, _ body: () throws -> Response) -> Response {
        do { return try body() } catch { return response(for: error, requestID: requestID) }
    }

    static func runAsync(requestID: String, _ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch { return response(for: error, requestID: requestID) }
    }

    /// A Problem goes out as it is; anything else is our bug: logged with the request id, and the client
    /// gets a 500 that leaks no internals.
    static func response(for error: any Error, requestID: String) -> Response {
        if let problem = error as? Problem { return .problem(problem) }
        ErrorLog.write(["msg": "unhandled error", "request_id": .string(requestID), "error": .string(String(describing: error))])
        return .problem(Problem(status: 500, code: "internal_error",
                                detail: "an unexpected error occurred; the server log has it under request id \(requestID)"))
    }

    private func finish(_ original: Response, for inFlight: InFlightRequest, context: LoopContext) -> Response {
        var response = original
        let request = inFlight.request
        if !response.headers.contains("x-request-id") { response.headers.appendLowercased("x-request-id", request.requestID) }
        if let traceparent = request.headers["traceparent"], TraceContext.isValid(traceparent) {
            response.headers.set("traceparent", traceparent)
        }
        cors.decorate(&response, for: request)
        let elapsed = Clock.nanoseconds() &- inFlight.startedAtNanos
        context.metrics.record(route: inFlight.routeLabel, method: request.method, status: response.status,
                               version: request.version, seconds: Double(elapsed) / 1e9)
        if config.accessLog {
            context.accessLog.record(request: request, route: inFlight.routeLabel, status: response.status,
                                     bytesOut: response.bodyByteCount, nanoseconds: elapsed)
        }
        return response
    }
}

/// One request between dispatch and its response. Lives on its loop; completes exactly once.
final class InFlightRequest {
    let request: Request
    let startedAt: UInt64
    let startedAtNanos: UInt64
    var routeLabel = ""
    var task: Task<Void, Never>?
    var respond: ((Response) -> Void)?
    private(set) var isComplete = false

    init(request: Request, startedAt: UInt64, startedAtNanos: UInt64) {
        self.request = request
        self.startedAt = startedAt
        self.startedAtNanos = startedAtNanos
    }

    func complete(_ response: Response) {
        guard !isComplete else { return }
        isComplete = true
        let respond = self.respond
        self.respond = nil
        respond?(response)
    }

    /// The client is gone: stop the handler; nobody is waiting for the answer.
    func cancel() {
        task?.cancel()
        isComplete = true
        respond = nil
    }
}

extension Response {
    var bodyByteCount: Int {
        if case .bytes(let bytes) = body { return bytes.count }
        return 0
    }
}

enum Clock {
    static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
