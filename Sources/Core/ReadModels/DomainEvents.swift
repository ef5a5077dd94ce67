/// The facts workers record after applying a command, and where they are delivered. Their `data` carries
/// the complete resulting state, so the read models can be rebuilt from them alone (rule 11).
public enum DomainEventType: String, Sendable, CaseIterable {
    case databaseCreated = "DATABASE_CREATED"
    case databaseDeleted = "DATABASE_DELETED"
    case ontologyClassCreated = "ONTOLOGY_CLASS_CREATED"
    case ontologyClassUpdated = "ONTOLOGY_CLASS_UPDATED"
    case ontologyClassDeleted = "ONTOLOGY_CLASS_DELETED"
    case instanceCreated = "INSTANCE_CREATED"
    case instanceUpdated = "INSTANCE_UPDATED"
    case instanceDeleted = "INSTANCE_DELETED"

    public static let ontologyEventsTopic = "ontology_events"
    public static let instanceEventsTopic = "instance_events"

    /// Database and class events share the ontology topic (as in the original); instance events have their own.
    public var topic: String {
        switch self {
        case .instanceCreated, .instanceUpdated, .instanceDeleted: Self.instanceEventsTopic
        default: Self.ontologyEventsTopic
        }
    }

    /// The event a command type produces (nil: not a command workers know).
    public init?(commandType: String) {
        switch commandType {
        case "CREATE_DATABASE": self = .databaseCreated
        case "DELETE_DATABASE": self = .databaseDeleted
        case "CREATE_ONTOLOGY_CLASS": self = .ontologyClassCreated
        case "UPDATE_ONTOLOGY_CLASS": self = .ontologyClassUpdated
        case "DELETE_ONTOLOGY_CLASS": self = .ontologyClassDeleted
        case "CREATE_INSTANCE": self = .instanceCreated
        case "UPDATE_INSTANCE": self = .instanceUpdated
        case "DELETE_INSTANCE": self = .instanceDeleted
        default: return nil
        }
    }

    /// The domain event a command envelope leads to: id derived from the command (uuid5), so a retried
    /// worker appends the same event; same aggregate and sequence number as the command; `data` is the
    /// command's resulting state plus the database name.
    public static func event(for command: EventEnvelope, service: String) throws(Problem) -> EventEnvelope {
        guard let commandType = command.metadata.commandType ?? command.data["command_type"]?.stringValue,
              let type = DomainEventType(commandType: commandType) else {
            throw Problem.badRequest("command envelope \(command.eventId) has no known command type", field: "metadata.command_type")
        }
        guard let database = command.data["database"]?.stringValue else {
            throw Problem.badRequest("command envelope \(command.eventId) names no database", field: "data.database")
        }
        guard case .object(var data)? = command.data["state"] else {
            throw Problem.badRequest("command envelope \(command.eventId) carries no resulting state", field: "data.state")
        }
        data["database"] = .string(database)
        let commandId = command.metadata.commandId ?? command.eventId
        return EventEnvelope(
            eventId: EventID.derived(commandId: commandId, eventType: type.rawValue, aggregateId: command.aggregateId),
            eventType: type.rawValue, aggregateType: command.aggregateType, aggregateId: command.aggregateId,
            actor: command.actor, data: .object(data),
            metadata: EventMetadata(kind: .domain, kafkaTopic: type.topic, service: service, commandId: commandId,
                                    commandType: commandType),
            sequenceNumber: command.sequenceNumber)
    }
}

/// What one domain event changes in the read models — computed the same way by the incremental workers
/// and by replay, so both build the same graph and documents.
public enum ReadModelChange: Sendable, Equatable {
    case createDatabase(String)
    case dropDatabase(String)
    case putClass(database: String, definition: OntologyClass, version: Int)
    case deleteClass(database: String, classId: String, version: Int)
    case putInstance(database: String, node: GraphNodeWrite, document: InstanceDocument)
    case deleteInstance(database: String, ref: NodeRef, tombstone: InstanceDocument)

    public init(domainEvent event: EventEnvelope) throws(Problem) {
        guard let type = DomainEventType(rawValue: event.eventType) else {
            throw Problem.badRequest("\(event.eventType) is not a domain event type", field: "event_type")
        }
        func string(_ key: String) throws(Problem) -> String {
            guard let value = event.data[key]?.stringValue, !value.isEmpty else {
                throw Problem.badRequest("\(event.eventType) event \(event.eventId) lacks data.\(key)", field: "data.\(key)")
            }
            return value
        }
        let database = try string("database")
        let version = event.sequenceNumber ?? 0
        switch type {
        case .databaseCreated: self = .createDatabase(database)
        case .databaseDeleted: self = .dropDatabase(database)
        case .ontologyClassCreated, .ontologyClassUpdated:
            var definition = event.data
            if case .object(var object) = definition {
                object["database"] = nil
                definition = .object(object)
            }
            self = .putClass(database: database, definition: try OntologyClass(json: definition, fieldPrefix: "data"), version: version)
        case .ontologyClassDeleted:
            self = .deleteClass(database: database, classId: try string("id"), version: version)
        case .instanceCreated, .instanceUpdated, .instanceDeleted:
            let ref = NodeRef(classId: try string("class_id"), instanceId: try string("instance_id"))
            let data = event.data["data"] ?? [:]
            let document = InstanceDocument(ref: ref, version: version, data: data, deleted: type == .instanceDeleted,
                                            eventId: event.eventId, createdAt: event.occurredAt, updatedAt: event.occurredAt)
            if type == .instanceDeleted {
                self = .deleteInstance(database: database, ref: ref, tombstone: document)
                return
            }
            let edges = (event.data["links"]?.arrayValue ?? []).compactMap { link -> GraphEdge? in
                guard let predicate = link["predicate"]?.stringValue, let target = link["target"]?.stringValue.flatMap(NodeRef.init(link:))
                else { return nil }
                return GraphEdge(from: ref, predicate: predicate, to: target)
            }
            let node = GraphNode(ref: ref, version: version, fields: Self.graphFields(of: data))
            self = .putInstance(database: database, node: GraphNodeWrite(node: node, edges: edges), document: document)
        }
    }

    /// The graph keeps an instance's top-level scalar fields (strings, numbers, booleans) — what graph
    /// queries filter on; nested values and arrays live in the document only.
    public static func graphFields(of data: JSONValue) -> [String: JSONValue] {
        (data.objectValue ?? [:]).filter {
            switch $0.value {
            case .string, .number, .bool: true
            default: false
            }
        }
    }
}
