import Foundation

/// Runs an external program (curl, nghttp, h2load, python3, openssl) to completion with a time limit.
struct CommandResult {
    let status: Int32
    let stdout: Data
    let stderr: String
    var output: String { String(decoding: stdout, as: UTF8.self) }
}

enum Command {
    static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil, timeout: TimeInterval = 60,
                    environment: [String: String]? = nil) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try resolve(executable))
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        let collected = OutputCollector(out: out, err: err)
        guard Self.waitForExit(process, timeout: timeout) else {
            process.terminate()
            _ = Self.waitForExit(process, timeout: 5)
            throw CommandError.timedOut("\(executable) \(arguments.joined(separator: " "))")
        }
        let (stdout, stderr) = collected.finish()
        return CommandResult(status: process.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Polls instead of `waitUntilExit()`, which can hang forever on Linux when the child left a daemon
    /// running (e.g. pg_ctl starting PostgreSQL).
    static func waitForExit(_ process: Process, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(5_000) }
        return !process.isRunning
    }

    static func resolve(_ executable: String) throws -> String {
        if executable.hasPrefix("/") { return executable }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CommandError.missing(executable)
    }
}

enum CommandError: Error, CustomStringConvertible {
    case missing(String)
    case timedOut(String)

    var description: String {
        switch self {
        case .missing(let tool): "\(tool) is not installed (make test installs it: see scripts/install-deps.sh)"
        case .timedOut(let command): "timed out: \(command)"
        }
    }
}

/// Drains a process's stdout and stderr on background threads.
final class OutputCollector: @unchecked Sendable {
    private var out = Data()
    private var err = Data()
    private let group = DispatchGroup()
    private let lock = NSLock()

    init(out: Pipe, err: Pipe) {
        for (pipe, isOut) in [(out, true), (err, false)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                self.lock.lock()
                if isOut { self.out = data } else { self.err = data }
                self.lock.unlock()
                self.group.leave()
            }
        }
    }

    func finish() -> (Data, Data) {
        group.wait()
        lock.lock()
        defer { lock.unlock() }
        return (out, err)
    }
}

/// Runs a program and waits for exactly that process (for scripts that leave daemons behind).
enum Spawn {
    static func run(_ arguments: [String]) -> Int32 {
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, arguments[0], nil, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return (status >> 8) & 0xFF
    }
}
