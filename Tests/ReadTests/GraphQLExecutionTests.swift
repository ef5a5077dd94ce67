import XCTest
import Core
@testable import Read

/// Answers read from the traversals: nested and reverse relationships, filters, ordering, pages, typed
/// values and node status, in the selection's order.
final class GraphQLExecutionTests: GraphQLTestCase {
    override func setUp() async throws {
        try await super.setUp()
        try await defineShop()
        try await fillShop()
    }

    func testNestedRelationshipsInBothDirections() async throws {
        let result = try await query("""
            { Order(orderBy: [{field: _id}], limit: 10) { _id total items(limit: 10) { name owned_by { name owns(limit: 10) { _id } } } placed_by { name } } }
            """)
        XCTAssertTrue(result.hasData)
        XCTAssertEqual(errors(result.body), [])
        XCTAssertEqual(result.body["data"], ["Order": [
            ["_id": "o1", "total": 132.5, "placed_by": ["name": "Ann"], "items": [
                ["name": "Lamp", "owned_by": ["name": "Ann", "owns": [["_id": "p1"], ["_id": "p2"]]]],
                ["name": "Desk", "owned_by": ["name": "Ann", "owns": [["_id": "p1"], ["_id": "p2"]]]],
            ]],
            ["_id": "o2", "total": 45, "placed_by": ["name": "Bob"], "items": [
                ["name": "Chair", "owned_by": ["name": "Bob", "owns": [["_id": "p3"]]]],
            ]],
        ]])
        let reverse = try await query(#"{ node(id: "Customer/c1") { ... on Customer { name _reverse_placed_by_from_Order { _id } } } }"#)
        XCTAssertEqual(reverse.body["data"], ["node": ["name": "Ann", "_reverse_placed_by_from_Order": [["_id": "o1"]]]])
        let missing = try await query(#"{ node(id: "Customer/nobody") { _id } }"#)
        XCTAssertEqual(missing.body["data"], ["node": nil])
    }

    func testFiltersOrderingAndPages() async throws {
        let filtered = try await query("""
            { a: Product(filter: {or: [{name: {contains: "amp"}}, {price: {gte: 100}}]}, orderBy: [{field: name, direction: DESC}]) { name }
              b: Product(filter: {not: {active: {eq: true}}, _id: {in: ["p1", "p2", "p3"]}}) { _id }
              c: Customer(filter: {age: {gt: 30, lte: 40}, joined: {eq: null}}) { name }
              d: Customer(filter: {joined: {gte: "2024-01-01T00:00:00Z"}}) { name } }
            """)
        XCTAssertEqual(filtered.body["data"], [
            "a": [["name": "Lamp"], ["name": "Desk"]],
            "b": [["_id": "p2"], ["_id": "p3"]],
            "c": [["name": "Bob"]],
            "d": [["name": "Ann"]],
        ], "\(filtered.body)")

        let page1 = try await query("{ Product(orderBy: [{field: name}], limit: 2) { name } }")
        XCTAssertEqual(page1.body["data"], ["Product": [["name": "Chair"], ["name": "Desk"]]])
        XCTAssertEqual(page1.body["extensions"]?["hasMore"], ["Product": true])
        let page2 = try await query("query($offset: Int) { Product(orderBy: [{field: name}], limit: 2, offset: $offset) { name } }",
                                    variables: ["offset": 2])
        XCTAssertEqual(page2.body["data"], ["Product": [["name": "Lamp"]]])
        XCTAssertEqual(page2.body["extensions"]?["hasMore"], ["Product": false])

        let perParent = try await query(#"{ Customer(filter: {_id: {eq: "c1"}}) { owns(limit: 1) { _id } only: owns(filter: {name: {eq: "Desk"}}) { _id } } }"#)
        XCTAssertEqual(perParent.body["data"], ["Customer": [["owns": [["_id": "p1"]], "only": [["_id": "p2"]]]]])
        // Ann owns two products, Bob one: one each, whatever order the graph walks the edges in.
        let onePerParent = try await query("{ Customer(orderBy: [{field: _id}], limit: 2) { _id owns(limit: 1) { _id } } }")
        XCTAssertEqual(onePerParent.body["data"], ["Customer": [["_id": "c1", "owns": [["_id": "p1"]]], ["_id": "c2", "owns": [["_id": "p3"]]]]])
        let toOneFiltered = try await query(#"{ Product(orderBy: [{field: _id}]) { owned_by(filter: {name: {eq: "Bob"}}) { name } } }"#)
        XCTAssertEqual(toOneFiltered.body["data"], ["Product": [["owned_by": nil], ["owned_by": nil], ["owned_by": ["name": "Bob"]]]])
    }

    func testValuesKeepTheirTypesAndNodesReportStatus() async throws {
        let response = try await service.run(database: db, GraphQLRequest(query: """
            { Product(filter: {_id: {eq: "p1"}}) { price cost tags active _version _dataStatus _class _indexStatus { graphVersion documentVersion reason missingFields }
                owned_by { address joined age } } }
            """))
        let text = String(decoding: response.body, as: UTF8.self)
        // Fields come in the selection's order, not sorted.
        XCTAssertTrue(text.hasPrefix(#"{"data":{"Product":[{"price":"12.50","cost":"3.10 USD","tags":["light","home"],"active":true,"_version":1,"_dataStatus":"FULL","_class":"Product","_indexStatus":{"graphVersion":1,"documentVersion":1,"reason":null,"missingFields":[]},"owned_by":{"address":{"city":"Oslo"},"joined":"2024-01-02T03:04:05Z","age":30}}]},"extensions":"#), text)
    }

    func testNodesWithoutDocumentsAnswerFromTheGraph() async throws {
        _ = try await graph.upsertNodes(db, [node("Customer/c9", 3, ["customer_id": "c9", "name": "Graph only"])])
        _ = try await graph.upsertNodes(db, [node("Customer/c1", 2, ["customer_id": "c1", "name": "Ann", "age": 31])])
        let result = try await query(#"{ Customer(filter: {_id: {in: ["c1", "c9"]}}) { _id name age _version _dataStatus _indexStatus { reason } } }"#)
        XCTAssertEqual(result.body["data"], ["Customer": [
            // The document (version 1) is behind the graph (version 2): PARTIAL, and its data is what answers.
            ["_id": "c1", "name": "Ann", "age": 30, "_version": 2, "_dataStatus": "PARTIAL", "_indexStatus": ["reason": "stale_document"]],
            ["_id": "c9", "name": "Graph only", "age": nil, "_version": 3, "_dataStatus": "MISSING", "_indexStatus": ["reason": "not_projected"]],
        ]])
        XCTAssertEqual(result.body["extensions"]?["indexSummary"]?["documents_stale"], 1)
        XCTAssertEqual(result.body["extensions"]?["indexSummary"]?["documents_missing"], 1)
    }
}
