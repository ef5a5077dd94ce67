import Core
import Read

/// Registers the read path's query routes on the router: graph queries and GraphQL, both run by the same
/// federation executor over the graph and document ports. `hopsWithDocuments` is for a graph whose hops can
/// read the documents too (both in one database): pass it only then.
public enum ReadAPI {
    public static func register(on router: Router, graph: any GraphStore, documents: any DocumentStore,
                                hopsWithDocuments: (any HopsWithDocuments)? = nil, limits: GatewayLimits) {
        let executor = TraversalExecutor(graph: graph, documents: documents, hopsWithDocuments: hopsWithDocuments)
        GraphQLRoutes.register(on: router, graph: graph, executor: executor, limits: limits)
        let snapshots = OntologySnapshots(graph: graph)
        GraphQueryRoutes.register(on: router, engine: GraphQueryEngine(snapshots: snapshots, executor: executor), limits: limits)
    }
}
