import Core
import Drivers

/// Everything the write routes need, wired once: the stores, the intake and the waiter.
public struct WritePath: Sendable {
    public let client: PostgresClient
    public let aggregates: AggregateStore
    public let intake: CommandIntake
    public let statuses: CommandStatusStore
    public let waiter: CommandWaiter
    public let eventStore: any EventStore

    public init(client: PostgresClient, eventStore: any EventStore, notifier: CommandStatusNotifier, statusTTLSeconds: Int?) {
        self.client = client
        self.eventStore = eventStore
        aggregates = AggregateStore(client: client)
        statuses = CommandStatusStore(client: client, ttlSeconds: statusTTLSeconds)
        intake = CommandIntake(client: client, eventStore: eventStore, statusStore: statuses)
        waiter = CommandWaiter(store: statuses, notifier: notifier)
    }

    public var databases: DatabaseCommands { DatabaseCommands(write: self) }
    public var ontology: OntologyCommands { OntologyCommands(write: self) }
    public var instances: InstanceCommands { InstanceCommands(write: self) }

    /// 404 unless the database exists and is not deleted.
    func requireDatabase(_ name: String) async throws -> AggregateSnapshot {
        guard let snapshot = try await aggregates.snapshot(.database(name)), !snapshot.deleted else {
            throw Problem(status: 404, code: "database_not_found", detail: "database \(name) does not exist", field: "path.db")
        }
        return snapshot
    }

    /// The database's current ontology, as accepted (the state instance writes are validated against).
    func schema(of database: String) async throws -> OntologySchema {
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
