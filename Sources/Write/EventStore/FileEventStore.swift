import Glibc
import Core
import Drivers
import Synchronization

/// The embedded event store: a local directory with exactly the S3 key layout (`EventStoreKeys`), every
/// object written once, plus a write-ahead log (`wal/`) that makes an append durable before it returns.
///
/// - **One writer, group commit.** Appends queue for a dedicated writer thread, which commits everything
///   waiting as one batch (see `BatchCommitter`): the batch's envelopes are appended to the write-ahead
///   log with one fsync (the durability point); the appends are answered then, and the layout objects
///   are written (without fsync) right after, while readers wait.
/// - **Lazy layout durability.** A checkpointer thread periodically runs one `syncfs` and moves the
///   log's checkpoint; on open, `Recovery` rewrites whatever layout objects of the log after the
///   checkpoint are missing or torn (a crash loses page-cache contents, never a logged append).
/// - **Write-once.** An object is created with `O_EXCL` or `link()`, which never replace an existing name.
/// - **Readers** run on their own threads and see an append's objects once it has returned (a reader
///   arriving between the answer and the end of the layout waits for the layout).
/// - **One process per directory**: the store holds an exclusive `flock` on `{directory}/.lock`.
///
/// Blocking calls run on the store's own threads (a writer, sync threads, reader threads), never on the
/// cooperative pool. Call `close()` to stop them (deinit does it too).
public final class FileEventStore: EventStore {
    public struct Options: Sendable {
        /// Most appends committed as one batch.
        public var maximumBatch: Int
        /// Threads doing a large batch's lookups in parallel; little is gained beyond the core count, as
        /// nothing there waits for an fsync.
        public var syncThreads: Int
        /// Threads serving reads (`event`, `events`, `tail`).
        public var readThreads: Int

        /// How often the layout objects written since the last checkpoint are made durable (one
        /// `syncfs`, off the append path) and the write-ahead log checkpointed.
        public var checkpointMilliseconds: Int
        /// Tests only: when false, a batch stops right after its log fsync (as if the process died
        /// there), leaving the layout to recovery.
        var writesLayout = true
        /// Tests only: when false, every read goes to the files (tests that tamper with them underneath).
        var servesRecentAppendsFromMemory = true
        /// Tests only: each layout starts this late, so the next batch is planned while it is under way.
        var layoutDelayMilliseconds = 0

        public init(maximumBatch: Int = 1024, syncThreads: Int = 4, readThreads: Int = 4, checkpointMilliseconds: Int = 1000) {
            self.maximumBatch = maximumBatch
            self.syncThreads = syncThreads
            self.readThreads = readThreads
            self.checkpointMilliseconds = checkpointMilliseconds
        }
    }

    /// Counters since the store was opened (for benchmarks and metrics).
    public struct Statistics: Sendable, Equatable {
        public var appendRequests: Int
        public var batches: Int
        public var largestBatch: Int
        /// fsyncs on the append path: the write-ahead log segment (one per batch) and the `wal/`
        /// directory when a segment starts.
        public var fileFsyncs: Int
        public var directoryFsyncs: Int
        /// syncfs and checkpoint fsyncs made off the append path (checkpointer, recovery).
        public var backgroundSyncs: Int
        /// Time by phase: the writer's planning (existence checks, payload comparison), the log's write
        /// and fsync, and the layout (the objects' files and links, on the layout thread).
        public var planNanoseconds: Int
        public var fileSyncNanoseconds: Int
        public var publishNanoseconds: Int
        public var fsyncs: Int { fileFsyncs + directoryFsyncs }
    }

    /// The root directory (absolute).
    public let directory: String
    private let files: StoreFiles
    private let reader: StoreReader
    private let gate = ReadWriteGate()
    private let queue = AppendQueue()
    private let syncPool: BlockingPool
    private let readPool: BlockingPool
    private let writerThread: pthread_t
    private let checkpointer: Checkpointer
    private let lockFD: Int32
    private let closed = Atomic<Bool>(false)
    private let recent: RecentAppends

    /// Opens (creating it if needed) the store rooted at `directory`.
    public init(directory: String, options: Options = Options()) throws(EventStoreError) {
        var root = directory
        if !root.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard getcwd(&buffer, buffer.count) != nil else { throw .io(SystemError("getcwd").description) }
            root = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + root
        }
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.directory = root

        // Create the root (and ancestors), durably.
        var created: [String] = []
        var current = ""
        for segment in root.split(separator: "/") {
            current += "/" + segment
            if mkdir(current, 0o755) == 0 { created.append(current) }
            else if errno != EEXIST { throw .io(SystemError("mkdir(\(current))").description) }
        }
        let counters = FsyncCounters()
        let files = StoreFiles(root: root, counters: counters)
        for path in created {
            let code = files.syncDirectory(StoreFiles.parent(of: path))
            if code != 0 { throw .io(SystemErrorText.describe("fsync(\(StoreFiles.parent(of: path)))", code)) }
        }

        let lockPath = root + "/.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(SystemError("open(\(lockPath))").description) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            Glibc.close(fd)
            if code == EWOULDBLOCK {
                throw .io("the event store at \(root) is in use by another store instance or process (\(lockPath) is locked)")
            }
            throw .io(SystemErrorText.describe("flock(\(lockPath))", code))
        }
        lockFD = fd

        let log: WriteAheadLog
        let rootFD: Int32
        do throws(EventStoreError) {
            (log, rootFD) = try Recovery.recover(files)
        } catch {
            Glibc.close(fd)
            throw error
        }
        checkpointer = Checkpointer(files: files, rootFD: rootFD, durable: log.position,
                                    intervalMilliseconds: options.checkpointMilliseconds)
        self.files = files
        self.reader = StoreReader(files: files)
        do throws(EventStoreError) {
            recent = RecentAppends(newestAtOpen: try reader.newestByDateKey(), enabled: options.servesRecentAppendsFromMemory)
        } catch {
            Glibc.close(fd)
            throw error
        }
        syncPool = BlockingPool(name: "es-sync", threads: options.syncThreads)
        readPool = BlockingPool(name: "es-read", threads: options.readThreads)
        let committer = BatchCommitter(files: files, gate: gate, syncPool: syncPool, log: log, checkpointer: checkpointer,
                                       writesLayout: options.writesLayout, layoutDelayMilliseconds: options.layoutDelayMilliseconds)
        let maximumBatch = max(1, options.maximumBatch)
        writerThread = startThread(name: "es-writer") { [queue] in
            while let batch = queue.takeBatch(maximum: maximumBatch) {
                committer.commit(batch.map(\.append)) { results in
                    for (request, result) in zip(batch, results) { request.continuation.resume(returning: result) }
                }
            }
            committer.finish()
        }
    }

    deinit { close() }

    /// Commits what is queued, stops the threads and releases the directory lock. Later appends fail
    /// with `.io`. Blocks briefly; idempotent.
    public let appended = ChangeSignal()

    public func close() {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        queue.stop()
        pthread_join(writerThread, nil)
        checkpointer.stop()
        syncPool.shutdown()
        readPool.shutdown()
        Glibc.close(lockFD)
    }

    public var statistics: Statistics {
        let c = files.counters
        return Statistics(appendRequests: c.appendRequests.load(ordering: .relaxed), batches: c.batches.load(ordering: .relaxed),
                          largestBatch: c.largestBatch.load(ordering: .relaxed), fileFsyncs: c.files.load(ordering: .relaxed),
                          directoryFsyncs: c.directories.load(ordering: .relaxed),
                          backgroundSyncs: c.backgroundSyncs.load(ordering: .relaxed),
                          planNanoseconds: c.planNanoseconds.load(ordering: .relaxed),
                          fileSyncNanoseconds: c.fileSyncNanoseconds.load(ordering: .relaxed),
                          publishNanoseconds: c.publishNanoseconds.load(ordering: .relaxed))
    }

    // MARK: EventStore

    public func append(_ envelope: EventEnvelope) async throws(EventStoreError) -> AppendOutcome {
        let queue = self.queue
        let directory = self.directory
        let encoded = try EncodedAppend(envelope)
        recent.begin(envelope)
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<StoreAppendResult, Never>) in
            if !queue.enqueue(.init(append: encoded, continuation: continuation)) {
                continuation.resume(returning: .failure(.io("the event store at \(directory) is closed")))
            }
        }
        let appended = (try? result.get()) == .appended
        // Taken before the entry becomes visible: a tailer that sees it within its own millisecond (and
        // leaves it for later, see RecentAppends) reads the clock no earlier than this.
        let beforeVisible = EventTimestamp.nowMicroseconds()
        recent.finish(envelope, stored: appended)
        if appended {
            self.appended.notify()
            if envelope.occurredAtMilliseconds >= beforeVisible / 1000 {
                // Wake tailers again right after that millisecond has passed.
                let signal = self.appended
                let remaining = (envelope.occurredAtMilliseconds + 1) * 1000 - EventTimestamp.nowMicroseconds()
                let delay = UInt64(max(0, min(5000, remaining))) * 1000 + 50_000
                Task {
                    try? await Task.sleep(nanoseconds: delay)
                    signal.notify()
                }
            }
        }
        return try result.get()
    }

    /// Returns once every append answered so far has its layout files (they follow the answer by the
    /// few file-system calls of their batch). Reads through the store wait for this themselves; it is
    /// for those who look at the directory directly.
    public func layoutWritten() async {
        _ = try? await read { _ in () }
    }

    public func checkpoint(_ name: String) async throws(EventStoreError) -> JSONValue? {
        let key = EventStoreKeys.checkpointKey(name: name)
        let files = self.files
        let bytes = try await readPool.run { () throws(EventStoreError) -> [UInt8]? in try files.read(key) }
        guard let bytes else { return nil }
        do { return try JSONParser.parse(bytes) } catch {
            throw .corrupt(key: key, reason: "invalid JSON: \(error.detail ?? error.title)")
        }
    }

    public func saveCheckpoint(_ name: String, _ value: JSONValue) async throws(EventStoreError) {
        let key = EventStoreKeys.checkpointKey(name: name)
        let files = self.files
        try await readPool.run { () throws(EventStoreError) in try files.replace(key, bytes: JSONWriter.bytes(value)) }
    }

    public func event(id: String) async throws(EventStoreError) -> EventEnvelope? {
        try await read { reader throws(EventStoreError) in try reader.event(id: id) }
    }

    public func events(aggregateType: String, aggregateId: String, fromSequence: Int) async throws(EventStoreError) -> [EventEnvelope] {
        try await read { reader throws(EventStoreError) in
            try reader.events(aggregateType: aggregateType, aggregateId: aggregateId, fromSequence: fromSequence)
        }
    }

    public func tail(after position: EventStorePosition?, limit: Int) async throws(EventStoreError)
        -> [(position: EventStorePosition, envelope: EventEnvelope)] {
        if let cached = recent.entries(after: position, limit: limit) { return cached }
        // From the files: only up to the floor — what lies past it is this store's own appends, which
        // memory hands out in a safe order (the fence).
        let floor = recent.diskReadLimit
        let entries: [TailEntry] = try await read { reader throws(EventStoreError) in
            try reader.tail(after: position, limit: limit).map { TailEntry(position: $0.position, envelope: $0.envelope) }
        }
        return entries.filter { entry in floor.map { !$0.utf8.lexicographicallyPrecedes(entry.position.key.utf8) } ?? true }
            .map { ($0.position, $0.envelope) }
    }

    public func positions(after position: EventStorePosition?, limit: Int) async throws(EventStoreError) -> [EventStorePosition] {
        if let cached = recent.positions(after: position, limit: limit) { return cached }
        return try await read { reader throws(EventStoreError) in try reader.positions(after: position, limit: limit) }
    }

    public func envelope(at position: EventStorePosition) async throws(EventStoreError) -> EventEnvelope {
        if let cached = recent.envelope(at: position) { return cached }
        return try await read { reader throws(EventStoreError) in try reader.envelope(at: position) }
    }

    private struct TailEntry: Sendable {
        let position: EventStorePosition
        let envelope: EventEnvelope
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (StoreReader) throws(EventStoreError) -> T) async throws(EventStoreError) -> T {
        guard !closed.load(ordering: .acquiring) else { throw .io("the event store at \(directory) is closed") }
        let reader = self.reader
        let gate = self.gate
        return try await readPool.run { () throws(EventStoreError) -> T in
            try gate.withShared { () throws(EventStoreError) -> T in try body(reader) }
        }
    }
}
