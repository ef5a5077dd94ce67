import Core

/// A database's ontology as the graph read model holds it, read once per query: hop validation, required
/// fields and the GraphQL schema all come from it. The fingerprint changes whenever a class is created,
/// updated or deleted, so caches keyed by it never serve an old schema.
public struct OntologySnapshot: Sendable {
    public let schema: OntologySchema
    /// Every live class with its version, in id order ("Customer@3|Product@1").
    public let fingerprint: String

    public init(classes: [(definition: OntologyClass, version: Int)]) {
        schema = OntologySchema(classes: classes.map(\.definition))
        fingerprint = classes.map { "\($0.definition.id)@\($0.version)" }.sorted().joined(separator: "|")
    }

    /// The snapshot, or nil when the database has no graph space (unknown, or not created yet).
    public static func load(_ database: String, graph: any GraphStore) async throws(ReadModelError) -> OntologySnapshot? {
        guard try await graph.databaseExists(database) else { return nil }
        return OntologySnapshot(classes: try await graph.classes(database))
    }
}
