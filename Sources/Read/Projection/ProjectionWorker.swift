import Core
import Delivery

/// Turns domain events into documents: instance documents (versioned; deletes leave tombstones) and class
/// documents for labels. Writing the document is the last step of an instance or class command, so the
/// projection completes the command — a sync write answers once reads can see it.
public struct ProjectionWorker: EventHandler {
    private let documents: any DocumentStore

    public init(documents: any DocumentStore) {
        self.documents = documents
    }

    public var name: String { "projection_worker" }
    public var group: String { "projection-worker-group" }
    public var topics: [String] { [DomainEventType.ontologyEventsTopic, DomainEventType.instanceEventsTopic] }
    public var consumes: EventMetadata.Kind { .domain }

    public func handle(_ envelope: EventEnvelope, context: HandlerContext) async throws -> HandlerOutcome {
        let change = try ReadModelChange(domainEvent: envelope)
        try await context.ensureOwner()
        context.reach(.beforeSideEffect)
        let outcome = try await change.apply(to: documents)
        context.reach(.afterSideEffect)
        var result: [String: JSONValue] = [
            "aggregate_id": .string(envelope.aggregateId), "sequence_number": .number(Double(envelope.sequenceNumber ?? 0)),
            "event_id": .string(envelope.eventId), "event_type": .string(envelope.eventType),
        ]
        if case .stale(let current) = outcome { result["document_version"] = .number(Double(current)) }
        for key in ["database", "class_id", "instance_id"] { result[key] = envelope.data[key] }
        if let id = envelope.data["id"], envelope.data["class_id"] == nil { result["class_id"] = id }
        return .completed(.object(result))
    }
}
