import XCTest
import Core
@testable import Read

/// A failing part answers null with an error at its real path; the rest of the query still answers.
final class GraphQLPartialFailureTests: GraphQLTestCase {
    override func setUp() async throws {
        try await super.setUp()
        try await defineShop()
        try await fillShop()
    }

    func testAFailedHopNullsItsFieldWithAnErrorAtEachPath() async throws {
        makeService(graph: InstrumentedGraphStore(graph, failPredicates: ["owned_by"]))
        let result = try await query("""
            { Customer(orderBy: [{field: _id}]) { name owns(limit: 5) { name } } Order(orderBy: [{field: _id}]) { items(limit: 5) { _id } } }
            """)
        XCTAssertTrue(result.hasData)
        XCTAssertEqual(result.body["data"]?["Customer"], [["name": "Ann", "owns": nil], ["name": "Bob", "owns": nil]])
        XCTAssertEqual(result.body["data"]?["Order"], [["items": [["_id": "p1"], ["_id": "p2"]]], ["items": [["_id": "p3"]]]])
        let failures = errors(result.body)
        XCTAssertEqual(failures.map { $0["path"] }, [["Customer", 0, "owns"], ["Customer", 1, "owns"]])
        XCTAssertEqual(codes(result.body), ["GRAPH_UNAVAILABLE", "GRAPH_UNAVAILABLE"])
        XCTAssertTrue(failures[0]["extensions"]?["reason"]?.stringValue?.contains("(test)") ?? false)
        XCTAssertNotNil(failures[0]["locations"])
        XCTAssertEqual(result.body["extensions"]?["warnings"]?.arrayValue?.first?["code"], "hop_failed")
    }

    func testFailedDocumentsLeaveGraphFieldsAnsweringAndNodesMissing() async throws {
        makeService(documents: InstrumentedDocumentStore(documents, failure: .unavailable("the documents stopped answering (test)")))
        let result = try await query(#"{ Customer(filter: {_id: {eq: "c1"}}) { name age address _dataStatus _indexStatus { reason } } }"#)
        XCTAssertTrue(result.hasData)
        // name and age are graph-stored; the address lives only in the document.
        XCTAssertEqual(result.body["data"], ["Customer": [["name": "Ann", "age": 30, "address": nil, "_dataStatus": "MISSING",
                                                           "_indexStatus": ["reason": "documents_unavailable"]]]])
        XCTAssertEqual(codes(result.body), ["DOCUMENTS_UNAVAILABLE"])
        XCTAssertEqual(errors(result.body).first?["path"], ["Customer"])
        XCTAssertEqual(errors(result.body).first?["extensions"]?["level"], 0)
    }

    func testAFailedStartNullsOnlyThatRootField() async throws {
        makeService(graph: InstrumentedGraphStore(graph, failFind: true))
        let result = try await query(#"{ Customer { name } node(id: "Product/p1") { _id ... on Product { name } } }"#)
        XCTAssertTrue(result.hasData)
        XCTAssertEqual(result.body["data"], ["Customer": nil, "node": ["_id": "p1", "name": "Lamp"]])
        XCTAssertEqual(errors(result.body).map { $0["path"] }, [["Customer"]])
        XCTAssertEqual(codes(result.body), ["GRAPH_UNAVAILABLE"])
    }
}
