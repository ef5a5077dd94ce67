import Foundation
import XCTest
import Core
import Delivery
import Write
import TestSupport
import Drivers

/// The publisher against the real file event store and the real bus (contract rule 10).
final class PublisherTests: XCTestCase {
    private var fixture: PipelineFixture!

    override func setUp() async throws {
        fixture = try await PipelineFixture()
    }

    override func tearDown() async throws {
        await fixture?.close()
    }

    private func event(_ n: Int, at milliseconds: Int64) -> EventEnvelope {
        var envelope = PipelineFixture.instanceEvent(.instanceCreated, id: "p\(n)", version: 1, name: "n\(n)")
        envelope.occurredAtMilliseconds = milliseconds
        return envelope
    }

    private func drain(group: String = "g") async throws -> [String] {
        let consumer = try await fixture.bus.consumer(group: group, topics: [DomainEventType.instanceEventsTopic])
        var ids: [String] = []
        while true {
            let batch = try await consumer.poll(maxMessages: 1000, timeoutMilliseconds: 200)
            if batch.isEmpty { break }
            for message in batch {
                ids.append(try EventEnvelope(bytes: message.value).eventId)
                try await consumer.commit(message)
            }
        }
        await consumer.close()
        return ids
    }

    func testFirstStartCoversTheWholeLogAndTheCheckpointResumes() async throws {
        let old = EventTimestamp.nowMilliseconds() - 86_400_000 * 3
        for n in 0..<5 { _ = try await fixture.store.append(event(n, at: old + Int64(n))) }
        let publisher = EventPublisher(store: fixture.store, bus: fixture.bus)
        var delivered = 0
        while try await publisher.publishOnce(saving: true) > 0 { delivered += 1 }
        let first = try await drain()
        XCTAssertEqual(Set(first).count, 5, "events three days old are published on a first start")

        // A new publisher (a restart) resumes from the stored checkpoint: nothing is published twice.
        let restarted = EventPublisher(store: fixture.store, bus: fixture.bus)
        let again = try await restarted.publishOnce(saving: true)
        XCTAssertEqual(again, 0)
        _ = try await fixture.store.append(event(5, at: EventTimestamp.nowMilliseconds() - 5))
        let value2 = try await restarted.publishOnce(saving: true)
        XCTAssertEqual(value2, 1)
        let value3 = try await drain()
        XCTAssertEqual(value3, [event(5, at: 0).eventId])
    }

    func testAConfiguredStartSkipsOlderEntries() async throws {
        // Timestamps a little in the past: the store hands out nothing of the current millisecond.
        let now = EventTimestamp.nowMilliseconds() - 5
        _ = try await fixture.store.append(event(0, at: now - 60_000))
        _ = try await fixture.store.append(event(1, at: now))
        var options = EventPublisher.Options()
        options.start = .at(milliseconds: now - 1000)
        let publisher = EventPublisher(store: fixture.store, bus: fixture.bus, options: options)
        let value4 = try await publisher.publishOnce(saving: true)
        XCTAssertEqual(value4, 1)
        let value5 = try await drain()
        XCTAssertEqual(value5, [event(1, at: 0).eventId])
    }

    func testALateEntryInsideTheLookBackIsStillPublished() async throws {
        let now = EventTimestamp.nowMilliseconds() - 5
        _ = try await fixture.store.append(event(1, at: now))
        var options = EventPublisher.Options()
        options.lookbackScanMilliseconds = 0
        let publisher = EventPublisher(store: fixture.store, bus: fixture.bus, options: options)
        let value6 = try await publisher.publishOnce(saving: true)
        XCTAssertEqual(value6, 1)
        // Lands behind the checkpoint: its timestamp is older than the one already published.
        _ = try await fixture.store.append(event(2, at: now - 2000))
        _ = try await publisher.publishOnce(saving: true)
        let both = try await drain()
        XCTAssertEqual(Set(both), [event(1, at: 0).eventId, event(2, at: 0).eventId])
        // And only once, also across a restart (the published names are in the checkpoint).
        let restarted = EventPublisher(store: fixture.store, bus: fixture.bus, options: options)
        _ = try await restarted.publishOnce(saving: true)
        let value8 = try await drain()
        XCTAssertEqual(value8, [])
    }

    func testAppendsWakeThePublisherWithoutWaitingForThePoll() async throws {
        var options = EventPublisher.Options()
        options.pollMilliseconds = 60_000
        let publisher = EventPublisher(store: fixture.store, bus: fixture.bus, options: options)
        publisher.start()
        try await Task.sleep(nanoseconds: 100_000_000)
        let started = ContinuousClock.now
        _ = try await fixture.store.append(event(1, at: EventTimestamp.nowMilliseconds()))
        try await fixture.eventually("the append published", seconds: 5) { publisher.published >= 1 }
        let elapsed = ContinuousClock.now - started
        await publisher.stop()
        print("append → published: \(elapsed)")
        XCTAssertLessThan(elapsed, .seconds(2), "woken by the append, not by the 60 s poll")
    }

    func testAnUnavailableBusLeavesTheCheckpointWhereItWas() async throws {
        _ = try await fixture.store.append(event(1, at: EventTimestamp.nowMilliseconds() - 5))
        let deadClient = UnreachablePostgres.client()
        let deadBus = EmbeddedBus(client: deadClient, partitions: 3)
        let failing = EventPublisher(store: fixture.store, bus: deadBus)
        do {
            _ = try await failing.publishOnce(saving: true)
            XCTFail("publishing to an unreachable bus must fail")
        } catch {}
        await deadClient.shutdown()
        let value9 = try await fixture.store.checkpoint("event_publisher")
        XCTAssertNil(value9, "no checkpoint past undelivered entries")
        let working = EventPublisher(store: fixture.store, bus: fixture.bus)
        let value10 = try await working.publishOnce(saving: true)
        XCTAssertEqual(value10, 1)
    }
}
