import Core
import Drivers

/// One intake transaction for a batch of commands, each on a different aggregate and with a different id
/// (`IntakeQueue` forms the batches). Two round trips to PostgreSQL (pipeline mode), whatever the batch's
/// size (the statements are `IntakeStatements`):
/// 1. BEGIN; take the batch's command-id locks, then its aggregate locks (each set in key order, so two
///    batches never wait on each other in a cycle); read every command (a retry?), every aggregate's row and,
///    for instance writes, the database's liveness and ontology version. The read is its own statement so
///    that its snapshot is taken after the locks are held: it sees everything the previous holder committed.
/// 2. After the appends: write every accepted command's aggregate row and PENDING status row (one
///    statement); COMMIT.
///
/// Every intake takes the aggregate's lock before touching its row, so between the read and the write nobody
/// else changes it: a version check that passed in step 1 still holds in step 2, and a conflict is found
/// before anything is appended. Each command is decided on its own: a conflict, a refusal or a failed append
/// answers that command and leaves the others in the batch alone. Only a failure of the transaction itself
/// (PostgreSQL gone, say) fails them all, and then nothing of the batch is committed.
struct IntakeTransaction: Sendable {
    struct Item: Sendable {
        let request: CommandRequest
        /// `CommandRequest.digest`, computed by the caller's task rather than the batch's.
        let digest: String
    }

    /// An accepted command, and the envelope to deliver again when it was found already stored (an orphan
    /// of an attempt that did not commit, accepted now).
    typealias Outcome = Result<(accepted: CommandAccepted, orphan: EventEnvelope?), any Error>

    let eventStore: any EventStore
    let ttlSeconds: Int?

    func run(_ items: [Item], on connection: PostgresConnectionHandle) async throws -> [Outcome] {
        // A thrown error leaves the transaction open: the pool rolls it back before reusing the connection.
        let found = try await Self.lockAndRead(items, on: connection)
        var outcomes: [Outcome?] = Array(repeating: nil, count: items.count)
        var decided: [Decided] = []
        var aggregatesSeen: Set<AggregateRef> = []
        var commandsSeen: Set<String> = []
        for (index, item) in items.enumerated() {
            do {
                // The queue never batches two commands of one aggregate or id; if it did, both would be
                // checked against the same version and both accepted.
                guard aggregatesSeen.insert(item.request.aggregate).inserted,
                      commandsSeen.insert(item.request.commandId).inserted else {
                    throw Problem(status: 500, code: "intake_batch_duplicate",
                                  detail: "command \(item.request.commandId) shared an intake transaction with another of its aggregate or id")
                }
                switch try Self.decide(item, found: found[index]) {
                case .replay(let accepted): outcomes[index] = .success((accepted, nil))
                case .append(let envelope, let state): decided.append(Decided(index: index, envelope: envelope, state: state))
                }
            } catch {
                outcomes[index] = .failure(error)
            }
        }
        let appended = await appendAll(decided.map(\.envelope))
        var writes: [(decided: Decided, outcome: AppendOutcome)] = []
        for (entry, result) in zip(decided, appended) {
            switch result {
            case .success(let outcome): writes.append((entry, outcome))
            case .failure(let error): outcomes[entry.index] = .failure(error.problem)
            }
        }
        let written = try await writeAndCommit(writes.map { (items[$0.decided.index], $0.decided) }, on: connection)
        for (entry, outcome) in writes {
            let request = items[entry.index].request
            // Under the aggregate's lock the row cannot have moved since it was read; if it did anyway (a
            // writer outside the intake), nothing was written for it. The appended envelope is then an
            // orphan, which workers refuse.
            guard written[entry.index] == entry.sequence else {
                outcomes[entry.index] = .failure(CommandIntake.conflict(
                    id: request.aggregate.id, expected: request.expectedSequence, actual: request.expectedSequence + 1,
                    detail: "\(request.aggregate.id) changed concurrently"))
                continue
            }
            let accepted = CommandAccepted(commandId: request.commandId, commandType: request.commandType,
                                           aggregateType: request.aggregate.kind.rawValue, aggregateId: request.aggregate.id,
                                           sequenceNumber: entry.sequence, replayed: false)
            outcomes[entry.index] = .success((accepted, outcome == .alreadyPresent ? entry.envelope : nil))
        }
        return outcomes.map { $0! }
    }

    /// A command that passed every check, with its envelope and the aggregate's state after it.
    private struct Decided {
        let index: Int
        let envelope: EventEnvelope
        let state: JSONValue
        var sequence: Int { envelope.sequenceNumber ?? 0 }
    }

    private enum Decision {
        case replay(CommandAccepted)
        case append(EventEnvelope, state: JSONValue)
    }

    private static func decide(_ item: Item, found: Found) throws -> Decision {
        let request = item.request
        if let previous = found.command {
            guard previous.digest == item.digest else {
                throw Problem(status: 409, code: "event_id_reused",
                              detail: "command id \(request.commandId) was already used for a different command",
                              field: "header.Idempotency-Key")
            }
            return .replay(CommandAccepted(commandId: request.commandId, commandType: previous.commandType,
                                           aggregateType: previous.aggregateType, aggregateId: previous.aggregateId,
                                           sequenceNumber: previous.sequenceNumber, replayed: true))
        }
        if let ontology = request.ontology {
            guard found.databaseLive else { throw WritePath.databaseNotFound(ontology.database) }
            guard found.ontologyVersion == ontology.version else { throw OntologyMoved() }
        }
        try CommandIntake.checkVersion(request, current: found.aggregate)
        let state = try request.decide(found.aggregate)
        let sequence = request.effect == .create ? 1 : request.expectedSequence + 1
        return .append(CommandIntake.envelope(for: request, state: state, sequence: sequence), state: state)
    }

    /// All at once: the event store makes concurrent appends durable together (one fsync for the batch).
    private func appendAll(_ envelopes: [EventEnvelope]) async -> [Result<AppendOutcome, EventStoreError>] {
        let store = eventStore
        if envelopes.count == 1 { return [await Self.append(envelopes[0], to: store)] }
        return await withTaskGroup(of: (Int, Result<AppendOutcome, EventStoreError>).self) { group in
            for (index, envelope) in envelopes.enumerated() {
                group.addTask { (index, await Self.append(envelope, to: store)) }
            }
            var results = [Result<AppendOutcome, EventStoreError>](repeating: .failure(.io("not appended")), count: envelopes.count)
            for await (index, result) in group { results[index] = result }
            return results
        }
    }

    private static func append(_ envelope: EventEnvelope, to store: any EventStore) async -> Result<AppendOutcome, EventStoreError> {
        do throws(EventStoreError) {
            return .success(try await store.appendAdoptingStoredTimestamp(envelope))
        } catch {
            return .failure(error)
        }
    }

    // MARK: Round trip 1

    private struct ExistingCommand {
        let digest: String
        let commandType: String
        let aggregateType: String
        let aggregateId: String
        let sequenceNumber: Int
    }

    private struct Found {
        var command: ExistingCommand?
        var aggregate: AggregateSnapshot?
        /// Only meaningful when the request has an ontology precondition.
        var databaseLive = false
        var ontologyVersion = 0
    }

    /// The command ids' locks are the ones a worker waits on (`CommandStatusStore.standing`) to learn whether
    /// the transaction that appended an envelope committed; the aggregates' locks (the two-key form, a key
    /// space of their own) order every intake of one aggregate.
    private static func lockAndRead(_ items: [Item], on connection: PostgresConnectionHandle) async throws -> [Found] {
        let results = try await connection.pipeline(IntakeStatements.lockAndRead(items.map(\.request)))
        var found = [Found](repeating: Found(), count: items.count)
        for row in results.last?.rows ?? [] {
            guard let ordinal = row.int("ordinal"), found.indices.contains(ordinal - 1) else { continue }
            let command = row.isNull("command_type") ? nil : ExistingCommand(
                digest: row.string("payload_digest") ?? "", commandType: row.string("command_type") ?? "",
                aggregateType: row.string("command_aggregate_type") ?? "", aggregateId: row.string("command_aggregate_id") ?? "",
                sequenceNumber: row.int("command_sequence") ?? 0)
            let aggregate = row.isNull("sequence_number") ? nil : try AggregateStore.decode(row)
            found[ordinal - 1] = Found(command: command, aggregate: aggregate, databaseLive: row.bool("database_live") ?? false,
                                       ontologyVersion: row.int("ontology_version") ?? 0)
        }
        return found
    }

    // MARK: Round trip 2

    /// The aggregates' rows and the PENDING status rows in one statement, then COMMIT; returns the version
    /// written per item index.
    private func writeAndCommit(_ writes: [(item: Item, decided: Decided)],
                                on connection: PostgresConnectionHandle) async throws -> [Int: Int] {
        guard !writes.isEmpty else {
            _ = try await connection.query("COMMIT")
            return [:]
        }
        let rows = writes.map { (request: $0.item.request, state: JSONWriter.string($0.decided.state), digest: $0.item.digest) }
        let results = try await connection.pipeline([IntakeStatements.write(rows, ttlSeconds: ttlSeconds), PostgresStatement("COMMIT")])
        var written: [Int: Int] = [:]
        for row in results.first?.rows ?? [] {
            guard let ordinal = row.int("ordinal"), writes.indices.contains(ordinal - 1),
                  let sequence = row.int("sequence_number") else { continue }
            written[writes[ordinal - 1].decided.index] = sequence
        }
        return written
    }
}
