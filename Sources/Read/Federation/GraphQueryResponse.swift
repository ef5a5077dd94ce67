import Core

/// The graph-query answer as JSON: the original's shape (nodes, edges, paths, page, warnings,
/// index_summary) plus `as_of`, per-node versions and index status, and the backend calls made.
struct GraphQueryResponse {
    let request: GraphQueryRequest
    let database: String
    let schema: OntologySchema
    let result: TraversalResult
    let chain: [HopPlan]
    let paths: [WalkAnalysis.Path]?

    var json: JSONValue {
        let order = nodeOrder()
        var object: [String: JSONValue] = [
            "nodes": .array(order.compactMap { result.nodes[$0].map(node) }),
            "edges": .array(chain.flatMap { hop in (result.edges[hop.id] ?? []).map { edge($0, hop: hop.id) } }),
            "count": .number(Double(order.count)),
            "page": .object([
                "limit": .number(Double(request.limit)), "offset": .number(Double(request.offset)),
                "returned": .number(Double(result.roots.count)),
                "next_offset": result.rootsHaveMore ? .number(Double(request.offset + result.roots.count)) : .null,
            ]),
            "warnings": .array(result.warnings.map(\.json)),
            "index_summary": result.summary.json,
            "as_of": .string(result.asOf),
            "query": request.json,
            "calls": result.calls.json,
        ]
        if let paths {
            object["paths"] = .array(paths.map { path in
                .object(["nodes": .array(path.nodes.map { .string($0.description) }),
                         "edges": .array(path.edges.map { edge($0, hop: nil) })])
            })
        }
        return .object(object)
    }

    /// Start nodes first, then each hop's targets in the order walked; each node once.
    private func nodeOrder() -> [NodeRef] {
        var seen = Set<NodeRef>()
        var order: [NodeRef] = []
        func add(_ ref: NodeRef) { if result.nodes[ref] != nil, seen.insert(ref).inserted { order.append(ref) } }
        result.roots.forEach(add)
        for hop in chain {
            for edge in result.edges[hop.id] ?? [] { add(hop.direction == .forward ? edge.to : edge.from) }
        }
        return order
    }

    private func node(_ resolved: ResolvedNode) -> JSONValue {
        let ref = resolved.node.ref
        var object: [String: JSONValue] = [
            "id": .string(ref.description), "type": .string(ref.classId), "instance_id": .string(ref.instanceId),
            "db_name": .string(database), "depth": .number(Double(resolved.depth)),
            "data_status": .string(resolved.status.rawValue), "version": .number(Double(resolved.node.version)),
            "index_status": resolved.indexStatus.json, "display": display(resolved),
        ]
        if request.includeDocuments { object["data"] = resolved.document?.data ?? .null }
        if request.includeProvenance {
            var provenance: [String: JSONValue] = ["graph": .object(["version": .number(Double(resolved.node.version))])]
            if let document = resolved.document {
                provenance["document"] = .object([
                    "version": .number(Double(document.version)), "event_id": .string(document.eventId),
                    "created_at": .string(document.createdAt), "updated_at": .string(document.updatedAt),
                ])
            }
            object["provenance"] = .object(provenance)
        }
        return .object(object)
    }

    /// What a UI shows for the node: its primary key and a name, from the document or else the graph.
    private func display(_ resolved: ResolvedNode) -> JSONValue {
        let data = resolved.document?.data.objectValue ?? resolved.node.fields
        let key = schema.primaryKey(of: resolved.node.ref.classId).flatMap { data[$0.name] } ?? .string(resolved.node.ref.instanceId)
        return .object(["primary_key": key, "name": data["name"] ?? data["label"] ?? key])
    }

    /// Edges as stored (`from --predicate--> to`), whatever direction the hop walked them.
    private func edge(_ edge: GraphEdge, hop: Int?) -> JSONValue {
        var object: [String: JSONValue] = [
            "from_node": .string(edge.from.description), "to_node": .string(edge.to.description), "predicate": .string(edge.predicate),
        ]
        if let hop { object["hop"] = .number(Double(hop - 1)) }
        return .object(object)
    }
}
