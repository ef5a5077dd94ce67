import Foundation
import XCTest
import Core
import Delivery
import Drivers
import Read
import TestSupport
import Write

/// A fresh database and event store with the real bus, registry and read models: what `spice serve` wires,
/// minus HTTP, so tests can publish exactly the messages they want.
final class PipelineFixture: @unchecked Sendable {
    let client: PostgresClient
    let store: FileEventStore
    let bus: EmbeddedBus
    let registry: ProcessedEventRegistry
    let documents: PostgresDocumentStore
    let graph: PostgresGraphStore
    let statuses: CommandStatusStore
    let directory: String

    init() async throws {
        client = try await FreshDatabase.client(prefix: "pipeline", poolSize: 8)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString)").path
        store = try FileEventStore(directory: directory)
        bus = EmbeddedBus(client: client, partitions: 3, fallbackPollMilliseconds: 100)
        registry = ProcessedEventRegistry(client: client, leaseSeconds: 2)
        documents = PostgresDocumentStore(client: client)
        graph = PostgresGraphStore(client: client)
        statuses = CommandStatusStore(client: client, ttlSeconds: nil)
    }

    func close() async {
        store.close()
        await client.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func runner(_ handler: any EventHandler) -> WorkerRunner {
        WorkerRunner(handler: handler, dependencies: .init(
            bus: bus, registry: registry, deadLetters: DeadLetterStore(client: client),
            commands: CommandProgressReporter(store: statuses), crashPoints: .disabled,
            retry: RetryPolicy(maxAttempts: 3, initialBackoffMilliseconds: 20), owner: "test-\(UUID().uuidString)",
            log: { _ in }))
    }

    /// An INSTANCE_* domain event for `shop` Product `id` at `version`.
    static func instanceEvent(_ type: DomainEventType, id: String, version: Int, name: String) -> EventEnvelope {
        let aggregate = "shop:main:Product:\(id)"
        return EventEnvelope(
            eventId: EventID.derived(commandId: "c-\(id)-\(version)", eventType: type.rawValue, aggregateId: aggregate),
            eventType: type.rawValue, aggregateType: "Instance", aggregateId: aggregate,
            data: ["database": "shop", "class_id": "Product", "instance_id": .string(id),
                   "data": ["product_id": .string(id), "name": .string(name)], "links": []],
            metadata: EventMetadata(kind: .domain, kafkaTopic: type.topic, service: "test"),
            sequenceNumber: version)
    }

    func publish(_ envelopes: [EventEnvelope]) async throws {
        try await bus.publish(envelopes.map { OutgoingMessage(topic: $0.metadata.kafkaTopic, key: $0.aggregateId, value: $0.jsonBytes) })
    }

    /// Waits until `condition` holds (checked every 20 ms), failing after `seconds`.
    func eventually(_ what: String, seconds: Double = 10, file: StaticString = #filePath, line: UInt = #line,
                    _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        XCTFail("timed out waiting for \(what)", file: file, line: line)
    }
}
