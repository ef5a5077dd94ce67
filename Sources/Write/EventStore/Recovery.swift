import Glibc
import Core
import Drivers

/// Opening a store: replays the write-ahead log after its checkpoint, so every logged envelope has its
/// envelope object and index objects; cuts off a torn tail; makes the result durable (one `syncfs`),
/// checkpoints, deletes the replayed segments and starts a new segment for the writer.
enum Recovery {
    /// The log to append to and a descriptor on the root (for `syncfs`).
    static func recover(_ files: StoreFiles) throws(EventStoreError) -> (WriteAheadLog, Int32) {
        for created in try files.makeDirectories(WriteAheadLog.directoryKey) {
            let code = files.syncDirectory(StoreFiles.parent(of: created))
            if code != 0 { throw .io(SystemErrorText.describe("fsync(\(StoreFiles.parent(of: created)))", code)) }
        }
        let checkpoint = try WriteAheadLog.readCheckpoint(files) ?? LogPosition(segment: 0, offset: 0)
        let segments = try WriteAheadLog.segments(files)
        for segment in segments where segment >= checkpoint.segment {
            let key = WriteAheadLog.segmentKey(segment)
            let bytes = try files.read(key) ?? []
            let start = segment == checkpoint.segment ? min(checkpoint.offset, bytes.count) : 0
            let (records, end) = WriteAheadLog.decode(bytes, from: start)
            for record in records {
                let envelope: EventEnvelope
                do { envelope = try EventEnvelope(bytes: record) } catch {
                    throw .corrupt(key: key, reason: "a checksummed record is not an envelope: \(error.detail ?? error.title)")
                }
                try restore(envelope, bytes: record, files: files)
            }
            if end < bytes.count { try truncate(files, key, to: end) }
        }
        let rootFD = open(files.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw .io(SystemError("open(\(files.root))").description) }
        do throws(EventStoreError) {
            let log = try WriteAheadLog(files: files, after: segments.last ?? 0)
            if let message = Checkpointer.checkpoint(files: files, rootFD: rootFD, to: log.position) { throw .io(message) }
            return (log, rootFD)
        } catch {
            Glibc.close(rootFD)
            throw error
        }
    }

    /// Writes the envelope object and index objects of a logged envelope that are missing, or torn: the
    /// layout writes files in place, unsynced, so a crash can leave one empty or cut short. An envelope
    /// object that holds this envelope in other bytes (an earlier serialization) is kept.
    static func restore(_ envelope: EventEnvelope, bytes: [UInt8], files: StoreFiles) throws(EventStoreError) {
        for object in BatchCommitter.layoutObjects(for: envelope, envelopeBytes: bytes) {
            guard let stored = try files.read(object.key) else {
                try files.publish(object.key, bytes: object.bytes)
                continue
            }
            if stored == object.bytes { continue }
            if object.stage == 0, let storedEnvelope = try? EventEnvelope(bytes: stored), storedEnvelope == envelope { continue }
            guard unlink(files.path(object.key)) == 0 else { throw .io(SystemError("unlink(\(files.path(object.key)))").description) }
            try files.publish(object.key, bytes: object.bytes)
        }
    }

    /// Cuts a torn tail off a segment (durably).
    static func truncate(_ files: StoreFiles, _ key: String, to length: Int) throws(EventStoreError) {
        let path = files.path(key)
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(SystemError("open(\(path))").description) }
        defer { Glibc.close(fd) }
        if ftruncate(fd, off_t(length)) != 0 { throw .io(SystemError("ftruncate(\(path))").description) }
        files.counters.backgroundSyncs.add(1, ordering: .relaxed)
        if fsync(fd) != 0 { throw .io(SystemError("fsync(\(path))").description) }
    }
}
