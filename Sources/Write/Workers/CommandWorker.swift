import Core
import Delivery

/// The command workers: database, ontology and instance. Each turns a command envelope into its domain
/// event, applies the event's graph change (the graph is the authority; the database worker also creates
/// or drops the document space), then appends the event, from which the projection builds documents.
///
/// A rerun after a crash is harmless at every step: graph writes are versioned, the event id is derived
/// from the command, and status moves are guarded.
public struct CommandWorker: EventHandler {
    public enum Kind: String, Sendable, CaseIterable {
        case database, ontology, instance
    }

    public let kind: Kind
    private let graph: any GraphStore
    private let documents: any DocumentStore
    private let store: any EventStore

    public init(_ kind: Kind, graph: any GraphStore, documents: any DocumentStore, store: any EventStore) {
        self.kind = kind
        self.graph = graph
        self.documents = documents
        self.store = store
    }

    public var name: String { "\(kind.rawValue)_worker" }
    public var group: String { "\(kind.rawValue)-worker-group" }
    public var consumes: EventMetadata.Kind { .command }

    public var topics: [String] {
        switch kind {
        case .database: [AggregateKind.database.commandTopic]
        case .ontology: [AggregateKind.ontologyClass.commandTopic]
        case .instance: [AggregateKind.instance.commandTopic]
        }
    }

    public func handle(_ envelope: EventEnvelope, context: HandlerContext) async throws -> HandlerOutcome {
        let event = try DomainEventType.event(for: envelope, service: name.replacingOccurrences(of: "_", with: "-"))
        let change = try ReadModelChange(domainEvent: event)
        try await context.ensureOwner()
        context.reach(.beforeSideEffect)
        try await change.apply(to: graph)
        if kind == .database { try await change.apply(to: documents) }
        context.reach(.afterSideEffect)
        // Stamped now, not when the graph write began: the by-date index orders by this time, and an event
        // stamped long before its append would land behind entries appended meanwhile.
        var stamped = event
        stamped.occurredAtMilliseconds = EventTimestamp.nowMilliseconds()
        _ = try await store.appendAdoptingStoredTimestamp(stamped)
        let result: JSONValue = [
            "aggregate_id": .string(envelope.aggregateId), "sequence_number": .number(Double(envelope.sequenceNumber ?? 0)),
            "event_id": .string(event.eventId), "event_type": .string(event.eventType),
        ]
        // Databases are complete once both spaces exist; classes and instances once the projection has
        // written their documents (it completes the command), so a sync write answers when reads see it.
        return kind == .database ? .completed(result) : .progressed(50, message: "applied to the graph; projecting")
    }
}
