import Core
import GraphQL
import Synchronization

/// Generated schemas by database, each tagged with the ontology fingerprint it was built from: a request
/// whose snapshot has another fingerprint (a class was created, changed or deleted) gets a new schema.
/// Bounded: the least recently used database is dropped beyond `capacity`.
public final class GraphQLSchemaCache: Sendable {
    struct Entry: Sendable {
        let fingerprint: String
        /// A short digest of the fingerprint: the schema's version, reported in responses.
        let version: String
        let model: GraphQLModel
        /// Immutable once built (GraphQLSchema locks its own lazy caches).
        let schema: GraphQLSchema
    }

    private struct State {
        var entries: [String: (entry: Entry, lastUse: UInt64)] = [:]
        var clock: UInt64 = 0
        var builds = 0
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let limits: GraphQLLimits

    public init(limits: GraphQLLimits, capacity: Int = 64) {
        self.limits = limits
        self.capacity = max(1, capacity)
    }

    /// How many schemas were built (tests: a cache hit builds none).
    public var builds: Int { state.withLock { $0.builds } }

    func schema(for database: String, _ snapshot: OntologySnapshot) throws -> Entry {
        let cached: Entry? = state.withLock { state in
            guard let found = state.entries[database], found.entry.fingerprint == snapshot.fingerprint else { return nil }
            state.clock += 1
            state.entries[database]!.lastUse = state.clock
            return found.entry
        }
        if let cached { return cached }

        // Built outside the lock: a big ontology takes a while, and other databases need not wait.
        let model = GraphQLModel(schema: snapshot.schema)
        let built = Entry(fingerprint: snapshot.fingerprint, version: String(SHA1.hexDigest(Array(snapshot.fingerprint.utf8)).prefix(12)),
                          model: model, schema: try GraphQLSchemaBuilder(model: model, limits: limits).build())
        state.withLock { state in
            state.builds += 1
            state.clock += 1
            state.entries[database] = (built, state.clock)
            if state.entries.count > capacity, let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
                state.entries[oldest] = nil
            }
        }
        return built
    }
}
