import XCTest
import Core
import GraphQL
@testable import Read

/// The schema generated from an ontology: types, scalars, relationship and reverse fields, filters,
/// orderings, name mapping, and the cache that rebuilds it when the ontology changes.
final class GraphQLSchemaTests: GraphQLTestCase {
    private func sdl() async throws -> String {
        let snapshot = try await OntologySnapshot.load(db, graph: graph)!
        return printSchema(schema: try service.cache.schema(for: db, snapshot).schema)
    }

    /// The SDL block of one type (`type Customer implements Node {` … `}`).
    private func block(_ sdl: String, _ header: String) -> String {
        guard let start = sdl.range(of: header + " ") ?? sdl.range(of: header + "\n") else { return "" }
        let rest = sdl[start.lowerBound...]
        return String(rest[..<(rest.range(of: "\n}")?.upperBound ?? rest.endIndex)])
    }

    /// A type's fields (or input fields) as `name(arg: Type, …): Type`, read by introspection.
    private func fields(_ typeName: String) async throws -> [String] {
        let result = try await query("""
            { __type(name: "\(typeName)") { fields { name args { name type { ...T } } type { ...T } } inputFields { name type { ...T } } } }
            fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
            """)
        func render(_ type: JSONValue?) -> String {
            switch type?["kind"]?.stringValue {
            case "NON_NULL": render(type?["ofType"]) + "!"
            case "LIST": "[" + render(type?["ofType"]) + "]"
            default: type?["name"]?.stringValue ?? "?"
            }
        }
        let type = result.body["data"]?["__type"]
        let members = type?["fields"]?.arrayValue ?? type?["inputFields"]?.arrayValue ?? []
        // Introspection lists fields by name; so do the assertions.
        return members.map { field in
            let args = (field["args"]?.arrayValue ?? []).map { "\($0["name"]?.stringValue ?? ""): \(render($0["type"]))" }
            return (field["name"]?.stringValue ?? "") + (args.isEmpty ? "" : "(" + args.joined(separator: ", ") + ")") + ": " + render(field["type"])
        }.sorted()
    }

    func testClassTypesHaveTypedScalarsRelationshipsReverseFieldsAndMetaFields() async throws {
        try await defineShop()
        let customer = try await fields("Customer")
        XCTAssertEqual(customer, sortedList([
            "_id: ID!", "_class: String!", "_version: Int!", "_dataStatus: DataStatus!", "_indexStatus: IndexStatus!",
            "customer_id: String", "name: String", "age: Long", "joined: DateTime", "address: JSON",
            // The inverse predicate names a reverse field; without one the name says where it comes from.
            "_reverse_placed_by_from_Order(filter: OrderFilter, limit: Int): [Order!]",
            "owns(filter: ProductFilter, limit: Int): [Product!]",
        ]))
        let product = try await fields("Product")
        for field in ["price: Decimal", "cost: Money", "tags: [String]", "active: Boolean", "owned_by(filter: CustomerFilter): Customer",
                      "_reverse_items_from_Order(filter: OrderFilter, limit: Int): [Order!]"] {
            XCTAssertTrue(product.contains(field), "Product lacks \(field): \(product)")
        }
        let order = try await fields("Order")
        XCTAssertTrue(order.contains("items(filter: ProductFilter, limit: Int): [Product!]"), "\(order)")
        XCTAssertTrue(order.contains("total: Float"))

        let query = try await fields("Query")
        XCTAssertEqual(query, sortedList([
            "node(id: ID!): Node",
            "Customer(filter: CustomerFilter, orderBy: [CustomerOrderBy!], limit: Int, offset: Int): [Customer!]",
            "Order(filter: OrderFilter, orderBy: [OrderOrderBy!], limit: Int, offset: Int): [Order!]",
            "Product(filter: ProductFilter, orderBy: [ProductOrderBy!], limit: Int, offset: Int): [Product!]",
        ]))
        let node = try await fields("Node")
        XCTAssertEqual(node, sortedList(["_id: ID!", "_class: String!", "_version: Int!", "_dataStatus: DataStatus!", "_indexStatus: IndexStatus!"]))
        let schema = try await sdl()
        XCTAssertTrue(schema.contains("type Customer implements Node"))
        for scalar in ["Long", "Decimal", "DateTime", "Date", "Time", "Money", "JSON"] {
            XCTAssertTrue(schema.contains("scalar \(scalar)"), "missing scalar \(scalar)")
        }
        XCTAssertTrue(block(schema, "enum DataStatus").contains("FULL"))
    }

    func testFiltersAndOrderingsCoverOnlyGraphStoredScalars() async throws {
        try await defineShop()
        // Lists and money (possibly an object) live in documents only.
        let productFilter = try await fields("ProductFilter")
        XCTAssertEqual(productFilter, sortedList(["_id: IDFilter", "product_id: StringFilter", "name: StringFilter", "price: DecimalFilter",
                                       "active: BooleanFilter", "and: [ProductFilter!]", "or: [ProductFilter!]", "not: ProductFilter"]))
        let customerFilter = try await fields("CustomerFilter")
        XCTAssertEqual(customerFilter, sortedList(["_id: IDFilter", "customer_id: StringFilter", "name: StringFilter", "age: LongFilter",
                                        "joined: DateTimeFilter", "and: [CustomerFilter!]", "or: [CustomerFilter!]", "not: CustomerFilter"]))
        let strings = try await fields("StringFilter")
        XCTAssertEqual(strings, sortedList(["eq: String", "in: [String!]", "lt: String", "lte: String", "gt: String", "gte: String", "contains: String"]))
        let longs = try await fields("LongFilter")
        XCTAssertEqual(longs, sortedList(["eq: Long", "in: [Long!]", "lt: Long", "lte: Long", "gt: Long", "gte: Long"]))
        let booleans = try await fields("BooleanFilter")
        XCTAssertEqual(booleans, sortedList(["eq: Boolean", "in: [Boolean!]"]))
        let orderBy = try await fields("ProductOrderBy")
        XCTAssertEqual(orderBy, sortedList(["field: ProductOrderField!", "direction: SortDirection"]))
        let values = try await query(#"{ __type(name: "ProductOrderField") { enumValues { name } } }"#)
        XCTAssertEqual(values.body["data"]?["__type"]?["enumValues"],
                       [["name": "_id"], ["name": "product_id"], ["name": "name"], ["name": "price"], ["name": "active"]])
        let schema = try await sdl()
        XCTAssertTrue(block(schema, "input ProductOrderBy").contains("direction: SortDirection = ASC"))
    }

    func testNamesThatAreNotGraphQLNamesAreMappedAndCollisionsSuffixed() async throws {
        try await defineClass(["id": "sales:Order-Line", "label": "Line", "properties": [
            ["name": "line_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "__secret", "type": "string", "label": "S"],
            ["name": "_id", "type": "string", "label": "Own id"],
        ]])
        try await defineClass(["id": "sales_Order_Line", "label": "Clash", "properties": [["name": "x_id", "type": "string", "label": "ID", "primary_key": true]]])
        try await defineClass(["id": "Query", "label": "Q", "properties": [["name": "q_id", "type": "string", "label": "ID", "primary_key": true]]])
        try await defineClass(["id": "Thing", "label": "T", "properties": [["name": "thing_id", "type": "string", "label": "ID", "primary_key": true]]])
        try await defineClass(["id": "ThingFilter", "label": "TF", "properties": [["name": "tf_id", "type": "string", "label": "ID", "primary_key": true]]])
        let schema = try await sdl()

        // Classes are named in id order: "Query" cannot be the class, "sales:Order-Line" sanitizes first.
        XCTAssertTrue(schema.contains("type Query_2 implements Node"), schema)
        XCTAssertTrue(schema.contains("type sales_Order_Line implements Node"))
        XCTAssertTrue(schema.contains("type sales_Order_Line_2 implements Node"))
        // A class named like a generated input keeps its name; the input moves.
        XCTAssertTrue(schema.contains("type ThingFilter implements Node"))
        XCTAssertTrue(schema.contains("input ThingFilter_2 {"))
        let line = block(schema, "type sales_Order_Line")
        XCTAssertTrue(line.contains("_secret: String"), "a leading __ is reserved for introspection: \(line)")
        XCTAssertTrue(line.contains("_id_2: String"), "a property cannot take a meta field's name: \(line)")

        let model = try service.cache.schema(for: db, try await OntologySnapshot.load(db, graph: graph)!).model
        XCTAssertEqual(model[typeName: "sales_Order_Line"]?.classId, "sales:Order-Line")
        XCTAssertEqual(model[rootField: "Query_2"]?.classId, "Query")
    }

    func testTheCacheRebuildsOnlyWhenTheOntologyChanges() async throws {
        try await defineShop()
        try await fillShop()
        _ = try await query("{ Customer { name } }")
        _ = try await query("{ Product { name } }")
        XCTAssertEqual(service.cache.builds, 1, "the same ontology is served from the cache")

        let undefined = try await query("{ Customer { nickname } }")
        XCTAssertFalse(undefined.hasData)
        XCTAssertTrue(errors(undefined.body).first?["message"]?.stringValue?.contains("nickname") ?? false)

        try await defineClass(["id": "Customer", "label": "Customer", "properties": [
            ["name": "customer_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name", "required": true],
            ["name": "nickname", "type": "string", "label": "Nickname"],
        ]], version: 2)
        try await putInstances([("Customer/c3", ["customer_id": "c3", "name": "Cy", "nickname": "cy"], [])])
        let after = try await query(#"{ Customer(filter: {nickname: {eq: "cy"}}) { name nickname } }"#)
        XCTAssertEqual(after.body["data"]?["Customer"], [["name": "Cy", "nickname": "cy"]], "\(after.body)")
        XCTAssertEqual(service.cache.builds, 2)
    }

    func testTheCacheKeepsTheMostRecentlyUsedDatabases() async throws {
        try await defineShop()
        try await graph.createDatabase("depot")
        _ = try await graph.putClass("depot", try OntologyClass(json: ["id": "Bin", "label": "Bin", "properties": [["name": "bin_id", "type": "string", "label": "ID", "primary_key": true]]]), version: 1)
        let cache = GraphQLSchemaCache(limits: limits, capacity: 1)
        let shop = try await OntologySnapshot.load(db, graph: graph)!, depot = try await OntologySnapshot.load("depot", graph: graph)!
        _ = try cache.schema(for: db, shop)
        _ = try cache.schema(for: db, shop)
        XCTAssertEqual(cache.builds, 1)
        let bins = try cache.schema(for: "depot", depot)
        XCTAssertNotNil(bins.model[typeName: "Bin"])
        XCTAssertEqual(cache.builds, 2)
        _ = try cache.schema(for: db, shop)
        XCTAssertEqual(cache.builds, 3, "with room for one database, depot pushed shop out")
    }

    func testBracketNestingIsCountedOutsideStringsAndComments() {
        XCTAssertNil(QueryTextCheck.nestingBeyond(3, in: "{ a { b(x: \"{{{{{{\") } } # {{{{{{{"))
        XCTAssertNil(QueryTextCheck.nestingBeyond(3, in: "{ a(x: \"\"\"{{{{ \\\"\"\" {{{{\"\"\") { b } }"))
        XCTAssertEqual(QueryTextCheck.nestingBeyond(3, in: "{ a { b { c { d } } } }"), 4)
        XCTAssertEqual(QueryTextCheck.nestingBeyond(3, in: "{ a(x: [[[1]]]) }"), 5)
    }

    func testIntrospectionAnswersWithoutTouchingTheData() async throws {
        try await defineShop()
        countingGraph.resetCalls()
        let result = try await query("{ __schema { queryType { name } } __type(name: \"Product\") { fields { name } } }")
        XCTAssertEqual(result.body["data"]?["__schema"]?["queryType"]?["name"], "Query")
        XCTAssertTrue(result.body["data"]?["__type"]?["fields"]?.arrayValue?.contains(["name": "owned_by"]) ?? false)
        XCTAssertEqual(countingGraph.dataCalls, 0)
        XCTAssertEqual(countingDocuments.documentCalls, 0)
    }
}

private func sortedList(_ items: [String]) -> [String] { items.sorted() }
