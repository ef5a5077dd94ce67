import Core
import Synchronization

/// Tails the event store's by-date index and delivers every envelope to its topic, keyed by aggregate id
/// (contract rule 10). The checkpoint only ever covers a contiguous delivered prefix: a batch is published
/// all-or-nothing, and the checkpoint is saved after the bus has it, so a crash re-delivers, never skips.
/// Entries that land behind the checkpoint (an append whose timestamp was taken before a later one's, but
/// which became visible after it) are found by a look-back over a bounded window and delivered then.
///
/// Woken by appends in this process; polls as a fallback (other processes, missed signals).
public final class EventPublisher: Sendable {
    public struct Options: Sendable {
        public var batchSize = 500
        public var lookbackMilliseconds: Int64 = 10_000
        /// How often the look-back window is scanned for late entries (a scan costs the window's size).
        public var lookbackScanMilliseconds = 500
        public var pollMilliseconds = 1000
        public var checkpointName = "event_publisher"
        /// The checkpoint is saved at most this often (and on stop): a crash re-delivers what was published
        /// since (at-least-once), and the append path is spared an fsync per cycle.
        public var checkpointIntervalMilliseconds = 250
        public var start: PublisherStart = .beginning
        /// Where the publishing loop runs (nil: the global pool); the bus's database client's I/O thread
        /// saves a thread wake-up per statement.
        public var executor: (any TaskExecutor)?

        public init() {}
    }

    private let store: any EventStore
    private let bus: any MessageBus
    private let options: Options
    private let log: @Sendable (String) -> Void
    private let checkpoint = Mutex<PublisherCheckpoint?>(nil)
    private let loop = Mutex<Task<Void, Never>?>(nil)
    private let publishedCount = Atomic<Int>(0)
    /// Whether the checkpoint moved since it was last saved, and when that was.
    private let saved = Mutex<(dirty: Bool, at: ContinuousClock.Instant?)>((false, nil))
    private let lastScan = Mutex<ContinuousClock.Instant?>(nil)

    public init(store: any EventStore, bus: any MessageBus, options: Options = Options(),
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.store = store
        self.bus = bus
        self.options = options
        self.log = log
    }

    /// Envelopes delivered since start (re-deliveries included).
    public var published: Int { publishedCount.load(ordering: .relaxed) }

    public func start() {
        let task = Task(executorPreference: options.executor) { [self] in
            var failures = 0
            while !Task.isCancelled {
                let seen = store.appended.generation
                do {
                    let delivered = try await publishOnce()
                    failures = 0
                    if delivered == options.batchSize { continue }
                    try await saveCheckpoint(force: false)
                } catch {
                    failures += 1
                    log("publisher: \(error); retrying")
                }
                let wait = failures == 0 ? options.pollMilliseconds : min(5000, 200 << min(failures, 5))
                await store.appended.wait(after: seen, timeoutMilliseconds: wait)
            }
        }
        loop.withLock { $0 = task }
    }

    public func stop() async {
        let task = loop.withLock { $0 }
        task?.cancel()
        await task?.value
        try? await saveCheckpoint(force: true)
    }

    /// Saves the current checkpoint if it changed and the interval has passed (or `force`).
    private func saveCheckpoint(force: Bool) async throws {
        guard let current = checkpoint.withLock({ $0 }) else { return }
        let now = ContinuousClock.now
        let due = saved.withLock { saved -> Bool in
            guard saved.dirty else { return false }
            if force { return true }
            guard let at = saved.at else { return true }
            return now - at >= .milliseconds(options.checkpointIntervalMilliseconds)
        }
        guard due else { return }
        saved.withLock { $0 = (false, now) }
        do {
            // Published buffered: durable on the bus before the checkpoint moves past them.
            try await bus.flush()
            try await store.saveCheckpoint(options.checkpointName, current.json)
        } catch {
            saved.withLock { $0.dirty = true }
            throw error
        }
    }

    /// One cycle: late entries inside the look-back window, then up to a batch of new ones; returns how
    /// many new entries were delivered. The checkpoint is saved by the loop (or `publishOnce(saving:)`).
    @discardableResult
    public func publishOnce(saving: Bool) async throws -> Int {
        let delivered = try await publishOnce()
        if saving { try await saveCheckpoint(force: true) }
        return delivered
    }

    @discardableResult
    func publishOnce() async throws -> Int {
        var current = try await loadCheckpoint()
        let now = ContinuousClock.now
        let scanning = lastScan.withLock { last -> Bool in
            guard last.map({ now - $0 >= .milliseconds(options.lookbackScanMilliseconds) }) ?? true else { return false }
            last = now
            return true
        }
        let late = scanning ? try await lateEntries(current) : []
        let fresh = try await store.tail(after: current.position, limit: options.batchSize)
        let batch = late + fresh
        guard !batch.isEmpty else { return 0 }
        try await bus.publishBuffered(batch.map { OutgoingMessage(topic: $0.envelope.metadata.kafkaTopic, key: $0.envelope.aggregateId,
                                                          value: $0.envelope.jsonBytes) })
        publishedCount.add(batch.count, ordering: .relaxed)
        if let last = fresh.last { current.position = last.position }
        current.recent.formUnion(batch.map { PublisherCheckpoint.name(of: $0.position) })
        if scanning { current.trim(lookbackMilliseconds: options.lookbackMilliseconds) }
        checkpoint.withLock { $0 = current }
        saved.withLock { $0.dirty = true }
        if !late.isEmpty { log("publisher: delivered \(late.count) late entries") }
        return fresh.count
    }

    private func loadCheckpoint() async throws -> PublisherCheckpoint {
        if let cached = checkpoint.withLock({ $0 }) { return cached }
        let loaded = try await store.checkpoint(options.checkpointName).map(PublisherCheckpoint.init(json:))
            ?? PublisherCheckpoint(position: options.start.position)
        checkpoint.withLock { $0 = loaded }
        return loaded
    }

    /// Entries at or before the checkpoint, inside the look-back window, that were never published.
    private func lateEntries(_ current: PublisherCheckpoint) async throws -> [(position: EventStorePosition, envelope: EventEnvelope)] {
        guard let position = current.position, let milliseconds = EventStoreKeys.milliseconds(of: position) else { return [] }
        let from = EventStoreKeys.byDatePosition(before: max(0, milliseconds - options.lookbackMilliseconds))
        var late: [(position: EventStorePosition, envelope: EventEnvelope)] = []
        var cursor: EventStorePosition? = from
        scan: while true {
            let page = try await store.positions(after: cursor, limit: 5000)
            for entry in page {
                if position < entry { break scan }
                if !current.recent.contains(PublisherCheckpoint.name(of: entry)) {
                    late.append((entry, try await store.envelope(at: entry)))
                }
            }
            guard page.count == 5000, let next = page.last else { break }
            cursor = next
        }
        return late
    }
}
