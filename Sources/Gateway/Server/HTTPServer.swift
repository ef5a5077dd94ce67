import Glibc
import Core
import Drivers
import Synchronization

/// The gateway's server: N event loops on N threads, each with its own SO_REUSEPORT listener.
public final class HTTPServer: Sendable {
    private let context: ServerContext
    private let loops: [EventLoop]
    private let loopContexts: [LoopContextHandle]
    private let threads = Mutex<[pthread_t]>([])
    public let port: Int

    /// `handlerExecutor`: where async handlers run (nil: Swift's global pool). Handing them the database
    /// client's I/O thread lets a handler's statements answer it without a wake-up of another thread.
    public init(config: GatewayConfig, router: Router, handlerExecutor: (any TaskExecutor)? = nil) throws {
        var tls: TLSContext?
        if let certificate = config.tlsCertificatePath, let key = config.tlsPrivateKeyPath {
            tls = try TLSContext(certificatePath: certificate, privateKeyPath: key)
        }
        let pipeline = RequestPipeline(router: router, config: config, handlerExecutor: handlerExecutor)
        context = ServerContext(config: config, pipeline: pipeline, tls: tls)

        // Bind the first listener to learn the port (SPICE_PORT=0 picks a free one), then the others to it.
        var listenFDs: [Int32] = []
        let first = try Socket.listen(host: config.host, port: config.port)
        listenFDs.append(first)
        port = Socket.localPort(first)
        for _ in 1..<config.eventLoopCount {
            listenFDs.append(try Socket.listen(host: config.host, port: port))
        }

        var loops: [EventLoop] = []
        var contexts: [LoopContextHandle] = []
        for index in 0..<config.eventLoopCount {
            let loop = try EventLoop(index: index)
            let loopContext = LoopContext(loop: loop, server: context)
            try loopContext.start(listening: listenFDs[index])
            loops.append(loop)
            contexts.append(LoopContextHandle(loopContext, loop: loop, metrics: loopContext.metrics))
        }
        self.loops = loops
        self.loopContexts = contexts
        let loopMetrics = contexts.map { $0.metrics }
        router.get("/metrics", .inline { [context] _ in
            let text = PrometheusRenderer.render(loops: loopMetrics, gauges: context.gauges)
            return Response(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", bytes: Array(text.utf8))
        })
    }

    /// Starts one thread per loop and returns.
    public func start() {
        for loop in loops {
            let box = Unmanaged.passRetained(loop)
            var thread = pthread_t()
            pthread_create(&thread, nil, { raw in
                let loop = Unmanaged<EventLoop>.fromOpaque(raw!).takeRetainedValue()
                loop.run()
                return nil
            }, box.toOpaque())
            threads.withLock { $0.append(thread) }
        }
    }

    /// Graceful shutdown: stop accepting, let in-flight requests finish (HTTP/2 gets GOAWAY), cut what is
    /// left after the grace period, stop the loops. Blocks until done.
    public func shutdown() {
        context.shuttingDown.store(true, ordering: .relaxed)
        let grace = context.config.limits.shutdownGraceMs
        let allDrained = Countdown(loops.count)
        for handle in loopContexts {
            handle.bound.withValueOnLoop { loopContext in
                loopContext.onDrained = { allDrained.arrive() }
                loopContext.beginShutdown(graceMs: grace)
            }
        }
        allDrained.wait()
        for loop in loops { loop.stop() }
        for thread in threads.withLock({ $0 }) { pthread_join(thread, nil) }
    }
}

/// A thread-blocking countdown latch for the shutdown path (waited on by the main thread, not a task).
final class Countdown: @unchecked Sendable {
    private let lock = ConditionLock()
    private var remaining: Int

    init(_ count: Int) { remaining = count }

    func arrive() {
        lock.withLock {
            remaining -= 1
            if remaining <= 0 { lock.broadcast() }
        }
    }

    func wait() {
        lock.withLock {
            while remaining > 0 { lock.wait() }
        }
    }
}

/// A loop's context as seen from other threads: only its (lock-protected) metrics are readable directly.
struct LoopContextHandle: Sendable {
    let bound: LoopBound<LoopContext>
    let metrics: LoopMetrics

    init(_ context: LoopContext, loop: EventLoop, metrics: LoopMetrics) {
        bound = LoopBound(context, loop: loop)
        self.metrics = metrics
    }
}
