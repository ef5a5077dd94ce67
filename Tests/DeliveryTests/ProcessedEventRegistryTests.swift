import Foundation
import XCTest
import Core
import Drivers
import TestSupport
@testable import Delivery

/// The registry's rules (correctness contract 1, 3, 6, 7) against the real PostgreSQL `make test` starts.
final class ProcessedEventRegistryTests: XCTestCase {
    private var client: PostgresClient!

    override func setUp() async throws {
        client = try await FreshDatabase.client(prefix: "registry", poolSize: 20)
    }

    override func tearDown() async throws {
        await client?.shutdown()
    }

    private func registry(lease: Double = 30) -> ProcessedEventRegistry {
        ProcessedEventRegistry(client: client, leaseSeconds: lease)
    }

    func testFirstClaimWinsAndADoneEventIsADuplicate() async throws {
        let registry = registry()
        let id = EventID.random()
        let first = try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 1, owner: "one")
        XCTAssertEqual(first, .claimed(attempt: 1))
        let marked = try await registry.markDone(handler: "h", eventId: id, owner: "one")
        XCTAssertTrue(marked)
        let again = try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 1, owner: "two")
        XCTAssertEqual(again, .duplicateDone)
        let record = try await registry.record(handler: "h", eventId: id)
        XCTAssertEqual(record?.status, "done")
        XCTAssertEqual(record?.attemptCount, 1)
        // Another handler has its own row for the same event.
        let other = try await registry.claim(handler: "other", eventId: id, aggregateId: "a", sequence: 1, owner: "two")
        XCTAssertEqual(other, .claimed(attempt: 1))
    }

    func testConcurrentClaimsOfOneEventYieldExactlyOneClaim() async throws {
        let registry = registry()
        let id = EventID.random()
        let outcomes = try await withThrowingTaskGroup(of: ClaimOutcome.self) { group in
            for n in 0..<16 {
                group.addTask { try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 1, owner: "owner-\(n)") }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(outcomes.filter { $0 == .claimed(attempt: 1) }.count, 1, "\(outcomes)")
        for outcome in outcomes where outcome != .claimed(attempt: 1) {
            guard case .inProgress = outcome else { return XCTFail("unexpected \(outcome)") }
        }
    }

    func testANonOwnerCannotMarkDoneOrFailed() async throws {
        let registry = registry()
        let id = EventID.random()
        _ = try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 3, owner: "owner")
        let done = try await registry.markDone(handler: "h", eventId: id, owner: "intruder")
        let failed = try await registry.markFailed(handler: "h", eventId: id, owner: "intruder", error: "x")
        XCTAssertFalse(done)
        XCTAssertFalse(failed)
        let record = try await registry.record(handler: "h", eventId: id)
        XCTAssertEqual(record?.status, "processing")
        XCTAssertEqual(record?.owner, "owner")
        let guardValue = try await registry.lastSequence(handler: "h", aggregateId: "a")
        XCTAssertNil(guardValue, "a refused mark-done must not move the ordering guard")
    }

    func testAnExpiredLeaseIsTakenOverWithTheAttemptCounted() async throws {
        let registry = registry(lease: 0.5)
        let id = EventID.random()
        _ = try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 1, owner: "dead")
        let early = try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 1, owner: "alive")
        XCTAssertEqual(early, .inProgress(owner: "dead"))
        try await Task.sleep(nanoseconds: 700_000_000)
        let late = try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 1, owner: "alive")
        XCTAssertEqual(late, .claimed(attempt: 2))
        // The old owner woke up: it can neither renew nor finish.
        let beat = try await registry.heartbeat(handler: "h", eventId: id, owner: "dead")
        let done = try await registry.markDone(handler: "h", eventId: id, owner: "dead")
        XCTAssertFalse(beat)
        XCTAssertFalse(done)
        let marked = try await registry.markDone(handler: "h", eventId: id, owner: "alive")
        XCTAssertTrue(marked)
    }

    func testHeartbeatsKeepALeaseAlive() async throws {
        let registry = registry(lease: 0.6)
        let id = EventID.random()
        _ = try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 1, owner: "busy")
        for _ in 0..<4 {
            try await Task.sleep(nanoseconds: 250_000_000)
            let held = try await registry.heartbeat(handler: "h", eventId: id, owner: "busy")
            XCTAssertTrue(held)
        }
        let other = try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 1, owner: "other")
        XCTAssertEqual(other, .inProgress(owner: "busy"))
    }

    func testMarkDoneAdvancesTheGuardAndOlderEventsAreStale() async throws {
        let registry = registry()
        let v2 = EventID.random(), v1 = EventID.random(), v3 = EventID.random()
        _ = try await registry.claim(handler: "h", eventId: v2, aggregateId: "agg", sequence: 2, owner: "o")
        _ = try await registry.markDone(handler: "h", eventId: v2, owner: "o")
        let guardValue = try await registry.lastSequence(handler: "h", aggregateId: "agg")
        XCTAssertEqual(guardValue, 2)
        // v1 delivered after v2 (reordered): stale, recorded, no claim.
        let late = try await registry.claim(handler: "h", eventId: v1, aggregateId: "agg", sequence: 1, owner: "o")
        XCTAssertEqual(late, .stale)
        let lateRecord = try await registry.record(handler: "h", eventId: v1)
        XCTAssertEqual(lateRecord?.status, "skipped_stale")
        // A duplicate of the stale event stays stale.
        let lateAgain = try await registry.claim(handler: "h", eventId: v1, aggregateId: "agg", sequence: 1, owner: "p")
        XCTAssertEqual(lateAgain, .stale)
        // v3 is newer: claimed; the guard never moves backwards.
        let next = try await registry.claim(handler: "h", eventId: v3, aggregateId: "agg", sequence: 3, owner: "o")
        XCTAssertEqual(next, .claimed(attempt: 1))
        _ = try await registry.markDone(handler: "h", eventId: v3, owner: "o")
        let advanced = try await registry.lastSequence(handler: "h", aggregateId: "agg")
        XCTAssertEqual(advanced, 3)
    }

    func testAFailedAttemptCanBeRetriedAndCountsTheAttempt() async throws {
        let registry = registry()
        let id = EventID.random()
        _ = try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 1, owner: "o")
        let failed = try await registry.markFailed(handler: "h", eventId: id, owner: "o", error: "boom")
        XCTAssertTrue(failed)
        let failedRecord = try await registry.record(handler: "h", eventId: id)
        XCTAssertEqual(failedRecord?.status, "failed")
        XCTAssertEqual(failedRecord?.lastError, "boom")
        let retry = try await registry.claim(handler: "h", eventId: id, aggregateId: "a", sequence: 1, owner: "o2")
        XCTAssertEqual(retry, .claimed(attempt: 2))
        _ = try await registry.markDone(handler: "h", eventId: id, owner: "o2")
        let record = try await registry.record(handler: "h", eventId: id)
        XCTAssertEqual(record?.status, "done")
        XCTAssertNil(record?.lastError)
    }

    func testAnUnreachableRegistryThrowsAConnectionFailure() async throws {
        let dead = UnreachablePostgres.client()
        defer { Task { await dead.shutdown() } }
        do {
            _ = try await ProcessedEventRegistry(client: dead).claim(handler: "h", eventId: EventID.random(), aggregateId: "a",
                                                                     sequence: 1, owner: "o")
            XCTFail("a claim without a registry must fail")
        } catch {
            XCTAssertTrue(error.isConnectionFailure, "\(error)")
        }
    }
}
