import Glibc
import Drivers

/// The thread that writes a committed batch's layout while the writer plans and logs the next batch: the
/// layout is CPU work (ext4 inodes and directory entries), the log's fsync is a wait, and this overlaps
/// them. One layout at a time: the writer waits for the previous one before it answers a batch, so layouts
/// follow the log's order and a reader held at the gate waits for at most one.
final class LayoutThread: @unchecked Sendable {
    private let lock = ConditionLock()
    private var job: (@Sendable () -> Void)?
    private var busy = false
    private var stopping = false
    private var thread: pthread_t?

    init() {
        thread = startThread(name: "es-layout") { [self] in work() }
    }

    private func work() {
        while true {
            lock.lock()
            while job == nil && !stopping { lock.wait() }
            guard let next = job else {
                lock.unlock()
                return
            }
            job = nil
            lock.unlock()
            next()
            lock.withLock {
                busy = false
                lock.broadcast()
            }
        }
    }

    /// Runs `layout` on the thread; the previous layout must be finished (`waitUntilIdle`).
    func start(_ layout: @escaping @Sendable () -> Void) {
        lock.withLock {
            precondition(!busy, "a layout started before the previous one finished")
            busy = true
            job = layout
            lock.broadcast()
        }
    }

    var isIdle: Bool { lock.withLock { !busy } }

    func waitUntilIdle() {
        lock.withLock { while busy { lock.wait() } }
    }

    /// Finishes the layout under way, then ends the thread.
    func stop() {
        waitUntilIdle()
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }
}
