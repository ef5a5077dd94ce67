import Foundation
import Synchronization
import XCTest
@testable import Drivers

/// The test cluster started by scripts/test.sh. Missing → the test fails (CI must not pass without PostgreSQL).
func postgresTestURL(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let url = ProcessInfo.processInfo.environment["SPICE_TEST_DATABASE_URL"] ?? ""
    guard !url.isEmpty else {
        XCTFail("""
            SPICE_TEST_DATABASE_URL is not set: these tests need PostgreSQL. Run them through scripts/test.sh, \
            or start a cluster with `scripts/services/postgres.sh start DIR` and export \
            SPICE_TEST_DATABASE_URL=<the URL it prints> and SPICE_TEST_POSTGRES_DIR=DIR.
            """, file: file, line: line)
        throw PostgresTestFailure("SPICE_TEST_DATABASE_URL is not set")
    }
    return url
}

/// The test cluster's directory, for `postgres.sh restart`.
func postgresTestDirectory(file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let directory = ProcessInfo.processInfo.environment["SPICE_TEST_POSTGRES_DIR"] ?? ""
    guard !directory.isEmpty else {
        XCTFail("SPICE_TEST_POSTGRES_DIR is not set: the restart tests need the test cluster's directory "
                + "(scripts/test.sh exports it; see scripts/services/postgres.sh).", file: file, line: line)
        throw PostgresTestFailure("SPICE_TEST_POSTGRES_DIR is not set")
    }
    return directory
}

struct PostgresTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Restarts the test cluster (same port, same data) with scripts/services/postgres.sh.
func restartTestPostgres() throws {
    let directory = try postgresTestDirectory()
    let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/services/postgres.sh").path
    // Not Foundation's Process: it waits for a descriptor the restarted server would inherit.
    // The server's output (restart does not pass -l) goes to DIR/restart.log.
    let status = try PostgresSubprocess.run(["/bin/bash", script, "restart", directory], output: directory + "/restart.log")
    guard status == 0 else {
        throw PostgresTestFailure("postgres.sh restart \(directory) exited with \(status) (see \(directory)/restart.log)")
    }
}

/// Runs `body`, failing with a timeout error after `seconds` even if `body` never returns (it is then
/// cancelled and abandoned), so a hang shows up as a failure instead of a stuck test run.
func postgresWithTimeout<T: Sendable>(_ seconds: Double, _ what: String,
                              _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let slot = PostgresResumeOnce<T>()
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>, Never>) in
        slot.set(continuation)
        let work = Task {
            do { slot.resume(.success(try await body())) } catch { slot.resume(.failure(error)) }
        }
        Task {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            if slot.resume(.failure(PostgresTestFailure("timed out after \(seconds) s: \(what)"))) { work.cancel() }
        }
    }
    return try result.get()
}

final class PostgresResumeOnce<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Result<T, any Error>, Never>?>(nil)

    func set(_ continuation: CheckedContinuation<Result<T, any Error>, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        guard let continuation = continuation.withLock({ $0.take() }) else { return false }
        continuation.resume(returning: result)
        return true
    }
}

/// A thread-safe list for recording from concurrent tasks.
final class PostgresTestRecorder<T: Sendable>: Sendable {
    private let items = Mutex<[T]>([])
    func append(_ item: T) { items.withLock { $0.append(item) } }
    var values: [T] { items.withLock { $0 } }
}

/// A one-shot gate tasks can wait on.
final class PostgresTestGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    var isOpen: Bool { state.withLock { $0.open } }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Polls `condition` until it holds or `seconds` pass.
func postgresEventually(_ seconds: Double, _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return true }
        try? await Task.sleep(nanoseconds: 5_000_000)
    }
    return await condition()
}

func postgresUniqueName(_ prefix: String) -> String {
    "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
}
