/// A node of the graph, named by class and instance id (`"Customer/c1"` in link form).
public struct NodeRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let classId: String
    public let instanceId: String

    public init(classId: String, instanceId: String) {
        self.classId = classId
        self.instanceId = instanceId
    }

    /// Parses the `"Class/instance_id"` form links use; nil without a `/` or with an empty side.
    public init?(link: String) {
        guard let slash = link.firstIndex(of: "/") else { return nil }
        let classId = String(link[..<slash]), instanceId = String(link[link.index(after: slash)...])
        guard !classId.isEmpty, !instanceId.isEmpty else { return nil }
        self.init(classId: classId, instanceId: instanceId)
    }

    public var description: String { classId + "/" + instanceId }

    /// Only the instance id: it nearly always tells nodes apart on its own, and a traversal hashes refs
    /// several times per edge. Equality still compares both parts.
    public func hash(into hasher: inout Hasher) { hasher.combine(instanceId) }

    public static func < (lhs: NodeRef, rhs: NodeRef) -> Bool {
        (lhs.classId, lhs.instanceId) < (rhs.classId, rhs.instanceId)
    }
}

/// A node as the graph keeps it: identity, version, and the few fields the graph stores (the primary key
/// and the required scalar properties) — full data lives in the document store.
public struct GraphNode: Sendable, Equatable {
    public let ref: NodeRef
    /// The instance aggregate's sequence number this node reflects.
    public let version: Int
    public let fields: [String: JSONValue]

    public init(ref: NodeRef, version: Int, fields: [String: JSONValue] = [:]) {
        self.ref = ref
        self.version = version
        self.fields = fields
    }
}

/// A typed, directed edge `from --predicate--> to`.
public struct GraphEdge: Sendable, Hashable {
    public let from: NodeRef
    public let predicate: String
    public let to: NodeRef

    public init(from: NodeRef, predicate: String, to: NodeRef) {
        self.from = from
        self.predicate = predicate
        self.to = to
    }
}

/// One write to a node: the node and its complete set of outgoing edges at `node.version` (they replace the
/// node's previous outgoing edges).
public struct GraphNodeWrite: Sendable, Equatable {
    public let node: GraphNode
    public let edges: [GraphEdge]

    public init(node: GraphNode, edges: [GraphEdge]) {
        self.node = node
        self.edges = edges
    }
}

/// What a versioned write did: applied, or refused because the store already holds this version or a newer
/// one (a duplicate or a late, reordered delivery — never an error).
public enum VersionedWriteOutcome: Sendable, Equatable {
    case applied
    case stale(currentVersion: Int)
}

public enum HopDirection: String, Sendable, Equatable {
    /// Along the edge: `from` is known, `to` is reached.
    case forward
    /// Against it: `to` is known, `from` is reached.
    case reverse
}

/// The result of one hop: the edges walked and the live nodes they reach (each once).
public struct GraphHop: Sendable, Equatable {
    public let edges: [GraphEdge]
    public let nodes: [GraphNode]
    /// True when `limit` cut the edges.
    public let truncated: Bool

    public init(edges: [GraphEdge], nodes: [GraphNode], truncated: Bool) {
        self.edges = edges
        self.nodes = nodes
        self.truncated = truncated
    }
}

/// A condition on a field the graph keeps (`GraphNode.fields`), or on `_id`.
public indirect enum GraphFilter: Sendable, Equatable {
    case equals(field: String, value: JSONValue)
    case isIn(field: String, values: [JSONValue])
    /// Either bound may be nil; bounds are inclusive when the flag says so. Numbers compare as numbers,
    /// strings (dates included) as text.
    case range(field: String, lower: JSONValue?, lowerInclusive: Bool, upper: JSONValue?, upperInclusive: Bool)
    /// The field is a string holding `text` (case-sensitive substring).
    case contains(field: String, text: String)
    case not(GraphFilter)
    /// Every condition holds (an empty list always does).
    case allOf([GraphFilter])
    /// At least one condition holds (an empty list never does).
    case anyOf([GraphFilter])
}

/// An ordering of `findNodes` results by a stored field (or `_id`); ties are broken by instance id.
/// Values of different JSON kinds order as PostgreSQL's jsonb does; nodes without the field come last.
public struct GraphOrder: Sendable, Equatable {
    public let field: String
    public let descending: Bool

    public init(field: String, descending: Bool = false) {
        self.field = field
        self.descending = descending
    }
}

public enum ReadModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The backend is unreachable or failed; the call may be retried.
    case unavailable(String)
    /// The request names something the model does not have (an unknown database space).
    case notFound(String)
    /// The backend answered something the adapter cannot read.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .unavailable(let why): "read model unavailable: \(why)"
        case .notFound(let what): "not found: \(what)"
        case .invalidResponse(let why): "read model answered garbage: \(why)"
        }
    }
}

/// The graph authority port: per database, the class schema, nodes and typed edges. Adapters: the Postgres
/// read model (embedded) and TerminusDB. Every write is versioned, so replays and redeliveries converge.
public protocol GraphStore: Sendable {
    /// Creates the database's graph space (idempotent).
    func createDatabase(_ database: String) async throws(ReadModelError)
    /// Drops the space with everything in it (idempotent).
    func dropDatabase(_ database: String) async throws(ReadModelError)
    func databaseExists(_ database: String) async throws(ReadModelError) -> Bool

    /// Stores a class definition at `version` (the class aggregate's sequence number), unless a newer one is stored.
    func putClass(_ database: String, _ definition: OntologyClass, version: Int) async throws(ReadModelError) -> VersionedWriteOutcome
    /// Tombstones the class at `version`.
    func deleteClass(_ database: String, classId: String, version: Int) async throws(ReadModelError) -> VersionedWriteOutcome
    /// The live classes with their versions.
    func classes(_ database: String) async throws(ReadModelError) -> [(definition: OntologyClass, version: Int)]
    /// A text that changes whenever a class is stored or deleted (every live class id with its version), or
    /// nil when the database has no graph space: lets readers cache the ontology and check it in one cheap call.
    func schemaFingerprint(_ database: String) async throws(ReadModelError) -> String?

    /// Upserts nodes and replaces their outgoing edges, each only if its version is newer than the stored
    /// one (a tombstone counts). One round trip for the batch. Outcomes are in input order.
    func upsertNodes(_ database: String, _ writes: [GraphNodeWrite]) async throws(ReadModelError) -> [VersionedWriteOutcome]
    /// Tombstones nodes at the given versions and removes their outgoing edges (same version rule).
    func deleteNodes(_ database: String, _ nodes: [(ref: NodeRef, version: Int)]) async throws(ReadModelError) -> [VersionedWriteOutcome]
    /// The live nodes among `refs` (missing and deleted ones are absent).
    func nodes(_ database: String, _ refs: [NodeRef]) async throws(ReadModelError) -> [GraphNode]
    /// Live nodes of `classId` matching every filter, in `order` (then by instance id).
    func findNodes(_ database: String, classId: String, filters: [GraphFilter], order: [GraphOrder], limit: Int, offset: Int)
        async throws(ReadModelError) -> [GraphNode]
    /// One hop from `from` along `predicate` in `direction` to live nodes of `targetClass` (nil: any) that match
    /// every filter, at most `limit` edges, in one round trip. `versions` (one per start node) are the versions
    /// the caller read the start nodes at: a forward hop then follows the edges of exactly those versions —
    /// consistent with the nodes as reported, and no lookup of each start node; nil follows the current ones.
    func expand(_ database: String, from: [NodeRef], versions: [Int]?, predicate: String, direction: HopDirection,
                targetClass: String?, filters: [GraphFilter], limit: Int) async throws(ReadModelError) -> GraphHop
}

extension GraphStore {
    /// Live nodes of `classId` matching every filter, ordered by instance id.
    public func findNodes(_ database: String, classId: String, filters: [GraphFilter], limit: Int, offset: Int)
        async throws(ReadModelError) -> [GraphNode] {
        try await findNodes(database, classId: classId, filters: filters, order: [], limit: limit, offset: offset)
    }

    /// One hop from the start nodes' current versions.
    public func expand(_ database: String, from: [NodeRef], predicate: String, direction: HopDirection,
                       targetClass: String?, filters: [GraphFilter], limit: Int) async throws(ReadModelError) -> GraphHop {
        try await expand(database, from: from, versions: nil, predicate: predicate, direction: direction, targetClass: targetClass,
                         filters: filters, limit: limit)
    }

    /// One hop with no condition on the nodes reached.
    public func expand(_ database: String, from: [NodeRef], predicate: String, direction: HopDirection,
                       targetClass: String?, limit: Int) async throws(ReadModelError) -> GraphHop {
        try await expand(database, from: from, versions: nil, predicate: predicate, direction: direction, targetClass: targetClass,
                         filters: [], limit: limit)
    }
}

/// Hops that bring the documents of the nodes they reach in the same round trip: for a graph and a document
/// index in one database (the embedded read models). Given one, the federation takes each level's documents
/// from its hops instead of a document call per level; the answers are the same. A reached node's `fields`
/// may be left empty when its document is returned (the document holds them).
public protocol HopsWithDocuments: Sendable {
    func expandWithDocuments(_ database: String, from: [NodeRef], versions: [Int]?, predicate: String, direction: HopDirection,
                             targetClass: String?, filters: [GraphFilter], limit: Int)
        async throws(ReadModelError) -> (hop: GraphHop, documents: [NodeRef: InstanceDocument])
}
