import Core
import Synchronization

/// A database's ontology as the graph read model holds it: hop validation, required fields and the GraphQL
/// schema all come from it. The fingerprint changes whenever a class is created, updated or deleted, so
/// caches keyed by it never serve an old schema.
public struct OntologySnapshot: Sendable {
    public let schema: OntologySchema
    /// Every live class with its version, as `GraphStore.schemaFingerprint` gives it.
    public let fingerprint: String

    public init(classes: [(definition: OntologyClass, version: Int)], fingerprint: String) {
        schema = OntologySchema(classes: classes.map(\.definition))
        self.fingerprint = fingerprint
    }

    /// Reads the snapshot without a cache; nil when the database has no graph space.
    public static func load(_ database: String, graph: any GraphStore) async throws(ReadModelError) -> OntologySnapshot? {
        guard let fingerprint = try await graph.schemaFingerprint(database) else { return nil }
        return OntologySnapshot(classes: try await graph.classes(database), fingerprint: fingerprint)
    }
}

/// The last snapshot of each database, checked against the graph's fingerprint on every use: one small
/// query per request instead of reading and parsing every class definition.
public final class OntologySnapshots: Sendable {
    private let graph: any GraphStore
    private let capacity: Int
    private let cached = Mutex<[String: OntologySnapshot]>([:])

    public init(graph: any GraphStore, capacity: Int = 256) {
        self.graph = graph
        self.capacity = capacity
    }

    /// The current snapshot (nil: no such database) and how many backend calls it took (1 or 2).
    public func load(_ database: String) async throws(ReadModelError) -> (snapshot: OntologySnapshot?, calls: Int) {
        guard let fingerprint = try await graph.schemaFingerprint(database) else {
            cached.withLock { $0[database] = nil }
            return (nil, 1)
        }
        if let known = cached.withLock({ $0[database] }), known.fingerprint == fingerprint { return (known, 1) }
        // Classes read after the fingerprint may be newer than it; the next call then sees a different
        // fingerprint and reads again, so a stale pairing never lasts.
        let snapshot = OntologySnapshot(classes: try await graph.classes(database), fingerprint: fingerprint)
        cached.withLock { entries in
            if entries.count >= capacity, entries[database] == nil { entries.removeAll(keepingCapacity: true) }
            entries[database] = snapshot
        }
        return (snapshot, 2)
    }

    /// Runs `body` with the current snapshot and the calls it took. With a snapshot cached, `body` starts on
    /// it at once while the fingerprint is checked alongside — two statements at the same time instead of
    /// one after the other; if the check finds the ontology changed, the speculative answer is dropped and
    /// `body` runs again on the new snapshot. So `body` must only read. A failing check is `loadFailure`.
    public func withCurrent<T: Sendable>(_ database: String, loadFailure: (ReadModelError) -> Problem,
                                         _ body: (OntologySnapshot?, _ calls: Int) async throws(Problem) -> T)
        async throws(Problem) -> T {
        guard let speculated = cached.withLock({ $0[database] }) else {
            let loaded = try Self.checked(await Self.loading(self, database), loadFailure)
            return try await body(loaded.snapshot, loaded.calls)
        }
        async let check = Self.loading(self, database)
        // Let the check send its statement first: on the single-threaded executor requests run on (the database
        // client's I/O thread), it was seen to go out only after the first statement of `body` had come back.
        await Task.yield()
        let speculative = await Self.outcome { () async throws(Problem) -> T in try await body(speculated, 1) }
        let loaded = try Self.checked(await check, loadFailure)
        if let current = loaded.snapshot, current.fingerprint == speculated.fingerprint { return try speculative.get() }
        return try await body(loaded.snapshot, loaded.calls)
    }

    // Plain functions: a typed do/catch inside a closure or child task miscompiles in release builds (Swift 6.3).
    private static func loading(_ snapshots: OntologySnapshots, _ database: String)
        async -> Result<(snapshot: OntologySnapshot?, calls: Int), ReadModelError> {
        do { return .success(try await snapshots.load(database)) } catch { return .failure(error) }
    }

    private static func outcome<T>(_ body: () async throws(Problem) -> T) async -> Result<T, Problem> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    private static func checked(_ loaded: Result<(snapshot: OntologySnapshot?, calls: Int), ReadModelError>,
                                _ loadFailure: (ReadModelError) -> Problem) throws(Problem) -> (snapshot: OntologySnapshot?, calls: Int) {
        switch loaded {
        case .success(let value): return value
        case .failure(let error): throw loadFailure(error)
        }
    }
}
