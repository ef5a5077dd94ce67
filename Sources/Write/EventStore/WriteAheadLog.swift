import Glibc
import Core
import Drivers

/// A position in the write-ahead log: a segment number and a byte offset in it.
struct LogPosition: Sendable, Equatable, Comparable {
    var segment: Int
    var offset: Int
    static func < (a: LogPosition, b: LogPosition) -> Bool { (a.segment, a.offset) < (b.segment, b.offset) }
}

/// The store's write-ahead segment log (`wal/{segment:012}.log`), the durability point of an append.
///
/// A record is `length (UInt32 little-endian) ‖ SHA-1(length ‖ payload) ‖ payload`, the payload being the
/// envelope's JSON bytes. A batch's records are written with one `write` and made durable by one `fsync`
/// of the segment; a torn tail (a crash mid-write) fails the length or checksum test and is cut off on
/// open. `wal/checkpoint` names the position before which every record's layout objects are durable
/// (see `Checkpointer`); older segments are deleted.
///
/// Writer thread only (the checkpointer only reads the directory and deletes older segments).
final class WriteAheadLog: @unchecked Sendable {
    static let directoryKey = "wal"
    static let checkpointKey = "wal/checkpoint"
    static let headerSize = 24
    /// A segment is closed and a new one started once it holds this many bytes.
    static let segmentBytes = 64 << 20

    let files: StoreFiles
    private(set) var position: LogPosition
    private var fd: Int32

    static func segmentKey(_ segment: Int) -> String {
        let digits = String(segment)
        return directoryKey + "/" + String(repeating: "0", count: max(0, 12 - digits.count)) + digits + ".log"
    }

    static func encode(_ payload: [UInt8], into out: inout [UInt8]) {
        let length = UInt32(payload.count)
        let lengthBytes = [UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8(length >> 24)]
        var hasher = SHA1()
        hasher.update(lengthBytes)
        hasher.update(payload)
        out += lengthBytes
        out += hasher.finalize()
        out += payload
    }

    /// The valid records from `start` on, and the offset where they end (the first torn or invalid record).
    static func decode(_ bytes: [UInt8], from start: Int) -> (records: [[UInt8]], end: Int) {
        var records: [[UInt8]] = []
        var offset = start
        while offset + headerSize <= bytes.count {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 24
            guard length > 0, offset + headerSize + length <= bytes.count else { break }
            let payload = Array(bytes[(offset + headerSize)..<(offset + headerSize + length)])
            var hasher = SHA1()
            hasher.update(bytes[offset..<(offset + 4)])
            hasher.update(payload)
            guard hasher.finalize().elementsEqual(bytes[(offset + 4)..<(offset + 24)]) else { break }
            records.append(payload)
            offset += headerSize + length
        }
        return (records, offset)
    }

    /// Segment numbers present, ascending.
    static func segments(_ files: StoreFiles) throws(EventStoreError) -> [Int] {
        try files.list(directoryKey + "/").compactMap { name -> Int? in
            guard name.hasSuffix(".log") else { return nil }
            return Int(name.dropLast(4))
        }.sorted()
    }

    static func readCheckpoint(_ files: StoreFiles) throws(EventStoreError) -> LogPosition? {
        guard let bytes = try files.read(checkpointKey) else { return nil }
        let parts = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let segment = Int(parts[0]), let offset = Int(parts[1]) else {
            throw .corrupt(key: checkpointKey, reason: "not a write-ahead log checkpoint")
        }
        return LogPosition(segment: segment, offset: offset)
    }

    /// Records `position` as the checkpoint: temporary file, fsync, rename, fsync of `wal/`.
    static func writeCheckpoint(_ files: StoreFiles, _ position: LogPosition) -> Int32 {
        let directory = files.path(directoryKey)
        let temporary: (fd: Int32, path: String)
        do throws(EventStoreError) {
            temporary = try files.writeTemporary(in: directory, bytes: Array("\(position.segment) \(position.offset)\n".utf8))
        } catch { return EIO }
        files.counters.backgroundSyncs.add(1, ordering: .relaxed)
        var code: Int32 = fsync(temporary.fd) == 0 ? 0 : errno
        Glibc.close(temporary.fd)
        if code == 0, rename(temporary.path, files.path(checkpointKey)) != 0 { code = errno }
        if code != 0 { unlink(temporary.path); return code }
        files.counters.backgroundSyncs.add(1, ordering: .relaxed)
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { return errno }
        defer { Glibc.close(dirFD) }
        return fsync(dirFD) == 0 ? 0 : errno
    }

    /// Opens a new, empty segment after `previous` (the `wal/` directory is synced so its name is durable).
    init(files: StoreFiles, after previous: Int) throws(EventStoreError) {
        self.files = files
        self.position = LogPosition(segment: previous, offset: 0)
        self.fd = -1
        try startSegment(previous + 1)
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    private func startSegment(_ segment: Int) throws(EventStoreError) {
        let path = files.path(WriteAheadLog.segmentKey(segment))
        let newFD = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        guard newFD >= 0 else { throw .io(SystemError("open(\(path))").description) }
        let code = files.syncDirectory(files.path(WriteAheadLog.directoryKey))
        if code != 0 {
            Glibc.close(newFD)
            throw .io(SystemErrorText.describe("fsync(\(files.path(WriteAheadLog.directoryKey)))", code))
        }
        if fd >= 0 { Glibc.close(fd) }
        fd = newFD
        position = LogPosition(segment: segment, offset: 0)
    }

    /// Appends the records and fsyncs the segment once: on return they are durable. Returns the position
    /// after them. An error leaves the log in an unknown state (the store then refuses appends).
    func append(_ payloads: [[UInt8]]) throws(EventStoreError) -> LogPosition {
        if position.offset >= WriteAheadLog.segmentBytes { try startSegment(position.segment + 1) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(payloads.reduce(0) { $0 + $1.count + WriteAheadLog.headerSize })
        for payload in payloads { WriteAheadLog.encode(payload, into: &bytes) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in write(fd, buffer.baseAddress! + written, buffer.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(SystemError("write(\(files.path(WriteAheadLog.segmentKey(position.segment))))").description)
            }
            written += n
        }
        let code = files.syncFile(fd)
        if code != 0 { throw .io(SystemErrorText.describe("fsync(\(files.path(WriteAheadLog.segmentKey(position.segment))))", code)) }
        position.offset += bytes.count
        return position
    }
}

/// `syncfs(2)` of the file system holding `fd` (Glibc's module does not export it; looked up once), or
/// `sync()` where it is missing. Returns 0 or the errno.
enum FileSystemSync {
    private typealias Function = @convention(c) (Int32) -> Int32
    private static let function: Function? = dlsym(nil, "syncfs").map { unsafeBitCast($0, to: Function.self) }

    static func sync(_ fd: Int32) -> Int32 {
        guard let function else { Glibc.sync(); return 0 }
        return function(fd) == 0 ? 0 : errno
    }
}

/// Makes the layout objects durable off the append path: every `interval`, when the writer has published
/// more, one `syncfs` of the store's file system, then the checkpoint moves to what was published and
/// older segments are deleted. A failure stops it and makes the store refuse appends.
final class Checkpointer: @unchecked Sendable {
    private let lock = ConditionLock()
    private let files: StoreFiles
    private let rootFD: Int32
    private let intervalMilliseconds: Int
    private var published: LogPosition
    private var durable: LogPosition
    private var stopping = false
    private var failureMessage: String?
    private var thread: pthread_t?

    init(files: StoreFiles, rootFD: Int32, durable: LogPosition, intervalMilliseconds: Int) {
        self.files = files
        self.rootFD = rootFD
        self.published = durable
        self.durable = durable
        self.intervalMilliseconds = max(1, intervalMilliseconds)
        thread = startThread(name: "es-checkpoint") { [self] in self.run() }
    }

    var failure: String? { lock.withLock { failureMessage } }

    /// The writer has written (not synced) every layout object for the records before `position`.
    func publish(_ position: LogPosition) {
        lock.withLock { if published < position { published = position } }
    }

    /// A last checkpoint, then stops the thread.
    func stop() {
        lock.withLock {
            stopping = true
            lock.broadcast()
        }
        if let thread { pthread_join(thread, nil) }
        thread = nil
        Glibc.close(rootFD)
    }

    private func run() {
        while true {
            let (target, last) = lock.withLock { () -> (LogPosition, Bool) in
                if !stopping { lock.wait(milliseconds: intervalMilliseconds) }
                return (published, stopping)
            }
            if target != durable {
                if let message = Checkpointer.checkpoint(files: files, rootFD: rootFD, to: target) {
                    lock.withLock { failureMessage = message + "; the event store refuses appends until restarted" }
                    return
                }
                durable = target
            }
            if last { return }
        }
    }

    /// syncfs, checkpoint at `target`, delete older segments; nil or the failure.
    static func checkpoint(files: StoreFiles, rootFD: Int32, to target: LogPosition) -> String? {
        files.counters.backgroundSyncs.add(1, ordering: .relaxed)
        var code = FileSystemSync.sync(rootFD)
        if code != 0 { return SystemErrorText.describe("syncfs(\(files.root))", code) }
        code = WriteAheadLog.writeCheckpoint(files, target)
        if code != 0 { return SystemErrorText.describe("writing \(files.path(WriteAheadLog.checkpointKey))", code) }
        if let segments = try? WriteAheadLog.segments(files) {
            for segment in segments where segment < target.segment { unlink(files.path(WriteAheadLog.segmentKey(segment))) }
        }
        return nil
    }
}
