import XCTest
import Core
@testable import Read

/// The GraphQL service over the real Postgres read models, behind the wrappers (`PortWrappers.swift`) that
/// count every port call and can make chosen ones fail — the evidence for "no backend call before the limits" and "calls grow by
/// level, not by node".
class GraphQLTestCase: ReadModelTestCase {
    var countingGraph: InstrumentedGraphStore!
    var countingDocuments: InstrumentedDocumentStore!
    var service: GraphQLService!
    var limits = GraphQLLimits()

    override func setUp() async throws {
        try await super.setUp()
        countingGraph = InstrumentedGraphStore(graph)
        countingDocuments = InstrumentedDocumentStore(documents)
        makeService()
    }

    /// A service over these stores (with the current `limits`).
    func makeService(graph: InstrumentedGraphStore? = nil, documents: InstrumentedDocumentStore? = nil) {
        if let graph { countingGraph = graph }
        if let documents { countingDocuments = documents }
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

extension InstrumentedGraphStore {
    /// Calls that read nodes or edges (not the ontology).
    var dataCalls: Int { ["findNodes", "nodes", "expand"].reduce(0) { $0 + (calls[$1] ?? 0) } }
}
