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

    public init(commandId: String = EventID.random(), commandType: String, aggregate: AggregateRef, effect: Effect,
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
/// If anything fails nothing is committed, so no version is ever taken without its command.
public struct CommandIntake: Sendable {
    private let client: PostgresClient
    private let eventStore: any EventStore
    private let statusStore: CommandStatusStore
    private let redeliver: @Sendable (EventEnvelope) async -> Void

    /// `redeliver` hands a recovered orphan envelope to the bus (the publisher has passed it already).
    public init(client: PostgresClient, eventStore: any EventStore, statusStore: CommandStatusStore,
                redeliver: @escaping @Sendable (EventEnvelope) async -> Void = { _ in }) {
        self.client = client
        self.eventStore = eventStore
        self.statusStore = statusStore
        self.redeliver = redeliver
    }

    public func submit(_ request: CommandRequest) async throws -> CommandAccepted {
        let digest = request.digest
        let (accepted, recoveredOrphan) = try await mapStorageErrors {
            try await client.transaction { connection -> (CommandAccepted, EventEnvelope?) in
                if let previous = try await Self.existingCommand(request.commandId, on: connection) {
                    guard previous.digest == digest else {
                        throw Problem(status: 409, code: "event_id_reused",
                                      detail: "command id \(request.commandId) was already used for a different command",
                                      field: "header.Idempotency-Key")
                    }
                    return (CommandAccepted(commandId: request.commandId, commandType: previous.commandType,
                                            aggregateType: previous.aggregateType, aggregateId: previous.aggregateId,
                                            sequenceNumber: previous.sequenceNumber, replayed: true), nil)
                }
                let current = try await AggregateStore.snapshot(request.aggregate, on: connection, lock: true)
                try Self.checkVersion(request, current: current)
                let newState = try request.decide(current)
                let sequence = try await Self.store(request, state: newState, on: connection)
                let envelope = Self.envelope(for: request, state: newState, sequence: sequence)
                let outcome: AppendOutcome
                do throws(EventStoreError) {
                    outcome = try await eventStore.appendAdoptingStoredTimestamp(envelope)
                } catch {
                    throw error.problem
                }
                try await statusStore.insertPending(
                    PendingCommand(commandId: request.commandId, commandType: request.commandType,
                                   aggregateType: request.aggregate.kind.rawValue, aggregateId: request.aggregate.id,
                                   sequenceNumber: sequence, payloadDigest: digest),
                    on: connection)
                // Stored already although no status row existed: an attempt whose transaction did not commit
                // left it (an orphan, which workers refuse). Now that it is accepted, deliver it again.
                let orphan = outcome == .alreadyPresent ? envelope : nil
                return (CommandAccepted(commandId: request.commandId, commandType: request.commandType,
                                        aggregateType: request.aggregate.kind.rawValue, aggregateId: request.aggregate.id,
                                        sequenceNumber: sequence, replayed: false), orphan)
            }
        }
        if let recoveredOrphan { await redeliver(recoveredOrphan) }
        return accepted
    }

    private struct ExistingCommand {
        let digest: String
        let commandType: String
        let aggregateType: String
        let aggregateId: String
        let sequenceNumber: Int
    }

    /// Also takes the command id's transaction-scoped advisory lock, in the same round trip: a worker that
    /// finds a command envelope without a status row waits on that lock (`CommandStatusStore.standing`) to
    /// learn whether the transaction that appended it committed.
    private static func existingCommand(_ id: String, on connection: PostgresQuerying) async throws -> ExistingCommand? {
        let rows = try await connection.query("""
            SELECT c.payload_digest, c.command_type, c.aggregate_type, c.aggregate_id, c.sequence_number
            FROM (SELECT pg_advisory_xact_lock(\(CommandStatusStore.intakeLockExpression)) AS locked) AS lock
            LEFT JOIN commands c ON c.command_id = $1::uuid
            """, [.text(id)]).rows
        return rows.first.flatMap { $0.isNull("command_type") ? nil : $0 }.map {
            ExistingCommand(digest: $0.string("payload_digest") ?? "", commandType: $0.string("command_type") ?? "",
                            aggregateType: $0.string("aggregate_type") ?? "", aggregateId: $0.string("aggregate_id") ?? "",
                            sequenceNumber: $0.int("sequence_number") ?? 0)
        }
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

    private static func store(_ request: CommandRequest, state: JSONValue, on connection: PostgresQuerying) async throws -> Int {
        let ref = request.aggregate
        let stateText = PostgresValue.text(JSONWriter.string(state))
        switch request.effect {
        case .create:
            let rows = try await connection.query("""
                INSERT INTO aggregates (aggregate_type, aggregate_id, database_name, sequence_number, state)
                VALUES ($1, $2, $3, 1, $4::jsonb) ON CONFLICT DO NOTHING RETURNING sequence_number
                """, [.text(ref.kind.rawValue), .text(ref.id), .text(ref.database), stateText]).rows
            guard let sequence = rows.first?.int("sequence_number") else {
                // A concurrent create won the race after our read: report what it left.
                let actual = try await AggregateStore.snapshot(ref, on: connection, lock: false)
                throw conflict(id: ref.id, expected: 0, actual: actual?.sequenceNumber ?? 1, detail: "\(ref.id) already exists")
            }
            return sequence
        case .update, .delete:
            let rows = try await connection.query("""
                UPDATE aggregates SET sequence_number = sequence_number + 1, state = $4::jsonb, deleted = $5::bool,
                                      updated_at = now()
                WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence_number = $3::bigint AND NOT deleted
                RETURNING sequence_number
                """, [.text(ref.kind.rawValue), .text(ref.id), .int(Int64(request.expectedSequence)), stateText,
                      .bool(request.effect == .delete)]).rows
            guard let sequence = rows.first?.int("sequence_number") else {
                throw conflict(id: ref.id, expected: request.expectedSequence, actual: request.expectedSequence + 1,
                               detail: "\(ref.id) changed concurrently")
            }
            return sequence
        }
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
