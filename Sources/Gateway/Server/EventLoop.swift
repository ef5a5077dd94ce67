import Glibc
import CLinux
import Synchronization
import Drivers

/// Something registered with an event loop for readiness events on one file descriptor.
protocol EventLoopSelectable: AnyObject {
    func handleEvents(_ events: UInt32)
}

/// One epoll loop on one thread. Everything registered with it (listeners, connections) is touched only
/// on that thread, so connection state needs no locks; other threads hand work in with `execute`.
final class EventLoop: @unchecked Sendable {
    let index: Int
    private let epollFD: Int32
    private let wakeFD: Int32
    private var selectables: [Int32: EventLoopSelectable] = [:]
    private let inbox = Mutex<[@Sendable () -> Void]>([])
    private var timers = TimerHeap()
    private var endOfIterationTasks: [() -> Void] = []
    private var running = true
    private(set) var thread: pthread_t?

    /// Milliseconds on the monotonic clock, read once per loop iteration.
    private(set) var now: UInt64 = EventLoop.monotonicMilliseconds()

    init(index: Int) throws(SystemError) {
        self.index = index
        epollFD = try syscall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        wakeFD = try syscall("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeFD
        try syscall("epoll_ctl(wake)") { epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event) }
    }

    deinit {
        close(epollFD)
        close(wakeFD)
    }

    static func monotonicMilliseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    // MARK: registration (loop thread only)

    func register(_ fd: Int32, _ selectable: EventLoopSelectable, events: UInt32) throws(SystemError) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        try syscall("epoll_ctl(add)") { epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) }
        selectables[fd] = selectable
    }

    func modify(_ fd: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    func unregister(_ fd: Int32) {
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        selectables[fd] = nil
    }

    // MARK: work from other threads

    /// Runs `task` on this loop's thread. Safe from any thread.
    func execute(_ task: @escaping @Sendable () -> Void) {
        let wasEmpty = inbox.withLock { queue in
            queue.append(task)
            return queue.count == 1
        }
        if wasEmpty { wake() }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Runs `task` on this loop after `milliseconds` (loop thread only). Coarse: the loop's clock
    /// is read once per iteration.
    func schedule(after milliseconds: UInt64, _ task: @escaping () -> Void) {
        timers.push(deadline: now + milliseconds, task)
    }

    /// Runs `task` once the current batch of events is handled (loop thread only). Connections use it
    /// to flush many responses with one write.
    func afterIteration(_ task: @escaping () -> Void) {
        endOfIterationTasks.append(task)
    }

    func stop() {
        execute { [self] in running = false }
    }

    // MARK: the loop

    func run() {
        thread = pthread_self()
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while running {
            let timeout: Int32 = endOfIterationTasks.isEmpty ? timers.millisecondsUntilNext(now: now) : 0
            let count = epoll_wait(epollFD, events, Int32(capacity), timeout)
            now = Self.monotonicMilliseconds()
            if count > 0 {
                for i in 0..<Int(count) {
                    let fd = events[i].data.fd
                    if fd == wakeFD {
                        drainInbox()
                    } else if let selectable = selectables[fd] {
                        selectable.handleEvents(events[i].events)
                    }
                }
            }
            while let task = timers.popExpired(now: now) { task() }
            runEndOfIterationTasks()
        }
    }

    private func drainInbox() {
        var counter: UInt64 = 0
        _ = read(wakeFD, &counter, 8)
        let tasks = inbox.withLock { queue in
            let taken = queue
            queue.removeAll(keepingCapacity: true)
            return taken
        }
        for task in tasks { task() }
    }

    private func runEndOfIterationTasks() {
        while !endOfIterationTasks.isEmpty {
            let tasks = endOfIterationTasks
            endOfIterationTasks.removeAll(keepingCapacity: true)
            for task in tasks { task() }
        }
    }
}

/// A value that belongs to one event loop, carried through `@Sendable` closures back to that loop.
/// Reading `value` anywhere else is a bug, so it is checked in debug builds.
struct LoopBound<Value>: @unchecked Sendable {
    private let storage: Value
    let loop: EventLoop

    init(_ value: Value, loop: EventLoop) {
        self.storage = value
        self.loop = loop
    }

    var value: Value {
        assert(loop.thread.map { pthread_equal($0, pthread_self()) != 0 } ?? true, "LoopBound read off its loop")
        return storage
    }

    /// Hops to the owning loop and runs `body` with the value there.
    func withValueOnLoop(_ body: @escaping @Sendable (Value) -> Void) {
        loop.execute { body(self.value) }
    }
}
