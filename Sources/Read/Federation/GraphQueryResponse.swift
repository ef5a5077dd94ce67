import Core

/// The graph-query answer as JSON: the original's shape (nodes, edges, paths, page, warnings,
/// index_summary) plus `as_of`, per-node versions and index status, and the backend calls made.
/// Written straight to bytes: an answer holds hundreds of nodes, and a tree of dictionaries would cost more
/// than the query.
struct GraphQueryResponse {
    let request: GraphQueryRequest
    let database: String
    let schema: OntologySchema
    let result: TraversalResult
    let chain: [HopPlan]
    let paths: [WalkAnalysis.Path]?

    var bytes: [UInt8] {
        let order = nodeOrder()
        // Primary keys walk the class's ancestors: once per class, not per node.
        var primaryKeys: [String: String?] = [:]
        for ref in order where primaryKeys[ref.classId] == nil {
            primaryKeys[ref.classId] = .some(schema.primaryKey(of: ref.classId)?.name)
        }
        var out = JSONStreamWriter(capacity: 512 + order.count * 512)
        out.object { out in
            out.key("nodes")
            out.array { out in
                for ref in order {
                    if let node = result.nodes[ref] { write(node, primaryKey: primaryKeys[ref.classId] ?? nil, into: &out) }
                }
            }
            out.key("edges")
            out.array { out in
                for hop in chain {
                    for edge in result.edges[hop.id] ?? [] { write(edge, hop: hop.id, into: &out) }
                }
            }
            if let paths {
                out.key("paths")
                out.array { out in
                    for path in paths {
                        out.object { out in
                            out.key("nodes")
                            out.array { out in path.nodes.forEach { out.string($0) } }
                            out.key("edges")
                            out.array { out in path.edges.forEach { write($0, hop: nil, into: &out) } }
                        }
                    }
                }
            }
            out.key("count")
            out.number(order.count)
            out.member("page", .object([
                "limit": .number(Double(request.limit)), "offset": .number(Double(request.offset)),
                "returned": .number(Double(result.roots.count)),
                "next_offset": result.rootsHaveMore ? .number(Double(request.offset + result.roots.count)) : .null,
            ]))
            out.member("warnings", .array(result.warnings.map(\.json)))
            out.member("index_summary", result.summary.json)
            out.key("as_of")
            out.string(result.asOf)
            out.member("query", request.json)
            out.member("calls", result.calls.json)
        }
        return out.bytes
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

    private func write(_ resolved: ResolvedNode, primaryKey: String?, into out: inout JSONStreamWriter) {
        let ref = resolved.node.ref
        out.object { out in
            out.key("id"); out.string(ref)
            out.key("type"); out.string(ref.classId)
            out.key("instance_id"); out.string(ref.instanceId)
            out.key("db_name"); out.string(database)
            out.key("depth"); out.number(resolved.depth)
            out.key("data_status"); out.string(resolved.status.rawValue)
            out.key("version"); out.number(resolved.node.version)
            out.key("index_status")
            resolved.indexStatus.write(into: &out)
            writeDisplay(resolved, primaryKey: primaryKey, into: &out)
            if request.includeDocuments {
                out.key("data")
                if let document = resolved.document { out.json(document.body) } else { out.null() }
            }
            if request.includeProvenance { out.member("provenance", provenance(resolved)) }
        }
    }

    private func provenance(_ resolved: ResolvedNode) -> JSONValue {
        var provenance: [String: JSONValue] = ["graph": .object(["version": .number(Double(resolved.node.version))])]
        if let document = resolved.document {
            provenance["document"] = .object([
                "version": .number(Double(document.version)), "event_id": .string(document.eventId),
                "created_at": .string(document.createdAt), "updated_at": .string(document.updatedAt),
            ])
        }
        return .object(provenance)
    }

    /// What a UI shows for the node: its primary key and a name, from the document or else the graph.
    private func writeDisplay(_ resolved: ResolvedNode, primaryKey: String?, into out: inout JSONStreamWriter) {
        func field(_ name: String) -> JSONValue? {
            if let body = resolved.document?.body, body.isObject { return body[name] }
            return resolved.node.fields[name]
        }
        let key = primaryKey.flatMap(field) ?? .string(resolved.node.ref.instanceId)
        out.key("display")
        out.object { out in
            out.member("primary_key", key)
            out.member("name", field("name") ?? field("label") ?? key)
        }
    }

    /// Edges as stored (`from --predicate--> to`), whatever direction the hop walked them.
    private func write(_ edge: GraphEdge, hop: Int?, into out: inout JSONStreamWriter) {
        out.object { out in
            out.key("from_node"); out.string(edge.from)
            out.key("to_node"); out.string(edge.to)
            out.key("predicate"); out.string(edge.predicate)
            if let hop { out.key("hop"); out.number(hop - 1) }
        }
    }
}

extension JSONStreamWriter {
    /// A node's `Class/instance` id, written without building the string.
    mutating func string(_ ref: NodeRef) { string(ref.classId, "/", ref.instanceId) }
}
