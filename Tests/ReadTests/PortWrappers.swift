import Core
import Synchronization

/// Ports that count their calls, or fail on purpose, around the real Postgres stores: what the read path's
/// tests use to prove calls grow by level and to show what a failing backend does.
final class InstrumentedGraphStore: GraphStore {
    let base: any GraphStore
    let failHops: Bool
    /// Hops along these predicates fail (the others answer).
    let failPredicates: Set<String>
    /// Start-node lookups (`findNodes`) fail.
    let failFind: Bool
    /// How long the ontology fingerprint takes to answer, and whether it fails (settable between requests).
    let fingerprintDelay: Duration
    let failFingerprint = Atomic<Bool>(false)
    private let fingerprintsInFlight = Atomic<Int>(0)
    private let counter = Mutex<[String: Int]>([:])
    /// Start-node lookups answered while an ontology check was still running. Kept apart from `calls`:
    /// whether the two overlap is timing, not a backend call.
    private let overlaps = Atomic<Int>(0)

    init(_ base: any GraphStore, failHops: Bool = false, failPredicates: Set<String> = [], failFind: Bool = false,
         fingerprintDelay: Duration = .zero) {
        self.base = base
        self.fingerprintDelay = fingerprintDelay
        self.failHops = failHops
        self.failPredicates = failPredicates
        self.failFind = failFind
    }

    var calls: [String: Int] { counter.withLock { $0 } }
    var findNodesWhileCheckingTheOntology: Int { overlaps.load(ordering: .relaxed) }
    func resetCalls() {
        counter.withLock { $0 = [:] }
        overlaps.store(0, ordering: .relaxed)
    }
    private func count(_ name: String) { counter.withLock { $0[name, default: 0] += 1 } }

    func createDatabase(_ database: String) async throws(ReadModelError) { try await base.createDatabase(database) }
    func dropDatabase(_ database: String) async throws(ReadModelError) { try await base.dropDatabase(database) }
    func databaseExists(_ database: String) async throws(ReadModelError) -> Bool {
        count("databaseExists")
        return try await base.databaseExists(database)
    }
    func putClass(_ database: String, _ definition: OntologyClass, version: Int) async throws(ReadModelError) -> VersionedWriteOutcome {
        try await base.putClass(database, definition, version: version)
    }
    func deleteClass(_ database: String, classId: String, version: Int) async throws(ReadModelError) -> VersionedWriteOutcome {
        try await base.deleteClass(database, classId: classId, version: version)
    }
    func classes(_ database: String) async throws(ReadModelError) -> [(definition: OntologyClass, version: Int)] {
        count("classes")
        return try await base.classes(database)
    }
    func schemaFingerprint(_ database: String) async throws(ReadModelError) -> String? {
        count("schemaFingerprint")
        fingerprintsInFlight.add(1, ordering: .relaxed)
        defer { fingerprintsInFlight.subtract(1, ordering: .relaxed) }
        if fingerprintDelay > .zero { try? await Task.sleep(for: fingerprintDelay) }
        if failFingerprint.load(ordering: .relaxed) { throw .unavailable("the graph stopped answering (test)") }
        return try await base.schemaFingerprint(database)
    }
    func upsertNodes(_ database: String, _ writes: [GraphNodeWrite]) async throws(ReadModelError) -> [VersionedWriteOutcome] {
        try await base.upsertNodes(database, writes)
    }
    func deleteNodes(_ database: String, _ nodes: [(ref: NodeRef, version: Int)]) async throws(ReadModelError) -> [VersionedWriteOutcome] {
        try await base.deleteNodes(database, nodes)
    }
    func nodes(_ database: String, _ refs: [NodeRef]) async throws(ReadModelError) -> [GraphNode] {
        count("nodes")
        return try await base.nodes(database, refs)
    }
    func findNodes(_ database: String, classId: String, filters: [GraphFilter], order: [GraphOrder], limit: Int, offset: Int)
        async throws(ReadModelError) -> [GraphNode] {
        count("findNodes")
        if failFind { throw .unavailable("the graph stopped answering (test)") }
        let found = try await base.findNodes(database, classId: classId, filters: filters, order: order, limit: limit, offset: offset)
        // Checked once answered: a check started alongside is still sleeping out its delay by then.
        if fingerprintsInFlight.load(ordering: .relaxed) > 0 { overlaps.add(1, ordering: .relaxed) }
        return found
    }
    func expand(_ database: String, from: [NodeRef], versions: [Int]?, predicate: String, direction: HopDirection, targetClass: String?,
                filters: [GraphFilter], limit: Int) async throws(ReadModelError) -> GraphHop {
        count("expand")
        if failHops || failPredicates.contains(predicate) { throw .unavailable("the graph stopped answering (test)") }
        return try await base.expand(database, from: from, versions: versions, predicate: predicate, direction: direction,
                                     targetClass: targetClass, filters: filters, limit: limit)
    }
}

final class InstrumentedDocumentStore: DocumentStore {
    let base: any DocumentStore
    let failure: ReadModelError?
    /// How many documents each call asked for, in call order.
    private let counter = Mutex<[Int]>([])

    init(_ base: any DocumentStore, failure: ReadModelError? = nil) {
        self.base = base
        self.failure = failure
    }

    var documentCalls: Int { counter.withLock { $0.count } }
    var requested: [Int] { counter.withLock { $0 } }
    func resetCalls() { counter.withLock { $0 = [] } }

    func createDatabase(_ database: String) async throws(ReadModelError) { try await base.createDatabase(database) }
    func dropDatabase(_ database: String) async throws(ReadModelError) { try await base.dropDatabase(database) }
    func put(_ database: String, _ documents: [InstanceDocument]) async throws(ReadModelError) -> [VersionedWriteOutcome] {
        try await base.put(database, documents)
    }
    func documents(_ database: String, _ refs: [NodeRef]) async throws(ReadModelError) -> [NodeRef: InstanceDocument] {
        counter.withLock { $0.append(refs.count) }
        if let failure { throw failure }
        return try await base.documents(database, refs)
    }
    func count(_ database: String) async throws(ReadModelError) -> Int { try await base.count(database) }
    func putClassDocument(_ database: String, classId: String, definition: JSONValue?, version: Int)
        async throws(ReadModelError) -> VersionedWriteOutcome {
        try await base.putClassDocument(database, classId: classId, definition: definition, version: version)
    }
    func classDocuments(_ database: String) async throws(ReadModelError) -> [String: JSONValue] { try await base.classDocuments(database) }
}
