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
/// If anything fails nothing is committed, so no version is ever taken without its command.
///
/// The transaction costs two round trips to PostgreSQL (pipeline mode):
/// 1. BEGIN; take the command id's and the aggregate's advisory locks; read the command (a retry?) and the
///    aggregate's row. The read is its own statement so that its snapshot is taken after the locks are
///    held: it sees everything the previous holder committed.
/// 2. After the append: write the aggregate's row and the status row (one statement); COMMIT.
///
/// Every intake transaction takes the aggregate's lock before touching its row, so between the read and
/// the write nobody else changes it: a version check that passed in step 1 still holds in step 2, and a
/// conflict is found before anything is appended.
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
            try await client.withConnection { connection -> (CommandAccepted, EventEnvelope?) in
                // A thrown error leaves the transaction open: the pool rolls it back before reusing the connection.
                let found = try await Self.lockAndRead(request, on: connection)
                if let previous = found.command {
                    guard previous.digest == digest else {
                        throw Problem(status: 409, code: "event_id_reused",
                                      detail: "command id \(request.commandId) was already used for a different command",
                                      field: "header.Idempotency-Key")
                    }
                    _ = try await connection.query("COMMIT")
                    return (CommandAccepted(commandId: request.commandId, commandType: previous.commandType,
                                            aggregateType: previous.aggregateType, aggregateId: previous.aggregateId,
                                            sequenceNumber: previous.sequenceNumber, replayed: true), nil)
                }
                if let ontology = request.ontology {
                    guard found.databaseLive else { throw WritePath.databaseNotFound(ontology.database) }
                    guard found.ontologyVersion == ontology.version else { throw OntologyMoved() }
                }
                try Self.checkVersion(request, current: found.aggregate)
                let newState = try request.decide(found.aggregate)
                let sequence = request.effect == .create ? 1 : request.expectedSequence + 1
                let envelope = Self.envelope(for: request, state: newState, sequence: sequence)
                let outcome: AppendOutcome
                do throws(EventStoreError) {
                    outcome = try await eventStore.appendAdoptingStoredTimestamp(envelope)
                } catch {
                    throw error.problem
                }
                try await writeAndCommit(request, state: newState, sequence: sequence, digest: digest, on: connection)
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

    /// Round trip 1. The command id's lock is the one a worker waits on (`CommandStatusStore.standing`) to
    /// learn whether the transaction that appended an envelope committed; the aggregate's lock (the two-key
    /// form, a key space of its own) orders every intake of one aggregate.
    private struct Found {
        var command: ExistingCommand?
        var aggregate: AggregateSnapshot?
        /// Only read when the request has an ontology precondition.
        var databaseLive = false
        var ontologyVersion = 0
    }

    private static func lockAndRead(_ request: CommandRequest, on connection: PostgresConnectionHandle) async throws -> Found {
        let ref = request.aggregate
        var readParameters: [PostgresValue] = [.text(request.commandId), .text(ref.kind.rawValue), .text(ref.id)]
        var ontologyColumns = ""
        if let ontology = request.ontology {
            readParameters.append(.text(ontology.database))
            ontologyColumns = ", " + OntologyPrecondition.columns(database: "$4")
        }
        let results = try await connection.pipeline([
            PostgresStatement("BEGIN"),
            PostgresStatement("""
                SELECT pg_advisory_xact_lock(\(CommandStatusStore.intakeLockExpression)),
                       pg_advisory_xact_lock(hashtext($2), hashtext($3))
                """, [.text(request.commandId), .text(ref.kind.rawValue), .text(ref.id)]),
            PostgresStatement("""
                SELECT c.payload_digest, c.command_type, c.aggregate_type AS command_aggregate_type,
                       c.aggregate_id AS command_aggregate_id, c.sequence_number AS command_sequence, a.*\(ontologyColumns)
                FROM (SELECT 1) AS one
                LEFT JOIN commands c ON c.command_id = $1::uuid
                LEFT JOIN LATERAL (SELECT \(AggregateStore.columns) FROM aggregates
                                   WHERE aggregate_type = $2 AND aggregate_id = $3) AS a ON true
                """, readParameters),
        ])
        guard let row = results.last?.rows.first else { return Found() }
        let command = row.isNull("command_type") ? nil : ExistingCommand(
            digest: row.string("payload_digest") ?? "", commandType: row.string("command_type") ?? "",
            aggregateType: row.string("command_aggregate_type") ?? "", aggregateId: row.string("command_aggregate_id") ?? "",
            sequenceNumber: row.int("command_sequence") ?? 0)
        let aggregate = row.isNull("sequence_number") ? nil : try AggregateStore.decode(row)
        return Found(command: command, aggregate: aggregate, databaseLive: row.bool("database_live") ?? false,
                     ontologyVersion: row.int("ontology_version") ?? 0)
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

    /// Round trip 2: the aggregate's new version and state and the PENDING status row (with its first history
    /// entry) in one statement, then COMMIT. No NOTIFY: creating a command is not a transition, and nobody
    /// can wait on an id before this commit makes it exist (see `CommandStatusStore`).
    private func writeAndCommit(_ request: CommandRequest, state: JSONValue, sequence: Int, digest: String,
                                on connection: PostgresConnectionHandle) async throws {
        let ref = request.aggregate
        let written = request.effect == .create
            ? """
              INSERT INTO aggregates (aggregate_type, aggregate_id, database_name, sequence_number, state)
              VALUES ($1, $2, $3, 1, $4::jsonb) ON CONFLICT DO NOTHING RETURNING sequence_number
              """
            : """
              UPDATE aggregates SET sequence_number = sequence_number + 1, state = $4::jsonb, deleted = $10::bool,
                                    updated_at = now()
              WHERE aggregate_type = $1 AND aggregate_id = $2 AND database_name = $3 AND sequence_number = $9::bigint
                    AND NOT deleted
              RETURNING sequence_number
              """
        var parameters: [PostgresValue] = [
            .text(ref.kind.rawValue), .text(ref.id), .text(ref.database), .text(JSONWriter.string(state)),
            .text(request.commandId), .text(request.commandType), .text(digest),
            statusStore.ttlSeconds.map { .int(Int64($0)) } ?? .null,
        ]
        if request.effect != .create {
            parameters += [.int(Int64(request.expectedSequence)), .bool(request.effect == .delete)]
        }
        let results = try await connection.pipeline([
            PostgresStatement("""
                WITH written AS (\(written)),
                created AS (
                    INSERT INTO commands (command_id, command_type, aggregate_type, aggregate_id, sequence_number,
                                          payload_digest, status, expires_at)
                    SELECT $5::uuid, $6, $1, $2, sequence_number, $7, 'PENDING',
                           CASE WHEN $8::int IS NULL THEN NULL ELSE now() + make_interval(secs => $8::int) END
                    FROM written
                    RETURNING command_id, status, progress),
                history AS (
                    INSERT INTO command_history (command_id, status, progress, message)
                    SELECT command_id, status, progress, 'accepted' FROM created)
                SELECT sequence_number FROM written
                """, parameters),
            PostgresStatement("COMMIT"),
        ])
        // Under the aggregate's lock the row cannot have moved since it was read; if it did anyway (a writer
        // outside the intake), nothing was written and the transaction committed empty. The envelope
        // already appended is then an orphan, which workers refuse.
        guard results.first?.rows.first?.int("sequence_number") == sequence else {
            throw Self.conflict(id: ref.id, expected: request.expectedSequence, actual: request.expectedSequence + 1,
                                detail: "\(ref.id) changed concurrently")
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
