import Core

/// What one GraphQL request may make the backends do, checked before any graph or document call. Each is
/// set by an environment variable and validated at start (see the README's GraphQL section).
public struct GraphQLLimits: Sendable, Equatable {
    /// Relationship levels below a root field (`Customer { orders { product } }` is 2).
    public var maxDepth = 6
    /// The most nodes the query may ask for: the sum over every list in the selection of the product of
    /// the limits along its path (a root's `limit`, times each relationship's `limit`, 1 for a to-one).
    public var maxCost = 50_000
    /// The `limit` of a root or relationship list when the query gives none.
    public var defaultLimit = 100
    /// The largest `limit` a query may give (larger is an error, not a silent cut).
    public var maxLimit = 1_000
    /// The query text, in bytes (POST body `query`, `application/graphql` body or GET parameter).
    public var maxQueryBytes = 100_000
    /// Brackets nested in the query text: checked before parsing, so a hostile document cannot exhaust the
    /// parser's stack.
    public var maxNesting = 100

    public init() {}

    public init(_ env: EnvironmentReader) throws(ConfigurationError) {
        maxDepth = try env.int("SPICE_GRAPHQL_MAX_DEPTH", default: maxDepth, range: 1...32)
        maxCost = try env.int("SPICE_GRAPHQL_MAX_COST", default: maxCost, range: 1...10_000_000)
        maxLimit = try env.int("SPICE_GRAPHQL_MAX_LIMIT", default: maxLimit, range: 1...100_000)
        defaultLimit = try env.int("SPICE_GRAPHQL_DEFAULT_LIMIT", default: min(defaultLimit, maxLimit), range: 1...maxLimit)
        maxQueryBytes = try env.int("SPICE_GRAPHQL_MAX_QUERY_BYTES", default: maxQueryBytes, range: 1_024...10_000_000)
    }
}
