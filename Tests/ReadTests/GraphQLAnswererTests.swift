import XCTest
import Core
@testable import Read

/// The fast answering pass (a walk of the selection) against GraphQLSwift's own executor on the same
/// traversals: the same data and the same errors at the same paths, whatever the query uses.
final class GraphQLAnswererTests: GraphQLTestCase {
    override func setUp() async throws {
        try await super.setUp()
        try await defineShop()
        try await fillShop()
    }

    /// Both answers of a query, with what legitimately differs (the clock, the backend calls) removed.
    private func bothAnswers(_ text: String, variables: [String: JSONValue] = [:], graph: InstrumentedGraphStore? = nil,
                             documents: InstrumentedDocumentStore? = nil) async throws -> (walked: JSONValue, executed: JSONValue) {
        let graph = graph ?? countingGraph!, documents = documents ?? countingDocuments!
        var answers: [JSONValue] = []
        for walking in [true, false] {
            let service = GraphQLService(graph: graph, executor: TraversalExecutor(graph: graph, documents: documents), limits: limits,
                                         cache: nil, answersByWalking: walking)
            let response = try await service.run(database: db, GraphQLRequest(query: text, variables: variables))
            var body = try JSONParser.parse(response.body).objectValue ?? [:]
            body["extensions"] = nil
            answers.append(.object(body))
        }
        return (answers[0], answers[1])
    }

    func testSelectionsAnswerTheSameAsGraphQLSwiftsExecutor() async throws {
        let queries: [(String, [String: JSONValue])] = [
            ("""
            query($withItems: Boolean = true, $skipTotal: Boolean!) {
              first: Order(orderBy: [{field: _id}], limit: 5) {
                __typename _id _class _version _dataStatus
                total @skip(if: $skipTotal)
                items(limit: 5) @include(if: $withItems) { ...ProductBits owned_by { ... on Customer { name } ... on Node { _id } } }
                placed_by { name age joined address _indexStatus { graphVersion documentVersion reason missingFields __typename } }
              }
              second: Order(filter: {_id: {eq: "o2"}}) { id: _id items(limit: 1) { n: name, n: name, tags } }
              __typename
            }
            fragment ProductBits on Product { name price cost tags active ... on Product { product_id } }
            """, ["skipTotal": false]),
            ("{ Order(limit: 5) { total @skip(if: true) _id } }", [:]),
            (#"{ node(id: "Product/p1") { __typename _id ... on Product { name owned_by { owns(limit: 5) { name } } } } nobody: node(id: "Customer/zz") { _id } }"#, [:]),
            ("{ Customer(orderBy: [{field: age, direction: DESC}]) { name owns(limit: 5) { name _reverse_items_from_Order(limit: 5) { _id } } } }", [:]),
        ]
        for (text, variables) in queries {
            let (walked, executed) = try await bothAnswers(text, variables: variables)
            XCTAssertEqual(walked, executed, text)
            XCTAssertNotNil(walked["data"]?.objectValue, text)
        }
    }

    func testFailuresAnswerTheSameErrorsAtTheSamePaths() async throws {
        let failingHop = InstrumentedGraphStore(graph, failPredicates: ["owned_by"])
        let hop = try await bothAnswers("{ Product(limit: 5) { name owned_by { name } } }", graph: failingHop)
        XCTAssertEqual(hop.walked, hop.executed)
        XCTAssertEqual(hop.walked["errors"]?.arrayValue?.count, 3)

        let failingStart = InstrumentedGraphStore(graph, failFind: true)
        let start = try await bothAnswers("{ Product { name } Customer { name } }", graph: failingStart)
        XCTAssertEqual(start.walked, start.executed)

        let failingDocuments = InstrumentedDocumentStore(documents, failure: .unavailable("down (test)"))
        let noDocuments = try await bothAnswers("{ Product { name _dataStatus } }", documents: failingDocuments)
        XCTAssertEqual(noDocuments.walked, noDocuments.executed)

        // A stored value that no longer fits its field's type.
        _ = try await documents.put(db, [InstanceDocument(ref: ref("Customer/c2"), version: 2, data: ["customer_id": "c2", "name": "Bob", "age": "forty"],
                                                          eventId: "e", createdAt: "2026-01-01T00:00:00Z", updatedAt: "2026-01-01T00:00:00Z")])
        let invalid = try await bothAnswers("{ Customer { name age } }")
        XCTAssertEqual(invalid.walked, invalid.executed)
        XCTAssertEqual(invalid.walked["errors"]?.arrayValue?.first?["extensions"]?["code"], "INVALID_STORED_VALUE")
    }

    func testIntrospectionStillGoesThroughGraphQLSwift() async throws {
        let mixed = try await query("{ __schema { queryType { name } } Customer { name } }")
        XCTAssertEqual(mixed.body["data"]?["__schema"]?["queryType"]?["name"], "Query")
        XCTAssertEqual(mixed.body["data"]?["Customer"]?.arrayValue?.count, 2)
    }

    func testARememberedQueryIsValidatedAgainAfterTheSchemaChanges() async throws {
        let text = "{ Customer { name age } }"
        let before = try await query(text)
        XCTAssertTrue(before.hasData)
        let again = try await query(text)
        XCTAssertEqual(again.body["data"], before.body["data"], "the remembered document answers the same")

        try await defineClass(["id": "Customer", "label": "Customer", "properties": [
            ["name": "customer_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name", "required": true],
        ]], version: 2)
        let after = try await query(text)
        XCTAssertFalse(after.hasData, "age is gone from the schema: the query no longer validates")
        XCTAssertTrue(errors(after.body).contains { $0["message"]?.stringValue?.contains("age") == true }, "\(after.body)")
    }

    func testRememberedPlansFollowTheVariables() async throws {
        let text = "query($min: Long) { Customer(filter: {age: {gte: $min}}, orderBy: [{field: name}]) { name } }"
        func names(_ min: Int) async throws -> JSONValue? {
            try await query(text, variables: ["min": .number(Double(min))]).body["data"]?["Customer"]
        }
        let older = try await names(35)
        XCTAssertEqual(older, [["name": "Bob"]])
        let everyone = try await names(0)
        XCTAssertEqual(everyone, [["name": "Ann"], ["name": "Bob"]])
        let olderAgain = try await names(35)
        XCTAssertEqual(olderAgain, [["name": "Bob"]])
    }
}
