import Foundation
import Synchronization
import XCTest

/// The real `spice` binary, started on a free port (SPICE_PORT=0; the port is read from its start-up line)
/// with the environment a test asks for, and stopped (SIGTERM, then SIGKILL) at the end; its directory (logs and
/// data) goes with it.
final class SpiceServer: @unchecked Sendable {
    let process = Process()
    private(set) var port = 0
    private let directory: URL
    private let stdoutFile: URL
    private let stderrFile: URL

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var httpsURL: String { "https://127.0.0.1:\(port)" }

    static var binaryPath: String {
        if let explicit = ProcessInfo.processInfo.environment["SPICE_BIN"] { return explicit }
        // The test bundle runs from the build's products directory, next to the `spice` executable.
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [products, products.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("spice").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/spice").path
    }

    init(environment: [String: String] = [:], expectStartup: Bool = true, workingDirectory: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("spice-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        LeftoverDirectories.remember(directory)
        stdoutFile = directory.appendingPathComponent("stdout.log")
        stderrFile = directory.appendingPathComponent("stderr.log")
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)

        var env = ProcessInfo.processInfo.environment
        env["SPICE_HOST"] = "127.0.0.1"
        env["SPICE_PORT"] = "0"
        env["SPICE_DIAGNOSTIC_ROUTES"] = "on"
        env["SPICE_DATA_DIR"] = directory.appendingPathComponent("data").path
        // The test cluster's default database (tests of the write path pass a database of their own).
        if let url = ProcessInfo.processInfo.environment["SPICE_TEST_DATABASE_URL"] { env["SPICE_DATABASE_URL"] = url }
        for (key, value) in environment { env[key] = value }
        process.executableURL = URL(fileURLWithPath: Self.binaryPath)
        process.arguments = ["serve"]
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        try process.run()
        guard expectStartup else { return }

        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let match = stderr.range(of: #"listening on https?://127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let text = stderr[match]
                port = Int(text.split(separator: ":").last!)!
                return
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        throw ServerError.didNotStart(stderr)
    }

    var stdout: String { (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the process to exit on its own; nil if it is still running at the deadline.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    func stop() {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if waitForExit(timeout: 15) == nil {
            signal(SIGKILL)
            _ = waitForExit(timeout: 10)
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
        LeftoverDirectories.forget(directory)
    }

    enum ServerError: Error, CustomStringConvertible {
        case didNotStart(String)
        var description: String {
            if case .didNotStart(let log) = self { return "spice did not start; its stderr:\n\(log)" }
            return ""
        }
    }
}

/// Servers' directories still on disk, removed when the test process exits: XCTest keeps every test case
/// (and the servers it holds) alive until then, so most servers are never deinitialized.
enum LeftoverDirectories {
    private static let directories = Mutex<Set<URL>>([])
    private static let removeAtExit: Void = { atexit { LeftoverDirectories.removeAll() } }()

    static func remember(_ directory: URL) {
        _ = removeAtExit
        directories.withLock { _ = $0.insert(directory) }
    }

    static func forget(_ directory: URL) { directories.withLock { _ = $0.remove(directory) } }

    private static func removeAll() {
        for directory in directories.withLock({ $0 }) { try? FileManager.default.removeItem(at: directory) }
    }
}

/// Paths of the Python helpers shipped with the tests (raw-frame HTTP/2 client, raw HTTP/1.1 socket).
enum Scripts {
    static func path(_ name: String) -> String {
        Bundle.module.url(forResource: "Scripts/\(name)", withExtension: nil)?.path
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Scripts/\(name)").path
    }
}
