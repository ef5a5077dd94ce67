import Core

/// What to read, as a tree: the start nodes, then hops from them, each hop's own hops from the nodes it
/// reaches, and so on. The graph-query route sends a chain; GraphQL sends the tree of its selection. The
/// executor walks it level by level: one graph call per hop, one document call per level.
public struct TraversalPlan: Sendable {
    public enum Start: Sendable {
        /// Nodes of one class matching the filters, ordered, one page of them.
        case find(classId: String, filters: [GraphFilter], order: [GraphOrder], limit: Int, offset: Int)
        /// These nodes (the live ones among them), in this order.
        case nodes([NodeRef])
    }

    public var start: Start
    public var hops: [HopPlan]
    public var includeDocuments: Bool
    /// Distinct nodes in the answer, start nodes included.
    public var maxNodes: Int
    /// Edges in the answer, all hops together.
    public var maxEdges: Int

    public init(start: Start, hops: [HopPlan], includeDocuments: Bool = true, maxNodes: Int, maxEdges: Int) {
        self.start = start
        self.hops = hops
        self.includeDocuments = includeDocuments
        self.maxNodes = maxNodes
        self.maxEdges = maxEdges
    }

    /// The number of hop levels below the start.
    public var depth: Int { hops.map(\.depth).max() ?? 0 }
}

public struct HopPlan: Sendable {
    /// Unique within the plan: results are keyed by it.
    public var id: Int
    public var predicate: String
    public var direction: HopDirection
    /// The class of the nodes reached; nil accepts any.
    public var targetClass: String?
    /// Conditions on the nodes reached.
    public var filters: [GraphFilter]
    /// The most edges this hop may walk, all its sources together.
    public var limit: Int
    /// The most targets kept per source, in target order (nil: no per-source cut).
    public var perSourceLimit: Int?
    public var hops: [HopPlan]

    public init(id: Int, predicate: String, direction: HopDirection = .forward, targetClass: String?,
                filters: [GraphFilter] = [], limit: Int, perSourceLimit: Int? = nil, hops: [HopPlan] = []) {
        self.id = id
        self.predicate = predicate
        self.direction = direction
        self.targetClass = targetClass
        self.filters = filters
        self.limit = limit
        self.perSourceLimit = perSourceLimit
        self.hops = hops
    }

    var depth: Int { 1 + (hops.map(\.depth).max() ?? 0) }
}

/// A node in an answer: the graph's view, the document when read, and how the two compare.
///
/// A class, not a struct: answers hand each node around many times (a GraphQL answer repeats it under every
/// parent), and a struct of a dozen strings costs a dozen reference counts per copy.
public final class ResolvedNode: Sendable {
    public let node: GraphNode
    public let document: InstanceDocument?
    public let status: DataStatus
    public let indexStatus: IndexStatus
    /// The first level it was reached at (0: a start node).
    public let depth: Int

    init(node: GraphNode, document: InstanceDocument?, status: DataStatus, indexStatus: IndexStatus, depth: Int) {
        self.node = node
        self.document = document
        self.status = status
        self.indexStatus = indexStatus
        self.depth = depth
    }
}

/// The answer to a plan.
public struct TraversalResult: Sendable {
    /// The start nodes, in order.
    public var roots: [NodeRef] = []
    /// More start nodes match beyond this page.
    public var rootsHaveMore = false
    /// Per hop id: each source's targets, in order.
    public var targets: [Int: [NodeRef: [NodeRef]]] = [:]
    /// Per hop id: the edges kept (as stored: `from --predicate--> to`, whatever the hop's direction).
    public var edges: [Int: [GraphEdge]] = [:]
    public var nodes: [NodeRef: ResolvedNode] = [:]
    public var warnings: [QueryWarning] = []
    /// Hops whose graph call failed; their sub-hops were not run.
    public var hopFailures: [Int: ReadModelError] = [:]
    /// Levels whose document call failed; their nodes are MISSING.
    public var documentFailures: [Int: ReadModelError] = [:]
    public var summary = IndexSummary()
    public var calls = BackendCalls()
    /// When the reads began (RFC 3339): every read saw the stores at this moment or later.
    public var asOf = ""

    /// The targets of `hop` from `source`, resolved.
    public func targets(of hop: Int, from source: NodeRef) -> [ResolvedNode] {
        (targets[hop]?[source] ?? []).compactMap { nodes[$0] }
    }
}
