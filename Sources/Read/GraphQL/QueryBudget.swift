import GraphQL

/// The depth and cost limits, checked on the compiled plans before any graph or document call: a query
/// over budget is refused whole, with the figures, instead of running and being cut.
enum QueryBudget {
    static func check(_ query: CompiledQuery, _ limits: GraphQLLimits) -> [GraphQLError] {
        var errors: [GraphQLError] = []
        if query.depth > limits.maxDepth {
            errors.append(GraphQLError(
                message: "the query nests relationship fields \(query.depth) levels deep; at most \(limits.maxDepth) are allowed",
                extensions: ["code": "QUERY_TOO_DEEP", "depth": .int(query.depth), "maxDepth": .int(limits.maxDepth)]))
        }
        if query.cost > limits.maxCost {
            errors.append(GraphQLError(
                message: "the query may return up to \(query.cost) nodes (each list's limit times the limits above it, summed); at most \(limits.maxCost) are allowed — lower some limits",
                extensions: ["code": "QUERY_TOO_COSTLY", "cost": .int(query.cost), "maxCost": .int(limits.maxCost)]))
        }
        return errors
    }
}
