import Glibc
import Core
import Drivers
import Synchronization

typealias StoreAppendResult = Result<AppendOutcome, EventStoreError>

/// Appends waiting for the writer thread.
final class AppendQueue: @unchecked Sendable {
    struct Request {
        let envelope: EventEnvelope
        let continuation: CheckedContinuation<StoreAppendResult, Never>
    }

    private let lock = ConditionLock()
    private var pending: [Request] = []
    private var stopping = false

    /// False when the store is closed (the caller answers the request itself).
    func enqueue(_ request: Request) -> Bool {
        lock.withLock {
            guard !stopping else { return false }
            pending.append(request)
            lock.broadcast()
            return true
        }
    }

    /// Blocks until requests are waiting and takes up to `maximum` of them (oldest first); nil once the
    /// queue is stopped and empty.
    func takeBatch(maximum: Int) -> [Request]? {
        lock.withLock {
            while pending.isEmpty && !stopping { lock.wait() }
            if pending.isEmpty { return nil }
            let count = min(maximum, pending.count)
            let batch = Array(pending.prefix(count))
            pending.removeFirst(count)
            return batch
        }
    }

    func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
    }
}

/// The single writer. It takes every append waiting at that moment as one batch and makes the whole
/// batch durable with one fsync (of the write-ahead log segment):
///
/// 1. **Plan.** Validate each request; then, in parallel on the sync threads, serialize it and look its
///    id up (`by-event-id`, then the envelope's own key). Then decide in arrival order: same payload as
///    stored → `.alreadyPresent` plus any missing index entries; another payload → `.eventIdReused`;
///    new → the envelope object and its index objects. A repeated id inside one batch is compared with
///    its first occurrence.
/// 2. **Log.** The envelopes whose objects are planned are appended to the write-ahead log and the
///    segment is fsynced once — the durability point.
/// 3. **Answer.** Every caller of the batch is resumed: its append is durable. Readers are held at the
///    gate from this moment until the layout is written, so none that starts after an append returned
///    can miss it.
/// 4. **Layout.** On the layout thread, while the writer plans and logs the next batch: every planned
///    object is written as a hidden temporary file (not synced; an event's three index entries, which
///    have the same body, share one) and linked to its name: `link()` never replaces an existing object
///    (write-once, like S3 `If-None-Match: *`). The checkpointer makes them durable later; after a crash,
///    `Recovery` rewrites them from the log. The next batch is planned while this layout may still be
///    under way, so its existence checks consult this batch's ids in memory (`layingOut`) before the
///    files; it is answered only after this layout is complete. The layout's syscalls (~0.3 ms per
///    event here) are thus off the callers' path, and overlap the next batch's log fsync.
///
/// An fsync failure makes the store refuse further appends (the kernel may have dropped the dirty pages,
/// so the page cache could claim data the disk never got); restart to recover.
final class BatchCommitter: @unchecked Sendable {
    private let files: StoreFiles
    private let reader: StoreReader
    private let gate: ReadWriteGate
    private let syncPool: BlockingPool
    private let log: WriteAheadLog
    private let checkpointer: Checkpointer
    /// Set by the writer (log) or the layout thread; once set, appends are refused.
    private let failure = Mutex<String?>(nil)
    private let layoutThread: LayoutThread?
    /// The canonical payloads of the envelopes the layout thread may be writing now, by event id (writer
    /// thread only).
    private var layingOut: [String: [UInt8]] = [:]
    /// Microseconds each layout waits before it starts (tests only).
    private let layoutDelay: UInt32
    /// Directories (keys) made or found by this writer, so a layout object's directory costs no system call.
    private var knownDirectories: Set<String> = []
    static let knownDirectoryLimit = 100_000

    init(files: StoreFiles, gate: ReadWriteGate, syncPool: BlockingPool, log: WriteAheadLog, checkpointer: Checkpointer,
         writesLayout: Bool, layoutDelayMilliseconds: Int = 0) {
        self.files = files
        self.reader = StoreReader(files: files)
        self.gate = gate
        self.syncPool = syncPool
        self.log = log
        self.checkpointer = checkpointer
        // Without a layout (tests only) the batch stops after the log fsync, as if the process died there.
        layoutThread = writesLayout ? LayoutThread() : nil
        layoutDelay = UInt32(max(0, layoutDelayMilliseconds)) * 1000
    }

    /// Waits for the layout under way and stops the layout thread (the writer's last act).
    func finish() {
        layoutThread?.stop()
    }

    /// An object to create: its key, its bytes and its publishing stage (0 envelope, 1 by-event-id,
    /// 2 other indexes).
    struct ObjectSpec: Sendable {
        let key: String
        let bytes: [UInt8]
        let stage: Int
    }

    /// What the parallel preparation learned about one request.
    struct Prepared: Sendable {
        var payload: [UInt8] = []
        /// For the first occurrence of an id in the batch: the stored state, as (stored payload, index
        /// objects missing for it), nil when the id is not stored.
        var lookup: Result<(payload: [UInt8], bytes: [UInt8], missing: [ObjectSpec])?, EventStoreError>?
        /// The objects of a new envelope (written when the lookup finds nothing).
        var objects: [ObjectSpec] = []
    }

    static func objects(for envelope: EventEnvelope) -> [ObjectSpec] {
        let body = JSONWriter.bytes(EventStoreKeys.indexBody(for: envelope))
        var objects = [ObjectSpec(key: EventStoreKeys.byEventIdKey(eventId: envelope.eventId), bytes: body, stage: 1)]
        if let key = EventStoreKeys.byAggregateKey(for: envelope) { objects.append(ObjectSpec(key: key, bytes: body, stage: 2)) }
        objects.append(ObjectSpec(key: EventStoreKeys.byDateKey(for: envelope), bytes: body, stage: 2))
        return objects
    }

    /// Commits one batch; `answer` gets the results, in order, as soon as they are final (before the
    /// layout is written, see the type's description) and is called exactly once.
    func commit(_ envelopes: [EventEnvelope], answer: ([StoreAppendResult]) -> Void) {
        files.counters.batches.add(1, ordering: .relaxed)
        files.counters.appendRequests.add(envelopes.count, ordering: .relaxed)
        _ = files.counters.largestBatch.max(envelopes.count, ordering: .relaxed)
        let failure = self.failure.withLock { failure in
            if failure == nil, let background = checkpointer.failure { failure = background }
            return failure
        }
        if let failure {
            answer(envelopes.map { _ in .failure(.io(failure)) })
            return
        }
        let planStart = ContinuousClock.now
        // The previous layout finished before this batch's lookups began: the files tell the whole truth.
        if layoutThread?.isIdle ?? true { layingOut = [:] }

        var results: [StoreAppendResult?] = Array(repeating: nil, count: envelopes.count)
        var firstOccurrence: [String: Int] = [:]
        var jobs: [(index: Int, first: Bool)] = []
        for (index, envelope) in envelopes.enumerated() {
            do throws(Problem) {
                try envelope.validate()
                let first = firstOccurrence[envelope.eventId] == nil
                if first { firstOccurrence[envelope.eventId] = index }
                jobs.append((index, first))
            } catch {
                results[index] = .failure(.invalidEnvelope(error))
            }
        }
        let reader = self.reader
        let files = self.files
        let preparedList = syncPool.map(jobs.map { (envelopes[$0.index], $0.first) }) { envelope, first in
            var prepared = Prepared(payload: envelope.payloadCanonicalBytes)
            guard first else { return prepared }
            prepared.lookup = Result { () throws(EventStoreError) -> (payload: [UInt8], bytes: [UInt8], missing: [ObjectSpec])? in
                let byId = EventStoreKeys.byEventIdKey(eventId: envelope.eventId)
                var found = try reader.envelope(viaIndex: byId, expectedEventId: envelope.eventId)
                if found == nil { found = try reader.storedEnvelope(at: EventStoreKeys.eventKey(for: envelope)) }
                guard let stored = found else { return nil }
                var missing: [ObjectSpec] = []
                for object in BatchCommitter.objects(for: stored) where try !files.exists(object.key) { missing.append(object) }
                return (stored.payloadCanonicalBytes, missing.isEmpty ? [] : stored.jsonBytes, missing)
            }
            if case .success(nil)? = prepared.lookup {
                prepared.objects = [ObjectSpec(key: EventStoreKeys.eventKey(for: envelope), bytes: envelope.jsonBytes, stage: 0)]
                    + BatchCommitter.objects(for: envelope)
            }
            return prepared
        }
        var prepared: [Prepared?] = Array(repeating: nil, count: envelopes.count)
        for (job, value) in zip(jobs, preparedList) { prepared[job.index] = value }

        // Decide in arrival order.
        var outcomes: [AppendOutcome?] = Array(repeating: nil, count: envelopes.count)
        var planned: [ObjectSpec] = []
        var plannedKeys: Set<String> = []
        var records: [[UInt8]] = []   // the envelopes whose objects are planned, for the log
        var plannedPayloads: [String: [UInt8]] = [:]
        var decided: [String: Result<[UInt8], EventStoreError>] = [:]   // id → payload of record, or the lookup's error
        for job in jobs {
            let envelope = envelopes[job.index]
            let item = prepared[job.index]!
            do throws(EventStoreError) {
                if let earlier = decided[envelope.eventId] {
                    guard try earlier.get() == item.payload else { throw .eventIdReused(eventId: envelope.eventId) }
                    outcomes[job.index] = .alreadyPresent
                    continue
                }
                // Appended by the previous batch, whose layout may be half written: what the files say of
                // it (found, missing, unreadable) is not the truth yet.
                if let pending = layingOut[envelope.eventId] {
                    decided[envelope.eventId] = .success(pending)
                    guard pending == item.payload else { throw .eventIdReused(eventId: envelope.eventId) }
                    outcomes[job.index] = .alreadyPresent
                    continue
                }
                switch item.lookup! {
                case .failure(let error):
                    decided[envelope.eventId] = .failure(error)
                    throw error
                case .success(let stored?):
                    decided[envelope.eventId] = .success(stored.payload)
                    guard stored.payload == item.payload else { throw .eventIdReused(eventId: envelope.eventId) }
                    if !stored.missing.isEmpty { records.append(stored.bytes) }
                    for object in stored.missing where plannedKeys.insert(object.key).inserted { planned.append(object) }
                    if !stored.missing.isEmpty { plannedPayloads[envelope.eventId] = stored.payload }
                    outcomes[job.index] = .alreadyPresent
                case .success(nil):
                    decided[envelope.eventId] = .success(item.payload)
                    records.append(item.objects[0].bytes)
                    for object in item.objects where plannedKeys.insert(object.key).inserted { planned.append(object) }
                    plannedPayloads[envelope.eventId] = item.payload
                    outcomes[job.index] = .appended
                }
            } catch {
                results[job.index] = .failure(error)
            }
        }
        files.counters.planNanoseconds.add(FsyncCounters.nanoseconds(since: planStart), ordering: .relaxed)

        func final() -> [StoreAppendResult] {
            results.enumerated().map { index, result in result ?? .success(outcomes[index]!) }
        }
        guard !planned.isEmpty else {
            answer(final())
            return
        }
        let end: LogPosition
        do throws(EventStoreError) {
            end = try appendToLog(records)
        } catch {
            for index in results.indices where results[index] == nil { results[index] = .failure(error) }
            answer(final())
            return
        }
        guard let layoutThread else {
            answer(final())
            return
        }
        layoutThread.waitUntilIdle()
        layingOut = plannedPayloads
        gate.admitWaitingReaders()
        gate.reserveExclusive()
        answer(final())
        let objects = planned
        layoutThread.start { [self] in
            if layoutDelay > 0 { usleep(layoutDelay) }
            writeLayout(objects, end: end)
        }
    }

    private enum TemporaryFile: Sendable {
        case written(path: String)
        case failed(EventStoreError)
    }

    /// The durability point: the batch's records go to the write-ahead log (one write, one fsync). A
    /// failure makes the store refuse appends (the log's state is unknown).
    private func appendToLog(_ records: [[UInt8]]) throws(EventStoreError) -> LogPosition {
        let start = ContinuousClock.now
        defer { files.counters.fileSyncNanoseconds.add(FsyncCounters.nanoseconds(since: start), ordering: .relaxed) }
        do throws(EventStoreError) {
            return try log.append(records)
        } catch {
            if case .io(let message) = error { throw fail(message) }
            throw fail("\(error)")
        }
    }

    /// The layout, with readers held off (the gate was reserved before the callers were answered): every
    /// planned object is written as a temporary file (not synced) and linked to its name. A failure makes
    /// the store refuse appends: the log holds records whose layout is missing, which only recovery (on
    /// open) restores; the appends themselves were durable when they were answered.
    private func writeLayout(_ planned: [ObjectSpec], end: LogPosition) {
        let files = self.files
        let start = ContinuousClock.now
        defer { files.counters.publishNanoseconds.add(FsyncCounters.nanoseconds(since: start), ordering: .relaxed) }
        do throws(EventStoreError) {
            try gate.withReservedExclusive { () throws(EventStoreError) in try writeObjects(planned) }
        } catch {
            if case .io(let message) = error { _ = fail(message) } else { _ = fail("\(error)") }
            return
        }
        checkpointer.publish(end)
    }

    /// Writes every planned object as a temporary file and links it to its name. Objects with the same
    /// bytes (an event's three index entries) share one file under their names: creating inodes is most of
    /// the layout's cost (ext4), and write-once objects never change, so a shared inode is never written
    /// through one name and read through another.
    private func writeObjects(_ planned: [ObjectSpec]) throws(EventStoreError) {
        let files = self.files
        for object in planned {
            let directoryKey = StoreFiles.parent(of: object.key)
            if knownDirectories.contains(directoryKey) { continue }
            // Most new directories are one aggregate's, under directories made before: start from the deepest
            // one known instead of trying every level from the root.
            var missing = [directoryKey]
            var ancestor = StoreFiles.parent(of: directoryKey)
            while ancestor != "." && ancestor != "/" && !knownDirectories.contains(ancestor) {
                missing.append(ancestor)
                ancestor = StoreFiles.parent(of: ancestor)
            }
            _ = try files.makeDirectories(directoryKey, below: knownDirectories.contains(ancestor) ? ancestor : nil)
            // A bound on memory: forgetting costs only a mkdir that finds the directory there.
            if knownDirectories.count + missing.count > Self.knownDirectoryLimit { knownDirectories.removeAll(keepingCapacity: true) }
            knownDirectories.formUnion(missing)
        }
        var bodyIndex: [ObjectBody: Int] = [:]
        var bodies: [(bytes: [UInt8], directory: String)] = []
        let bodyOf = planned.map { object -> Int in
            if let known = bodyIndex[ObjectBody(bytes: object.bytes)] { return known }
            bodyIndex[ObjectBody(bytes: object.bytes)] = bodies.count
            bodies.append((object.bytes, files.path(StoreFiles.parent(of: object.key))))
            return bodies.count - 1
        }
        let temporaries = syncPool.map(bodies) { body -> TemporaryFile in
            do throws(EventStoreError) {
                let file = try files.writeTemporary(in: body.directory, bytes: body.bytes)
                Glibc.close(file.fd)
                return .written(path: file.path)
            } catch {
                return .failed(error)
            }
        }
        let temporaryPaths: [String] = temporaries.map { if case .written(let path) = $0 { path } else { "" } }
        defer { for path in temporaryPaths where !path.isEmpty { unlink(path) } }
        for temporary in temporaries { if case .failed(let error) = temporary { throw error } }
        // Envelopes first, then by-event-id, then the other indexes.
        let order = planned.indices.sorted { (planned[$0].stage, $0) < (planned[$1].stage, $1) }
        for index in order {
            let finalPath = files.path(planned[index].key)
            if link(temporaryPaths[bodyOf[index]], finalPath) != 0 {
                let code = errno
                // An index entry that already exists is the entry we meant to write (its name carries the
                // event id); an envelope object never exists here (checked above).
                if !(code == EEXIST && planned[index].stage > 0) {
                    throw .io(SystemErrorText.describe("link(\(finalPath))", code))
                }
            }
        }
    }

    private func fail(_ message: String) -> EventStoreError {
        let message = message + "; the event store refuses appends until restarted"
        failure.withLock { $0 = $0 ?? message }
        return .io(message)
    }
}

/// An object's bytes as a dictionary key, hashed as one block of memory (an array of bytes hashes byte by
/// byte, which showed in profiles of the layout).
private struct ObjectBody: Hashable {
    let bytes: [UInt8]

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

enum SystemErrorText {
    static func describe(_ operation: String, _ code: Int32) -> String {
        "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}
