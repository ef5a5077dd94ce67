import Core

/// The executor's bookkeeping while a plan runs: which nodes are in the answer, the edge budget left,
/// and the result being built.
struct TraversalState {
    let plan: TraversalPlan
    var result = TraversalResult()
    var edgeBudget: Int
    private var accepted: [NodeRef: (node: GraphNode, depth: Int)] = [:]
    private var requiredFields: [String: [String]] = [:]
    private var warned = Set<String>()

    init(plan: TraversalPlan) {
        self.plan = plan
        edgeBudget = max(0, plan.maxEdges)
    }

    mutating func warn(_ code: String, _ detail: String) {
        guard warned.insert(code + detail).inserted else { return }
        result.warnings.append(QueryWarning(code: code, detail: detail))
    }

    /// The versions the nodes were read at (every source of a hop is in the answer).
    func versions(of refs: [NodeRef]) -> [Int] { refs.map { accepted[$0]?.node.version ?? 0 } }

    /// Takes the start nodes (up to the node limit) and returns them.
    mutating func accept(_ roots: [GraphNode], depth: Int) -> [GraphNode] {
        var kept: [GraphNode] = []
        for node in roots {
            guard admit(node, depth: depth) else {
                // The page ends here: the next one starts at the first start node left out.
                result.rootsHaveMore = true
                break
            }
            kept.append(node)
            result.roots.append(node.ref)
        }
        return kept
    }

    /// Whether the node is (now) in the answer; a node seen before always is.
    private mutating func admit(_ node: GraphNode, depth: Int) -> Bool {
        if accepted[node.ref] != nil { return true }
        guard accepted.count < plan.maxNodes else {
            warn("node_limit_reached", "max_nodes=\(plan.maxNodes) cut the answer")
            return false
        }
        accepted[node.ref] = (node, depth)
        return true
    }

    /// Keeps what a hop walked, within the per-source limit, the edge budget and the node limit. Returns the
    /// distinct nodes reached (the sources of the hop's own hops) and appends the ones new to the answer to
    /// `added`.
    mutating func keep(_ hop: GraphHop, of plan: HopPlan, depth: Int, budgetAtStart: Int, added: inout [GraphNode]) -> [NodeRef] {
        if hop.truncated {
            // The edge budget binds when it is no larger than the hop's own limit (a chain's hops have none of
            // their own: their limit is the budget).
            if plan.limit < budgetAtStart {
                warn("hop_limit_reached", "hop \(plan.id) (\(plan.predicate)) walked its limit of \(plan.limit) edges")
            } else {
                warn("edge_limit_reached", "max_edges=\(self.plan.maxEdges) cut the answer")
            }
        }
        let reachedNodes = Dictionary(hop.nodes.map { ($0.ref, $0) }, uniquingKeysWith: { first, _ in first })
        var perSource: [NodeRef: Int] = [:]
        var reached: [NodeRef] = []
        var seen = Set<NodeRef>()
        var targets: [NodeRef: [NodeRef]] = [:]
        var kept: [GraphEdge] = []
        for edge in hop.edges {
            let (source, target) = plan.direction == .forward ? (edge.from, edge.to) : (edge.to, edge.from)
            if let cap = plan.perSourceLimit, perSource[source, default: 0] >= cap { continue }
            guard edgeBudget > 0 else {
                warn("edge_limit_reached", "max_edges=\(self.plan.maxEdges) cut the answer")
                break
            }
            guard let node = reachedNodes[target] else { continue }
            let isNew = accepted[target] == nil
            guard admit(node, depth: depth) else { continue }
            if isNew { added.append(node) }
            edgeBudget -= 1
            perSource[source, default: 0] += 1
            targets[source, default: []].append(target)
            kept.append(edge)
            if seen.insert(target).inserted { reached.append(target) }
        }
        result.targets[plan.id] = targets
        result.edges[plan.id] = kept
        return reached
    }

    /// Resolves a level's nodes' status from the documents its read returned (`read`) or its hops brought.
    mutating func resolve(_ fetch: DocumentFetch, read: Result<[NodeRef: InstanceDocument], ReadModelError>?, includeDocuments: Bool,
                          schema: OntologySchema, now: Int64) {
        var found = fetch.brought ?? [:]
        var unavailable = false
        switch read {
        case .success(let documents)?:
            found = documents
        case .failure(let error)?:
            unavailable = true
            result.documentFailures[fetch.depth] = error
            warn("documents_unavailable", "documents of level \(fetch.depth) could not be read (\(error)); its nodes are MISSING")
        case nil:
            break
        }
        for node in fetch.nodes {
            let lookup: DataStatusRule.DocumentLookup = !includeDocuments ? .notRequested : unavailable ? .unavailable : .looked(found[node.ref])
            let (status, index) = DataStatusRule.resolve(node, lookup, requiredFields: required(node.ref.classId, schema),
                                                         nowMilliseconds: now)
            result.summary.count(status, index)
            result.nodes[node.ref] = ResolvedNode(node: node, document: found[node.ref], status: status, indexStatus: index,
                                                  depth: fetch.depth)
        }
    }

    private mutating func required(_ classId: String, _ schema: OntologySchema) -> [String] {
        if let known = requiredFields[classId] { return known }
        let names = schema.properties(of: classId).filter(\.required).map(\.name)
        requiredFields[classId] = names
        return names
    }
}
