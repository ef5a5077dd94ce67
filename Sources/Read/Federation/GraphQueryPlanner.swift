import Core

/// Checks a graph query against the database's ontology and turns it into a chain plan: each hop must
/// follow a relationship of the class it leaves from (or, reversed, one that points at it), to a class the
/// relationship can reach. Every mistake is a 400 naming the hop.
enum GraphQueryPlanner {
    /// A hop as the executor will walk it.
    struct ResolvedHop: Equatable {
        let predicate: String
        let direction: HopDirection
        /// The class the hop arrives at (what the next hop leaves from).
        let arrivesAt: String
        /// The class filter sent to the graph: nil when any class the relationship reaches will do.
        let targetFilter: String?
    }

    static func plan(_ request: GraphQueryRequest, schema: OntologySchema) throws(Problem) -> (plan: TraversalPlan, hops: [ResolvedHop]) {
        guard schema[request.startClass] != nil else {
            throw Problem(status: 400, code: "unknown_class", detail: "start_class '\(request.startClass)' is not a class of this database",
                          field: "body.start_class")
        }
        let startFilters = try FieldConditions.filters(request.filters, classId: request.startClass, schema: schema, field: "body.filters")
        var resolved: [ResolvedHop] = []
        var current = request.startClass
        for (index, hop) in request.hops.enumerated() {
            let next = try resolve(hop, from: current, schema: schema, field: "body.hops[\(index)]")
            resolved.append(next)
            current = next.arrivesAt
        }
        let walked = min(resolved.count, request.pathDepthLimit ?? resolved.count)
        // Ids from 1 in chain order; each hop may spend the whole edge budget the executor tracks.
        var chain: [HopPlan] = []
        for index in stride(from: walked - 1, through: 0, by: -1) {
            let hop = resolved[index]
            chain = [HopPlan(id: index + 1, predicate: hop.predicate, direction: hop.direction, targetClass: hop.targetFilter,
                             filters: try FieldConditions.filters(request.hops[index].filters, classId: hop.arrivesAt, schema: schema,
                                                                  field: "body.hops[\(index)].filters"),
                             limit: request.maxEdges, hops: chain)]
        }
        let plan = TraversalPlan(start: .find(classId: request.startClass, filters: startFilters, order: [],
                                              limit: request.limit, offset: request.offset),
                                 hops: chain, includeDocuments: request.includeDocuments,
                                 maxNodes: request.maxNodes, maxEdges: request.maxEdges)
        return (plan, Array(resolved.prefix(walked)))
    }

    private static func resolve(_ hop: GraphQueryRequest.Hop, from current: String, schema: OntologySchema,
                                field: String) throws(Problem) -> ResolvedHop {
        if let target = hop.targetClass, schema[target] == nil {
            throw Problem(status: 400, code: "invalid_hop", detail: "target_class '\(target)' is not a class of this database",
                          field: "\(field).target_class")
        }
        if hop.reverse {
            return try reverse(hop, into: current, schema: schema, field: field)
        }
        if let relationship = schema.relationships(of: current).first(where: { $0.predicate == hop.predicate }) {
            let target = hop.targetClass ?? relationship.target
            guard schema.isSubclass(target, of: relationship.target) else {
                throw Problem(status: 400, code: "invalid_hop",
                              detail: "\(current).\(hop.predicate) leads to \(relationship.target), not \(target)", field: "\(field).target_class")
            }
            return ResolvedHop(predicate: hop.predicate, direction: .forward, arrivesAt: target,
                               targetFilter: target == relationship.target ? nil : target)
        }
        // An inverse predicate ("owns" declared as the inverse of Product.owned_by) walks its relationship backwards.
        if let (owner, relationship) = inverse(named: hop.predicate, reaching: current, schema: schema),
           hop.targetClass == nil || schema.isSubclass(hop.targetClass!, of: owner) {
            let target = hop.targetClass ?? owner
            return ResolvedHop(predicate: relationship.predicate, direction: .reverse, arrivesAt: target, targetFilter: target)
        }
        let known = schema.relationships(of: current).map(\.predicate).sorted()
        throw Problem(status: 400, code: "invalid_hop",
                      detail: "\(current) has no relationship '\(hop.predicate)' (relationships: \(known.isEmpty ? "none" : known.joined(separator: ", ")))",
                      field: "\(field).predicate")
    }

    /// `reverse: true`: the edge runs from `target_class` to the current class.
    private static func reverse(_ hop: GraphQueryRequest.Hop, into current: String, schema: OntologySchema,
                                field: String) throws(Problem) -> ResolvedHop {
        guard let source = hop.targetClass else {
            throw Problem(status: 400, code: "invalid_hop", detail: "a reverse hop names the class the edges come from in target_class",
                          field: "\(field).target_class")
        }
        guard let relationship = schema.relationships(of: source).first(where: { $0.predicate == hop.predicate }) else {
            throw Problem(status: 400, code: "invalid_hop", detail: "\(source) has no relationship '\(hop.predicate)'",
                          field: "\(field).predicate")
        }
        guard schema.isSubclass(current, of: relationship.target) || schema.isSubclass(relationship.target, of: current) else {
            throw Problem(status: 400, code: "invalid_hop",
                          detail: "\(source).\(hop.predicate) leads to \(relationship.target), never to \(current)", field: "\(field).predicate")
        }
        return ResolvedHop(predicate: hop.predicate, direction: .reverse, arrivesAt: source, targetFilter: source)
    }

    private static func inverse(named predicate: String, reaching classId: String, schema: OntologySchema) -> (String, Relationship)? {
        for owner in schema.classes.keys.sorted() {
            if let relationship = schema[owner]?.relationships.first(where: {
                $0.inversePredicate == predicate && schema.isSubclass(classId, of: $0.target)
            }) {
                return (owner, relationship)
            }
        }
        return nil
    }
}
