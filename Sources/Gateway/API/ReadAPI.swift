import Core
import Read

/// Registers the read path's query routes on the router: graph queries and GraphQL, both run by the same
/// federation executor over the graph and document ports.
public enum ReadAPI {
    public static func register(on router: Router, graph: any GraphStore, documents: any DocumentStore, limits: GatewayLimits) {
        let executor = TraversalExecutor(graph: graph, documents: documents)
        GraphQLRoutes.register(on: router, graph: graph, executor: executor, limits: limits)
        let snapshots = OntologySnapshots(graph: graph)
        GraphQueryRoutes.register(on: router, engine: GraphQueryEngine(snapshots: snapshots, executor: executor), limits: limits)
    }
}
