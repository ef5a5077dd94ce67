import XCTest
import Core

final class InstanceValidatorTests: XCTestCase {
    /// A small shop ontology: an abstract Party with Person and Company below it, Products made by companies,
    /// Orders with lines of products, and an integer-keyed Warehouse.
    static func shopSchema() throws -> OntologySchema {
        let classes: [JSONValue] = [
            ["id": "Party", "label": "Party", "abstract": true,
             "properties": [["name": "party_id", "type": "string", "label": "ID", "primary_key": true],
                            ["name": "display_name", "type": "string", "label": "Name", "required": true]]],
            ["id": "Person", "label": "Person", "parent_class": "Party",
             "properties": [["name": "email", "type": "email", "label": "Email"],
                            ["name": "phone", "type": "phone", "label": "Phone"],
                            ["name": "born", "type": "date", "label": "Born"]]],
            ["id": "Company", "label": "Company", "parent_class": "Party",
             "properties": [["name": "website", "type": "url", "label": "Website"],
                            ["name": "hq", "type": "address", "label": "HQ"],
                            ["name": "location", "type": "coordinate", "label": "Location"]],
             "relationships": [["predicate": "subsidiaries", "target": "Company", "label": "Subsidiaries", "cardinality": "1:n"]]],
            ["id": "Supplier", "label": "Supplier", "parent_class": "Company"],
            ["id": "Product", "label": "Product",
             "properties": [
                ["name": "product_id", "type": "string", "label": "ID", "primary_key": true],
                ["name": "name", "type": "string", "label": "Name", "required": true,
                 "constraints": ["min_length": 1, "max_length": 50]],
                ["name": "price", "type": "money", "label": "Price"],
                ["name": "stock", "type": "integer", "label": "Stock", "default": 0, "constraints": ["min": 0]],
                ["name": "tags", "type": "array", "items": "string", "label": "Tags", "constraints": ["max": 3]],
                ["name": "status", "type": "enum", "label": "Status", "enum": ["active", "retired"], "default": "active"],
                ["name": "sku", "type": "string", "label": "SKU", "constraints": ["pattern": "^[A-Z]{3}-[0-9]{3}$"]],
                ["name": "released", "type": "dateTime", "label": "Released"],
                ["name": "attributes", "type": "object", "label": "Attributes"],
                ["name": "uuid", "type": "uuid", "label": "UUID"],
                ["name": "server", "type": "ip", "label": "Server"],
                ["name": "photo", "type": "image", "label": "Photo"],
                ["name": "weight", "type": "decimal", "label": "Weight"],
                ["name": "active", "type": "boolean", "label": "Active"],
             ],
             "relationships": [
                ["predicate": "made_by", "target": "Company", "label": "Made by", "cardinality": "n:1"],
                ["predicate": "similar", "target": "Product", "label": "Similar", "cardinality": "n:m"],
                ["predicate": "spec_of", "target": "Product", "label": "Spec of", "cardinality": "1:1"],
                ["predicate": "accessories", "target": "Product", "label": "Accessories"],
             ]],
            ["id": "Order", "label": "Order",
             "properties": [["name": "order_id", "type": "integer", "label": "ID"],
                            ["name": "placed", "type": "date", "label": "Placed", "required": true]],
             "relationships": [["predicate": "buyer", "target": "Party", "label": "Buyer", "cardinality": "n:1", "required": true],
                               ["predicate": "items", "target": "Product", "label": "Items", "cardinality": "n:m", "required": true]]],
        ]
        var schema = OntologySchema()
        for json in classes { schema.upsert(try OntologyClass(json: json)) }
        return schema
    }

    private var validator: InstanceValidator!

    override func setUpWithError() throws {
        validator = InstanceValidator(schema: try Self.shopSchema())
    }

    private func create(_ classId: String, _ data: JSONValue) throws -> ValidatedInstance {
        try validator.validateCreate(classId: classId, data: data)
    }

    // MARK: Creates

    func testValidCreateAppliesDefaultsAndCollectsLinks() throws {
        let result = try create("Product", [
            "product_id": "P-1", "name": "Widget", "price": ["amount": "9.99", "currency": "USD"], "tags": ["a", "b"],
            "made_by": "Supplier/acme", "similar": ["Product/P-2", "Product/P-3"], "sku": "ABC-123", "weight": "1.25",
            "released": "2024-05-01T09:00:00+09:00", "attributes": ["colour": "red"], "uuid": "123e4567-e89b-12d3-a456-426614174000",
            "server": "10.0.0.1", "photo": ["url": "https://img.example.com/w.png"], "active": true, "spec_of": nil,
        ])
        XCTAssertEqual(result.instanceId, "P-1")
        XCTAssertEqual(result.data["stock"], 0)                  // default
        XCTAssertEqual(result.data["status"], "active")          // default
        XCTAssertNil(result.data["spec_of"])                     // explicit null of an optional member dropped
        XCTAssertEqual(result.data["made_by"], "Supplier/acme")
        XCTAssertEqual(result.links, [
            InstanceLink(predicate: "made_by", target: "Supplier/acme"),
            InstanceLink(predicate: "similar", target: "Product/P-2"),
            InstanceLink(predicate: "similar", target: "Product/P-3"),
        ])
        XCTAssertEqual(result.links[0].targetClass, "Supplier")
        XCTAssertEqual(result.links[0].targetInstanceId, "acme")
    }

    func testIntegerPrimaryKeyAndInheritedRelationshipTargets() throws {
        let order = try create("Order", ["order_id": 42, "placed": "2024-02-29", "buyer": "Person/alice", "items": ["Product/P-1"]])
        XCTAssertEqual(order.instanceId, "42")
        XCTAssertEqual(order.links.map(\.target), ["Person/alice", "Product/P-1"])
        // An inherited primary key and inherited required property.
        let person = try create("Person", ["party_id": "alice", "display_name": "Alice", "email": "alice@example.com"])
        XCTAssertEqual(person.instanceId, "alice")
        // An inherited relationship on a subclass.
        let supplier = try create("Supplier", ["party_id": "acme", "display_name": "ACME", "subsidiaries": ["Company/acme-eu", "Supplier/acme-us"]])
        XCTAssertEqual(supplier.links.count, 2)
    }

    func testUnknownAndAbstractClasses() {
        expectProblem(try create("Nope", [:]), status: 404, field: "path.class_id", code: "not_found")
        expectProblem(try create("Party", ["party_id": "x", "display_name": "X"]), field: "path.class_id", code: "abstract_class")
        expectProblem(try create("Product", "not an object"), field: "body.data")
        expectProblem(try create("Product", ["p", "q"]), field: "body.data")
    }

    func testUnknownFields() {
        expectProblem(try create("Product", ["product_id": "P", "name": "N", "colour": "red"]), field: "body.data.colour", code: "unknown_field")
        // Fields of a sibling class are unknown too.
        expectProblem(try create("Person", ["party_id": "a", "display_name": "A", "website": "https://x.com"]),
                      field: "body.data.website", code: "unknown_field")
        // A huge unknown key does not make a huge field path.
        let key = String(repeating: "k", count: 10_000)
        do {
            _ = try create("Product", .object(["product_id": "P", "name": "N", key: 1]))
            XCTFail()
        } catch let problem as Problem {
            XCTAssertEqual(problem.code, "unknown_field")
            XCTAssertLessThan(problem.field!.count, 120)
            XCTAssertLessThan(problem.detail!.count, 200)
        } catch { XCTFail("\(error)") }
    }

    func testMissingRequiredFields() {
        expectProblem(try create("Product", ["name": "N"]), field: "body.data.product_id", code: "missing_required_field")
        expectProblem(try create("Product", ["product_id": "P"]), field: "body.data.name", code: "missing_required_field")
        expectProblem(try create("Product", ["product_id": "P", "name": nil]), field: "body.data.name", code: "missing_required_field")
        expectProblem(try create("Person", ["party_id": "a"]), field: "body.data.display_name", code: "missing_required_field")
        expectProblem(try create("Order", ["order_id": 1, "placed": "2024-01-01", "items": ["Product/P"]]),
                      field: "body.data.buyer", code: "missing_required_field")
        expectProblem(try create("Order", ["order_id": 1, "placed": "2024-01-01", "buyer": "Person/a", "items": []]),
                      field: "body.data.items", code: "missing_required_field")
        // An implicit `*_id` key is required even when not marked so.
        expectProblem(try create("Order", ["placed": "2024-01-01", "buyer": "Person/a", "items": ["Product/P"]]),
                      field: "body.data.order_id", code: "missing_required_field")
    }

    func testWrongTypesNameTheField() {
        let base: [String: JSONValue] = ["product_id": "P", "name": "N"]
        func product(_ key: String, _ value: JSONValue) throws -> ValidatedInstance {
            var data = base
            data[key] = value
            return try create("Product", .object(data))
        }
        let cases: [(String, JSONValue)] = [
            ("stock", 1.5), ("stock", "3"), ("price", "9.99"), ("price", ["amount": 1, "currency": "usd"]), ("tags", "a"),
            ("status", "deleted"), ("released", "2024-05-01"), ("attributes", [1]), ("uuid", "123"), ("server", "300.1.1.1"),
            ("photo", "photo.png"), ("weight", "heavy"), ("active", "yes"), ("name", 5), ("sku", 123),
        ]
        for (key, value) in cases {
            expectProblem(try product(key, value), field: "body.data.\(key)", "\(key)=\(value)")
        }
        expectProblem(try product("tags", ["a", 2]), field: "body.data.tags[1]", code: "invalid_value")
        expectProblem(try create("Person", ["party_id": "a", "display_name": "A", "email": "not-an-email"]), field: "body.data.email")
        expectProblem(try create("Person", ["party_id": "a", "display_name": "A", "phone": "12"]), field: "body.data.phone")
        expectProblem(try create("Person", ["party_id": "a", "display_name": "A", "born": "2023-02-29"]), field: "body.data.born")
        expectProblem(try create("Company", ["party_id": "c", "display_name": "C", "website": "ftp://x.com"]), field: "body.data.website")
        expectProblem(try create("Company", ["party_id": "c", "display_name": "C", "hq": ["floor": 1]]), field: "body.data.hq")
        expectProblem(try create("Company", ["party_id": "c", "display_name": "C", "location": ["lat": 100, "lon": 0]]),
                      field: "body.data.location")
    }

    func testConstraintViolations() {
        expectProblem(try create("Product", ["product_id": "P", "name": ""]), field: "body.data.name", code: "constraint_violation")
        expectProblem(try create("Product", ["product_id": "P", "name": .string(String(repeating: "n", count: 51))]),
                      field: "body.data.name", code: "constraint_violation")
        expectProblem(try create("Product", ["product_id": "P", "name": "N", "stock": -1]), field: "body.data.stock", code: "constraint_violation")
        expectProblem(try create("Product", ["product_id": "P", "name": "N", "tags": ["a", "b", "c", "d"]]), field: "body.data.tags",
                      code: "constraint_violation")
        expectProblem(try create("Product", ["product_id": "P", "name": "N", "sku": "abc-123"]), field: "body.data.sku",
                      code: "constraint_violation")
        expectProblem(try create("Product", ["product_id": "P", "name": "N", "status": "gone"]), field: "body.data.status",
                      code: "constraint_violation")
    }

    func testReferences() {
        let base: [String: JSONValue] = ["product_id": "P", "name": "N"]
        func product(_ key: String, _ value: JSONValue) throws -> ValidatedInstance {
            var data = base
            data[key] = value
            return try create("Product", .object(data))
        }
        // Shape by cardinality.
        expectProblem(try product("made_by", ["Company/a"]), field: "body.data.made_by", code: "wrong_cardinality")
        expectProblem(try product("spec_of", ["Product/a"]), field: "body.data.spec_of", code: "wrong_cardinality")
        expectProblem(try product("similar", "Product/a"), field: "body.data.similar", code: "wrong_cardinality")
        expectProblem(try product("accessories", "Product/a"), field: "body.data.accessories", code: "wrong_cardinality")  // 1:n default
        expectProblem(try product("similar", [["Product/a"]]), field: "body.data.similar[0]", code: "wrong_cardinality")
        XCTAssertNoThrow(try product("accessories", ["Product/a"]))
        XCTAssertNoThrow(try product("spec_of", "Product/a"))
        XCTAssertNoThrow(try product("similar", []))
        // Malformed references.
        for bad: JSONValue in ["acme", "Company/", "/acme", "Company/ac me", "Com pany/acme", "Company/a/b", 5, ["id": "Company/a"]] {
            expectProblem(try product("made_by", bad), field: "body.data.made_by", code: "invalid_reference", "\(bad)")
        }
        expectProblem(try product("similar", ["Product/a", "nope"]), field: "body.data.similar[1]", code: "invalid_reference")
        // Wrong class, unknown class, abstract class.
        expectProblem(try product("made_by", "Person/bob"), field: "body.data.made_by", code: "invalid_reference")
        expectProblem(try product("made_by", "Ghost/bob"), field: "body.data.made_by", code: "invalid_reference")
        expectProblem(try product("made_by", "Party/bob"), field: "body.data.made_by", code: "invalid_reference")
        expectProblem(try product("similar", ["Product/a", "Company/b"]), field: "body.data.similar[1]", code: "invalid_reference")
        // Duplicates in a to-many value.
        expectProblem(try product("similar", ["Product/a", "Product/a"]), field: "body.data.similar[1]", code: "invalid_reference")
        // Subclasses of the target are fine; the parent class is not.
        XCTAssertNoThrow(try product("made_by", "Supplier/s1"))
        XCTAssertNoThrow(try create("Order", ["order_id": 7, "placed": "2024-01-01", "buyer": "Company/c", "items": ["Product/p"]]))
    }

    func testPrimaryKeyValues() throws {
        expectProblem(try create("Product", ["product_id": "bad id", "name": "N"]), field: "body.data.product_id")
        expectProblem(try create("Product", ["product_id": "a/b", "name": "N"]), field: "body.data.product_id")
        expectProblem(try create("Order", ["order_id": 1.5, "placed": "2024-01-01", "buyer": "Person/a", "items": ["Product/p"]]),
                      field: "body.data.order_id")
        XCTAssertEqual(try create("Order", ["order_id": -3, "placed": "2024-01-01", "buyer": "Person/a", "items": ["Product/p"]]).instanceId, "-3")
    }

    // MARK: Patches

    private func validCurrent() throws -> JSONValue {
        try create("Product", ["product_id": "P-1", "name": "Widget", "tags": ["a"], "made_by": "Company/acme", "sku": "ABC-123"]).data
    }

    func testPatchMerges() throws {
        let current = try validCurrent()
        let patched = try validator.validatePatch(classId: "Product", current: current,
                                                  patch: ["name": "Widget 2", "tags": nil, "stock": 5, "similar": ["Product/P-9"]])
        XCTAssertEqual(patched.instanceId, "P-1")
        XCTAssertEqual(patched.data["name"], "Widget 2")
        XCTAssertNil(patched.data["tags"])
        XCTAssertEqual(patched.data["stock"], 5)
        XCTAssertEqual(patched.data["sku"], "ABC-123")            // untouched members stay
        XCTAssertEqual(patched.data["made_by"], "Company/acme")
        XCTAssertEqual(patched.links.map(\.target), ["Company/acme", "Product/P-9"])
        // Removing a link removes it from the links.
        let unlinked = try validator.validatePatch(classId: "Product", current: current, patch: ["made_by": nil])
        XCTAssertEqual(unlinked.links, [])
        // Removing a defaulted member brings the default back.
        let restocked = try validator.validatePatch(classId: "Product", current: patched.data, patch: ["stock": nil])
        XCTAssertEqual(restocked.data["stock"], 0)
        // Same primary key value is not a change.
        XCTAssertNoThrow(try validator.validatePatch(classId: "Product", current: current, patch: ["product_id": "P-1"]))
        // An empty patch revalidates the current data.
        XCTAssertEqual(try validator.validatePatch(classId: "Product", current: current, patch: [:]).data, current)
    }

    func testPatchErrors() throws {
        let current = try validCurrent()
        func patch(_ p: JSONValue) throws -> ValidatedInstance {
            try validator.validatePatch(classId: "Product", current: current, patch: p)
        }
        expectProblem(try patch(["name": nil]), field: "body.data.name", code: "missing_required_field")
        expectProblem(try patch(["product_id": nil]), field: "body.data.product_id", code: "missing_required_field")
        expectProblem(try patch(["product_id": "P-2"]), field: "body.data.product_id", code: "immutable_primary_key")
        expectProblem(try patch(["colour": "red"]), field: "body.data.colour", code: "unknown_field")
        expectProblem(try patch(["stock": "many"]), field: "body.data.stock", code: "invalid_value")
        expectProblem(try patch(["tags": ["a", "b", "c", "d"]]), field: "body.data.tags", code: "constraint_violation")
        expectProblem(try patch(["made_by": ["Company/a"]]), field: "body.data.made_by", code: "wrong_cardinality")
        expectProblem(try patch(["similar": ["Person/a"]]), field: "body.data.similar[0]", code: "invalid_reference")
        expectProblem(try patch("name=x"), field: "body.data")
        expectProblem(try validator.validatePatch(classId: "Order", current: ["order_id": 1, "placed": "2024-01-01",
                                                                              "buyer": "Person/a", "items": ["Product/p"]],
                                                  patch: ["buyer": nil]), field: "body.data.buyer", code: "missing_required_field")
        expectProblem(try validator.validatePatch(classId: "Party", current: [:], patch: [:]), field: "path.class_id", code: "abstract_class")
    }

    func testPatchAfterSchemaEvolution() throws {
        var schema = try Self.shopSchema()
        let current = try validCurrent()
        // The class gains a required member and loses `sku`.
        var product = schema["Product"]!
        product.properties.removeAll { $0.name == "sku" }
        product.properties.append(Property(name: "brand", type: .string, label: "Brand", required: true))
        schema.upsert(product)
        let evolved = InstanceValidator(schema: schema)
        // Data stored under the old schema must be completed by the patch; the dropped member disappears.
        expectProblem(try evolved.validatePatch(classId: "Product", current: current, patch: ["name": "W"]),
                      field: "body.data.brand", code: "missing_required_field")
        let fixed = try evolved.validatePatch(classId: "Product", current: current, patch: ["brand": "Acme"])
        XCTAssertNil(fixed.data["sku"])
        XCTAssertEqual(fixed.data["brand"], "Acme")
        // …but the client cannot write the dropped member.
        expectProblem(try evolved.validatePatch(classId: "Product", current: current, patch: ["brand": "Acme", "sku": "ABC-999"]),
                      field: "body.data.sku", code: "unknown_field")
    }

    func testRedefinedInheritedPropertyWins() throws {
        var schema = try Self.shopSchema()
        schema.upsert(try OntologyClass(json: ["id": "Shell", "label": "Shell", "parent_class": "Company",
                                               "properties": [["name": "display_name", "type": "string", "label": "N", "required": false]]]))
        let v = InstanceValidator(schema: schema)
        XCTAssertEqual(try v.validateCreate(classId: "Shell", data: ["party_id": "s"]).instanceId, "s")
        expectProblem(try InstanceValidator(schema: schema).validateCreate(classId: "Company", data: ["party_id": "s"]),
                      field: "body.data.display_name", code: "missing_required_field")
    }

    func testCustomDataPrefixAndCycleSafety() throws {
        var v = validator!
        v.dataPrefix = "body.instances[3]"
        expectProblem(try v.validateCreate(classId: "Product", data: ["product_id": "P", "name": "N", "x": 1]),
                      field: "body.instances[3].x", code: "unknown_field")
        // A stored inheritance cycle does not hang validation.
        var schema = OntologySchema()
        schema.upsert(OntologyClass(id: "A", label: "A", parentClass: "B",
                                    properties: [Property(name: "a_id", type: .string, label: "ID", primaryKey: true)]))
        schema.upsert(OntologyClass(id: "B", label: "B", parentClass: "A"))
        XCTAssertEqual(try InstanceValidator(schema: schema).validateCreate(classId: "B", data: ["a_id": "x"]).instanceId, "x")
    }
}
