import Glibc
import Core
import Drivers
import Synchronization

/// fsync calls made by one store, for the group-commit figures.
final class FsyncCounters: Sendable {
    let files = Atomic<Int>(0)
    let directories = Atomic<Int>(0)
    let batches = Atomic<Int>(0)
    let appendRequests = Atomic<Int>(0)
    let largestBatch = Atomic<Int>(0)
    /// syncfs and checkpoint fsyncs made off the append path (by the checkpointer and by recovery).
    let backgroundSyncs = Atomic<Int>(0)
    /// Time spent per phase (the writer's planning, the log's write + fsync, the layout).
    let planNanoseconds = Atomic<Int>(0)
    let fileSyncNanoseconds = Atomic<Int>(0)
    let publishNanoseconds = Atomic<Int>(0)

    static func nanoseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds) * 1_000_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000)
    }
}

/// Plain file operations on keys under the store's root directory. Keys are `EventStoreKeys` keys
/// ('/'-separated, every segment already safe as a file name).
struct StoreFiles: Sendable {
    let root: String
    let counters: FsyncCounters

    func path(_ key: String) -> String { key.isEmpty ? root : root + "/" + key }

    static func ioError(_ error: SystemError) -> EventStoreError { .io(error.description) }

    /// The whole file, or nil when it does not exist.
    func read(_ key: String) throws(EventStoreError) -> [UInt8]? {
        let filePath = path(key)
        let fd: Int32
        do throws(SystemError) {
            fd = try syscall("open(\(filePath))") { open(filePath, O_RDONLY | O_CLOEXEC) }
        } catch {
            if error.errno == ENOENT || error.errno == ENOTDIR { return nil }
            throw StoreFiles.ioError(error)
        }
        defer { close(fd) }
        var info = stat()
        _ = fstat(fd, &info)
        var bytes = [UInt8](repeating: 0, count: max(Int(info.st_size), 0) + 1)
        var count = 0
        while true {
            if count == bytes.count { bytes.append(contentsOf: [UInt8](repeating: 0, count: bytes.count)) }
            let capacity = bytes.count - count
            let n = bytes.withUnsafeMutableBytes { buffer in Glibc.read(fd, buffer.baseAddress! + count, capacity) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(SystemError("read(\(filePath))").description)
            }
            if n == 0 { break }
            count += n
        }
        bytes.removeSubrange(count...)
        return bytes
    }

    func exists(_ key: String) throws(EventStoreError) -> Bool {
        var info = stat()
        if lstat(path(key), &info) == 0 { return true }
        let code = errno
        if code == ENOENT || code == ENOTDIR { return false }
        throw .io(SystemError("stat(\(path(key)))", errno: code).description)
    }

    /// Names in a directory (without hidden names such as temporary files), in byte order; [] when the
    /// directory does not exist.
    func list(_ directoryKey: String) throws(EventStoreError) -> [String] {
        let directoryPath = path(directoryKey)
        guard let directory = opendir(directoryPath) else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return [] }
            throw .io(SystemError("opendir(\(directoryPath))", errno: code).description)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                if errno != 0 { throw .io(SystemError("readdir(\(directoryPath))").description) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            names.append(name)
        }
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return names
    }

    // MARK: Writing (group-commit writer thread only)

    /// Creates the directory and any missing ancestors below the root, or below `existing` (an ancestor key
    /// known to exist); returns the paths it created, outermost first (each needs its parent synced).
    func makeDirectories(_ directoryKey: String, below existing: String? = nil) throws(EventStoreError) -> [String] {
        var created: [String] = []
        var current = existing.map { path($0) } ?? root
        let rest = existing.map { directoryKey.dropFirst($0.count + 1) } ?? directoryKey[...]
        for segment in rest.split(separator: "/") {
            current += "/" + segment
            if mkdir(current, 0o755) == 0 {
                created.append(current)
            } else if errno != EEXIST {
                throw .io(SystemError("mkdir(\(current))").description)
            }
        }
        return created
    }

    /// Creates an exclusive temporary file (a hidden name) in `directoryPath`, writes `bytes` and returns
    /// its descriptor and path; the caller syncs and closes it.
    func writeTemporary(in directoryPath: String, bytes: [UInt8]) throws(EventStoreError) -> (fd: Int32, path: String) {
        var generator = SystemRandomNumberGenerator()
        while true {
            let tempPath = directoryPath + "/.tmp-" + String(generator.next() as UInt64, radix: 16)
            let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd < 0 {
                if errno == EEXIST || errno == EINTR { continue }
                throw .io(SystemError("open(\(tempPath))").description)
            }
            do throws(EventStoreError) { try write(bytes, to: fd, path: tempPath) } catch {
                Glibc.close(fd)
                unlink(tempPath)
                throw error
            }
            return (fd, tempPath)
        }
    }

    /// Creates the file at `key` and writes `bytes` into it, in place and not synced; false (nothing
    /// written) when a file exists there. Only for writers whose readers cannot see the file until it is
    /// complete (the layout, behind the gate).
    func createInPlace(_ key: String, bytes: [UInt8]) throws(EventStoreError) -> Bool {
        let filePath = path(key)
        var fd: Int32
        repeat { fd = open(filePath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) } while fd < 0 && errno == EINTR
        if fd < 0 {
            if errno == EEXIST { return false }
            throw .io(SystemError("open(\(filePath))").description)
        }
        defer { Glibc.close(fd) }
        do throws(EventStoreError) { try write(bytes, to: fd, path: filePath) } catch {
            unlink(filePath)
            throw error
        }
        return true
    }

    /// All of `bytes` at the descriptor's offset (`path` names the file in the error).
    private func write(_ bytes: [UInt8], to fd: Int32, path filePath: String) throws(EventStoreError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { buffer in Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written) }
            if n < 0 {
                let code = errno
                if code == EINTR { continue }
                throw .io(SystemError("write(\(filePath))", errno: code).description)
            }
            written += n
        }
    }

    /// Makes `bytes` the object at `key` unless one exists (temporary file, then `link()`, which never
    /// replaces a name); not synced. Creates the directories it needs. False when the object existed.
    @discardableResult
    func publish(_ key: String, bytes: [UInt8]) throws(EventStoreError) -> Bool {
        let directory = path(StoreFiles.parent(of: key))
        var temporary: (fd: Int32, path: String)
        do throws(EventStoreError) {
            temporary = try writeTemporary(in: directory, bytes: bytes)
        } catch {
            _ = try makeDirectories(StoreFiles.parent(of: key))
            temporary = try writeTemporary(in: directory, bytes: bytes)
        }
        Glibc.close(temporary.fd)
        defer { unlink(temporary.path) }
        if link(temporary.path, path(key)) != 0 {
            let code = errno
            if code == EEXIST { return false }
            throw .io(SystemErrorText.describe("link(\(path(key)))", code))
        }
        return true
    }

    /// Makes `bytes` the object at `key`, replacing what is there, durably: temporary file, fsync, rename,
    /// fsync of the directory. For checkpoints, the one kind of object that changes.
    func replace(_ key: String, bytes: [UInt8]) throws(EventStoreError) {
        let directoryKey = StoreFiles.parent(of: key)
        let created = try makeDirectories(directoryKey)
        let temporary = try writeTemporary(in: path(directoryKey), bytes: bytes)
        let synced = syncFile(temporary.fd)
        Glibc.close(temporary.fd)
        guard synced == 0 else {
            unlink(temporary.path)
            throw .io(SystemErrorText.describe("fsync(\(temporary.path))", synced))
        }
        guard rename(temporary.path, path(key)) == 0 else {
            let code = errno
            unlink(temporary.path)
            throw .io(SystemErrorText.describe("rename(\(path(key)))", code))
        }
        for directory in [path(directoryKey)] + created.map(StoreFiles.parent(of:)) {
            let code = syncDirectory(directory)
            guard code == 0 else { throw .io(SystemErrorText.describe("fsync(\(directory))", code)) }
        }
    }

    /// fsync of an open file; returns 0 or the errno.
    func syncFile(_ fd: Int32) -> Int32 {
        counters.files.add(1, ordering: .relaxed)
        do throws(SystemError) { try syscall("fsync") { fsync(fd) }; return 0 } catch { return error.errno }
    }

    /// fsync of a directory (makes the names created in it durable); returns 0 or the errno.
    func syncDirectory(_ directoryPath: String) -> Int32 {
        counters.directories.add(1, ordering: .relaxed)
        let fd = open(directoryPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { return errno }
        defer { close(fd) }
        do throws(SystemError) { try syscall("fsync") { fsync(fd) }; return 0 } catch { return error.errno }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == path.utf8.startIndex ? "/" : String(path[..<slash])
    }
}
