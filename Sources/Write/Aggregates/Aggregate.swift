import Core

/// The kinds of aggregate the write path versions. Ids follow the original: `db`, `db:branch:class`,
/// `db:branch:class:instance` (the branch is always `main` until branches exist).
public enum AggregateKind: String, Sendable, CaseIterable {
    case database = "Database"
    case ontologyClass = "OntologyClass"
    case instance = "Instance"

    /// The topic its commands are published to.
    public var commandTopic: String {
        switch self {
        case .database: "database_commands"
        case .ontologyClass: "ontology_commands"
        case .instance: "instance_commands"
        }
    }
}

public struct AggregateRef: Sendable, Hashable {
    public let kind: AggregateKind
    public let database: String
    public let id: String

    public static let defaultBranch = "main"

    public static func database(_ name: String) -> AggregateRef {
        AggregateRef(kind: .database, database: name, id: name)
    }

    public static func ontologyClass(database: String, classId: String) -> AggregateRef {
        AggregateRef(kind: .ontologyClass, database: database, id: "\(database):\(defaultBranch):\(classId)")
    }

    public static func instance(database: String, classId: String, instanceId: String) -> AggregateRef {
        AggregateRef(kind: .instance, database: database, id: "\(database):\(defaultBranch):\(classId):\(instanceId)")
    }
}

/// An aggregate's current version and accepted state, as stored in `aggregates`.
public struct AggregateSnapshot: Sendable, Equatable {
    public let sequenceNumber: Int
    public let deleted: Bool
    public let state: JSONValue
    public let createdAt: String
    public let updatedAt: String

    public init(sequenceNumber: Int, deleted: Bool, state: JSONValue, createdAt: String = "", updatedAt: String = "") {
        self.sequenceNumber = sequenceNumber
        self.deleted = deleted
        self.state = state
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
