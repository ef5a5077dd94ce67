import Glibc
import CLinux
import Synchronization

/// The protocol spoken on a connection once it is known (HTTP/1.1 or HTTP/2). It receives plaintext and
/// writes through its connection; the connection owns the socket, TLS, buffering and closing.
protocol ProtocolHandler: AnyObject {
    func receive(_ bytes: UnsafeRawBufferPointer)
    /// Everything queued so far reached the socket: a chance to produce more (flow-controlled bodies).
    func outboundDrained()
    func checkTimeouts(now: UInt64)
    func beginShutdown()
    /// True when no request is in progress, so the connection may be closed without losing work.
    var isQuiescent: Bool { get }
    func connectionClosed()
}

/// One accepted socket on one event loop: reads, optional TLS, protocol detection, buffered writes with
/// backpressure, and closing exactly once.
final class Connection: EventLoopSelectable {
    let fd: Int32
    let remoteAddress: String
    let loopContext: LoopContext
    var loop: EventLoop { loopContext.loop }
    var server: ServerContext { loopContext.server }

    private var tls: TLSSession?
    private var handler: ProtocolHandler?
    private var sniffed: [UInt8] = []
    private var outbound: [UInt8] = []
    private var outboundOffset = 0
    private var flushScheduled = false
    private var watchingWritable = false
    private var readingPaused = false
    private(set) var isClosed = false
    private var closeWhenFlushed = false
    /// The peer half-closed: answer what it already asked, then close.
    private var peerClosedInput = false
    private(set) var lastActivity: UInt64
    let acceptedAt: UInt64

    /// Above this much unsent data the connection stops reading, so a client that never reads cannot
    /// make the server buffer without bound.
    static let outboundHighWater = 4 * 1024 * 1024

    init(fd: Int32, remoteAddress: String, loopContext: LoopContext, tls: TLSSession?) {
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.loopContext = loopContext
        self.tls = tls
        self.lastActivity = loopContext.loop.now
        self.acceptedAt = loopContext.loop.now
    }

    var pendingOutboundBytes: Int { outbound.count - outboundOffset }
    var isTLS: Bool { tls != nil }

    // MARK: events

    func handleEvents(_ events: UInt32) {
        if events & EPOLLOUT.rawValue != 0 { flush() }
        if events & (EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0, readingPaused { close(); return }
        if events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0, !isClosed { readAvailable() }
    }

    private func readAvailable() {
        let buffer = loopContext.readBuffer
        // Bounded so one busy connection cannot starve the others on this loop.
        for _ in 0..<16 {
            guard !isClosed, !readingPaused else { return }
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count > 0 {
                lastActivity = loop.now
                ingest(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                if count < buffer.count { return }
            } else if count == 0 {
                peerFinishedSending()
                return
            } else {
                if errno == EAGAIN || errno == EINTR { return }
                close()
                return
            }
        }
    }

    private func ingest(_ bytes: UnsafeRawBufferPointer) {
        guard let tls else { deliver(bytes); return }
        switch tls.receive(bytes) {
        case .failed:
            flushTLSOutput()
            closeAfterFlush()
        case .ok(let plaintext):
            flushTLSOutput()
            if handler == nil, tls.handshakeComplete { adopt(alpn: tls.negotiatedProtocol) }
            if !plaintext.isEmpty { plaintext.withUnsafeBytes { deliver($0) } }
        }
    }

    private func deliver(_ bytes: UnsafeRawBufferPointer) {
        if let handler { handler.receive(bytes); return }
        // Cleartext: an HTTP/2 client with prior knowledge starts with the connection preface.
        sniffed.append(contentsOf: bytes)
        let preface = HTTP2Handler.clientPreface
        let comparable = min(sniffed.count, preface.count)
        if sniffed[0..<comparable].elementsEqual(preface[0..<comparable]) {
            guard sniffed.count >= preface.count else { return }
            adopt(HTTP2Handler(connection: self, upgrade: nil))
        } else {
            adopt(HTTP1Handler(connection: self))
        }
        let buffered = sniffed
        sniffed = []
        buffered.withUnsafeBytes { handler?.receive($0) }
    }

    private func adopt(alpn: String?) {
        adopt(alpn == "h2" ? HTTP2Handler(connection: self, upgrade: nil) : HTTP1Handler(connection: self))
    }

    /// Switches protocols (also used by the h2c upgrade).
    func adopt(_ newHandler: ProtocolHandler) {
        handler = newHandler
    }

    // MARK: writing

    func send(_ bytes: UnsafeRawBufferPointer) {
        guard !isClosed else { return }
        if let tls {
            tls.encrypt(bytes)
            flushTLSOutput()
        } else {
            outbound.append(contentsOf: bytes)
        }
        scheduleFlush()
    }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { send($0) }
    }

    private func flushTLSOutput() {
        guard let tls else { return }
        tls.drainCiphertext(into: &outbound)
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled, !isClosed else { return }
        flushScheduled = true
        loop.afterIteration { [self] in
            flushScheduled = false
            flush()
        }
    }

    private func flush() {
        guard !isClosed else { return }
        while outboundOffset < outbound.count {
            let written = outbound.withUnsafeBytes { buffer in
                Glibc.send(fd, buffer.baseAddress! + outboundOffset, buffer.count - outboundOffset, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                outboundOffset += written
            } else if written < 0, errno == EINTR {
                continue
            } else if written < 0, errno == EAGAIN {
                watchWritable(true)
                updateReadPause()
                return
            } else {
                close()
                return
            }
        }
        outbound.removeAll(keepingCapacity: outbound.capacity <= 256 * 1024)
        outboundOffset = 0
        watchWritable(false)
        if closeWhenFlushed || (peerClosedInput && isQuiescent) { close(); return }
        updateReadPause()
        handler?.outboundDrained()
    }

    private func watchWritable(_ on: Bool) {
        guard on != watchingWritable else { return }
        watchingWritable = on
        updateInterest()
    }

    private func updateReadPause() {
        let shouldPause = pendingOutboundBytes > Self.outboundHighWater
        guard shouldPause != readingPaused else { return }
        readingPaused = shouldPause
        updateInterest()
    }

    /// Stops (or resumes) reading for reasons of the protocol, e.g. pipelined requests piling up.
    func setReadingPaused(_ paused: Bool) {
        guard paused != readingPaused else { return }
        readingPaused = paused
        updateInterest()
    }

    private func updateInterest() {
        var events: UInt32 = 0
        if !readingPaused { events |= EPOLLIN.rawValue }
        if watchingWritable { events |= EPOLLOUT.rawValue }
        loop.modify(fd, events: events)
    }

    // MARK: closing

    /// Closes once everything queued has been written (the response that explains why, typically).
    func closeAfterFlush() {
        closeWhenFlushed = true
        setReadingPaused(true)
        if pendingOutboundBytes == 0, !flushScheduled { close() }
    }

    private func peerFinishedSending() {
        if isQuiescent, pendingOutboundBytes == 0 { close(); return }
        peerClosedInput = true
        setReadingPaused(true)
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        loop.unregister(fd)
        Glibc.close(fd)
        handler?.connectionClosed()
        handler = nil
        tls = nil
        loopContext.connectionClosed(self)
    }

    func checkTimeouts(now: UInt64) {
        if let handler {
            handler.checkTimeouts(now: now)
        } else if now - acceptedAt > server.config.limits.headerReadTimeoutMs {
            close()  // never sent a byte of a request (or never finished the TLS handshake)
        }
    }

    func beginShutdown() {
        if let handler { handler.beginShutdown() } else { close() }
    }

    var isQuiescent: Bool { handler?.isQuiescent ?? true }
}
