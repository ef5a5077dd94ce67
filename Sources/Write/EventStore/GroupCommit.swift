import Glibc
import Core

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

/// The single writer. It takes every append waiting at that moment as one batch and commits the batch
/// with one round of parallel fsyncs per stage, instead of a serial chain of fsyncs per append:
///
/// 1. **Plan.** Validate each request; then, in parallel on the sync threads, serialize it and look its
///    id up (`by-event-id`, then the envelope's own key, which covers a crash between writing the
///    envelope and its first index). Then decide in arrival order: same payload as stored →
///    `.alreadyPresent` plus any missing index entries; another payload → `.eventIdReused`; new → the
///    envelope object and its index objects. A repeated id inside one batch is compared with its first
///    occurrence.
/// 2. **Write and sync** every planned object as a hidden temporary file in its final directory
///    (directories are created as needed), all in parallel: create, write, fsync, close.
/// 3. **Publish in three stages**, each under the gate (readers wait) and each ending with one fsync per
///    distinct directory touched (plus the parents of newly created directories), issued in parallel:
///    (a) envelope objects, (b) `by-event-id` entries, (c) `by-aggregate` and `by-date` entries.
///    Names appear with `link()`, which fails rather than replace an existing object (write-once, like
///    S3 `If-None-Match: *`); the temporary name is then unlinked.
///    Hence, after any crash: an index entry implies its envelope is durable; a by-date/by-aggregate entry
///    implies the by-event-id entry (the existence check) is durable; and readers never see a name
///    whose directory has not been synced.
/// 4. Resume every caller of the batch.
///
/// An fsync failure makes the store refuse further appends (the kernel may have dropped the dirty pages,
/// so the page cache could claim data the disk never got); restart to recover.
final class BatchCommitter: @unchecked Sendable {
    private let files: StoreFiles
    private let reader: StoreReader
    private let gate: ReadWriteGate
    private let syncPool: BlockingPool
    private var failure: String?
    /// Directory keys known to exist (saves mkdir calls).
    private var knownDirectories: Set<String> = []
    /// Parents of directories this writer created whose new entry is not yet synced. Every publishing
    /// stage syncs all of them (so a directory's entry is durable no later than the first name in it,
    /// even when an earlier batch failed half-way).
    private var unsyncedParents: Set<String> = []

    init(files: StoreFiles, gate: ReadWriteGate, syncPool: BlockingPool) {
        self.files = files
        self.reader = StoreReader(files: files)
        self.gate = gate
        self.syncPool = syncPool
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
        var lookup: Result<(payload: [UInt8], missing: [ObjectSpec])?, EventStoreError>?
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

    func commit(_ envelopes: [EventEnvelope]) -> [StoreAppendResult] {
        files.counters.batches.add(1, ordering: .relaxed)
        files.counters.appendRequests.add(envelopes.count, ordering: .relaxed)
        _ = files.counters.largestBatch.max(envelopes.count, ordering: .relaxed)
        if let failure { return envelopes.map { _ in .failure(.io(failure)) } }
        let planStart = ContinuousClock.now

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
            prepared.lookup = Result { () throws(EventStoreError) -> (payload: [UInt8], missing: [ObjectSpec])? in
                let byId = EventStoreKeys.byEventIdKey(eventId: envelope.eventId)
                var found = try reader.envelope(viaIndex: byId, expectedEventId: envelope.eventId)
                if found == nil { found = try reader.storedEnvelope(at: EventStoreKeys.eventKey(for: envelope)) }
                guard let stored = found else { return nil }
                var missing: [ObjectSpec] = []
                for object in BatchCommitter.objects(for: stored) where try !files.exists(object.key) { missing.append(object) }
                return (stored.payloadCanonicalBytes, missing)
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
                switch item.lookup! {
                case .failure(let error):
                    decided[envelope.eventId] = .failure(error)
                    throw error
                case .success(let stored?):
                    decided[envelope.eventId] = .success(stored.payload)
                    guard stored.payload == item.payload else { throw .eventIdReused(eventId: envelope.eventId) }
                    for object in stored.missing where plannedKeys.insert(object.key).inserted { planned.append(object) }
                    outcomes[job.index] = .alreadyPresent
                case .success(nil):
                    decided[envelope.eventId] = .success(item.payload)
                    for object in item.objects where plannedKeys.insert(object.key).inserted { planned.append(object) }
                    outcomes[job.index] = .appended
                }
            } catch {
                results[job.index] = .failure(error)
            }
        }
        files.counters.planNanoseconds.add(FsyncCounters.nanoseconds(since: planStart), ordering: .relaxed)

        if !planned.isEmpty {
            do throws(EventStoreError) {
                try write(planned)
            } catch {
                for index in results.indices where results[index] == nil { results[index] = .failure(error) }
            }
        }
        return results.enumerated().map { index, result in result ?? .success(outcomes[index]!) }
    }

    private enum TemporaryFile: Sendable {
        case written(path: String)
        case failed(EventStoreError, syncFailed: Bool)
    }

    private func write(_ planned: [ObjectSpec]) throws(EventStoreError) {
        let files = self.files
        var phaseStart = ContinuousClock.now
        // Directories first (on this thread: creation order matters for the parent syncs).
        for object in planned {
            let directoryKey = StoreFiles.parent(of: object.key)
            if knownDirectories.contains(directoryKey) { continue }
            for created in try files.makeDirectories(directoryKey) { unsyncedParents.insert(StoreFiles.parent(of: created)) }
            knownDirectories.insert(directoryKey)
        }
        // Every temporary file created, written and synced in parallel.
        let temporaries = syncPool.map(planned) { object -> TemporaryFile in
            do throws(EventStoreError) {
                let file = try files.writeTemporary(in: files.path(StoreFiles.parent(of: object.key)), bytes: object.bytes)
                let code = files.syncFile(file.fd)
                Glibc.close(file.fd)
                if code != 0 {
                    unlink(file.path)
                    return .failed(.io(SystemErrorText.describe("fsync(\(file.path))", code)), syncFailed: true)
                }
                return .written(path: file.path)
            } catch {
                return .failed(error, syncFailed: false)
            }
        }
        var temporaryPaths: [String] = temporaries.map { if case .written(let path) = $0 { path } else { "" } }
        defer { for path in temporaryPaths where !path.isEmpty { unlink(path) } }
        for temporary in temporaries {
            guard case .failed(let error, let syncFailed) = temporary else { continue }
            if syncFailed, case .io(let message) = error { throw fail(message) }
            throw error
        }
        files.counters.fileSyncNanoseconds.add(FsyncCounters.nanoseconds(since: phaseStart), ordering: .relaxed)
        phaseStart = ContinuousClock.now
        defer { files.counters.publishNanoseconds.add(FsyncCounters.nanoseconds(since: phaseStart), ordering: .relaxed) }

        // Names appear stage by stage, each stage's directories synced before the next stage starts.
        for stage in 0...2 {
            let members = planned.indices.filter { planned[$0].stage == stage }
            if members.isEmpty { continue }
            try gate.withExclusive { () throws(EventStoreError) in
                var directories = unsyncedParents
                for index in members {
                    let finalPath = files.path(planned[index].key)
                    if link(temporaryPaths[index], finalPath) != 0 {
                        let code = errno
                        // An index entry that already exists is the entry we meant to write (its name
                        // carries the event id); an envelope object never exists here (checked above, one
                        // writer per directory).
                        if !(code == EEXIST && stage > 0) {
                            throw .io(SystemErrorText.describe("link(\(finalPath))", code))
                        }
                    }
                    unlink(temporaryPaths[index])
                    temporaryPaths[index] = ""
                    directories.insert(StoreFiles.parent(of: finalPath))
                }
                let list = Array(directories)
                let errors = syncPool.map(list) { path in files.syncDirectory(path) }
                if let code = errors.first(where: { $0 != 0 }) {
                    throw fail(SystemErrorText.describe("fsync of an event store directory", code))
                }
                unsyncedParents.subtract(list)
            }
        }
    }

    private func fail(_ message: String) -> EventStoreError {
        let message = message + "; the event store refuses appends until restarted"
        failure = message
        return .io(message)
    }
}

enum SystemErrorText {
    static func describe(_ operation: String, _ code: Int32) -> String {
        "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}
