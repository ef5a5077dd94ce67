import Foundation
import XCTest
import Core
import Drivers
import Schema
@testable import Write

/// Migrations, command status transitions and notification-driven waits against the real PostgreSQL that
/// `make test` starts (a database of their own per test).
final class CommandRegistryTests: XCTestCase {
    private var client: PostgresClient!

    override func setUp() async throws {
        client = try await makeTestDatabaseClient(prefix: "write_")
    }

    override func tearDown() async throws {
        await client?.shutdown()
    }

    func testMigrationsApplyFromEmptyAndReRunAppliesNothing() async throws {
        let migrator = Migrator(client: client)
        let all = try Schema.migrations().map(\.version)
        XCTAssertEqual(all.first, 1)
        let first = try await migrator.migrate()
        XCTAssertEqual(first, all)
        let second = try await migrator.migrate()
        XCTAssertEqual(second, [])
        let recorded = try await client.query("SELECT version FROM schema_migrations ORDER BY version").rows.compactMap { $0.int("version") }
        XCTAssertEqual(recorded, all)
    }

    func testConcurrentMigratorsApplyEachMigrationOnce() async throws {
        let client = self.client!
        let results = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 { group.addTask { try await Migrator(client: client).migrate() } }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        XCTAssertEqual(results.sorted(), try Schema.migrations().map(\.version), "exactly one migrator applied each migration")
    }

    /// A PENDING command, accepted by the real intake (its envelope goes to a file event store of its own).
    private func pendingCommand(on store: CommandStatusStore) async throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spice-registry-\(UUID().uuidString)").path
        let eventStore = try FileEventStore(directory: directory)
        defer {
            eventStore.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let id = EventID.random()
        let state: JSONValue = ["class_id": "C", "instance_id": .string(id), "data": [:], "links": []]
        _ = try await CommandIntake(client: client, eventStore: eventStore, statusStore: store).submit(CommandRequest(
            commandId: id, commandType: "CREATE_INSTANCE", aggregate: .instance(database: "db", classId: "C", instanceId: id),
            effect: .create, expectedSequence: 0, payload: state, decide: { _ in state }))
        return id
    }

    func testTransitionsFollowTheLifecycleAndKeepHistory() async throws {
        try await Migrator(client: client).migrate()
        let store = CommandStatusStore(client: client, ttlSeconds: nil)
        let id = try await pendingCommand(on: store)
        let toCompleted = try await store.transition(id, to: .completed)
        XCTAssertFalse(toCompleted, "PENDING cannot jump to COMPLETED")
        let toProcessing = try await store.transition(id, to: .processing, countsAsAttempt: true)
        XCTAssertTrue(toProcessing)
        let toRetrying = try await store.transition(id, to: .retrying, error: ["message": "graph down"], message: "attempt 1 failed")
        XCTAssertTrue(toRetrying)
        _ = try await store.transition(id, to: .processing, countsAsAttempt: true)
        let completed = try await store.transition(id, to: .completed, result: ["instance_id": "1"])
        XCTAssertTrue(completed)
        let afterTerminal = try await store.transition(id, to: .failed)
        XCTAssertFalse(afterTerminal, "a finished command never moves again (late or duplicate delivery)")
        let cancelled = try await store.cancel(id)
        XCTAssertFalse(cancelled.cancelled)

        let stored = try await store.record(id)
        let record = try XCTUnwrap(stored)
        XCTAssertEqual(record.status, .completed)
        XCTAssertEqual(record.progress, 100)
        XCTAssertEqual(record.attempt, 2)
        XCTAssertEqual(record.result, ["instance_id": "1"])
        XCTAssertEqual(record.history.map(\.status), [.pending, .processing, .retrying, .processing, .completed])
        XCTAssertEqual(record.history[2].message, "attempt 1 failed")
        let unknown = try await store.record(EventID.random())
        XCTAssertNil(unknown)
        let malformed = try await store.record("nope")
        XCTAssertNil(malformed)
    }

    func testWaiterIsWokenByNotifyWithinMilliseconds() async throws {
        try await Migrator(client: client).migrate()
        let store = CommandStatusStore(client: client, ttlSeconds: nil)
        let notifier = CommandStatusNotifier()
        notifier.start(client: client)
        defer { notifier.stop() }
        let waiter = CommandWaiter(store: store, notifier: notifier)
        let id = try await pendingCommand(on: store)
        try await Task.sleep(for: .milliseconds(300))  // the LISTEN connection is up

        var latencies: [Double] = []
        for _ in 0..<5 {
            let id = try await pendingCommand(on: store)
            let waiting = Task { try await waiter.waitForTerminal(id, timeoutSeconds: 10) }
            try await Task.sleep(for: .milliseconds(100))
            let changedAt = Date()
            _ = try await store.transition(id, to: .processing)
            _ = try await store.transition(id, to: .completed)
            guard case .finished(let record) = try await waiting.value else { return XCTFail("not finished") }
            latencies.append(Date().timeIntervalSince(changedAt) * 1000)
            XCTAssertEqual(record.status, .completed)
        }
        let sorted = latencies.sorted()
        print("sync wait woken \(String(format: "%.1f", sorted[sorted.count / 2])) ms (median of 5, two transitions included) after the change")
        XCTAssertLessThan(sorted[sorted.count / 2], 500)

        let started = Date()
        guard case .timedOut(let pending) = try await waiter.waitForTerminal(id, timeoutSeconds: 0.5) else {
            return XCTFail("expected a timeout")
        }
        XCTAssertEqual(pending.status, .pending)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }

    func testExpiredStatusRowsDisappear() async throws {
        try await Migrator(client: client).migrate()
        let store = CommandStatusStore(client: client, ttlSeconds: 1)
        let id = try await pendingCommand(on: store)
        let fresh = try await store.record(id)
        XCTAssertNotNil(fresh)
        try await Task.sleep(for: .milliseconds(1200))
        let expired = try await store.record(id)
        XCTAssertNil(expired, "hidden once expired")
        let deleted = try await store.deleteExpired()
        XCTAssertEqual(deleted, 1)
        let history = try await client.query("SELECT count(*) AS n FROM command_history WHERE command_id = $1::uuid", [.text(id)])
        XCTAssertEqual(history.rows.first?.int("n"), 0, "the history goes with its command")
    }
}
