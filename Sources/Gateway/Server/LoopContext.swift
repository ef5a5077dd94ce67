import Glibc
import CLinux
import Drivers

/// Everything one event loop owns: its listening socket, its connections, a read buffer, metrics and the
/// access-log buffer. All of it is touched only on the loop's thread.
final class LoopContext: EventLoopSelectable {
    let loop: EventLoop
    let server: ServerContext
    let metrics = LoopMetrics()
    let accessLog: AccessLog
    let readBuffer: UnsafeMutableRawBufferPointer
    var requestIDs = RequestID()
    private var listenFD: Int32 = -1
    private var connections: [ObjectIdentifier: Connection] = [:]
    private var shutdownDeadline: UInt64?
    var onDrained: (() -> Void)?

    init(loop: EventLoop, server: ServerContext) {
        self.loop = loop
        self.server = server
        self.accessLog = AccessLog(loop: loop)
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit { readBuffer.deallocate() }

    var connectionCount: Int { connections.count }

    private var dateSecond = -1
    private var dateText = ""

    /// The HTTP Date header value, formatted at most once a second per loop.
    var httpDate: String {
        let now = WallClock.unixSeconds()
        if now != dateSecond {
            dateSecond = now
            dateText = WallClock.httpDate(seconds: now)
        }
        return dateText
    }

    /// Called on the loop: start accepting on `fd` and checking timeouts once a second.
    func start(listening fd: Int32) throws(SystemError) {
        listenFD = fd
        try loop.register(fd, self, events: EPOLLIN.rawValue)
        scheduleTimeoutSweep()
    }

    /// Readiness of the listening socket: accept everything pending.
    func handleEvents(_ events: UInt32) {
        while listenFD >= 0, let (fd, remote) = Socket.accept(listenFD) {
            guard server.admitConnection() else {
                Glibc.close(fd)
                continue
            }
            let tls = server.tls.flatMap { TLSSession(context: $0) }
            if server.tls != nil, tls == nil {
                Glibc.close(fd)
                server.releaseConnection()
                continue
            }
            let connection = Connection(fd: fd, remoteAddress: remote, loopContext: self, tls: tls)
            do {
                try loop.register(fd, connection, events: EPOLLIN.rawValue)
                connections[ObjectIdentifier(connection)] = connection
            } catch {
                Glibc.close(fd)
                server.releaseConnection()
            }
        }
    }

    func connectionClosed(_ connection: Connection) {
        guard connections.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        server.releaseConnection()
        checkDrained()
    }

    private func scheduleTimeoutSweep() {
        loop.schedule(after: 250) { [self] in
            let now = loop.now
            for connection in Array(connections.values) { connection.checkTimeouts(now: now) }
            if let deadline = shutdownDeadline, now >= deadline {
                for connection in Array(connections.values) { connection.close() }
            }
            if listenFD >= 0 || !connections.isEmpty { scheduleTimeoutSweep() }
        }
    }

    /// Graceful shutdown, step 1 on this loop: stop accepting, tell every connection to finish.
    func beginShutdown(graceMs: UInt64) {
        if listenFD >= 0 {
            loop.unregister(listenFD)
            Glibc.close(listenFD)
            listenFD = -1
        }
        shutdownDeadline = loop.now + graceMs
        for connection in Array(connections.values) { connection.beginShutdown() }
        if connections.isEmpty { scheduleTimeoutSweep() }
        checkDrained()
    }

    private func checkDrained() {
        guard listenFD < 0, connections.isEmpty, let onDrained else { return }
        self.onDrained = nil
        accessLog.flush()
        onDrained()
    }
}
