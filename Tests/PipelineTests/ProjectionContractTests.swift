import Foundation
import XCTest
import Core
import Delivery
import Read

/// Contract rules 1 and 3 at the projection, with the real bus, registry and document store.
final class ProjectionContractTests: XCTestCase {
    private var fixture: PipelineFixture!

    override func setUp() async throws {
        fixture = try await PipelineFixture()
        try await fixture.documents.createDatabase("shop")
    }

    override func tearDown() async throws {
        await fixture?.close()
    }

    private let ref = NodeRef(classId: "Product", instanceId: "p1")

    func testDuplicatePublishOfOneEnvelopeHasOneEffect() async throws {
        let event = PipelineFixture.instanceEvent(.instanceCreated, id: "p1", version: 1, name: "Lamp")
        try await fixture.publish([event, event, event])
        let runner = fixture.runner(ProjectionWorker(documents: fixture.documents))
        runner.start()
        try await fixture.eventually("three deliveries handled") { runner.processed >= 3 }
        await runner.stop()
        let document = try await fixture.documents.documents("shop", [ref])[ref]
        XCTAssertEqual(document?.version, 1)
        XCTAssertEqual(document?.eventId, event.eventId)
        let record = try await fixture.registry.record(handler: "projection_worker", eventId: event.eventId)
        XCTAssertEqual(record?.status, "done")
        XCTAssertEqual(record?.attemptCount, 1, "duplicates are skipped at the claim, never re-run")
        let rows = try await fixture.client.query("SELECT count(*) AS n FROM processed_events").rows.first?.int("n")
        XCTAssertEqual(rows, 1)
    }

    func testReorderedDeliveryRecordsTheOlderEventStale() async throws {
        let v1 = PipelineFixture.instanceEvent(.instanceCreated, id: "p1", version: 1, name: "old")
        let v2 = PipelineFixture.instanceEvent(.instanceUpdated, id: "p1", version: 2, name: "new")
        try await fixture.publish([v2, v1])
        let runner = fixture.runner(ProjectionWorker(documents: fixture.documents))
        runner.start()
        try await fixture.eventually("both deliveries handled") { runner.processed >= 2 }
        await runner.stop()
        let document = try await fixture.documents.documents("shop", [ref])[ref]
        XCTAssertEqual(document?.version, 2)
        XCTAssertEqual(document?.data["name"], "new")
        let late = try await fixture.registry.record(handler: "projection_worker", eventId: v1.eventId)
        XCTAssertEqual(late?.status, "skipped_stale")
        let guardValue = try await fixture.registry.lastSequence(handler: "projection_worker", aggregateId: v1.aggregateId)
        XCTAssertEqual(guardValue, 2)
    }

    func testARestartedConsumerResumesWithoutLosingOrRepeatingEffects() async throws {
        let first = fixture.runner(ProjectionWorker(documents: fixture.documents))
        first.start()
        try await fixture.publish((1...20).map { PipelineFixture.instanceEvent(.instanceCreated, id: "p\($0)", version: 1, name: "n\($0)") })
        try await fixture.eventually("the first twenty") { try await self.fixture.documents.count("shop") == 20 }
        await first.stop()
        try await fixture.publish((21...30).map { PipelineFixture.instanceEvent(.instanceCreated, id: "p\($0)", version: 1, name: "n\($0)") })
        let second = fixture.runner(ProjectionWorker(documents: fixture.documents))
        second.start()
        try await fixture.eventually("all thirty") { try await self.fixture.documents.count("shop") == 30 }
        await second.stop()
        let attempts = try await fixture.client.query("SELECT max(attempt_count) AS n, count(*) AS c FROM processed_events").rows.first
        XCTAssertEqual(attempts?.int("n"), 1)
        XCTAssertEqual(attempts?.int("c"), 30)
    }

    func testAMessageThatIsNotAnEnvelopeBecomesADeadLetter() async throws {
        try await fixture.bus.publish([OutgoingMessage(topic: DomainEventType.instanceEventsTopic, key: "k", value: Array("{not json".utf8))])
        let runner = fixture.runner(ProjectionWorker(documents: fixture.documents))
        runner.start()
        try await fixture.eventually("the garbage handled") { runner.processed >= 1 }
        await runner.stop()
        let letters = try await DeadLetterStore(client: fixture.client).list(limit: 10, offset: 0)
        XCTAssertEqual(letters.count, 1)
        XCTAssertTrue(letters.first?.error.contains("not an event envelope") ?? false, "\(letters)")
    }
}
