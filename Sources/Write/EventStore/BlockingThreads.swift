import Glibc
import Core
import Drivers

/// Starts a joinable thread running `body`.
func startThread(name: String, _ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box { let body: @Sendable () -> Void; let name: String; init(_ b: @escaping @Sendable () -> Void, _ n: String) { body = b; name = n } }
    let box = Unmanaged.passRetained(Box(body, name))
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, box.toOpaque())
    precondition(result == 0, "pthread_create failed: \(result)")
    return thread
}

/// A fixed set of dedicated threads for blocking file-system calls, so they never occupy Swift's
/// cooperative pool. Jobs run in submission order (FIFO), several at a time.
final class BlockingPool: @unchecked Sendable {
    private let lock = ConditionLock()
    private var jobs: [@Sendable () -> Void] = []
    private var head = 0
    private var stopping = false
    private var threads: [pthread_t] = []

    init(name: String, threads count: Int) {
        for index in 0..<max(1, count) {
            threads.append(startThread(name: "\(name)-\(index)") { [self] in self.work() })
        }
    }

    private func work() {
        while true {
            lock.lock()
            while head == jobs.count && !stopping { lock.wait() }
            if head == jobs.count { lock.unlock(); return }
            let job = jobs[head]
            head += 1
            if head > 1024, head * 2 > jobs.count { jobs.removeFirst(head); head = 0 }
            lock.unlock()
            job()
        }
    }

    /// Up to this many `map` elements run on the calling thread.
    static let inlineLimit = 8

    func submit(_ job: @escaping @Sendable () -> Void) {
        lock.lock()
        jobs.append(job)
        lock.signal()
        lock.unlock()
    }

    /// Runs `body` on a pool thread and awaits its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(EventStoreError) -> T) async throws(EventStoreError) -> T {
        let result: Result<T, EventStoreError> = await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: Result { () throws(EventStoreError) -> T in try body() }) }
        }
        return try result.get()
    }

    /// Calls `body` for every element concurrently on the pool and blocks the calling thread (which must
    /// not be a pool thread) until all are done; returns the results in order. A few elements run on the
    /// calling thread: waking pool threads costs more than a handful of small file writes.
    func map<T: Sendable, R: Sendable>(_ items: [T], _ body: @escaping @Sendable (T) -> R) -> [R] {
        if items.count <= BlockingPool.inlineLimit { return items.map(body) }
        let collector = MapCollector<R>(items.count)
        lock.lock()
        for (index, item) in items.enumerated() {
            jobs.append {
                let value = body(item)
                collector.lock.withLock {
                    collector.results[index] = value
                    collector.remaining -= 1
                    if collector.remaining == 0 { collector.lock.broadcast() }
                }
            }
        }
        lock.broadcast()
        lock.unlock()
        collector.lock.lock()
        while collector.remaining > 0 { collector.lock.wait() }
        collector.lock.unlock()
        return collector.results.map { $0! }
    }

    /// Lets queued jobs finish, then stops and joins the threads.
    func shutdown() {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
        for thread in threads { pthread_join(thread, nil) }
        threads = []
    }
}

private final class MapCollector<R>: @unchecked Sendable {
    let lock = ConditionLock()
    var results: [R?]
    var remaining: Int
    init(_ count: Int) { results = Array(repeating: nil, count: count); remaining = count }
}

/// Readers share, the writer excludes; a waiting writer holds off new readers (no writer starvation).
/// The group-commit writer holds it exclusively only while it makes new names visible and syncs their
/// directories, so a reader never observes an entry that is not yet durable.
final class ReadWriteGate: @unchecked Sendable {
    private let lock = ConditionLock()
    private var readers = 0
    private var writing = false
    private var writersWaiting = 0
    private var readersWaiting = 0
    private var readersAdmitted = 0

    func withShared<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock.lock()
        if writing || writersWaiting > 0 {
            readersWaiting += 1
            while writing || writersWaiting > 0 { lock.wait() }
            readersWaiting -= 1
            readersAdmitted += 1
            lock.broadcast()   // `admitWaitingReaders` may be counting them in
        }
        readers += 1
        lock.unlock()
        defer {
            lock.lock()
            readers -= 1
            if readers == 0 { lock.broadcast() }
            lock.unlock()
        }
        return try body()
    }

    func withExclusive<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        reserveExclusive()
        return try withReservedExclusive(body)
    }

    /// Waits until the readers waiting now are in. A writer that reserves again the moment its last
    /// exclusive section ended would otherwise keep them out for as long as it has work.
    func admitWaitingReaders() {
        lock.withLock {
            let target = readersAdmitted + readersWaiting
            while readersAdmitted < target && !writing && writersWaiting == 0 { lock.wait() }
        }
    }

    /// Holds off new readers from now on; the writer must follow with `withReservedExclusive`.
    func reserveExclusive() {
        lock.withLock { writersWaiting += 1 }
    }

    /// Waits for the readers inside to leave, then runs `body` alone (after `reserveExclusive`).
    func withReservedExclusive<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock.lock()
        while writing || readers > 0 { lock.wait() }
        writersWaiting -= 1
        writing = true
        lock.unlock()
        defer {
            lock.lock()
            writing = false
            lock.broadcast()
            lock.unlock()
        }
        return try body()
    }
}
