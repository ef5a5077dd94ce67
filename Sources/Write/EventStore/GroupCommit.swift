import Glibc
import Core
import Drivers
import Synchronization

typealias StoreAppendResult = Result<AppendOutcome, EventStoreError>

/// A valid envelope in the bytes the writer needs, made by the appending task (on the caller's thread, in
/// parallel with other callers) so that the single writer only looks ids up, decides and logs.
struct EncodedAppend: Sendable {
    let envelope: EventEnvelope
    /// The canonical payload: what "the same payload" compares.
    let payload: [UInt8]
    /// The envelope object, then its index objects (written when the id is new).
    let objects: [BatchCommitter.ObjectSpec]

    init(_ envelope: EventEnvelope) throws(EventStoreError) {
        do throws(Problem) { try envelope.validate() } catch { throw .invalidEnvelope(error) }
        self.envelope = envelope
        payload = envelope.payloadCanonicalBytes
        objects = BatchCommitter.layoutObjects(for: envelope, envelopeBytes: envelope.jsonBytes)
    }
}

/// Appends waiting for the writer thread.
final class AppendQueue: @unchecked Sendable {
    struct Request {
        let append: EncodedAppend
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
/// 1. **Plan.** Each request arrives encoded (`EncodedAppend`: validated and serialized by its caller). Its
///    id is looked up (`by-event-id`, then the envelope's own key), on the sync threads when the batch is
///    large. Then decide in arrival order: same payload as stored → `.alreadyPresent` plus any missing
///    index entries; another payload → `.eventIdReused`; new → the envelope object and its index objects.
///    A repeated id inside one batch is compared with its first occurrence.
/// 2. **Log.** The envelopes whose objects are planned are appended to the write-ahead log and the
///    segment is fsynced once — the durability point.
/// 3. **Answer.** Every caller of the batch is resumed: its append is durable. Readers are held at the
///    gate from this moment until the layout is written, so none that starts after an append returned
///    can miss it.
/// 4. **Layout.** On the layout thread, while the writer plans and logs the next batch: every planned
///    object is created at its name and written in place (not synced; an event's three index entries,
///    which have the same body, are one file under three names). `O_EXCL` and `link()` never replace an
///    existing object (write-once, like S3 `If-None-Match: *`). The checkpointer makes them durable later;
///    after a crash, `Recovery` rewrites from the log whatever is missing or torn. The next batch is
///    planned while this layout may still be under way, so its existence checks consult this batch's ids
///    in memory (`layingOut`) before the files; it is answered only after this layout is complete. The
///    layout's syscalls are thus off the callers' path, and overlap the next batch's log fsync.
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
        knownDirectories.reserveCapacity(Self.knownDirectoryLimit)
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

    /// What the existence check found for the first occurrence of an id in a batch: the stored state, as
    /// (stored payload, stored envelope's bytes, index objects missing for it), nil when the id is not stored.
    typealias Lookup = Result<(payload: [UInt8], bytes: [UInt8], missing: [ObjectSpec])?, EventStoreError>

    /// Every object of an envelope: the envelope object (`envelopeBytes`), then its index objects.
    static func layoutObjects(for envelope: EventEnvelope, envelopeBytes: [UInt8]) -> [ObjectSpec] {
        [ObjectSpec(key: EventStoreKeys.eventKey(for: envelope), bytes: envelopeBytes, stage: 0)] + objects(for: envelope)
    }

    /// The index objects of an envelope.
    static func objects(for envelope: EventEnvelope) -> [ObjectSpec] {
        let body = JSONWriter.bytes(EventStoreKeys.indexBody(for: envelope))
        var objects = [ObjectSpec(key: EventStoreKeys.byEventIdKey(eventId: envelope.eventId), bytes: body, stage: 1)]
        if let key = EventStoreKeys.byAggregateKey(for: envelope) { objects.append(ObjectSpec(key: key, bytes: body, stage: 2)) }
        objects.append(ObjectSpec(key: EventStoreKeys.byDateKey(for: envelope), bytes: body, stage: 2))
        return objects
    }

    /// Commits one batch; `answer` gets the results, in order, as soon as they are final (before the
    /// layout is written, see the type's description) and is called exactly once.
    func commit(_ appends: [EncodedAppend], answer: ([StoreAppendResult]) -> Void) {
        files.counters.batches.add(1, ordering: .relaxed)
        files.counters.appendRequests.add(appends.count, ordering: .relaxed)
        _ = files.counters.largestBatch.max(appends.count, ordering: .relaxed)
        let failure = self.failure.withLock { failure in
            if failure == nil, let background = checkpointer.failure { failure = background }
            return failure
        }
        if let failure {
            answer(appends.map { _ in .failure(.io(failure)) })
            return
        }
        let planStart = ContinuousClock.now
        // The previous layout finished before this batch's lookups began: the files tell the whole truth.
        if layoutThread?.isIdle ?? true { layingOut = [:] }

        var results: [StoreAppendResult?] = Array(repeating: nil, count: appends.count)
        var firstOccurrence: [String: Int] = [:]
        for (index, append) in appends.enumerated() where firstOccurrence[append.envelope.eventId] == nil {
            firstOccurrence[append.envelope.eventId] = index
        }
        let reader = self.reader
        let files = self.files
        let firsts = firstOccurrence.values.sorted()
        let lookedUp = syncPool.map(firsts.map { appends[$0].envelope }) { envelope -> Lookup in
            Result { () throws(EventStoreError) -> (payload: [UInt8], bytes: [UInt8], missing: [ObjectSpec])? in
                let byId = EventStoreKeys.byEventIdKey(eventId: envelope.eventId)
                var found = try reader.envelope(viaIndex: byId, expectedEventId: envelope.eventId)
                if found == nil { found = try reader.storedEnvelope(at: EventStoreKeys.eventKey(for: envelope)) }
                guard let stored = found else { return nil }
                var missing: [ObjectSpec] = []
                for object in BatchCommitter.objects(for: stored) where try !files.exists(object.key) { missing.append(object) }
                return (stored.payloadCanonicalBytes, missing.isEmpty ? [] : stored.jsonBytes, missing)
            }
        }
        var lookups: [Lookup?] = Array(repeating: nil, count: appends.count)
        for (index, lookup) in zip(firsts, lookedUp) { lookups[index] = lookup }

        // Decide in arrival order.
        var outcomes: [AppendOutcome?] = Array(repeating: nil, count: appends.count)
        var planned: [ObjectSpec] = []
        var plannedKeys: Set<String> = []
        var records: [[UInt8]] = []   // the envelopes whose objects are planned, for the log
        var plannedPayloads: [String: [UInt8]] = [:]
        var decided: [String: Result<[UInt8], EventStoreError>] = [:]   // id → payload of record, or the lookup's error
        for (index, append) in appends.enumerated() {
            let eventId = append.envelope.eventId
            do throws(EventStoreError) {
                if let earlier = decided[eventId] {
                    guard try earlier.get() == append.payload else { throw .eventIdReused(eventId: eventId) }
                    outcomes[index] = .alreadyPresent
                    continue
                }
                // Appended by the previous batch, whose layout may be half written: what the files say of
                // it (found, missing, unreadable) is not the truth yet.
                if let pending = layingOut[eventId] {
                    decided[eventId] = .success(pending)
                    guard pending == append.payload else { throw .eventIdReused(eventId: eventId) }
                    outcomes[index] = .alreadyPresent
                    continue
                }
                switch lookups[index]! {
                case .failure(let error):
                    decided[eventId] = .failure(error)
                    throw error
                case .success(let stored?):
                    decided[eventId] = .success(stored.payload)
                    guard stored.payload == append.payload else { throw .eventIdReused(eventId: eventId) }
                    if !stored.missing.isEmpty { records.append(stored.bytes) }
                    for object in stored.missing where plannedKeys.insert(object.key).inserted { planned.append(object) }
                    if !stored.missing.isEmpty { plannedPayloads[eventId] = stored.payload }
                    outcomes[index] = .alreadyPresent
                case .success(nil):
                    decided[eventId] = .success(append.payload)
                    records.append(append.objects[0].bytes)
                    for object in append.objects where plannedKeys.insert(object.key).inserted { planned.append(object) }
                    plannedPayloads[eventId] = append.payload
                    outcomes[index] = .appended
                }
            } catch {
                results[index] = .failure(error)
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
    /// planned object is written at its name, not synced (`writeObjects`). A failure makes
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

    /// Writes every planned object at its name. Objects with the same bytes (an event's three index entries)
    /// are one file under several names (hard links): creating inodes is most of the layout's cost (ext4), and
    /// write-once objects never change, so a shared inode is never written through one name and read through
    /// another. Each file is created at its final name (`O_EXCL`: an existing object is never replaced) and
    /// written in place, without a temporary name to link and remove: no reader can see it half written,
    /// because readers wait at the gate until the layout is complete, and after a crash `Recovery` rewrites
    /// every object of the log's unchecked tail whose bytes are not the logged ones.
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
        // An envelope's index objects are planned one after another, by-event-id first (`objects(for:)`).
        var names: [[ObjectSpec]] = []
        for object in planned {
            if let last = names.last?.last, last.stage > 0, object.stage > 0, last.bytes == object.bytes {
                names[names.count - 1].append(object)
            } else {
                names.append([object])
            }
        }
        for objects in names { try Self.writeFile(objects, files: files) }
    }

    /// One file under every name in `objects` (same bytes, in stage order): created at the first name and
    /// linked to the others. An index entry that already exists is the entry we meant to write (its name
    /// carries the event id), so the file goes to the next name; an envelope object never exists here (the
    /// plan checked).
    private static func writeFile(_ objects: [ObjectSpec], files: StoreFiles) throws(EventStoreError) {
        var written: String?
        for object in objects {
            let finalPath = files.path(object.key)
            if let written {
                if link(written, finalPath) != 0 {
                    let code = errno
                    if !(code == EEXIST && object.stage > 0) { throw .io(SystemErrorText.describe("link(\(finalPath))", code)) }
                }
            } else if try files.createInPlace(object.key, bytes: object.bytes) {
                written = finalPath
            } else if object.stage == 0 {
                throw .io(SystemErrorText.describe("open(\(finalPath))", EEXIST))
            }
        }
    }

    private func fail(_ message: String) -> EventStoreError {
        let message = message + "; the event store refuses appends until restarted"
        failure.withLock { $0 = $0 ?? message }
        return .io(message)
    }
}

enum SystemErrorText {
    static func describe(_ operation: String, _ code: Int32) -> String {
        "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}
