import Core

/// HTTP/1.1 on one connection: parse, answer requests strictly in order (pipelining), keep-alive,
/// `Expect: 100-continue`, `Upgrade: h2c`, timeouts for slow clients.
final class HTTP1Handler: ProtocolHandler {
    /// unowned(unsafe): the connection owns this handler and drops it when it closes (see HTTP2Handler).
    private unowned(unsafe) let connection: Connection
    private var parser: HTTP1Parser
    private var head: HTTP1RequestHead?
    private var body: [UInt8] = []
    /// When the first byte of the request now being read arrived (header-read timeout).
    private var requestStartedAt: UInt64?
    private var awaitingResponse = false
    private var inFlight: InFlightRequest?
    private var streamTask: Task<Void, Never>?
    private var processing = false
    private var closing = false
    private var shuttingDown = false

    /// Pipelined bytes buffered while a request is in flight, above which reading pauses.
    private static let pipelineBufferLimit = 1024 * 1024

    init(connection: Connection) {
        self.connection = connection
        let limits = connection.server.config.limits
        parser = HTTP1Parser(limits: HTTP1Parser.Limits(maxHeaderBytes: limits.maxHeaderBytes,
                                                        maxHeaderCount: limits.maxHeaderCount,
                                                        maxBodyBytes: limits.maxBodyBytes))
    }

    /// A partly received request does not count: nobody is owed an answer for it yet.
    var isQuiescent: Bool { !awaitingResponse }

    func receive(_ bytes: UnsafeRawBufferPointer) {
        guard !closing else { return }
        parser.feed(bytes)
        if requestStartedAt == nil, !parser.isIdle { requestStartedAt = connection.loop.now }
        processEvents()
        if awaitingResponse, parser.bufferedByteCount > Self.pipelineBufferLimit {
            connection.setReadingPaused(true)
        }
    }

    private func processEvents() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        while !awaitingResponse, !closing {
            let event: HTTP1Event?
            do {
                event = try parser.next()
            } catch {
                fail(status: error.status, detail: error.detail)
                return
            }
            guard let event else { return }
            switch event {
            case .head(let newHead):
                head = newHead
                body = []
                if newHead.expectsContinue, newHead.isChunked || (newHead.contentLength ?? 0) > 0 {
                    connection.send(HTTP1ResponseWriter.continueResponse)
                }
            case .body(let bytes):
                if body.isEmpty { body = bytes } else { body.append(contentsOf: bytes) }
            case .end:
                guard let head else { return }
                self.head = nil
                requestStartedAt = nil
                let request = makeRequest(head)
                body = []
                if head.upgrade?.lowercased().contains("h2c") == true, !connection.isTLS,
                   let settings = head.headers["http2-settings"], !shuttingDown {
                    upgradeToHTTP2(request: request, settingsHeader: settings)
                    return
                }
                dispatch(request, head: head)
            }
        }
    }

    private func makeRequest(_ head: HTTP1RequestHead) -> Request {
        Request(method: head.method, path: head.path, query: head.query, headers: head.headers, body: body,
                version: head.minorVersion == 0 ? .http1_0 : .http1_1, remoteAddress: connection.remoteAddress)
    }

    private func dispatch(_ request: Request, head: HTTP1RequestHead) {
        awaitingResponse = true
        let keepAlive = head.keepAlive
        let isHead = head.method == "HEAD"
        let handle = connection.server.pipeline.dispatch(request, context: connection.loopContext) { [weak self] response in
            self?.write(response, keepAlive: keepAlive, isHead: isHead, version: request.version)
        }
        if awaitingResponse { inFlight = handle }
    }

    private func write(_ response: Response, keepAlive requested: Bool, isHead: Bool, version: HTTPVersion) {
        guard !connection.isClosed else { return }
        let keepAlive = requested && !shuttingDown
        let date = connection.loopContext.httpDate
        switch response.body {
        case .bytes(let bytes):
            let noBody = HTTP1ResponseWriter.forbidsBody(response.status)
            let framing: HTTP1ResponseWriter.Framing = noBody ? .none : .contentLength(bytes.count)
            var out = HTTP1ResponseWriter.head(status: response.status, headers: response.headers, framing: framing,
                                               keepAlive: keepAlive, date: date)
            if !isHead, !noBody { out.append(contentsOf: bytes) }
            connection.send(out)
            finishResponse(keepAlive: keepAlive)
        case .stream(let stream):
            let chunked = version == .http1_1
            connection.send(HTTP1ResponseWriter.head(status: response.status, headers: response.headers,
                                                     framing: chunked ? .chunked : .closeDelimited,
                                                     keepAlive: keepAlive && chunked, date: date))
            if isHead { finishResponse(keepAlive: keepAlive && chunked); return }
            streamTask = ResponseStreamPump.start(stream, loop: connection.loop, onChunk: { [weak self] chunk in
                guard let self, !chunk.isEmpty else { return }
                connection.send(chunked ? HTTP1ResponseWriter.chunk(chunk) : chunk)
            }, onEnd: { [weak self] in
                guard let self else { return }
                streamTask = nil
                if chunked { connection.send(HTTP1ResponseWriter.lastChunk) }
                finishResponse(keepAlive: keepAlive && chunked)
            })
        }
    }

    private func finishResponse(keepAlive: Bool) {
        awaitingResponse = false
        inFlight = nil
        if !keepAlive {
            closing = true
            connection.closeAfterFlush()
            return
        }
        connection.setReadingPaused(false)
        if !parser.isIdle { requestStartedAt = connection.loop.now }
        processEvents()
    }

    private func upgradeToHTTP2(request: Request, settingsHeader: String) {
        guard let settings = Base64URL.decode(settingsHeader) else {
            fail(status: 400, detail: "HTTP2-Settings is not base64url")
            return
        }
        connection.send(HTTP1ResponseWriter.switchingToH2C)
        let leftover = parser.takeUnconsumedBytes()
        let http2 = HTTP2Handler(connection: connection, upgrade: HTTP2Handler.Upgrade(settingsPayload: settings, request: request))
        connection.adopt(http2)
        closing = true  // this handler is done; HTTP/2 owns the connection now
        if !leftover.isEmpty { leftover.withUnsafeBytes { http2.receive($0) } }
    }

    /// Bad input: answer with a problem naming it, then close (the stream position is no longer trustworthy).
    private func fail(status: Int, detail: String) {
        closing = true
        let problem = Response.problem(Problem(status: status, detail: detail))
        var headers = problem.headers
        headers.set("x-request-id", connection.loopContext.requestIDs.next())
        guard case .bytes(let bytes) = problem.body else { return }
        var out = HTTP1ResponseWriter.head(status: status, headers: headers, framing: .contentLength(bytes.count),
                                           keepAlive: false, date: connection.loopContext.httpDate)
        out.append(contentsOf: bytes)
        connection.send(out)
        connection.closeAfterFlush()
    }

    func outboundDrained() {}

    func checkTimeouts(now: UInt64) {
        guard !closing, !awaitingResponse else { return }
        let limits = connection.server.config.limits
        if let started = requestStartedAt {
            if now - started > limits.headerReadTimeoutMs {
                fail(status: 408, detail: "the request was not received within \(limits.headerReadTimeoutMs) ms")
            }
        } else if now - connection.lastActivity > limits.idleTimeoutMs {
            closing = true
            connection.close()
        }
    }

    func beginShutdown() {
        shuttingDown = true
        if isQuiescent {
            closing = true
            connection.closeAfterFlush()
        }
    }

    func connectionClosed() {
        inFlight?.cancel()
        inFlight = nil
        streamTask?.cancel()
        streamTask = nil
    }
}

enum Base64URL {
    /// Decodes base64url without padding (as in the HTTP2-Settings header); also accepts standard base64.
    static func decode(_ text: String) -> [UInt8]? {
        var accumulator: UInt32 = 0
        var bits = 0
        var out: [UInt8] = []
        for byte in text.utf8 {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "-"), UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "_"), UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return out
    }
}
