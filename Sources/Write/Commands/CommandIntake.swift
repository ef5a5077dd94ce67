import Core
import Drivers

/// What a write route asks for: one command on one aggregate, with the version it expects.
public struct CommandRequest: Sendable {
    public enum Effect: Sendable { case create, update, delete }

    public var commandId: String
    public var commandType: String
    public var aggregate: AggregateRef
    public var effect: Effect
    /// 0 for creates; the client's `expected_seq` otherwise.
    public var expectedSequence: Int
    public var payload: JSONValue
    public var actor: String?
    /// Validates the command against the aggregate's current state and returns the state to store.
    public var decide: @Sendable (AggregateSnapshot?) throws -> JSONValue
    /// The ontology version the command was validated against, if it was (checked under the intake's locks).
    public var ontology: OntologyPrecondition?

    public init(commandId: String = EventID.timeOrdered(), commandType: String, aggregate: AggregateRef, effect: Effect,
                expectedSequence: Int, payload: JSONValue, actor: String? = nil,
                decide: @escaping @Sendable (AggregateSnapshot?) throws -> JSONValue) {
        self.commandId = commandId.lowercased()
        self.commandType = commandType
        self.aggregate = aggregate
        self.effect = effect
        self.expectedSequence = expectedSequence
        self.payload = payload
        self.actor = actor
        self.decide = decide
    }

    /// What identifies "the same command" for idempotent retries: everything but the id.
    var digest: String {
        SHA1.hexDigest(JSONWriter.bytes([
            "command_type": .string(commandType), "aggregate_type": .string(aggregate.kind.rawValue),
            "aggregate_id": .string(aggregate.id), "expected_seq": .number(Double(expectedSequence)), "payload": payload,
        ]))
    }
}

/// "The database is live and its ontology is at `version`": what a command validated against that ontology
/// needs to stay true until it is accepted.
public struct OntologyPrecondition: Sendable {
    public let database: String
    public let version: Int

    /// Columns `database_live` and `ontology_version` of the database named by the SQL parameter
    /// `parameter` (the version is the sum of its classes' sequence numbers: every class write moves it).
    static func columns(database parameter: String) -> String {
        """
        (SELECT NOT deleted FROM aggregates
         WHERE aggregate_type = '\(AggregateKind.database.rawValue)' AND aggregate_id = \(parameter)) AS database_live,
        (SELECT coalesce(sum(sequence_number), 0) FROM aggregates
         WHERE aggregate_type = '\(AggregateKind.ontologyClass.rawValue)' AND database_name = \(parameter)) AS ontology_version
        """
    }
}

/// The ontology moved after the command was validated: nothing was written; validate again.
public struct OntologyMoved: Error {}

public struct CommandAccepted: Sendable, Equatable {
    public let commandId: String
    public let commandType: String
    public let aggregateType: String
    public let aggregateId: String
    public let sequenceNumber: Int
    /// True when this was a retry of a command already accepted (same id, same payload).
    public let replayed: Bool
}

/// Accepts commands: in one Postgres transaction, checks idempotency (same command id), advances the
/// aggregate's version only from `expected_seq` (409 otherwise), stores the new accepted state, appends the
/// command envelope to the event store (durable before we answer) and creates the PENDING status row.
/// If anything fails for a command nothing of it is committed, so no version is ever taken without its
/// command.
///
/// Concurrent commands share transactions: `IntakeQueue` groups the commands that wait while others are
/// being accepted (group commit), and `IntakeTransaction` accepts one group in two round trips.
public struct CommandIntake: Sendable {
    private let queue: IntakeQueue
    private let redeliver: @Sendable (EventEnvelope) async -> Void

    /// At most this many intake transactions at once (each holds a pooled connection), and this many
    /// commands in one.
    static let lanes = 4
    static let maximumBatch = 64

    /// `redeliver` hands a recovered orphan envelope to the bus (the publisher has passed it already).
    public init(client: PostgresClient, eventStore: any EventStore, statusStore: CommandStatusStore,
                redeliver: @escaping @Sendable (EventEnvelope) async -> Void = { _ in }) {
        let transaction = IntakeTransaction(eventStore: eventStore, ttlSeconds: statusStore.ttlSeconds)
        queue = IntakeQueue(lanes: Self.lanes, maximumBatch: Self.maximumBatch) { items in
            do {
                return try await mapStorageErrors {
                    try await client.withConnection { connection in try await transaction.run(items, on: connection) }
                }
            } catch {
                return items.map { _ in .failure(error) }
            }
        }
        self.redeliver = redeliver
    }

    public func submit(_ request: CommandRequest) async throws -> CommandAccepted {
        let outcome = await queue.submit(IntakeTransaction.Item(request: request, digest: request.digest))
        let (accepted, recoveredOrphan) = try outcome.get()
        // Stored already although no status row existed: an attempt whose transaction did not commit left it
        // (an orphan, which workers refuse). Now that it is accepted, deliver it again.
        if let recoveredOrphan { await redeliver(recoveredOrphan) }
        return accepted
    }

    /// The optimistic-concurrency rules (correctness contract, rule 4).
    static func checkVersion(_ request: CommandRequest, current: AggregateSnapshot?) throws {
        let id = request.aggregate.id
        switch request.effect {
        case .create:
            guard let current else { return }
            if current.deleted {
                throw Problem(status: 409, code: "aggregate_deleted",
                              detail: "\(id) was deleted at version \(current.sequenceNumber); deleted ids are not re-created",
                              extensions: ["aggregate_id": .string(id), "actual_seq": .number(Double(current.sequenceNumber))])
            }
            throw conflict(id: id, expected: 0, actual: current.sequenceNumber, detail: "\(id) already exists")
        case .update, .delete:
            guard let current, !current.deleted else {
                throw Problem(status: 404, code: "not_found", detail: "\(id) does not exist")
            }
            guard current.sequenceNumber == request.expectedSequence else {
                throw conflict(id: id, expected: request.expectedSequence, actual: current.sequenceNumber,
                               detail: "\(id) is at version \(current.sequenceNumber), not \(request.expectedSequence)")
            }
        }
    }

    static func conflict(id: String, expected: Int, actual: Int, detail: String) -> Problem {
        Problem(status: 409, code: "optimistic_concurrency_conflict", detail: detail, field: "query.expected_seq",
                extensions: ["aggregate_id": .string(id), "expected_seq": .number(Double(expected)),
                             "actual_seq": .number(Double(actual))])
    }

    /// The command envelope carries the resulting state (`data.state`) as well as the request, so workers
    /// and replay derive the domain event from the envelope alone.
    static func envelope(for request: CommandRequest, state: JSONValue, sequence: Int) -> EventEnvelope {
        EventEnvelope(
            eventId: request.commandId, eventType: "\(request.commandType)_REQUESTED",
            aggregateType: request.aggregate.kind.rawValue, aggregateId: request.aggregate.id, actor: request.actor,
            data: [
                "command_id": .string(request.commandId), "command_type": .string(request.commandType),
                "database": .string(request.aggregate.database), "expected_seq": .number(Double(request.expectedSequence)),
                "payload": request.payload, "state": state,
            ],
            metadata: EventMetadata(kind: .command, kafkaTopic: request.aggregate.kind.commandTopic, service: "spice",
                                    commandId: request.commandId, commandType: request.commandType),
            sequenceNumber: sequence)
    }
}
