import Foundation
import CPostgres
import Glibc

/// A private PostgreSQL cluster under a directory of ours, run from the system's server binaries.
///
/// Layout of `dataDirectory`: `pgdata/` (the cluster, made by initdb on first start), `socket/` (the unix
/// socket directory), `port` (the TCP port, reused by later starts while it is free), `postgres.log`,
/// `commands.log` (output of initdb/pg_ctl). The server listens on 127.0.0.1 only, with trust
/// authentication, and keeps full durability (fsync on).
///
/// As root, initdb and pg_ctl run as the `postgres` user (initdb refuses root) after the directory is
/// chown-ed to it; every parent directory must then be searchable by that user. As another user they run
/// directly. start() and stop() block until PostgreSQL is up or down: call them from a thread that may
/// block (at process start and exit), not from a hot path.
public struct EmbeddedPostgres: Sendable {
    public let dataDirectory: String
    public let binDirectory: String

    public init(dataDirectory: String, binDirectory: String = "/usr/lib/postgresql/15/bin") {
        self.dataDirectory = dataDirectory
        self.binDirectory = binDirectory
    }

    var clusterDirectory: String { dataDirectory + "/pgdata" }
    var socketDirectory: String { dataDirectory + "/socket" }
    var portFile: String { dataDirectory + "/port" }
    var logFile: String { dataDirectory + "/postgres.log" }
    var commandLog: String { dataDirectory + "/commands.log" }

    /// Creates the cluster if needed, starts it unless it is already running, waits until it accepts
    /// connections and returns its URL (`postgresql://postgres@127.0.0.1:PORT/postgres`).
    public func start() throws -> String {
        try checkBinaries()
        let files = FileManager.default
        do {
            try files.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            try files.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        } catch {
            throw EmbeddedPostgresError.setup("cannot create \(dataDirectory): \(error)")
        }
        let asRoot = getuid() == 0
        if asRoot {
            try run("/bin/chown", ["-R", "postgres:postgres", dataDirectory], asPostgres: false)
            do {
                try run("/usr/bin/test", ["-w", dataDirectory, "-a", "-x", dataDirectory], asPostgres: true)
            } catch {
                throw EmbeddedPostgresError.setup("""
                    the postgres user (which runs the server when spice runs as root) cannot reach \(dataDirectory): \
                    every parent directory must be searchable by it (chmod o+x), or choose a data directory elsewhere
                    """)
            }
        }
        if !files.fileExists(atPath: clusterDirectory + "/PG_VERSION") {
            try run(binDirectory + "/initdb", ["-D", clusterDirectory, "-U", "postgres", "--auth=trust",
                                               "-E", "UTF8", "--locale=C.UTF-8"], asPostgres: asRoot)
        }
        if let port = runningPort() {
            try waitUntilAccepting(port: port)
            return url(port: port)
        }
        let port = choosePort()
        try? "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
        // pg_ctl hands -o to a shell: quote the socket path. An over-long path (a unix socket path holds
        // about 107 bytes) means no unix socket; TCP on 127.0.0.1 is all we use anyway.
        let socketOption = socketDirectory.utf8.count + 20 < 104 ? shellQuote(socketDirectory) : "''"
        let options = "-p \(port) -k \(socketOption) -c listen_addresses=127.0.0.1"
        try run(binDirectory + "/pg_ctl", ["-D", clusterDirectory, "-l", logFile, "-w", "-t", "120", "-o", options, "start"],
                asPostgres: asRoot, logTail: logFile)
        try waitUntilAccepting(port: port)
        return url(port: port)
    }

    /// Stops the server (fast shutdown: open sessions are disconnected) if it is running.
    public func stop() throws {
        try checkBinaries()
        guard FileManager.default.fileExists(atPath: clusterDirectory + "/PG_VERSION"), runningPort() != nil else { return }
        try run(binDirectory + "/pg_ctl", ["-D", clusterDirectory, "-m", "fast", "-w", "-t", "120", "stop"],
                asPostgres: getuid() == 0, logTail: logFile)
    }

    // MARK: helpers

    private func url(port: Int) -> String {
        "postgresql://postgres@127.0.0.1:\(port)/postgres"
    }

    private func checkBinaries() throws {
        let files = FileManager.default
        for tool in ["initdb", "pg_ctl", "postgres"] where !files.isExecutableFile(atPath: binDirectory + "/" + tool) {
            throw EmbeddedPostgresError.binariesNotFound(binDirectory)
        }
    }

    /// The port of a live postmaster of this cluster, from postmaster.pid (line 1: pid, line 4: port).
    private func runningPort() -> Int? {
        guard let text = try? String(contentsOfFile: clusterDirectory + "/postmaster.pid", encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, let pid = pid_t(postgresTrimmed(lines[0])),
              let port = Int(postgresTrimmed(lines[3])) else { return nil }
        guard kill(pid, 0) == 0 || errno == EPERM else { return nil }
        // A recycled pid would not be a postgres of ours: confirm with its command line.
        if let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8), !command.contains("postgres") {
            return nil
        }
        return port
    }

    /// The port stored by an earlier start if it is still free, else a free one chosen by the kernel.
    private func choosePort() -> Int {
        if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
           let port = Int(postgresTrimmed(text)), port > 0, port < 65536, Self.bindable(port: port) {
            return port
        }
        return Self.freePort() ?? 5433
    }

    private static func bindable(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // As PostgreSQL binds: connections of the previous run lingering in TIME_WAIT do not block it.
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func freePort() -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }

    /// pg_ctl -w has already waited; this double-checks with a TCP connect (e.g. for a server we found running).
    private func waitUntilAccepting(port: Int) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if Self.accepts(port: port) { return }
            usleep(50_000)
        }
        throw EmbeddedPostgresError.notAccepting(port: port, log: Self.tail(of: logFile))
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Runs a command (as `postgres` via runuser when we are root), output appended to commands.log.
    private func run(_ executable: String, _ arguments: [String], asPostgres: Bool, logTail: String? = nil) throws {
        let command = asPostgres ? ["/sbin/runuser", "-u", "postgres", "--", executable] + arguments : [executable] + arguments
        let start = (try? FileManager.default.attributesOfItem(atPath: commandLog)[.size] as? UInt64) ?? 0
        let commandLine = command.joined(separator: " ")
        let status: Int32
        do {
            status = try PostgresSubprocess.run(command, output: commandLog)
        } catch {
            throw EmbeddedPostgresError.commandFailed(commandLine, status: -1, output: "\(error)")
        }
        guard status == 0 else {
            var text = Self.tail(of: commandLog, from: start)
            if let logTail { text += "\n" + Self.tail(of: logTail) }
            throw EmbeddedPostgresError.commandFailed(commandLine, status: status, output: text)
        }
    }

    private static func tail(of path: String, from offset: UInt64 = 0) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        let start = max(Int(offset), data.count - 2000)
        return postgresTrimmed(String(decoding: data[min(start, data.count)...], as: UTF8.self))
    }

    private func shellQuote(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }
}

/// Runs a program and waits for it, with posix_spawn rather than Foundation's Process: the PostgreSQL
/// server that pg_ctl leaves running must inherit none of our descriptors (Process's termination
/// monitoring waits for a descriptor the daemon would keep open, and a server holding our listening
/// sockets would keep their ports busy after we exit).
enum PostgresSubprocess {
    /// The exit status (128 + signal if killed). stdin is /dev/null; stdout and stderr go to `output`
    /// (appended) or /dev/null. Blocks the calling thread.
    static func run(_ command: [String], output: String?) throws(SystemError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGCHLD)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let arguments = command.map { strdup($0) }
        defer { arguments.forEach { free($0) } }
        var argv = arguments + [nil]
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, &argv, environ)
        guard spawned == 0 else { throw SystemError("posix_spawn(\(command[0]))", errno: spawned) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SystemError("waitpid(\(command[0]))") }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

public enum EmbeddedPostgresError: Error, CustomStringConvertible, Sendable {
    case binariesNotFound(String)
    case setup(String)
    case commandFailed(String, status: Int32, output: String)
    case notAccepting(port: Int, log: String)

    public var description: String {
        switch self {
        case .binariesNotFound(let directory):
            return "PostgreSQL server binaries not found in \(directory): install the Debian package postgresql-15"
        case .setup(let message):
            return "embedded PostgreSQL: \(message)"
        case .commandFailed(let command, let status, let output):
            return "embedded PostgreSQL: `\(command)` failed (exit status \(status)): \(output)"
        case .notAccepting(let port, let log):
            return "embedded PostgreSQL: the server on 127.0.0.1:\(port) does not accept connections: \(log)"
        }
    }
}
