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

    private static func databaseNotFound(_ name: String) -> Problem {
        Problem(status: 404, code: "database_not_found", detail: "database \(name) does not exist", field: "path.db")
    }

    /// The current ontology of a live database (404 otherwise), as accepted: the state instance writes are
    /// validated against. Parsed schemas are cached by the ontology's version (the sum of its classes'
    /// sequence numbers, which grows with every class create, update and delete), so a write costs one small
    /// query for both the database check and the version.
    func schemaOfLiveDatabase(_ database: String) async throws -> OntologySchema {
        let row = try await mapStorageErrors {
            try await client.query("""
                SELECT (SELECT NOT deleted FROM aggregates WHERE aggregate_type = $2 AND aggregate_id = $1) AS live,
                       (SELECT coalesce(sum(sequence_number), 0) FROM aggregates
                        WHERE aggregate_type = $3 AND database_name = $1) AS version
                """, [.text(database), .text(AggregateKind.database.rawValue), .text(AggregateKind.ontologyClass.rawValue)]).rows.first
        }
        guard row?.bool("live") == true else { throw Self.databaseNotFound(database) }
        let version = row?.int("version") ?? 0
        if let cached = schemaCache.schema(database: database, version: version) { return cached }
        let schema = try await loadSchema(of: database)
        schemaCache.store(schema, database: database, version: version)
        return schema
    }

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
        self.commandId = commandId ?? EventID.random()
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
}
