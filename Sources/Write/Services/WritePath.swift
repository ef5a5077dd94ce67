import Core
import Drivers
import Synchronization

/// Everything the write routes need, wired once: the stores, the intake and the waiter.
public struct WritePath: Sendable {
    public let client: PostgresClient
    public let aggregates: AggregateStore
    public let intake: CommandIntake
    public let statuses: CommandStatusStore
    public let waiter: CommandWaiter
    public let eventStore: any EventStore
    private let schemaCache = SchemaCache()

    /// `redeliver` puts an envelope on the bus directly (see `CommandIntake`'s orphan recovery).
    public init(client: PostgresClient, eventStore: any EventStore, notifier: CommandStatusNotifier, statusTTLSeconds: Int?,
                redeliver: @escaping @Sendable (EventEnvelope) async -> Void = { _ in }) {
        self.client = client
        self.eventStore = eventStore
        aggregates = AggregateStore(client: client)
        statuses = CommandStatusStore(client: client, ttlSeconds: statusTTLSeconds)
        intake = CommandIntake(client: client, eventStore: eventStore, statusStore: statuses, redeliver: redeliver)
        waiter = CommandWaiter(store: statuses, notifier: notifier)
    }

    public var databases: DatabaseCommands { DatabaseCommands(write: self) }
    public var ontology: OntologyCommands { OntologyCommands(write: self) }
    public var instances: InstanceCommands { InstanceCommands(write: self) }

    /// 404 unless the database exists and is not deleted.
    func requireDatabase(_ name: String) async throws -> AggregateSnapshot {
        guard let snapshot = try await aggregates.snapshot(.database(name)), !snapshot.deleted else { throw Self.databaseNotFound(name) }
        return snapshot
    }

    static func databaseNotFound(_ name: String) -> Problem {
        Problem(status: 404, code: "database_not_found", detail: "database \(name) does not exist", field: "path.db")
    }

    /// The current ontology of a live database (404 otherwise), as accepted: the state instance writes are
    /// validated against. Parsed schemas are cached by the ontology's version (the sum of its classes'
    /// sequence numbers, which grows with every class create, update and delete), so this costs one small
    /// query for both the database check and the version.
    func schemaOfLiveDatabase(_ database: String) async throws -> OntologySchema {
        try await currentSchema(of: database).schema
    }

    private func currentSchema(of database: String) async throws -> (version: Int, schema: OntologySchema) {
        let row = try await mapStorageErrors {
            try await client.query("SELECT \(OntologyPrecondition.columns(database: "$1"))", [.text(database)]).rows.first
        }
        guard row?.bool("database_live") == true else { throw Self.databaseNotFound(database) }
        let version = row?.int("ontology_version") ?? 0
        if let cached = schemaCache.schema(database: database, version: version) { return (version, cached) }
        let schema = try await loadSchema(of: database)
        schemaCache.store(schema, database: database, version: version)
        return (version, schema)
    }

    /// Submits a command built (and validated) from the database's ontology, without asking PostgreSQL for
    /// the ontology first: the cached one is used, and the intake checks its version under its locks, in
    /// the round trip it makes anyway. A moved ontology rebuilds the command from the current one; so does
    /// a command the cached ontology refused (a class or property added elsewhere), before the refusal is
    /// believed.
    func submit(validatedAgainst database: String, _ build: (OntologySchema) throws -> CommandRequest) async throws -> CommandAccepted {
        var entry = schemaCache.latest(database: database)
        var verified = false
        if entry == nil {
            entry = try await currentSchema(of: database)
            verified = true
        }
        for _ in 0..<Self.ontologyAttempts {
            guard let (version, schema) = entry else { break }
            var request: CommandRequest
            do {
                request = try build(schema)
            } catch let refusal as Problem where !verified {
                let current = try await currentSchema(of: database)
                guard current.version != version else { throw refusal }
                (entry, verified) = (current, true)
                continue
            }
            request.ontology = OntologyPrecondition(database: database, version: version)
            do {
                return try await intake.submit(request)
            } catch is OntologyMoved {
                (entry, verified) = (try await currentSchema(of: database), true)
            }
        }
        throw Problem(status: 503, code: "ontology_changing",
                      detail: "the ontology of \(database) changed during each of \(Self.ontologyAttempts) attempts; retry")
    }

    static let ontologyAttempts = 4

    private func loadSchema(of database: String) async throws -> OntologySchema {
        var classes: [OntologyClass] = []
        var offset = 0
        while true {
            let page = try await aggregates.list(.ontologyClass, database: database, limit: 1000, offset: offset)
            for (_, snapshot) in page { classes.append(try OntologyClass(json: snapshot.state)) }
            if page.count < 1000 { break }
            offset += page.count
        }
        return OntologySchema(classes: classes)
    }
}

/// Who is asking and how to identify the command: carried from the HTTP request into every command.
public struct CommandContext: Sendable {
    public var commandId: String
    public var actor: String?

    public init(commandId: String? = nil, actor: String? = nil) {
        self.commandId = commandId ?? EventID.timeOrdered()
        self.actor = actor
    }
}

/// Parsed ontologies by database, tagged with the ontology version they were read at.
final class SchemaCache: Sendable {
    private let entries = Mutex<[String: (version: Int, schema: OntologySchema)]>([:])

    func schema(database: String, version: Int) -> OntologySchema? {
        entries.withLock { entries in
            guard let entry = entries[database], entry.version == version else { return nil }
            return entry.schema
        }
    }

    func store(_ schema: OntologySchema, database: String, version: Int) {
        entries.withLock { $0[database] = (version, schema) }
    }

    /// The newest schema read for `database`, unverified: it may have moved since.
    func latest(database: String) -> (version: Int, schema: OntologySchema)? {
        entries.withLock { $0[database] }
    }
}
