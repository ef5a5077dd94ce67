import Foundation
import XCTest

/// GraphQL through the real binary with its workers: ontology and instances written through the write
/// API, then read with GraphQL over HTTP — nested relationships, filters, ordering, pages, limits, errors
/// with paths, introspection read by graphql-core (an independent implementation), and the schema following
/// an ontology update.
final class GraphQLTests: XCTestCase {
    private var harness: DeliveryHarness!

    override func setUpWithError() throws {
        harness = try DeliveryHarness()
    }

    override func tearDown() {
        harness?.cleanUp()
    }

    private var endpoint: String { harness.api("/graphql/shop") }

    /// Sends a query; `accept` nil sends no Accept header.
    private func graphQL(_ query: String, variables: [String: Any]? = nil, accept: String? = "application/graphql-response+json",
                         file: StaticString = #filePath, line: UInt = #line) throws -> HTTPResult {
        var body: [String: Any] = ["query": query]
        if let variables { body["variables"] = variables }
        var headers: [String: String] = [:]
        if let accept { headers["Accept"] = accept }
        return try HTTP.call("POST", endpoint, json: body, headers: headers)
    }

    private func data(_ result: HTTPResult) -> [String: Any] { result.json["data"] as? [String: Any] ?? [:] }
    private func errors(_ result: HTTPResult) -> [[String: Any]] { result.json["errors"] as? [[String: Any]] ?? [] }
    private func codes(_ result: HTTPResult) -> [String] {
        errors(result).compactMap { ($0["extensions"] as? [String: Any])?["code"] as? String }
    }

    /// A write that waits for its command; fails the test unless it succeeds.
    private func write(_ method: String, _ path: String, _ body: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws {
        let response = try HTTP.call(method, harness.api(path), json: body)
        XCTAssertTrue((200...299).contains(response.status), "\(method) \(path): \(response.raw)", file: file, line: line)
        XCTAssertEqual(response.json["rejected"] as? Int ?? 0, 0, "\(method) \(path): \(response.raw)", file: file, line: line)
    }

    private static var customerClass: [String: Any] { [
        "id": "Customer", "label": "Customer", "properties": [
            ["name": "customer_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name", "required": true],
            ["name": "age", "type": "integer", "label": "Age"],
            ["name": "joined", "type": "dateTime", "label": "Joined"],
        ],
    ] }
    private static var productClass: [String: Any] { [
        "id": "Product", "label": "Product", "properties": [
            ["name": "product_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name", "required": true],
            ["name": "price", "type": "decimal", "label": "Price"],
            ["name": "tags", "type": "array<string>", "label": "Tags"],
        ],
        "relationships": [["predicate": "owned_by", "target": "Customer", "label": "owned by", "cardinality": "n:1", "inverse_predicate": "owns"]],
    ] }

    /// Database `shop`: 3 customers, 6 products (c1 owns p1–p3, c2 owns p4–p5, c3 owns p6).
    private func makeShop(_ environment: [String: String] = [:]) throws {
        try harness.start(environment)
        try write("POST", "/database/create?wait=true", ["name": "shop"])
        try write("POST", "/database/shop/ontology?wait=true", Self.customerClass)
        try write("POST", "/database/shop/ontology?wait=true", Self.productClass)
        try write("POST", "/instances/shop/sync/Customer/bulk-create", ["instances": [
            ["customer_id": "c1", "name": "Ann", "age": 30, "joined": "2024-01-02T03:04:05Z"],
            ["customer_id": "c2", "name": "Bob", "age": 40],
            ["customer_id": "c3", "name": "Cy", "age": 50],
        ]])
        let owners = ["c1", "c1", "c1", "c2", "c2", "c3"]
        try write("POST", "/instances/shop/sync/Product/bulk-create", ["instances": (1...6).map { n -> [String: Any] in
            ["product_id": "p\(n)", "name": "Product \(n)", "price": "\(n * 10).50", "tags": ["t\(n)"], "owned_by": "Customer/\(owners[n - 1])"]
        }])
    }

    func testNestedRelationshipsFiltersOrderingAndPagesOverHTTP() throws {
        try makeShop()
        let nested = try graphQL("""
            query Owners($minAge: Long!) {
              Customer(filter: {age: {gte: $minAge}}, orderBy: [{field: age, direction: DESC}]) {
                name age
                owns(limit: 2, filter: {not: {name: {eq: "Product 5"}}}) { _id name price tags _dataStatus owned_by { name } }
              }
            }
            """, variables: ["minAge": 40])
        XCTAssertEqual(nested.status, 200, nested.raw)
        XCTAssertTrue(nested.raw.hasPrefix(#"{"data":{"Customer":[{"name":"Cy","age":50,"owns":[{"_id":"p6","name":"Product 6","price":"60.50","tags":["t6"],"_dataStatus":"FULL","owned_by":{"name":"Cy"}}]},{"name":"Bob","age":40,"owns":[{"_id":"p4","name":"Product 4","price":"40.50","tags":["t4"],"_dataStatus":"FULL","owned_by":{"name":"Bob"}}]}]},"extensions":"#), nested.raw)
        let extensions = nested.json["extensions"] as? [String: Any] ?? [:]
        XCTAssertNotNil(extensions["asOf"] as? String)
        XCTAssertEqual((extensions["indexSummary"] as? [String: Any])?["documents_found"] as? Int, 4)
        // The ontology's first read (fingerprint + classes), one graph call for the page and one per hop; one
        // document read for the start nodes — the hops bring their nodes' documents (the embedded read models
        // share one database).
        XCTAssertEqual(extensions["calls"] as? [String: Int], ["schema": 2, "graph": 3, "documents": 1])

        // Pages: two at a time by name, with hasMore.
        let page = try graphQL("query($offset: Int) { Product(orderBy: [{field: name}], limit: 2, offset: $offset) { _id } }", variables: ["offset": 4])
        XCTAssertEqual(data(page)["Product"] as? [[String: String]], [["_id": "p5"], ["_id": "p6"]])
        XCTAssertEqual((page.json["extensions"] as? [String: Any])?["hasMore"] as? [String: Bool], ["Product": false])
        let first = try graphQL("{ Product(orderBy: [{field: name}], limit: 2) { _id } }")
        XCTAssertEqual((first.json["extensions"] as? [String: Any])?["hasMore"] as? [String: Bool], ["Product": true])

        // node(id:), aliases, fragments, a DateTime filter.
        let node = try graphQL("""
            { one: node(id: "Customer/c1") { ...C } since: Customer(filter: {joined: {lt: "2025-01-01T00:00:00Z"}}) { _id } }
            fragment C on Customer { name owns(limit: 10) { _id } }
            """)
        XCTAssertEqual(data(node)["one"] as? NSDictionary, ["name": "Ann", "owns": [["_id": "p1"], ["_id": "p2"], ["_id": "p3"]]] as NSDictionary)
        XCTAssertEqual(data(node)["since"] as? [[String: String]], [["_id": "c1"]])

        // GET runs queries (not mutations), with the same answer shape.
        let get = try HTTP.call("GET", endpoint + "?query=" + "query($id: ID!) { node(id: $id) { _id } }".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                                + "&variables=" + #"{"id":"Product/p2"}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        XCTAssertEqual(get.status, 200, get.raw)
        XCTAssertEqual(data(get)["node"] as? [String: String], ["_id": "p2"])
        let mutation = try HTTP.call("GET", endpoint + "?query=mutation%7Bx%7D")
        XCTAssertEqual(mutation.status, 405, mutation.raw)
    }

    func testContentNegotiationAndErrors() throws {
        try makeShop()
        // A validation error: 400 with graphql-response+json, 200 with application/json (GraphQL over HTTP).
        let invalid = try graphQL("{ Customer { nickname } }")
        XCTAssertEqual(invalid.status, 400)
        XCTAssertNil(invalid.json["data"])
        XCTAssertTrue((errors(invalid).first?["message"] as? String ?? "").contains("nickname"))
        XCTAssertNotNil(errors(invalid).first?["locations"])
        let legacy = try graphQL("{ Customer { nickname } }", accept: "application/json")
        XCTAssertEqual(legacy.status, 200)
        XCTAssertEqual(errors(legacy).count, 1)
        let contentType = try Command.run("curl", ["-sS", "-o", "/dev/null", "-w", "%{content_type}", "-X", "POST", "-H", "Accept:", "-H", "content-type: application/json",
                                                   "--data-binary", #"{"query":"{ Customer { _id } }"}"#, endpoint])
        XCTAssertEqual(contentType.output, "application/json; charset=utf-8", "no Accept header: application/json")
        XCTAssertEqual(try graphQL("{ Customer { _id } }", accept: "text/html").status, 406)

        // Malformed HTTP requests are problems (that also carry a GraphQL errors list).
        let noQuery = try HTTP.call("POST", endpoint, json: ["querx": "{}"])
        XCTAssertEqual(noQuery.status, 400)
        XCTAssertEqual(noQuery.json["field"] as? String, "body.query")
        XCTAssertNotNil(noQuery.json["errors"])
        let badJSON = try Command.run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", "content-type: application/json",
                                               "--data-binary", "{not json", endpoint])
        XCTAssertEqual(badJSON.output, "400")
        XCTAssertEqual(try HTTP.call("POST", harness.api("/graphql/nowhere"), json: ["query": "{ __typename }"]).status, 404)

        // Errors with paths: a value that no longer fits its field after the ontology changed answers null
        // there, with the error at its exact path, and the rest of the data intact.
        var retyped = Self.customerClass
        retyped["properties"] = [
            ["name": "customer_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name", "required": true],
            ["name": "age", "type": "string", "label": "Age (text now)"],
        ]
        try write("PUT", "/database/shop/ontology/Customer?wait=true&expected_seq=1", retyped)
        let partial = try graphQL("{ Customer(orderBy: [{field: _id}], limit: 2) { name age } }")
        XCTAssertEqual(partial.status, 200, partial.raw)
        XCTAssertEqual(data(partial)["Customer"] as? NSArray, [["name": "Ann", "age": NSNull()], ["name": "Bob", "age": NSNull()]] as NSArray)
        XCTAssertEqual(errors(partial).map { $0["path"] as? NSArray }, [["Customer", 0, "age"], ["Customer", 1, "age"]] as [NSArray?])
        XCTAssertEqual(codes(partial), ["INVALID_STORED_VALUE", "INVALID_STORED_VALUE"])
    }

    func testDepthAndCostLimitsFromTheEnvironment() throws {
        try makeShop(["SPICE_GRAPHQL_MAX_DEPTH": "2", "SPICE_GRAPHQL_MAX_COST": "500", "SPICE_GRAPHQL_MAX_LIMIT": "50"])
        let deep = try graphQL("{ Customer(limit: 1) { owns(limit: 1) { owned_by { owns(limit: 1) { _id } } } } }")
        XCTAssertEqual(deep.status, 400)
        XCTAssertEqual(codes(deep), ["QUERY_TOO_DEEP"])
        XCTAssertEqual((errors(deep).first?["extensions"] as? [String: Any])?["depth"] as? Int, 3)
        XCTAssertEqual(((deep.json["extensions"] as? [String: Any])?["calls"] as? [String: Int])?["graph"], 0, "refused before any graph call")

        let costly = try graphQL("{ Customer(limit: 50) { owns(limit: 20) { _id } } }")
        XCTAssertEqual(codes(costly), ["QUERY_TOO_COSTLY"])
        XCTAssertEqual((errors(costly).first?["extensions"] as? [String: Any])?["cost"] as? Int, 1_050)
        let tooBig = try graphQL("{ Customer(limit: 51) { _id } }")
        XCTAssertEqual(codes(tooBig), ["BAD_USER_INPUT"])
        XCTAssertEqual(errors(tooBig).first?["path"] as? [String], ["Customer"])
        XCTAssertEqual(try graphQL("{ Customer(limit: 20) { owns(limit: 20) { _id } } }").status, 200)

        // A query text over the size limit is refused before parsing.
        let huge = try graphQL("{ Customer { _id } }" + String(repeating: " ", count: 100_001))
        XCTAssertEqual(huge.status, 413)
    }

    func testIntrospectionIsReadByGraphQLCore() throws {
        try makeShop()
        let result = try Command.run("python3", [Scripts.path("graphql_introspect.py"), endpoint,
                                                 "{ Product(filter: {price: {gt: \"10\"}}) { name owned_by { owns { _id } } } }",
                                                 "Product", "Customer", "Query", "Node", "ProductFilter"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let facts = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] ?? [:]
        let types = facts["types"] as? [String] ?? []
        for name in ["Customer", "Product", "Node", "DataStatus", "IndexStatus", "Long", "Decimal", "DateTime", "JSON",
                     "ProductFilter", "ProductOrderBy", "ProductOrderField", "SortDirection", "StringFilter"] {
            XCTAssertTrue(types.contains(name), "graphql-core does not see \(name): \(types)")
        }
        let fields = facts["fields"] as? [String: [String: String]] ?? [:]
        XCTAssertEqual(fields["Product"]?["owned_by"], "Customer")
        XCTAssertEqual(fields["Product"]?["tags"], "[String]")
        XCTAssertEqual(fields["Product"]?["price"], "Decimal")
        XCTAssertEqual(fields["Customer"]?["owns"], "[Product!]")
        XCTAssertEqual(fields["Customer"]?["age"], "Long")
        XCTAssertEqual(fields["Customer"]?["_dataStatus"], "DataStatus!")
        XCTAssertEqual(fields["Query"]?["Customer"], "[Customer!]")
        XCTAssertEqual(fields["Query"]?["node"], "Node")
        XCTAssertEqual(fields["Node"]?["_id"], "ID!")
        XCTAssertEqual(facts["queryErrors"] as? [String], [], "graphql-core validates a query against the schema it read")
    }

    func testTheSchemaFollowsAnOntologyUpdate() throws {
        try makeShop()
        let before = try graphQL("{ Customer { email } }")
        XCTAssertEqual(before.status, 400, "no such field yet")
        let versionBefore = (try graphQL("{ __typename }").json["extensions"] as? [String: Any])?["schemaVersion"] as? String

        var updated = Self.customerClass
        updated["properties"] = (Self.customerClass["properties"] as? [[String: Any]] ?? [])
            + [["name": "email", "type": "email", "label": "Email"]]
        try write("PUT", "/database/shop/ontology/Customer?wait=true&expected_seq=1", updated)
        try write("PUT", "/instances/shop/sync/Customer/c2/update?expected_seq=1", ["data": ["email": "bob@example.com"]])

        let after = try graphQL(#"{ Customer(filter: {email: {contains: "@example"}}) { name email _version } }"#)
        XCTAssertEqual(after.status, 200, after.raw)
        XCTAssertEqual(data(after)["Customer"] as? NSArray, [["name": "Bob", "email": "bob@example.com", "_version": 2]] as NSArray)
        let versionAfter = (after.json["extensions"] as? [String: Any])?["schemaVersion"] as? String
        XCTAssertNotNil(versionAfter)
        XCTAssertNotEqual(versionBefore, versionAfter)

        // A new class gets its type and root field.
        try write("POST", "/database/shop/ontology?wait=true", ["id": "Supplier", "label": "Supplier", "properties": [
            ["name": "supplier_id", "type": "string", "label": "ID", "primary_key": true]]])
        let supplier = try graphQL("{ Supplier { _id } }")
        XCTAssertEqual(supplier.status, 200, supplier.raw)
        XCTAssertEqual(data(supplier)["Supplier"] as? NSArray, [] as NSArray)
    }
}
