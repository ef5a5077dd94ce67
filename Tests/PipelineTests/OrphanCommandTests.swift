import Foundation
import XCTest
import Core
import Delivery
import Write

/// A command envelope whose intake transaction never committed (no status row) is not applied; once the
/// command is accepted (a retry with the same key creates the row), its redelivery is.
final class OrphanCommandTests: XCTestCase {
    private var fixture: PipelineFixture!

    override func setUp() async throws {
        fixture = try await PipelineFixture()
        try await fixture.graph.createDatabase("shop")
    }

    override func tearDown() async throws {
        await fixture?.close()
    }

    private func commandEnvelope(_ commandId: String) -> EventEnvelope {
        let state: JSONValue = ["class_id": "Product", "instance_id": "p1", "data": ["product_id": "p1", "name": "Lamp"], "links": []]
        return EventEnvelope(
            eventId: commandId, eventType: "CREATE_INSTANCE_REQUESTED", aggregateType: "Instance",
            aggregateId: "shop:main:Product:p1",
            data: ["command_id": .string(commandId), "command_type": "CREATE_INSTANCE", "database": "shop",
                   "expected_seq": 0, "payload": state, "state": state],
            metadata: EventMetadata(kind: .command, kafkaTopic: "instance_commands", service: "spice", commandId: commandId,
                                    commandType: "CREATE_INSTANCE"),
            sequenceNumber: 1)
    }

    func testAnOrphanIsNotAppliedUntilItsCommandIsAccepted() async throws {
        let commandId = EventID.random()
        let envelope = commandEnvelope(commandId)
        _ = try await fixture.store.append(envelope)
        try await fixture.publish([envelope])
        let runner = fixture.runner(CommandWorker(.instance, graph: fixture.graph, documents: fixture.documents, store: fixture.store))
        runner.start()
        try await fixture.eventually("the orphan handled") { runner.processed >= 1 }
        let ref = NodeRef(classId: "Product", instanceId: "p1")
        let before = try await fixture.graph.nodes("shop", [ref])
        XCTAssertEqual(before.count, 0, "an orphan is never applied")
        let orphan = try await fixture.registry.record(handler: "instance_worker", eventId: commandId)
        XCTAssertEqual(orphan?.status, "failed")
        XCTAssertTrue(orphan?.lastError?.hasPrefix("orphan") ?? false, "\(String(describing: orphan))")

        // The client's retry commits the status row; the intake then hands the envelope to the bus again.
        _ = try await fixture.client.query("""
            INSERT INTO commands (command_id, command_type, aggregate_type, aggregate_id, sequence_number, payload_digest, status)
            VALUES ($1::uuid, 'CREATE_INSTANCE', 'Instance', 'shop:main:Product:p1', 1, 'x', 'PENDING')
            """, [.text(commandId)])
        try await fixture.publish([envelope])
        try await fixture.eventually("the accepted command applied") { try await self.fixture.graph.nodes("shop", [ref]).count == 1 }
        await runner.stop()
        let record = try await fixture.registry.record(handler: "instance_worker", eventId: commandId)
        XCTAssertEqual(record?.status, "done")
        XCTAssertEqual(record?.attemptCount, 2)
        let status = try await fixture.statuses.record(commandId)
        XCTAssertEqual(status?.status, .processing, "applied to the graph; the projection (not running here) completes it")
    }
}
