import Foundation
import Synchronization
import XCTest
import Core
import Drivers
@testable import Write

/// Group commit of command intake: one transaction decides each of its commands on its own, the queue forms
/// batches without two commands of one aggregate or one id, and concurrent batches never deadlock.
final class IntakeBatchTests: XCTestCase {
    private var client: PostgresClient!
    private var directory = ""
    private var store: FileEventStore!

    override func setUp() async throws {
        client = try await makeTestDatabaseClient(prefix: "intake_", poolSize: 8)
        try await Migrator(client: client).migrate()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("spice-intake-\(UUID().uuidString)").path
        store = try FileEventStore(directory: directory)
    }

    override func tearDown() async throws {
        store?.close()
        try? FileManager.default.removeItem(atPath: directory)
        await client?.shutdown()
    }

    private var statuses: CommandStatusStore { CommandStatusStore(client: client, ttlSeconds: nil) }
    private var intake: CommandIntake { CommandIntake(client: client, eventStore: store, statusStore: statuses) }

    private func request(_ id: String, _ effect: CommandRequest.Effect = .create, expected: Int = 0,
                         commandId: String = EventID.timeOrdered(), payload: JSONValue = [:],
                         decide: @escaping @Sendable (AggregateSnapshot?) throws -> JSONValue = { _ in ["name": "x"] }) -> CommandRequest {
        CommandRequest(commandId: commandId, commandType: "TEST_\(effect)".uppercased(), aggregate: .database(id), effect: effect,
                       expectedSequence: expected, payload: payload, decide: decide)
    }

    private func problemCode(_ outcome: IntakeTransaction.Outcome) -> String? {
        guard case .failure(let error) = outcome else { return nil }
        return (error as? Problem)?.code ?? "\(error)"
    }

    func testOneTransactionDecidesEachCommandOnItsOwn() async throws {
        _ = try await intake.submit(request("taken"))
        _ = try await intake.submit(request("moved"))
        _ = try await intake.submit(request("moving"))
        let earlier = request("earlier", payload: ["n": 1])
        _ = try await intake.submit(earlier)
        let used = request("used", payload: ["n": 1])
        _ = try await intake.submit(used)

        // One command per aggregate and per id, as the queue forms batches, except the last.
        let items = [
            request("fresh"),                                                   // accepted
            request("taken"),                                                   // exists: 409
            request("moved", .update, expected: 5),                             // at 1, not 5: 409
            request("earlier", commandId: earlier.commandId, payload: ["n": 1]), // a retry: replayed
            request("other", commandId: used.commandId, payload: ["n": 2]),      // id used for another command: 409
            request("refused", decide: { _ in throw Problem(status: 400, code: "invalid", detail: "no") }),
            request("moving", .update, expected: 1),                            // accepted, version 2
            request("fresh"),                                                   // a second command of one aggregate
        ].map { IntakeTransaction.Item(request: $0, digest: $0.digest) }
        let transaction = IntakeTransaction(eventStore: store, ttlSeconds: nil)
        let outcomes = try await client.withConnection { connection in try await transaction.run(items, on: connection) }

        XCTAssertEqual(outcomes.count, items.count)
        XCTAssertEqual(try outcomes[0].get().accepted.sequenceNumber, 1)
        XCTAssertEqual(problemCode(outcomes[1]), "optimistic_concurrency_conflict")
        XCTAssertEqual(problemCode(outcomes[2]), "optimistic_concurrency_conflict")
        XCTAssertEqual(try outcomes[3].get().accepted.replayed, true)
        XCTAssertEqual(problemCode(outcomes[4]), "event_id_reused")
        XCTAssertEqual(problemCode(outcomes[5]), "invalid")
        XCTAssertEqual(try outcomes[6].get().accepted.sequenceNumber, 2)
        XCTAssertEqual(problemCode(outcomes[7]), "intake_batch_duplicate")

        // Exactly the two accepted commands were stored, in PostgreSQL and in the event store.
        let aggregates = AggregateStore(client: client)
        let fresh = try await aggregates.snapshot(.database("fresh"))
        let moved = try await aggregates.snapshot(.database("moved"))
        let moving = try await aggregates.snapshot(.database("moving"))
        XCTAssertEqual(fresh?.sequenceNumber, 1)
        XCTAssertEqual(moved?.sequenceNumber, 1)
        XCTAssertEqual(moving?.sequenceNumber, 2)
        let refused = try await aggregates.snapshot(.database("refused"))
        let other = try await aggregates.snapshot(.database("other"))
        XCTAssertNil(refused)
        XCTAssertNil(other)
        for index in [0, 6] {
            let id = items[index].request.commandId
            let envelope = try await store.event(id: id)
            XCTAssertNotNil(envelope, "envelope of item \(index)")
            let status = try await client.query("SELECT status FROM commands WHERE command_id = $1::uuid", [.text(id)])
            XCTAssertEqual(status.rows.first?.string("status"), "PENDING")
        }
        for index in [1, 2, 5, 7] {
            let envelope = try await store.event(id: items[index].request.commandId)
            XCTAssertNil(envelope, "nothing appended for item \(index)")
        }
    }

    func testConcurrentWritersOnManyAggregatesNeverDeadlockAndEachAggregateHasOneWinner() async throws {
        let aggregates = (0..<12).map { "db\($0)" }
        for id in aggregates { _ = try await intake.submit(request(id)) }
        let intake = self.intake
        // Eight writers per aggregate, all expecting version 1, submitted at once: batches in the four lanes mix
        // aggregates in every order, and each takes its locks in key order.
        let requests = aggregates.flatMap { id in (0..<8).map { _ in request(id, .update, expected: 1) } }.shuffled()
        let outcomes = await withTaskGroup(of: (String, Result<CommandAccepted, any Error>).self) { group in
            for request in requests {
                group.addTask {
                    do { return (request.aggregate.id, .success(try await intake.submit(request))) }
                    catch { return (request.aggregate.id, .failure(error)) }
                }
            }
            var outcomes: [(String, Result<CommandAccepted, any Error>)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        for id in aggregates {
            let mine = outcomes.filter { $0.0 == id }.map(\.1)
            let accepted = mine.compactMap { try? $0.get() }
            XCTAssertEqual(accepted.map(\.sequenceNumber), [2], "\(id)")
            for case .failure(let error) in mine {
                XCTAssertEqual((error as? Problem)?.code, "optimistic_concurrency_conflict", "\(id): \(error)")
                XCTAssertEqual((error as? Problem)?.extensions["actual_seq"], .number(2), "\(id)")
            }
        }
    }

    func testAFailedTransactionFailsEveryCommandInItAndCommitsNothing() async throws {
        let unreachable = PostgresClient(PostgresConfiguration(url: "postgres://postgres@127.0.0.1:1/none", poolSize: 1))
        defer { Task { await unreachable.shutdown() } }
        let broken = CommandIntake(client: unreachable, eventStore: store,
                                   statusStore: CommandStatusStore(client: unreachable, ttlSeconds: nil))
        let requests = (0..<5).map { request("lost\($0)") }
        let codes = await withTaskGroup(of: String?.self) { group in
            for request in requests {
                group.addTask {
                    do { _ = try await broken.submit(request); return nil }
                    catch { return (error as? Problem)?.code ?? "\(error)" }
                }
            }
            var codes: [String?] = []
            for await code in group { codes.append(code) }
            return codes
        }
        XCTAssertEqual(codes, Array(repeating: "registry_unavailable", count: 5))
        for request in requests {
            let envelope = try await store.event(id: request.commandId)
            XCTAssertNil(envelope)
        }
    }
}

/// The queue alone, with a stand-in for the transaction that records what it was given.
final class IntakeQueueTests: XCTestCase {
    private final class Recorder: Sendable {
        let batches = Mutex<[[String]]>([])
        let running = Mutex((now: 0, most: 0))
        let gate = Mutex<CheckedContinuation<Void, Never>?>(nil)
    }

    private func item(aggregate: String, commandId: String = EventID.timeOrdered()) -> IntakeTransaction.Item {
        let request = CommandRequest(commandId: commandId, commandType: "T", aggregate: .database(aggregate), effect: .create,
                                     expectedSequence: 0, payload: [:], decide: { _ in [:] })
        return IntakeTransaction.Item(request: request, digest: "")
    }

    func testCommandsWaitingTogetherShareABatchWithoutTwoOfOneAggregateOrId() async throws {
        let recorder = Recorder()
        let firstStarted = Mutex(false)
        let queue = IntakeQueue(lanes: 1, maximumBatch: 64) { items in
            recorder.batches.withLock { $0.append(items.map { $0.request.aggregate.id }) }
            // The first batch holds the lane until the test has queued everything else behind it.
            if firstStarted.withLock({ started in defer { started = true }; return !started }) {
                await withCheckedContinuation { continuation in recorder.gate.withLock { $0 = continuation } }
            }
            return items.map { .success((CommandAccepted(commandId: $0.request.commandId, commandType: "T", aggregateType: "Database",
                                                         aggregateId: $0.request.aggregate.id, sequenceNumber: 1, replayed: false), nil)) }
        }
        let sharedId = EventID.timeOrdered()
        let items = [item(aggregate: "first")] + (0..<20).map { item(aggregate: "a\($0)") }
            + [item(aggregate: "a3"), item(aggregate: "a4"), item(aggregate: "z", commandId: sharedId), item(aggregate: "y", commandId: sharedId)]
        var submissions: [Task<Void, Never>] = []
        for (index, item) in items.enumerated() {
            submissions.append(Task { _ = await queue.submit(item) })
            // Arrival order is the order of `items`: wait until this one is running (the first) or queued.
            while index == 0 ? recorder.gate.withLock({ $0 == nil }) : queue.commandsWaiting < index {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        recorder.gate.withLock { $0?.resume() }
        for submission in submissions { await submission.value }

        let batches = recorder.batches.withLock { $0 }
        XCTAssertEqual(batches.first, ["first"])
        // Everything queued behind the first batch goes in the second, except the second command of a3, of a4
        // and of the shared id, which wait for the third.
        XCTAssertEqual(batches.count, 3, "\(batches)")
        XCTAssertEqual(batches.dropFirst().first, (0..<20).map { "a\($0)" } + ["z"])
        XCTAssertEqual(batches.last, ["a3", "a4", "y"])
    }

    func testNoMoreBatchesRunAtOnceThanThereAreLanes() async throws {
        let recorder = Recorder()
        let queue = IntakeQueue(lanes: 3, maximumBatch: 2) { items in
            recorder.running.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
            try? await Task.sleep(for: .milliseconds(5))
            recorder.running.withLock { $0.now -= 1 }
            return items.map { _ in .failure(Problem(status: 500, code: "stand_in", detail: "")) }
        }
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<60 {
                let item = item(aggregate: "a\(index)")
                group.addTask { _ = await queue.submit(item) }
            }
        }
        let most = recorder.running.withLock { $0.most }
        XCTAssertLessThanOrEqual(most, 3)
        XCTAssertGreaterThan(most, 1, "lanes run side by side")
    }
}
