import XCTest
import Core
@testable import Read

/// Backend calls grow with the query's levels, not with its nodes: a three-level query over a thousand
/// orders makes one graph call per level and one document call per level, exactly.
final class GraphQLCallCountTests: GraphQLTestCase {
    override func setUp() async throws {
        try await super.setUp()
        try await defineClass(["id": "Region", "label": "Region", "properties": [
            ["name": "region_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name"],
        ]])
        try await defineClass(["id": "Customer", "label": "Customer", "properties": [
            ["name": "customer_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name"],
        ], "relationships": [["predicate": "region", "target": "Region", "label": "region", "cardinality": "n:1", "inverse_predicate": "customers"]]])
        try await defineClass(["id": "Order", "label": "Order", "properties": [
            ["name": "order_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "total", "type": "double", "label": "Total"],
        ], "relationships": [["predicate": "customer", "target": "Customer", "label": "customer", "cardinality": "n:1", "inverse_predicate": "orders"]]])
        // 10 regions ← 100 customers (10 each) ← 1,000 orders (10 each).
        var instances: [(link: String, data: [String: JSONValue], links: [(String, String)])] = []
        for r in 0..<10 { instances.append(("Region/r\(r)", ["region_id": .string("r\(r)"), "name": .string("Region \(r)")], [])) }
        for c in 0..<100 {
            instances.append(("Customer/c\(pad(c))", ["customer_id": .string("c\(pad(c))"), "name": .string("Customer \(c)"),
                                                      "region": .string("Region/r\(c % 10)")], [("region", "Region/r\(c % 10)")]))
        }
        for o in 0..<1_000 {
            instances.append(("Order/o\(pad(o))", ["order_id": .string("o\(pad(o))"), "total": .number(Double(o)),
                                                    "customer": .string("Customer/c\(pad(o % 100))")], [("customer", "Customer/c\(pad(o % 100))")]))
        }
        try await putInstances(instances)
        countingGraph.resetCalls()
        countingDocuments.resetCalls()
    }

    private func pad(_ n: Int) -> String { String(repeating: "0", count: 4 - String(n).count) + String(n) }

    func testThreeLevelsOverAThousandNodesMakeOneGraphAndOneDocumentCallPerLevel() async throws {
        let result = try await query("{ Order(limit: 1000, orderBy: [{field: _id}]) { _id total customer { name region { name } } } }")
        let orders = try XCTUnwrap(result.body["data"]?["Order"]?.arrayValue)
        XCTAssertEqual(orders.count, 1_000)
        XCTAssertEqual(orders[0], ["_id": "o0000", "total": 0, "customer": ["name": "Customer 0", "region": ["name": "Region 0"]]])
        XCTAssertEqual(orders[999], ["_id": "o0999", "total": 999, "customer": ["name": "Customer 99", "region": ["name": "Region 9"]]])
        XCTAssertEqual(errors(result.body), [])

        // Graph: the ontology (fingerprint, and the classes the first time), the start page, one hop per
        // relationship level.
        XCTAssertEqual(countingGraph.calls, ["schemaFingerprint": 1, "classes": 1, "findNodes": 1, "expand": 2])
        // Documents: one bulk read per level, each for that level's distinct nodes.
        XCTAssertEqual(countingDocuments.requested.sorted(), [10, 100, 1_000])
        XCTAssertEqual(result.body["extensions"]?["calls"], ["schema": 2, "graph": 3, "documents": 3])
        XCTAssertEqual(result.body["extensions"]?["indexSummary"]?["documents_found"], 1_110)
    }

    func testToManyLevelsFanOutWithTheSameNumberOfCalls() async throws {
        let result = try await query("{ Region(limit: 10) { name customers(limit: 10) { name orders(limit: 10) { _id } } } }")
        let regions = try XCTUnwrap(result.body["data"]?["Region"]?.arrayValue)
        XCTAssertEqual(regions.count, 10)
        XCTAssertEqual(regions.flatMap { $0["customers"]?.arrayValue ?? [] }.count, 100)
        XCTAssertEqual(regions.flatMap { ($0["customers"]?.arrayValue ?? []).flatMap { $0["orders"]?.arrayValue ?? [] } }.count, 1_000)
        XCTAssertEqual(result.body["extensions"]?["cost"]?["cost"], 1_110)
        XCTAssertEqual(countingGraph.calls, ["schemaFingerprint": 1, "classes": 1, "findNodes": 1, "expand": 2])
        XCTAssertEqual(countingDocuments.requested.sorted(), [10, 100, 1_000])

        // Ten times fewer nodes, the same calls: the count depends on levels only.
        countingGraph.resetCalls()
        countingDocuments.resetCalls()
        let again = try await query("{ Region(limit: 1) { name customers(limit: 10) { name orders(limit: 10) { _id } } } }")
        XCTAssertEqual(countingGraph.calls, ["schemaFingerprint": 1, "findNodes": 1, "expand": 2], "the ontology is cached by fingerprint")
        XCTAssertEqual(again.body["extensions"]?["calls"], ["schema": 1, "graph": 3, "documents": 3])
        XCTAssertEqual(countingDocuments.requested.sorted(), [1, 10, 100])
    }
}
