import Foundation
import XCTest
import Core
import Drivers
@testable import Delivery
import TestSupport

/// The embedded bus against the real PostgreSQL that `make test` starts, a fresh database per test: Kafka's
/// ordering, groups, offsets and redelivery, concurrency of publishers, wake-ups, retention and outages.
final class EmbeddedBusTests: XCTestCase {
    private var client: PostgresClient!
    private var extraClients: [PostgresClient] = []

    override func setUp() async throws {
        client = try await FreshDatabase.client(prefix: "bus")
    }

    override func tearDown() async throws {
        for extra in extraClients { await extra.shutdown() }
        await client?.shutdown()
    }

    /// Another client on this test's database, as another process (or this one after a restart) would have.
    private func secondClient() -> PostgresClient {
        let other = PostgresClient(PostgresConfiguration(url: client.configuration.url, poolSize: 4))
        extraClients.append(other)
        return other
    }

    private func message(_ topic: String, _ key: String, _ text: String) -> OutgoingMessage {
        OutgoingMessage(topic: topic, key: key, value: Array(text.utf8))
    }

    private func text(_ message: BusMessage) -> String { String(decoding: message.value, as: UTF8.self) }

    /// Keys that land in different partitions (of 3), so a test can tell partitions apart.
    private func keysInDistinctPartitions() -> (String, String) {
        let first = "alpha"
        let second = (0..<100).map { "beta-\($0)" }.first {
            BusPartitioner.partition(forKey: $0, count: 3) != BusPartitioner.partition(forKey: first, count: 3)
        }!
        return (first, second)
    }

    // MARK: ordering and partitions

    func testMessagesOfOneKeyArriveInPublishOrder() async throws {
        let bus = EmbeddedBus(client: client)
        for batch in 0..<5 {
            var messages: [OutgoingMessage] = []
            for index in 0..<10 {
                messages.append(message("orders", "order-1", "\(batch * 10 + index)"))
                messages.append(message("orders", "noise-\(index)", "noise"))
            }
            try await bus.publish(messages)
        }
        let consumer = try await bus.consumer(group: "reader", topics: ["orders"])
        let received = try await receive(100, from: consumer)
        XCTAssertEqual(received.count, 100)
        let ordered = received.filter { $0.key == "order-1" }
        XCTAssertEqual(ordered.map(text), (0..<50).map { "\($0)" })
        XCTAssertEqual(ordered.map(\.offset), ordered.map(\.offset).sorted())
        await consumer.close()
    }

    func testKeysSpreadOverPartitionsAndPartitionChoiceIsStable() async throws {
        // Pinned: changing the hash would move keys to other partitions between releases.
        XCTAssertEqual(BusPartitioner.partition(forKey: "a", count: 3), Int(UInt32(0xe40c_292c) % 3))
        let bus = EmbeddedBus(client: client)
        let keys = (0..<30).map { "instance-\($0)" }
        try await bus.publish(keys.map { message("events", $0, "first") })
        // Another bus on another connection pool, as another process: the same key, the same partition.
        try await EmbeddedBus(client: secondClient()).publish(keys.map { message("events", $0, "second") })

        let consumer = try await bus.consumer(group: "reader", topics: ["events"])
        let received = try await receive(60, from: consumer)
        XCTAssertEqual(received.count, 60)
        for message in received {
            XCTAssertEqual(message.partition, BusPartitioner.partition(forKey: message.key, count: 3), message.key)
        }
        XCTAssertEqual(Set(received.map(\.partition)), [0, 1, 2], "30 keys use every partition")
        let partitionsPerKey = Dictionary(grouping: received, by: \.key).mapValues { Set($0.map(\.partition)) }
        XCTAssertTrue(partitionsPerKey.values.allSatisfy { $0.count == 1 })
        await consumer.close()
    }

    func testKeysAndValuesRoundTripByteForByte() async throws {
        let bus = EmbeddedBus(client: client)
        let keys = ["", "with \"quotes\"", "back\\slash", "{brace},comma", "NULL", "ünïcødé ✓"]
        let values: [[UInt8]] = [[], Array(0...255), [0, 0, 0], Array("\\x00\"".utf8), [0xff], Array("NULL".utf8)]
        try await bus.publish(zip(keys, values).map { OutgoingMessage(topic: "raw", key: $0, value: $1) })
        let consumer = try await bus.consumer(group: "reader", topics: ["raw"])
        let received = try await receive(keys.count, from: consumer)
        XCTAssertEqual(received.count, keys.count)
        for (key, value) in zip(keys, values) {
            XCTAssertEqual(received.first { $0.key == key }?.value, value, key)
        }
        await consumer.close()
    }

    // MARK: groups, commits and redelivery

    func testTwoGroupsEachReceiveEverythingIndependently() async throws {
        let bus = EmbeddedBus(client: client)
        try await bus.publish((0..<20).map { message("events", "key-\($0)", "\($0)") })
        let projection = try await bus.consumer(group: "projection", topics: ["events"])
        let audit = try await bus.consumer(group: "audit", topics: ["events"])

        let byProjection = try await receive(20, from: projection, committing: true)
        let byAudit = try await receive(20, from: audit)
        XCTAssertEqual(Set(byProjection.map(text)), Set((0..<20).map { "\($0)" }))
        XCTAssertEqual(Set(byAudit.map(text)), Set((0..<20).map { "\($0)" }))
        XCTAssertEqual(byProjection.count, 20)
        XCTAssertEqual(byAudit.count, 20)

        // Projection's commits do not move audit: a new audit consumer starts over.
        await audit.close()
        let auditAgain = try await bus.consumer(group: "audit", topics: ["events"])
        let redelivered = try await receive(20, from: auditAgain)
        XCTAssertEqual(redelivered.count, 20)
        await projection.close()
        await auditAgain.close()
    }

    func testAPollContinuesAfterTheMessagesAlreadyReturned() async throws {
        let bus = EmbeddedBus(client: client)
        try await bus.publish((0..<10).map { message("events", "same", "\($0)") })
        let consumer = try await bus.consumer(group: "reader", topics: ["events"])
        let first = try await consumer.poll(maxMessages: 4, timeoutMilliseconds: 1000)
        let second = try await consumer.poll(maxMessages: 100, timeoutMilliseconds: 1000)
        XCTAssertEqual(first.map(text), ["0", "1", "2", "3"])
        XCTAssertEqual(second.map(text), ["4", "5", "6", "7", "8", "9"])
        let third = try await consumer.poll(maxMessages: 100, timeoutMilliseconds: 100)
        XCTAssertEqual(third, [], "nothing is returned twice without a restart")
        await consumer.close()
    }

    func testAfterARestartTheGroupResumesAfterItsCommitsAndGetsEverythingUncommittedAgain() async throws {
        let (keyA, keyB) = keysInDistinctPartitions()
        let bus = EmbeddedBus(client: client)
        try await bus.publish((0..<10).flatMap { [message("events", keyA, "a\($0)"), message("events", keyB, "b\($0)")] })
        let consumer = try await bus.consumer(group: "worker", topics: ["events"])
        let received = try await receive(20, from: consumer)
        XCTAssertEqual(received.count, 20)
        let fromA = received.filter { $0.key == keyA }
        // Out of order on purpose: the stored offset only moves forward.
        try await consumer.commit(fromA[5])
        try await consumer.commit(fromA[2])
        await consumer.close()
        await client.shutdown()

        // A new process: a new client, bus and consumer of the same group.
        let restartedBus = EmbeddedBus(client: secondClient())
        let restarted = try await restartedBus.consumer(group: "worker", topics: ["events"])
        let redelivered = try await receive(14, from: restarted)
        XCTAssertEqual(redelivered.filter { $0.key == keyA }.map(text), ["a6", "a7", "a8", "a9"])
        XCTAssertEqual(redelivered.filter { $0.key == keyB }.map(text), (0..<10).map { "b\($0)" })
        XCTAssertEqual(redelivered.count, 14)
        let more = try await restarted.poll(maxMessages: 100, timeoutMilliseconds: 200)
        XCTAssertEqual(more, [])
        await restarted.close()
    }

    // MARK: concurrency

    func testConcurrentPublishersProduceGapFreeOffsetsAndEveryMessageIsConsumedOnce() async throws {
        let bus = EmbeddedBus(client: client)
        let publishers = 8, perPublisher = 200, total = publishers * perPublisher
        // The group consumes while the publishers run: if a higher offset ever became visible before a lower
        // one, the consumer would move past the lower one and the count below would come up short.
        let consumer = try await bus.consumer(group: "worker", topics: ["events"])
        async let consumed = receive(total, from: consumer, committing: true, within: 60)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for publisher in 0..<publishers {
                group.addTask {
                    var index = 0
                    while index < perPublisher {
                        let size = min(publisher % 4 + 1, perPublisher - index)
                        try await bus.publish((index..<index + size).map { sequence in
                            OutgoingMessage(topic: "events", key: "p\(publisher)-k\(sequence % 7)",
                                            value: Array("\(publisher):\(sequence)".utf8))
                        })
                        index += size
                    }
                }
            }
            try await group.waitForAll()
        }
        let received = try await consumed

        let rows = try await client.query("""
            SELECT partition, array_agg("offset" ORDER BY "offset")::text AS offsets FROM bus_messages GROUP BY partition
            """).rows
        var stored = 0
        for row in rows {
            let offsets = row.string("offsets")!.dropFirst().dropLast().split(separator: ",").map { Int($0)! }
            XCTAssertEqual(offsets, Array(0..<offsets.count), "partition \(row.int("partition")!) has gaps or duplicates")
            stored += offsets.count
        }
        XCTAssertEqual(stored, total)

        XCTAssertEqual(received.count, total)
        XCTAssertEqual(Set(received.map(text)).count, total, "every message exactly once")
        for (key, messages) in Dictionary(grouping: received, by: \.key) {
            let sequences = messages.map { Int(text($0).split(separator: ":")[1])! }
            XCTAssertEqual(sequences, sequences.sorted(), "key \(key) out of order")
        }
        await consumer.close()
        let next = try await bus.consumer(group: "worker", topics: ["events"])
        let leftover = try await next.poll(maxMessages: 100, timeoutMilliseconds: 200)
        XCTAssertEqual(leftover, [], "everything was committed")
        await next.close()
    }

    func testAnOpenPublishHoldsBackLaterOffsetsOfItsPartitionUntilItCommits() async throws {
        let bus = EmbeddedBus(client: client)
        let consumer = try await bus.consumer(group: "reader", topics: ["events"])
        let (reached, reachedContinuation) = AsyncStream<Void>.makeStream()
        let (gate, gateContinuation) = AsyncStream<Void>.makeStream()
        let firstMessage = message("events", "same", "first"), secondMessage = message("events", "same", "second")
        let first = Task {
            try await bus.publish([firstMessage], beforeCommit: {
                reachedContinuation.yield()
                for await _ in gate {}
            })
        }
        for await _ in reached { break }
        let second = Task { try await bus.publish([secondMessage]) }
        try await Task.sleep(for: .milliseconds(300))
        // Had the second publish taken offset 1 and committed, a reader would move past offset 0 for good.
        let early = try await consumer.poll(maxMessages: 10, timeoutMilliseconds: 0)
        XCTAssertEqual(early.map(text), [], "a later offset became visible before an earlier one")
        gateContinuation.finish()
        try await first.value
        try await second.value
        let received = try await receive(2, from: consumer)
        XCTAssertEqual(received.map(text), ["first", "second"])
        XCTAssertEqual(received.map(\.offset), [0, 1])
        await consumer.close()
    }

    // MARK: wake-ups

    /// How long a poll waiting on an empty topic takes to return once `publisher` publishes to it.
    private func wakeLatency(consumerBus: EmbeddedBus, publisher: EmbeddedBus) async throws -> Duration {
        let consumer = try await consumerBus.consumer(group: "waiter", topics: ["quiet"])
        let waiting = Task { try await consumer.poll(maxMessages: 10, timeoutMilliseconds: 8000) }
        try await Task.sleep(for: .milliseconds(300))
        let published = ContinuousClock.now
        try await publisher.publish([message("quiet", "k", "hello")])
        let received = try await waiting.value
        let latency = ContinuousClock.now - published
        XCTAssertEqual(received.map(text), ["hello"])
        await consumer.close()
        return latency
    }

    func testAWaitingPollReturnsRightAfterAPublishInTheSameProcess() async throws {
        // A fallback poll far longer than the bound: only a wake-up can pass.
        let bus = EmbeddedBus(client: client, fallbackPollMilliseconds: 10_000)
        let latency = try await wakeLatency(consumerBus: bus, publisher: bus)
        print("embedded bus wake latency, same process: \(latency)")
        XCTAssertLessThan(latency, .seconds(1))
    }

    func testAWaitingPollReturnsRightAfterAPublishFromAnotherProcess() async throws {
        let consumerBus = EmbeddedBus(client: client, fallbackPollMilliseconds: 10_000)
        let publisher = EmbeddedBus(client: secondClient())
        let latency = try await wakeLatency(consumerBus: consumerBus, publisher: publisher)
        print("embedded bus wake latency, other process (NOTIFY): \(latency)")
        XCTAssertLessThan(latency, .seconds(1))
    }

    func testCloseEndsAWaitingPollAndRefusesLaterOnes() async throws {
        let bus = EmbeddedBus(client: client, fallbackPollMilliseconds: 10_000)
        let consumer = try await bus.consumer(group: "waiter", topics: ["quiet"])
        let started = ContinuousClock.now
        let waiting = Task { try await consumer.poll(maxMessages: 10, timeoutMilliseconds: 8000) }
        try await Task.sleep(for: .milliseconds(200))
        await consumer.close()
        let received = try await waiting.value
        XCTAssertEqual(received, [])
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
        do {
            _ = try await consumer.poll(maxMessages: 1, timeoutMilliseconds: 0)
            XCTFail("a closed consumer polled")
        } catch {
            guard case .refused = error else { return XCTFail("expected refused, got \(error)") }
        }
    }

    // MARK: retention

    func testPruneKeepsWhatAnyGroupStillNeedsAndDeletesOldCommittedMessages() async throws {
        let (keyA, keyB) = keysInDistinctPartitions()
        let bus = EmbeddedBus(client: client)
        try await bus.publish((0..<10).map { message("events", keyA, "a\($0)") })
        try await bus.publish((0..<3).map { message("events", keyB, "b\($0)") })
        try await bus.publish((0..<4).map { message("unread", "k", "u\($0)") })
        _ = try await client.query("UPDATE bus_messages SET published_at = now() - interval '2 hours'")
        // Recent and committed by everyone: too young to delete.
        try await bus.publish((10..<12).map { message("events", keyA, "a\($0)") })

        let fast = try await bus.consumer(group: "fast", topics: ["events"])
        let slow = try await bus.consumer(group: "slow", topics: ["events"])
        let fastSeen = try await receive(15, from: fast).filter { $0.key == keyA }
        let slowSeen = try await receive(15, from: slow).filter { $0.key == keyA }
        try await fast.commit(fastSeen[11])
        try await slow.commit(slowSeen[2])

        let deleted = try await bus.prune(retentionSeconds: 3600)
        // events/keyA: offsets 0...2, committed by both groups. unread: no group ever committed on it.
        // events/keyB: neither group committed in its partition, so both still need it.
        XCTAssertEqual(deleted, 3 + 4)
        let remaining = try await client.query("SELECT convert_from(value, 'UTF8') AS text FROM bus_messages").rows.compactMap { $0.string("text") }
        XCTAssertEqual(Set(remaining), Set((3..<12).map { "a\($0)" } + (0..<3).map { "b\($0)" }))

        // The slow group, restarted, still gets everything after its commit.
        await slow.close()
        let slowAgain = try await bus.consumer(group: "slow", topics: ["events"])
        let redelivered = try await receive(12, from: slowAgain)
        XCTAssertEqual(redelivered.filter { $0.key == keyA }.map(text), (3..<12).map { "a\($0)" })
        XCTAssertEqual(redelivered.filter { $0.key == keyB }.map(text), ["b0", "b1", "b2"])
        let deletedAgain = try await bus.prune(retentionSeconds: 3600)
        XCTAssertEqual(deletedAgain, 0, "nothing more is committed by everyone")
        await fast.close()
        await slowAgain.close()
    }

    // MARK: outages

    func testAnUnreachableDatabaseMakesTheBusUnavailable() async throws {
        let closedPort = PostgresClient(PostgresConfiguration(url: "postgresql://postgres@127.0.0.1:1/postgres",
                                                              poolSize: 1, connectTimeoutSeconds: 1))
        extraClients.append(closedPort)
        let bus = EmbeddedBus(client: closedPort)
        do {
            try await bus.publish([message("events", "k", "v")])
            XCTFail("published to an unreachable database")
        } catch {
            guard case .unavailable = error else { return XCTFail("expected unavailable, got \(error)") }
        }
        do {
            _ = try await bus.consumer(group: "g", topics: ["events"])
            XCTFail("made a consumer on an unreachable database")
        } catch {
            guard case .unavailable = error else { return XCTFail("expected unavailable, got \(error)") }
        }
        do {
            _ = try await bus.prune(retentionSeconds: 0)
            XCTFail("pruned an unreachable database")
        } catch {
            guard case .unavailable = error else { return XCTFail("expected unavailable, got \(error)") }
        }
    }

    func testAConsumerKeepsWorkingAfterItsConnectionsAreKilled() async throws {
        let bus = EmbeddedBus(client: client)
        let consumer = try await bus.consumer(group: "worker", topics: ["events"])
        try await bus.publish([message("events", "k", "before")])
        let before = try await receive(1, from: consumer, committing: true)
        XCTAssertEqual(before.map(text), ["before"])

        // Every session of this database is cut, the pool's and the LISTEN connection alike.
        let terminated = try await secondClient().query("""
            SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS terminated
            FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
            """).rows.first?.int("terminated") ?? 0
        XCTAssertGreaterThanOrEqual(terminated, 2, "the consumer's pool and LISTEN connections")
        // Publishing from elsewhere: this consumer can only learn of it by NOTIFY (after the listener is
        // back) or its fallback poll.
        try await EmbeddedBus(client: secondClient()).publish([message("events", "k", "after")])
        var received: [BusMessage] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while received.isEmpty, ContinuousClock.now < deadline {
            do {
                received = try await consumer.poll(maxMessages: 10, timeoutMilliseconds: 1000)
            } catch {
                guard case .unavailable = error else { return XCTFail("expected unavailable, got \(error)") }
            }
        }
        XCTAssertEqual(received.map(text), ["after"])
        try await consumer.commit(received[0])
        await consumer.close()
    }
}

/// Polls until `count` messages arrived (committing each if asked) or `seconds` passed.
private func receive(_ count: Int, from consumer: any BusConsumer, committing: Bool = false,
                     within seconds: Double = 10) async throws -> [BusMessage] {
    var received: [BusMessage] = []
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while received.count < count, ContinuousClock.now < deadline {
        let batch = try await consumer.poll(maxMessages: 100, timeoutMilliseconds: 200)
        if committing { for message in batch { try await consumer.commit(message) } }
        received += batch
    }
    return received
}
