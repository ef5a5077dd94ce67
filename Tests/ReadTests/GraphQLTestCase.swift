import XCTest
import Core
import Synchronization
@testable import Read

/// The GraphQL service over the real Postgres read models, behind wrappers that count every port call and
/// can make chosen ones fail — the evidence for "no backend call before the limits" and "calls grow by
/// level, not by node".
class GraphQLTestCase: ReadModelTestCase {
    var countingGraph: CountingGraphStore!
    var countingDocuments: CountingDocumentStore!
    var service: GraphQLService!
    var limits = GraphQLLimits()

    override func setUp() async throws {
        try await super.setUp()
        countingGraph = CountingGraphStore(graph)
        countingDocuments = CountingDocumentStore(documents)
        makeService()
    }

    func makeService() {
        service = GraphQLService(graph: countingGraph, executor: TraversalExecutor(graph: countingGraph, documents: countingDocuments),
                                 limits: limits)
    }

    /// Stores a class definition (the original's JSON shape) at `version`.
    func defineClass(_ json: JSONValue, version: Int = 1) async throws {
        _ = try await graph.putClass(db, try OntologyClass(json: json), version: version)
    }

    /// Writes instances to both read models at version 1: graph fields are the top-level scalars, edges the
    /// links named in `links`.
    func putInstances(_ instances: [(link: String, data: [String: JSONValue], links: [(String, String)])]) async throws {
        let writes = instances.map { instance in
            let from = ref(instance.link)
            return GraphNodeWrite(node: GraphNode(ref: from, version: 1, fields: ReadModelChange.graphFields(of: .object(instance.data))),
                                  edges: instance.links.map { GraphEdge(from: from, predicate: $0.0, to: ref($0.1)) })
        }
        for batch in stride(from: 0, to: writes.count, by: 500) {
            _ = try await graph.upsertNodes(db, Array(writes[batch..<min(batch + 500, writes.count)]))
        }
        let stored = instances.map {
            InstanceDocument(ref: ref($0.link), version: 1, data: .object($0.data), eventId: "e-\($0.link)",
                             createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z")
        }
        for batch in stride(from: 0, to: stored.count, by: 500) {
            _ = try await documents.put(db, Array(stored[batch..<min(batch + 500, stored.count)]))
        }
    }

    /// Runs a query; returns the parsed body and whether it had data.
    func query(_ text: String, variables: [String: JSONValue] = [:], operationName: String? = nil,
               file: StaticString = #filePath, line: UInt = #line) async throws -> (body: JSONValue, hasData: Bool) {
        let response = try await service.run(database: db, GraphQLRequest(query: text, variables: variables, operationName: operationName))
        return (try JSONParser.parse(response.body), response.hasData)
    }

    /// The compiled plans of a query (nil if it was refused or answered without plans).
    func compile(_ text: String, variables: [String: JSONValue] = [:]) async throws -> CompiledQuery? {
        guard case .ready(let prepared) = try await service.prepare(database: db, GraphQLRequest(query: text, variables: variables)) else {
            return nil
        }
        return prepared.compiled
    }

    func errors(_ body: JSONValue) -> [JSONValue] { body["errors"]?.arrayValue ?? [] }
    func codes(_ body: JSONValue) -> [String] { errors(body).compactMap { $0["extensions"]?["code"]?.stringValue } }

    /// The shop ontology most tests use: Customer; Product owned_by Customer (inverse `owns`); Order with
    /// `items` (to-many Product) and `placed_by` Customer (no inverse predicate).
    func defineShop() async throws {
        try await defineClass(["id": "Customer", "label": "Customer", "properties": [
            ["name": "customer_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name", "required": true],
            ["name": "age", "type": "integer", "label": "Age"],
            ["name": "joined", "type": "dateTime", "label": "Joined"],
            ["name": "address", "type": "address", "label": "Address"],
        ]])
        try await defineClass(["id": "Product", "label": "Product", "properties": [
            ["name": "product_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name", "required": true],
            ["name": "price", "type": "decimal", "label": "Price"],
            ["name": "cost", "type": "money", "label": "Cost"],
            ["name": "tags", "type": "array<string>", "label": "Tags"],
            ["name": "active", "type": "boolean", "label": "Active"],
        ], "relationships": [
            ["predicate": "owned_by", "target": "Customer", "label": "owned by", "cardinality": "n:1", "inverse_predicate": "owns"],
        ]])
        try await defineClass(["id": "Order", "label": "Order", "properties": [
            ["name": "order_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "total", "type": "double", "label": "Total"],
        ], "relationships": [
            ["predicate": "items", "target": "Product", "label": "items", "cardinality": "n:m"],
            ["predicate": "placed_by", "target": "Customer", "label": "placed by", "cardinality": "n:1"],
        ]])
    }

    /// Two customers, three products, two orders.
    func fillShop() async throws {
        try await putInstances([
            ("Customer/c1", ["customer_id": "c1", "name": "Ann", "age": 30, "joined": "2024-01-02T03:04:05Z",
                             "address": ["city": "Oslo"]], []),
            ("Customer/c2", ["customer_id": "c2", "name": "Bob", "age": 40], []),
            ("Product/p1", ["product_id": "p1", "name": "Lamp", "price": "12.50", "cost": "3.10 USD", "tags": ["light", "home"],
                            "active": true, "owned_by": "Customer/c1"], [("owned_by", "Customer/c1")]),
            ("Product/p2", ["product_id": "p2", "name": "Desk", "price": 120, "active": false, "owned_by": "Customer/c1"],
             [("owned_by", "Customer/c1")]),
            ("Product/p3", ["product_id": "p3", "name": "Chair", "price": 45, "owned_by": "Customer/c2"], [("owned_by", "Customer/c2")]),
            ("Order/o1", ["order_id": "o1", "total": 132.5, "items": ["Product/p1", "Product/p2"], "placed_by": "Customer/c1"],
             [("items", "Product/p1"), ("items", "Product/p2"), ("placed_by", "Customer/c1")]),
            ("Order/o2", ["order_id": "o2", "total": 45, "items": ["Product/p3"], "placed_by": "Customer/c2"],
             [("items", "Product/p3"), ("placed_by", "Customer/c2")]),
        ])
    }
}

/// Counts the graph port's calls by method; `failExpand` makes hops along that predicate fail,
/// `failFind` makes start-node lookups fail.
final class CountingGraphStore: GraphStore, @unchecked Sendable {
    let inner: any GraphStore
    private let state = Mutex<(counts: [String: Int], failExpand: Set<String>, failFind: Bool)>(([:], [], false))

    init(_ inner: any GraphStore) { self.inner = inner }

    var counts: [String: Int] { state.withLock { $0.counts } }
    /// Calls that read nodes or edges (not the ontology).
    var dataCalls: Int { ["findNodes", "nodes", "expand"].reduce(0) { $0 + (counts[$1] ?? 0) } }
    func failExpand(_ predicate: String) { state.withLock { $0.failExpand.insert(predicate) } }
    func failFind() { state.withLock { $0.failFind = true } }
    func reset() { state.withLock { $0.counts = [:] } }

    private func count(_ name: String) { state.withLock { $0.counts[name, default: 0] += 1 } }

    func createDatabase(_ database: String) async throws(ReadModelError) { try await inner.createDatabase(database) }
    func dropDatabase(_ database: String) async throws(ReadModelError) { try await inner.dropDatabase(database) }
    func databaseExists(_ database: String) async throws(ReadModelError) -> Bool {
        count("databaseExists")
        return try await inner.databaseExists(database)
    }
    func putClass(_ database: String, _ definition: OntologyClass, version: Int) async throws(ReadModelError) -> VersionedWriteOutcome {
        try await inner.putClass(database, definition, version: version)
    }
    func deleteClass(_ database: String, classId: String, version: Int) async throws(ReadModelError) -> VersionedWriteOutcome {
        try await inner.deleteClass(database, classId: classId, version: version)
    }
    func classes(_ database: String) async throws(ReadModelError) -> [(definition: OntologyClass, version: Int)] {
        count("classes")
        return try await inner.classes(database)
    }
    func schemaFingerprint(_ database: String) async throws(ReadModelError) -> String? {
        count("schemaFingerprint")
        return try await inner.schemaFingerprint(database)
    }
    func upsertNodes(_ database: String, _ writes: [GraphNodeWrite]) async throws(ReadModelError) -> [VersionedWriteOutcome] {
        try await inner.upsertNodes(database, writes)
    }
    func deleteNodes(_ database: String, _ nodes: [(ref: NodeRef, version: Int)]) async throws(ReadModelError) -> [VersionedWriteOutcome] {
        try await inner.deleteNodes(database, nodes)
    }
    func nodes(_ database: String, _ refs: [NodeRef]) async throws(ReadModelError) -> [GraphNode] {
        count("nodes")
        return try await inner.nodes(database, refs)
    }
    func findNodes(_ database: String, classId: String, filters: [GraphFilter], order: [GraphOrder], limit: Int, offset: Int)
        async throws(ReadModelError) -> [GraphNode] {
        count("findNodes")
        if state.withLock({ $0.failFind }) { throw .unavailable("injected: findNodes fails") }
        return try await inner.findNodes(database, classId: classId, filters: filters, order: order, limit: limit, offset: offset)
    }
    func expand(_ database: String, from: [NodeRef], predicate: String, direction: HopDirection, targetClass: String?,
                filters: [GraphFilter], limit: Int) async throws(ReadModelError) -> GraphHop {
        count("expand")
        if state.withLock({ $0.failExpand.contains(predicate) }) { throw .unavailable("injected: hop \(predicate) fails") }
        return try await inner.expand(database, from: from, predicate: predicate, direction: direction, targetClass: targetClass,
                                      filters: filters, limit: limit)
    }
}

/// Counts bulk document reads; `fail` makes them fail.
final class CountingDocumentStore: DocumentStore, @unchecked Sendable {
    let inner: any DocumentStore
    private let state = Mutex<(calls: Int, requested: [Int], fail: Bool)>((0, [], false))

    init(_ inner: any DocumentStore) { self.inner = inner }

    var calls: Int { state.withLock { $0.calls } }
    /// How many documents each call asked for, in call order.
    var requested: [Int] { state.withLock { $0.requested } }
    func fail() { state.withLock { $0.fail = true } }
    func reset() { state.withLock { $0.calls = 0; $0.requested = [] } }

    func createDatabase(_ database: String) async throws(ReadModelError) { try await inner.createDatabase(database) }
    func dropDatabase(_ database: String) async throws(ReadModelError) { try await inner.dropDatabase(database) }
    func put(_ database: String, _ documents: [InstanceDocument]) async throws(ReadModelError) -> [VersionedWriteOutcome] {
        try await inner.put(database, documents)
    }
    func documents(_ database: String, _ refs: [NodeRef]) async throws(ReadModelError) -> [NodeRef: InstanceDocument] {
        let failing = state.withLock { state -> Bool in
            state.calls += 1
            state.requested.append(refs.count)
            return state.fail
        }
        if failing { throw .unavailable("injected: documents fail") }
        return try await inner.documents(database, refs)
    }
    func count(_ database: String) async throws(ReadModelError) -> Int { try await inner.count(database) }
    func putClassDocument(_ database: String, classId: String, definition: JSONValue?, version: Int)
        async throws(ReadModelError) -> VersionedWriteOutcome {
        try await inner.putClassDocument(database, classId: classId, definition: definition, version: version)
    }
    func classDocuments(_ database: String) async throws(ReadModelError) -> [String: JSONValue] { try await inner.classDocuments(database) }
}
