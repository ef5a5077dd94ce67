import CNghttp2
import Core
import Glibc

/// HTTP/2 on one connection, on nghttp2's server session: nghttp2 does framing, HPACK, flow control and
/// stream states; this type turns complete streams into requests and responses into frames.
final class HTTP2Handler: ProtocolHandler {
    struct Upgrade {
        let settingsPayload: [UInt8]
        let request: Request
    }

    static let clientPreface = HTTP2FloodGuard.preface

    /// unowned(unsafe): the connection owns this handler and drops it when it closes, so the handler never
    /// outlives it; this avoids a reference-count check on every frame.
    unowned(unsafe) let connection: Connection
    private var session: OpaquePointer?
    private var streams: [Int32: HTTP2Stream] = [:]
    private var floodGuard: HTTP2FloodGuard
    private var pumpScheduled = false
    private var terminated = false
    private var shuttingDown = false
    /// After an h2c upgrade nothing is sent until the client's preface arrives: the client has then read
    /// our 101, and some (curl) cannot take much data glued to the 101 in one read.
    private var holdOutputForPreface = false
    private let limits: GatewayLimits
    private let pipeline: RequestPipeline

    /// Unsent bytes above which we stop asking nghttp2 for more (flow control towards the socket).
    private static let outboundSoftLimit = 1024 * 1024

    init(connection: Connection, upgrade: Upgrade?) {
        self.connection = connection
        let limits = connection.server.config.limits
        self.limits = limits
        pipeline = connection.server.pipeline
        floodGuard = HTTP2FloodGuard(controlFramesPerSecond: limits.http2ControlFramesPerSecond,
                                     maxContinuations: limits.http2MaxContinuationFrames)
        session = Self.makeSession(userData: Unmanaged.passUnretained(self).toOpaque(), limits: limits)
        submitServerSettings()
        if let upgrade { acceptUpgrade(upgrade) }
        schedulePump()
    }

    deinit {
        if let session { nghttp2_session_del(session) }
    }

    var isQuiescent: Bool { streams.isEmpty }

    // MARK: session set-up

    private static func makeSession(userData: UnsafeMutableRawPointer, limits: GatewayLimits) -> OpaquePointer? {
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, userData in
            HTTP2Handler.from(userData).beginHeaders(frame!)
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) { _, frame, name, nameLength, value, valueLength, _, userData in
            HTTP2Handler.from(userData).header(frame!, UnsafeBufferPointer(start: name, count: nameLength),
                                               UnsafeBufferPointer(start: value, count: valueLength))
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            HTTP2Handler.from(userData).frameReceived(frame!)
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, userData in
            HTTP2Handler.from(userData).dataReceived(streamID, UnsafeBufferPointer(start: data, count: length))
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, _, userData in
            HTTP2Handler.from(userData).streamClosed(streamID)
        }

        var option: OpaquePointer?
        nghttp2_option_new(&option)
        defer { nghttp2_option_del(option) }
        nghttp2_option_set_max_outbound_ack(option, 1000)
        nghttp2_option_set_max_settings(option, 32)
        nghttp2_option_set_max_send_header_block_length(option, 64 * 1024)

        var session: OpaquePointer?
        guard nghttp2_session_server_new2(&session, callbacks, userData, option) == 0 else { return nil }
        return session
    }

    private static func from(_ userData: UnsafeMutableRawPointer?) -> HTTP2Handler {
        Unmanaged<HTTP2Handler>.fromOpaque(userData!).takeUnretainedValue()
    }

    private func submitServerSettings() {
        guard let session else { return }
        var settings = [
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                                   value: UInt32(limits.maxConcurrentStreams)),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: 1 << 20),
            nghttp2_settings_entry(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                                   value: UInt32(limits.maxHeaderBytes)),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &settings, settings.count)
        // A larger connection window than the 64 KiB default lets big uploads use the link.
        nghttp2_session_set_local_window_size(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, 16 << 20)
    }

    /// h2c upgrade: the HTTP/1.1 request becomes stream 1, already half-closed by the client.
    private func acceptUpgrade(_ upgrade: Upgrade) {
        guard let session else { return }
        floodGuard = HTTP2FloodGuard(controlFramesPerSecond: limits.http2ControlFramesPerSecond,
                                     maxContinuations: limits.http2MaxContinuationFrames, expectsPreface: true)
        let result = upgrade.settingsPayload.withUnsafeBufferPointer {
            nghttp2_session_upgrade2(session, $0.baseAddress, $0.count, upgrade.request.method == "HEAD" ? 1 : 0, nil)
        }
        guard result == 0 else {
            connection.closeAfterFlush()
            return
        }
        holdOutputForPreface = true
        let stream = HTTP2Stream(id: 1)
        streams[1] = stream
        connection.server.gauges.openStreams.wrappingAdd(1, ordering: .relaxed)
        var request = upgrade.request
        request.version = .http2
        dispatch(request, on: stream)
    }

    // MARK: input

    func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let session, !terminated else { return }
        holdOutputForPreface = false
        if let abuse = floodGuard.inspect(bytes, now: connection.loop.now) {
            calm(abuse)
            return
        }
        let consumed = nghttp2_session_mem_recv(session, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count)
        if consumed == Int(NGHTTP2_ERR_FLOODED.rawValue) {
            calm(.libraryDetected)
            return
        }
        if consumed < 0 {
            // nghttp2 has queued a GOAWAY for protocol errors; send it and close.
            terminated = true
            pump()
            connection.closeAfterFlush()
            return
        }
        schedulePump()
    }

    private func calm(_ abuse: HTTP2FloodGuard.Abuse) {
        guard let session else { return }
        terminated = true
        connection.loopContext.metrics.recordFloodStopped(kind: abuse.rawValue)
        for stream in streams.values { stream.cancel() }
        nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM.rawValue)
        pump()
        connection.closeAfterFlush()
    }

    private func beginHeaders(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        guard UInt32(frame.pointee.hd.type) == NGHTTP2_HEADERS.rawValue,
              frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST else { return 0 }
        let id = frame.pointee.hd.stream_id
        streams[id] = HTTP2Stream(id: id)
        connection.server.gauges.openStreams.wrappingAdd(1, ordering: .relaxed)
        return 0
    }

    private func header(_ frame: UnsafePointer<nghttp2_frame>, _ name: UnsafeBufferPointer<UInt8>,
                        _ value: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard let stream = streams[frame.pointee.hd.stream_id] else { return 0 }
        stream.headerBytes += name.count + value.count + 32
        if stream.headerBytes > limits.maxHeaderBytes || stream.headers.count >= limits.maxHeaderCount {
            if stream.rejection == nil {
                stream.rejection = (431, "request headers exceed \(limits.maxHeaderBytes) bytes or \(limits.maxHeaderCount) fields")
            }
            return 0
        }
        let valueText = String(decoding: value, as: UTF8.self)
        // Pseudo-headers are recognised by their bytes: no String is made for their names.
        if name.first == UInt8(ascii: ":") {
            switch PseudoHeader(name) {
            case .method: stream.method = valueText
            case .path: stream.path = valueText
            case .authority: stream.authority = valueText
            case .other: break
            }
        } else {
            stream.headers.appendLowercased(String(decoding: name, as: UTF8.self), valueText)  // HTTP/2 names are lower-case
        }
        return 0
    }

    private func dataReceived(_ streamID: Int32, _ data: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard let stream = streams[streamID], stream.rejection == nil else { return 0 }
        if stream.body.count + data.count > limits.maxBodyBytes {
            stream.rejection = (413, "request body exceeds \(limits.maxBodyBytes) bytes")
            stream.body = []
            return 0
        }
        stream.body.append(contentsOf: data)
        return 0
    }

    private func frameReceived(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        let type = UInt32(frame.pointee.hd.type)
        guard type == NGHTTP2_HEADERS.rawValue || type == NGHTTP2_DATA.rawValue,
              frame.pointee.hd.flags & UInt8(NGHTTP2_FLAG_END_STREAM.rawValue) != 0,
              let stream = streams[frame.pointee.hd.stream_id], stream.inFlight == nil, !stream.responded else { return 0 }
        if let rejection = stream.rejection {
            respond(to: stream, with: .problem(Problem(status: rejection.status, detail: rejection.detail)))
            return 0
        }
        var headers = stream.headers
        if let authority = stream.authority, !headers.contains("host") { headers.add("host", authority) }
        let (path, query) = Self.split(stream.path)
        let request = Request(method: stream.method, path: path, query: query, headers: headers, body: stream.body,
                              version: .http2, remoteAddress: connection.remoteAddress)
        stream.body = []
        dispatch(request, on: stream)
        return 0
    }

    private static func split(_ target: String) -> (String, String?) {
        guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (target, nil) }
        return (String(target[..<mark]), String(target[target.index(after: mark)...]))
    }

    private func dispatch(_ request: Request, on stream: HTTP2Stream) {
        // The stream is found again by id: a weak reference to it would cost an allocation per request.
        let id = stream.id
        let isHead = request.method == "HEAD"
        let handle = pipeline.dispatch(request, context: connection.loopContext) { [weak self] response in
            guard let self, let stream = streams[id] else { return }
            respond(to: stream, with: response, isHead: isHead)
        }
        if !stream.responded { stream.inFlight = handle }
    }

    private func streamClosed(_ streamID: Int32) -> Int32 {
        if let stream = streams.removeValue(forKey: streamID) {
            stream.cancel()
            connection.server.gauges.openStreams.wrappingSubtract(1, ordering: .relaxed)
        }
        if shuttingDown, streams.isEmpty { connection.closeAfterFlush() }
        return 0
    }

    // MARK: output

    private func respond(to stream: HTTP2Stream, with response: Response, isHead: Bool = false) {
        guard let session, !stream.responded, streams[stream.id] === stream else { return }
        stream.responded = true
        stream.inFlight = nil
        var hasBody = !isHead && !HTTP1ResponseWriter.forbidsBody(response.status)
        switch response.body {
        case .bytes(let bytes):
            stream.outgoing = bytes
            if bytes.isEmpty { hasBody = false }
        case .stream(let chunks):
            stream.outgoingComplete = false
            if hasBody {
                stream.streamTask = ResponseStreamPump.start(chunks, loop: connection.loop, onChunk: { [weak self, weak stream] chunk in
                    guard let self, let stream else { return }
                    stream.outgoing.append(contentsOf: chunk)
                    resume(stream)
                }, onEnd: { [weak self, weak stream] in
                    guard let self, let stream else { return }
                    stream.outgoingComplete = true
                    stream.streamTask = nil
                    resume(stream)
                })
            }
        }
        var block = HeaderBlock(capacity: response.headers.count + 2)
        block.add(":status", String(response.status))
        if case .bytes(let bytes) = response.body, hasBody || isHead {
            block.add("content-length", String(bytes.count))
        }
        for field in response.headers where !HTTP1ResponseWriter.isHopByHop(field.name) {
            block.add(field.name, field.value, indexed: field.name != "x-request-id" && field.name != "traceparent")
        }
        block.withNameValues { nva, count in
            if hasBody {
                var provider = nghttp2_data_provider()
                provider.read_callback = { _, streamID, buffer, length, flags, _, userData in
                    HTTP2Handler.from(userData).readBody(streamID, buffer!, length, flags!)
                }
                nghttp2_submit_response(session, stream.id, nva, count, &provider)
            } else {
                nghttp2_submit_response(session, stream.id, nva, count, nil)
            }
        }
        schedulePump()
    }

    /// nghttp2 asks for the next piece of a response body (as flow control allows).
    private func readBody(_ streamID: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ length: Int,
                          _ flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let stream = streams[streamID] else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        let available = stream.outgoing.count - stream.outgoingOffset
        let count = min(length, available)
        if count > 0 {
            stream.outgoing.withUnsafeBufferPointer { source in
                buffer.update(from: source.baseAddress! + stream.outgoingOffset, count: count)
            }
            stream.outgoingOffset += count
        }
        if stream.outgoingOffset == stream.outgoing.count {
            stream.outgoing.removeAll(keepingCapacity: false)
            stream.outgoingOffset = 0
            if stream.outgoingComplete {
                flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            } else if count == 0 {
                stream.deferred = true
                return Int(NGHTTP2_ERR_DEFERRED.rawValue)
            }
        }
        return count
    }

    private func resume(_ stream: HTTP2Stream) {
        guard let session, streams[stream.id] === stream else { return }
        if stream.deferred {
            stream.deferred = false
            nghttp2_session_resume_data(session, stream.id)
        }
        schedulePump()
    }

    private func schedulePump() {
        guard !pumpScheduled else { return }
        pumpScheduled = true
        connection.loop.afterIteration { [weak self] in
            guard let self else { return }
            pumpScheduled = false
            pump()
        }
    }

    /// Moves frames nghttp2 has ready into the connection, while the socket keeps up.
    private func pump() {
        guard let session, !connection.isClosed, !holdOutputForPreface else { return }
        while connection.pendingOutboundBytes < Self.outboundSoftLimit {
            var data: UnsafePointer<UInt8>?
            let length = nghttp2_session_mem_send(session, &data)
            if length <= 0 { break }
            connection.send(UnsafeRawBufferPointer(start: data, count: length))
        }
        if nghttp2_session_want_read(session) == 0, nghttp2_session_want_write(session) == 0 {
            connection.closeAfterFlush()
        }
    }

    func outboundDrained() {
        schedulePump()
    }

    // MARK: lifecycle

    func checkTimeouts(now: UInt64) {
        guard let session, !terminated, streams.isEmpty else { return }
        if now - connection.lastActivity > limits.idleTimeoutMs {
            terminated = true
            nghttp2_session_terminate_session(session, NGHTTP2_NO_ERROR.rawValue)
            pump()
            connection.closeAfterFlush()
        }
    }

    func beginShutdown() {
        guard let session, !shuttingDown else { return }
        shuttingDown = true
        let lastStream = nghttp2_session_get_last_proc_stream_id(session)
        nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), lastStream, NGHTTP2_NO_ERROR.rawValue, nil, 0)
        pump()
        if streams.isEmpty { connection.closeAfterFlush() }
    }

    func connectionClosed() {
        for stream in streams.values { stream.cancel() }
        connection.server.gauges.openStreams.wrappingSubtract(streams.count, ordering: .relaxed)
        streams.removeAll()
        if let session { nghttp2_session_del(session) }
        session = nil
    }
}

/// Lays out header names and values in one buffer and hands nghttp2 an `nghttp2_nv` array pointing into
/// it; nghttp2 copies them during the submit call.
struct HeaderBlock {
    private var storage: [UInt8] = []
    private var ranges: [(nameStart: Int, nameLength: Int, valueStart: Int, valueLength: Int, flags: UInt8)] = []

    init(capacity: Int) {
        storage.reserveCapacity(capacity * 40)
        ranges.reserveCapacity(capacity)
    }

    /// `indexed: false` keeps a value out of HPACK's dynamic table: unique values (request ids, trace ids)
    /// would only evict useful entries and cost an insertion per response.
    mutating func add(_ name: String, _ value: String, indexed: Bool = true) {
        let nameStart = storage.count
        storage.append(contentsOf: name.utf8)
        let valueStart = storage.count
        storage.append(contentsOf: value.utf8)
        let flags = indexed ? NGHTTP2_NV_FLAG_NONE.rawValue : NGHTTP2_NV_FLAG_NO_INDEX.rawValue
        ranges.append((nameStart, valueStart - nameStart, valueStart, storage.count - valueStart, UInt8(flags)))
    }

    mutating func withNameValues(_ body: (UnsafePointer<nghttp2_nv>, Int) -> Void) {
        storage.append(0)  // never empty, so the base address exists
        let ranges = self.ranges
        storage.withUnsafeMutableBufferPointer { bytes in
            let base = bytes.baseAddress!
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: ranges.count) { nva in
                for (index, range) in ranges.enumerated() {
                    nva[index] = nghttp2_nv(name: base + range.nameStart, value: base + range.valueStart,
                                            namelen: range.nameLength, valuelen: range.valueLength,
                                            flags: range.flags)
                }
                body(UnsafePointer(nva.baseAddress!), ranges.count)
            }
        }
    }
}

/// The request pseudo-headers the server reads, matched on raw bytes.
enum PseudoHeader {
    case method, path, authority, other

    init(_ name: UnsafeBufferPointer<UInt8>) {
        func equals(_ literal: StaticString) -> Bool {
            literal.utf8CodeUnitCount == name.count
                && literal.withUTF8Buffer { memcmp($0.baseAddress!, name.baseAddress!, name.count) == 0 }
        }
        if equals(":method") { self = .method } else if equals(":path") { self = .path }
        else if equals(":authority") { self = .authority } else { self = .other }
    }
}
