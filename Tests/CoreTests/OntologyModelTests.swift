import XCTest
import Core

final class OntologyModelTests: XCTestCase {
    /// A product class in the original's request shape.
    static let productJSON: JSONValue = [
        "id": "Product",
        "label": ["en": "Product", "ko": "제품"],
        "description": "Things we sell",
        "properties": [
            ["name": "product_id", "type": "xsd:string", "label": "Product ID", "primary_key": true],
            ["name": "name", "type": "STRING", "label": ["en": "Name"], "required": true,
             "constraints": ["min_length": 1, "max_length": 200]],
            ["name": "price", "type": "money", "label": "Price"],
            ["name": "stock", "type": "integer", "label": "Stock", "default": 0, "constraints": ["min": 0]],
            ["name": "tags", "type": "array", "items": "string", "label": "Tags"],
            ["name": "status", "type": "enum", "label": "Status", "enum": ["active", "retired"], "default": "active"],
        ],
        "relationships": [
            ["predicate": "made_by", "target": "Company", "label": "Made by", "cardinality": "n:1",
             "inverse_predicate": "makes", "inverse_label": "Makes"],
            ["predicate": "similar_to", "target": "Product", "label": "Similar to", "cardinality": "n:n"],
        ],
        "metadata": ["owner": "catalog-team"],
    ]

    func testParsesTheOriginalShape() throws {
        let product = try OntologyClass(json: Self.productJSON)
        XCTAssertEqual(product.id, "Product")
        XCTAssertEqual(product.label.resolve(preferred: ["ko"]), "제품")
        XCTAssertEqual(product.description, .plain("Things we sell"))
        XCTAssertNil(product.parentClass)
        XCTAssertFalse(product.abstract)
        XCTAssertEqual(product.properties.map(\.name), ["product_id", "name", "price", "stock", "tags", "status"])
        XCTAssertEqual(product.primaryKey?.name, "product_id")
        let pk = product.properties[0]
        XCTAssertTrue(pk.primaryKey)
        XCTAssertTrue(pk.required)              // a primary key is required
        XCTAssertEqual(product.properties[1].type, .string)
        XCTAssertEqual(product.properties[1].constraints, PropertyConstraints(minLength: 1, maxLength: 200))
        XCTAssertEqual(product.properties[3].defaultValue, 0)
        XCTAssertEqual(product.properties[4].items, .string)
        XCTAssertEqual(product.properties[5].enumValues, ["active", "retired"])
        XCTAssertEqual(product.relationships[0].cardinality, .manyToOne)
        XCTAssertEqual(product.relationships[0].inversePredicate, "makes")
        XCTAssertEqual(product.relationships[0].inverseLabel, .plain("Makes"))
        XCTAssertEqual(product.relationships[1].cardinality, .manyToMany)   // n:n → n:m
        XCTAssertEqual(product.metadata, ["owner": "catalog-team"])
    }

    func testSerialisesSnakeCaseAndRoundTrips() throws {
        let product = try OntologyClass(json: Self.productJSON)
        let json = product.json
        XCTAssertEqual(json["properties"]?.arrayValue?[0]["primary_key"], true)
        XCTAssertEqual(json["properties"]?.arrayValue?[0]["type"], "xsd:string")
        XCTAssertEqual(json["properties"]?.arrayValue?[2]["type"], "money")
        XCTAssertEqual(json["properties"]?.arrayValue?[1]["constraints"], ["min_length": 1, "max_length": 200])
        XCTAssertEqual(json["relationships"]?.arrayValue?[0]["inverse_predicate"], "makes")
        XCTAssertEqual(json["relationships"]?.arrayValue?[1]["cardinality"], "n:m")
        XCTAssertNil(json["parent_class"])
        XCTAssertEqual(try OntologyClass(json: json), product)
        // Through text, too.
        XCTAssertEqual(try OntologyClass(json: try JSONParser.parse(JSONWriter.string(json))), product)
    }

    func testAlternativeSpellings() throws {
        let c = try OntologyClass(json: [
            "id": "Dog", "label": "Dog", "parentClass": "Animal", "abstract": false,
            "properties": [["name": "tag", "type": "string", "label": "Tag", "primaryKey": true,
                            "defaultValue": nil, "enumValues": nil]],
            "relationships": [["predicate": "owner", "linkTarget": "Person", "label": "Owner", "cardinality": "MANY_TO_ONE",
                               "inversePredicate": "pets", "inverseLabel": "Pets"]],
        ])
        XCTAssertEqual(c.parentClass, "Animal")
        XCTAssertTrue(c.properties[0].primaryKey)
        XCTAssertEqual(c.relationships[0].target, "Person")
        XCTAssertEqual(c.relationships[0].cardinality, .manyToOne)
        XCTAssertEqual(c.relationships[0].inversePredicate, "pets")
        // Two spellings that disagree are refused.
        expectProblem(try OntologyClass(json: ["id": "X", "label": "X", "parent_class": "A", "parentClass": "B"]),
                      field: "body.parentClass")
    }

    func testCardinalitySpellings() {
        XCTAssertEqual(Cardinality(spelling: "1:1"), .oneToOne)
        XCTAssertEqual(Cardinality(spelling: "1:N"), .oneToMany)
        XCTAssertEqual(Cardinality(spelling: "m:1"), .manyToOne)
        XCTAssertEqual(Cardinality(spelling: "n:n"), .manyToMany)
        XCTAssertEqual(Cardinality(spelling: "M:N"), .manyToMany)
        XCTAssertEqual(Cardinality(spelling: "one-to-many"), .oneToMany)
        XCTAssertEqual(Cardinality(spelling: "many_to_many"), .manyToMany)
        XCTAssertNil(Cardinality(spelling: "2:n"))
        XCTAssertNil(Cardinality(spelling: "many"))
        XCTAssertTrue(Cardinality.oneToMany.isToMany)
        XCTAssertFalse(Cardinality.manyToOne.isToMany)
        XCTAssertEqual(Cardinality.oneToMany.inverse, .manyToOne)
    }

    func testRelationshipDefaultsAndErrors() throws {
        let r = try Relationship(json: ["predicate": "knows", "target": "Person", "label": "Knows"], fieldPrefix: "body.relationships[0]")
        XCTAssertEqual(r.cardinality, .oneToMany)
        XCTAssertFalse(r.required)
        let p = "body.relationships[0]"
        expectProblem(try Relationship(json: ["target": "Person", "label": "L"], fieldPrefix: p), field: "\(p).predicate")
        expectProblem(try Relationship(json: ["predicate": "bad-name", "target": "Person", "label": "L"], fieldPrefix: p), field: "\(p).predicate")
        expectProblem(try Relationship(json: ["predicate": "knows", "label": "L"], fieldPrefix: p), field: "\(p).target")
        expectProblem(try Relationship(json: ["predicate": "knows", "target": "1Person", "label": "L"], fieldPrefix: p), field: "\(p).target")
        expectProblem(try Relationship(json: ["predicate": "knows", "linkTarget": "Per son", "label": "L"], fieldPrefix: p),
                      field: "\(p).linkTarget")
        expectProblem(try Relationship(json: ["predicate": "knows", "target": "Person"], fieldPrefix: p), field: "\(p).label")
        expectProblem(try Relationship(json: ["predicate": "knows", "target": "Person", "label": "L", "cardinality": "3:4"], fieldPrefix: p),
                      field: "\(p).cardinality")
        expectProblem(try Relationship(json: ["predicate": "knows", "target": "Person", "label": "L", "cardinality": 1], fieldPrefix: p),
                      field: "\(p).cardinality")
        expectProblem(try Relationship(json: ["predicate": "knows", "target": "Person", "label": "L", "inverse_predicate": "a b"], fieldPrefix: p),
                      field: "\(p).inverse_predicate")
        expectProblem(try Relationship(json: ["predicate": "knows", "target": "Person", "label": "L", "inverse_label": ["xx-": "a"]], fieldPrefix: p),
                      field: "\(p).inverse_label.xx-")
        expectProblem(try Relationship(json: ["predicate": "knows", "target": "Person", "label": "L", "required": "yes"], fieldPrefix: p),
                      field: "\(p).required")
        expectProblem(try Relationship(json: "knows", fieldPrefix: p), field: p)
        XCTAssertEqual(try Relationship(json: r.json, fieldPrefix: p), r)
    }

    func testPropertyErrorsNameTheExactField() {
        let p = "body.properties[0]"
        func property(_ json: JSONValue) throws -> Property { try Property(json: json, fieldPrefix: p) }
        expectProblem(try property(["type": "string", "label": "L"]), field: "\(p).name")
        expectProblem(try property(["name": "1x", "type": "string", "label": "L"]), field: "\(p).name")
        expectProblem(try property(["name": "x", "label": "L"]), field: "\(p).type")
        expectProblem(try property(["name": "x", "type": "varchar", "label": "L"]), field: "\(p).type")
        expectProblem(try property(["name": "x", "type": 5, "label": "L"]), field: "\(p).type")
        expectProblem(try property(["name": "x", "type": "string"]), field: "\(p).label")
        expectProblem(try property(["name": "x", "type": "string", "label": ""]), field: "\(p).label")
        expectProblem(try property(["name": "x", "type": "string", "label": "L", "required": "true"]), field: "\(p).required")
        expectProblem(try property(["name": "x", "type": "string", "label": "L", "primary_key": 1]), field: "\(p).primary_key")
        expectProblem(try property(["name": "x", "type": "boolean", "label": "L", "primary_key": true]), field: "\(p).type")
        expectProblem(try property(["name": "x", "type": "string", "label": "L", "primary_key": true, "default": "a"]), field: "\(p).default")
        expectProblem(try property(["name": "x", "type": "string", "label": "L", "items": "string"]), field: "\(p).items")
        expectProblem(try property(["name": "x", "type": "array", "label": "L", "items": "blob"]), field: "\(p).items")
        expectProblem(try property(["name": "x", "type": "array", "label": "L", "items": ["type": "blob"]]), field: "\(p).items.type")
        expectProblem(try property(["name": "x", "type": "array<string>", "label": "L", "items": "integer"]), field: "\(p).items")
        expectProblem(try property(["name": "x", "type": "enum", "label": "L"]), field: "\(p).enum")
        expectProblem(try property(["name": "x", "type": "enum", "label": "L", "enum": []]), field: "\(p).enum")
        expectProblem(try property(["name": "x", "type": "enum", "label": "L", "enum": ["a", "a"]]), field: "\(p).enum[1]")
        expectProblem(try property(["name": "x", "type": "enum", "label": "L", "enum": ["a", ["b"]]]), field: "\(p).enum[1]")
        expectProblem(try property(["name": "x", "type": "integer", "label": "L", "enum": [1, "two"]]), field: "\(p).enum[1]")
        expectProblem(try property(["name": "x", "type": "string", "label": "L", "enum_values": "a,b"]), field: "\(p).enum_values")
        expectProblem(try property(["name": "x", "type": "integer", "label": "L", "default": 1.5]), field: "\(p).default")
        expectProblem(try property(["name": "x", "type": "integer", "label": "L", "default": -1, "constraints": ["min": 0]]), field: "\(p).default")
        expectProblem(try property(["name": "x", "type": "enum", "label": "L", "enum": ["a"], "default": "b"]), field: "\(p).default")
        expectProblem(try property(["name": "x", "type": "email", "label": "L", "default": "nope"]), field: "\(p).default")
        expectProblem(try property(["name": "x", "type": "array", "items": "integer", "label": "L", "default": [1, "a"]]),
                      field: "\(p).default[1]")
        expectProblem(try property(["name": "x", "type": "string", "label": "L", "description": 3]), field: "\(p).description")
        expectProblem(try property([1, 2]), field: p)
    }

    func testPropertyExtras() throws {
        let generic = try Property(json: ["name": "scores", "type": "list<xsd:integer>", "label": "Scores"], fieldPrefix: "p")
        XCTAssertEqual(generic.type, .array)
        XCTAssertEqual(generic.items, .integer)
        let itemsObject = try Property(json: ["name": "scores", "type": "array", "items": ["type": "decimal"], "label": "S"], fieldPrefix: "p")
        XCTAssertEqual(itemsObject.items, .decimal)
        let constrainedEnum = try Property(json: ["name": "s", "type": "string", "label": "S", "constraints": ["enum": ["x"]]], fieldPrefix: "p")
        XCTAssertEqual(constrainedEnum.enumValues, ["x"])
        expectProblem(try Property(json: ["name": "s", "type": "string", "label": "S", "constraints": ["enum": ["x", "x"]]], fieldPrefix: "p"),
                      field: "p.constraints.enum[1]")
        let described = try Property(json: ["name": "s", "type": "string", "label": "S",
                                            "description": .string(String(repeating: "d", count: 5000))], fieldPrefix: "p")
        XCTAssertEqual(described.description?.resolve().count, 5000)
        XCTAssertEqual(try Property(json: described.json, fieldPrefix: "p"), described)
        for property in try OntologyClass(json: Self.productJSON).properties {
            XCTAssertEqual(try Property(json: property.json, fieldPrefix: "p"), property)
        }
    }

    func testClassLevelErrors() {
        func make(_ properties: [JSONValue], relationships: [JSONValue] = [], extra: [String: JSONValue] = [:]) throws -> OntologyClass {
            var body: [String: JSONValue] = ["id": "Thing", "label": "Thing", "properties": .array(properties),
                                             "relationships": .array(relationships)]
            for (k, v) in extra { body[k] = v }
            return try OntologyClass(json: .object(body))
        }
        let pk: JSONValue = ["name": "thing_id", "type": "string", "label": "ID", "primary_key": true]
        let name: JSONValue = ["name": "name", "type": "string", "label": "Name"]
        expectProblem(try OntologyClass(json: ["label": "X"]), field: "body.id")
        expectProblem(try OntologyClass(json: ["id": "X y", "label": "X"]), field: "body.id")
        expectProblem(try OntologyClass(json: ["id": "X"]), field: "body.label")
        expectProblem(try OntologyClass(json: ["id": "X", "label": "X", "parent_class": "X", "properties": [pk]]), field: "body.parent_class")
        expectProblem(try OntologyClass(json: ["id": "X", "label": "X", "parent_class": "1X"]), field: "body.parent_class")
        expectProblem(try OntologyClass(json: ["id": "X", "label": "X", "abstract": "no"]), field: "body.abstract")
        expectProblem(try OntologyClass(json: []), field: "body")
        expectProblem(try make([pk, name, name]), field: "body.properties[2].name")
        expectProblem(try make([pk, name], relationships: [
            ["predicate": "rel", "target": "Thing", "label": "R"], ["predicate": "rel", "target": "Thing", "label": "R2"],
        ]), field: "body.relationships[1].predicate")
        expectProblem(try make([pk, name], relationships: [["predicate": "name", "target": "Thing", "label": "R"]]),
                      field: "body.relationships[0].predicate")
        expectProblem(try make([pk, ["name": "other_id", "type": "string", "label": "O", "primaryKey": true]]),
                      field: "body.properties[1].primaryKey")
        expectProblem(try make([name]), field: "body.properties", code: "missing_primary_key")
        expectProblem(try make([pk, ["name": "n", "type": "string", "label": "N", "constraints": ["pattern": "(((("]]]),
                      field: "body.properties[1].constraints.pattern", code: "invalid_pattern")
        expectProblem(try make([pk, ["name": "qty", "type": "integer", "label": "Q", "default": "3"]]), field: "body.properties[1].default")
        expectProblem(try make([pk], relationships: [["predicate": "r", "target": "Thing", "label": "R", "cardinality": "x"]]),
                      field: "body.relationships[0].cardinality")
        expectProblem(try make([pk], extra: ["properties": "none"]), field: "body.properties")
        expectProblem(try make([pk], extra: ["relationships": ["a": 1]]), field: "body.relationships")
        expectProblem(try make([pk], extra: ["metadata": [1]]), field: "body.metadata")
        expectProblem(try make([pk], extra: ["description": ["zz-top-": "x"]]), field: "body.description.zz-top-")
        do {
            _ = try make([name])
        } catch {
            XCTAssertEqual((error as? Problem)?.extensions["lint_code"], "ONT001")
        }
    }

    func testPrimaryKeyRules() throws {
        // Abstract classes need none.
        XCTAssertNoThrow(try OntologyClass(json: ["id": "Base", "label": "Base", "abstract": true]))
        // A class with a parent may inherit its key (checked against the schema, not here).
        XCTAssertNoThrow(try OntologyClass(json: ["id": "Dog", "label": "Dog", "parent_class": "Animal"]))
        // The original's `*_id` rule: <class>_id first, then the alphabetically first *_id.
        let byClassName = try OntologyClass(json: ["id": "Order", "label": "Order", "properties": [
            ["name": "customer_id", "type": "string", "label": "C"], ["name": "order_id", "type": "integer", "label": "O"],
        ]])
        XCTAssertEqual(byClassName.primaryKey?.name, "order_id")
        let firstSorted = try OntologyClass(json: ["id": "Line", "label": "Line", "properties": [
            ["name": "zeta_id", "type": "string", "label": "Z"], ["name": "alpha_id", "type": "string", "label": "A"],
        ]])
        XCTAssertEqual(firstSorted.primaryKey?.name, "alpha_id")
        // `_id` alone or a non-key type does not count.
        expectProblem(try OntologyClass(json: ["id": "X", "label": "X", "properties": [["name": "_id", "type": "string", "label": "I"]]]),
                      field: "body.properties", code: "missing_primary_key")
        expectProblem(try OntologyClass(json: ["id": "X", "label": "X", "properties": [["name": "x_id", "type": "boolean", "label": "I"]]]),
                      field: "body.properties", code: "missing_primary_key")
        // Explicit beats naming.
        let explicit = try OntologyClass(json: ["id": "Order", "label": "Order", "properties": [
            ["name": "order_id", "type": "string", "label": "O"], ["name": "code", "type": "string", "label": "C", "primary_key": true],
        ]])
        XCTAssertEqual(explicit.primaryKey?.name, "code")
    }

    func testLinkPropertiesBecomeRelationships() throws {
        let c = try OntologyClass(json: [
            "id": "Employee", "label": "Employee",
            "properties": [
                ["name": "employee_id", "type": "string", "label": "ID", "primary_key": true],
                ["name": "team", "type": "link", "linkTarget": "Team", "label": "Team"],
                ["name": "mentor", "target": "Employee", "label": "Mentor", "cardinality": "1:1"],
                ["name": "skills", "type": "array", "items": ["type": "link", "linkTarget": "Skill"], "label": "Skills"],
                ["name": "manager", "type": "xsd:string", "isRelationship": true, "linkTarget": "Employee", "label": "Manager"],
            ],
            "relationships": [["predicate": "works_on", "target": "Project", "label": "Works on"]],
        ])
        XCTAssertEqual(c.properties.map(\.name), ["employee_id"])
        XCTAssertEqual(c.relationships.map(\.predicate), ["works_on", "team", "mentor", "skills", "manager"])
        XCTAssertEqual(c.relationship(predicate: "team")?.cardinality, .manyToOne)
        XCTAssertEqual(c.relationship(predicate: "team")?.target, "Team")
        XCTAssertEqual(c.relationship(predicate: "mentor")?.cardinality, .oneToOne)
        XCTAssertEqual(c.relationship(predicate: "skills")?.cardinality, .manyToMany)
        XCTAssertEqual(c.relationship(predicate: "skills")?.target, "Skill")
        // A link property and a relationship with the same name clash.
        expectProblem(try OntologyClass(json: [
            "id": "E", "label": "E",
            "properties": [["name": "e_id", "type": "string", "label": "I", "primary_key": true],
                           ["name": "team", "type": "link", "linkTarget": "Team", "label": "Team"]],
            "relationships": [["predicate": "team", "target": "Team", "label": "Team"]],
        ]), field: "body.relationships[0].predicate")
        expectProblem(try OntologyClass(json: [
            "id": "E", "label": "E",
            "properties": [["name": "e_id", "type": "string", "label": "I", "primary_key": true],
                           ["name": "team", "type": "link", "label": "Team"]],
        ]), field: "body.properties[1].linkTarget")
        // Link-property form round-trips.
        let team = c.relationship(predicate: "team")!
        XCTAssertEqual(try Relationship(linkProperty: team.linkPropertyJSON, fieldPrefix: "p"), team)
    }

    func testProblemsNeverEchoHugeInput() {
        let huge = String(repeating: "Z", count: 200_000)
        let bodies: [JSONValue] = [
            ["id": .string(huge), "label": "X"],
            ["id": "X", "label": "X", "properties": [["name": "x_id", "type": .string(huge), "label": "L"]]],
            ["id": "X", "label": "X", "properties": [["name": "x_id", "type": "integer", "label": "L", "default": .string(huge)]]],
            ["id": "X", "label": ["en": "X", .init(stringLiteral: huge): "y"]],
        ]
        for body in bodies {
            do {
                _ = try OntologyClass(json: body)
                XCTFail("expected a problem")
            } catch {
                XCTAssertLessThan(error.detail!.count, 400)
                XCTAssertLessThan(error.field!.count, 200)
            }
        }
    }
}

final class OntologyUpdateTests: XCTestCase {
    func testMergesPresentMembers() throws {
        let product = try OntologyClass(json: OntologyModelTests.productJSON)
        let update = try OntologyClassUpdate(json: ["label": ["en": "Item"], "description": nil, "abstract": false,
                                                    "metadata": ["owner": "b"]])
        let updated = try update.applied(to: product)
        XCTAssertEqual(updated.label, .localized(["en": "Item"]))
        XCTAssertNil(updated.description)
        XCTAssertEqual(updated.properties, product.properties)
        XCTAssertEqual(updated.relationships, product.relationships)
        XCTAssertEqual(updated.metadata, ["owner": "b"])
        // An empty update changes nothing.
        XCTAssertEqual(try OntologyClassUpdate(json: [:]).applied(to: product), product)
        // An update's JSON reads back as the same update.
        XCTAssertEqual(try OntologyClassUpdate(json: update.json), update)
    }

    func testReplacesListsAndRevalidates() throws {
        let product = try OntologyClass(json: OntologyModelTests.productJSON)
        let replaced = try OntologyClassUpdate(json: ["properties": [
            ["name": "product_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "weight", "type": "double", "label": "Weight"],
        ]]).applied(to: product)
        XCTAssertEqual(replaced.properties.map(\.name), ["product_id", "weight"])
        XCTAssertEqual(replaced.relationships, product.relationships)

        expectProblem(try OntologyClassUpdate(json: ["properties": [["name": "weight", "type": "double", "label": "W"]]]).applied(to: product),
                      field: "body.properties", code: "primary_key_removed")
        expectProblem(try OntologyClassUpdate(json: ["relationships": [["predicate": "name", "target": "Company", "label": "N"]]])
            .applied(to: product), field: "body.relationships[0].predicate")
        expectProblem(try OntologyClassUpdate(json: ["id": "Other"]).applied(to: product), field: "body.id")
        XCTAssertNoThrow(try OntologyClassUpdate(json: ["id": "Product"]).applied(to: product))
        expectProblem(try OntologyClassUpdate(json: ["parent_class": "Product"]).applied(to: product), field: "body.parent_class")
        expectProblem(try OntologyClassUpdate(json: ["label": 3]), field: "body.label")
        expectProblem(try OntologyClassUpdate(json: ["properties": [["name": "a", "type": "nope", "label": "A"]]]),
                      field: "body.properties[0].type")
        // Making the class abstract lifts the key requirement.
        let abstract = try OntologyClassUpdate(json: ["abstract": true, "properties": []]).applied(to: product)
        XCTAssertTrue(abstract.abstract)
    }

    func testParentClassCanBeSetAndCleared() throws {
        let dog = try OntologyClass(json: ["id": "Dog", "label": "Dog", "parent_class": "Animal",
                                           "properties": [["name": "dog_id", "type": "string", "label": "ID"]]])
        let orphan = try OntologyClassUpdate(json: ["parent_class": nil]).applied(to: dog)
        XCTAssertNil(orphan.parentClass)
        let moved = try OntologyClassUpdate(json: ["parentClass": "Pet"]).applied(to: dog)
        XCTAssertEqual(moved.parentClass, "Pet")
        let nothing = try OntologyClass(json: ["id": "Dog", "label": "Dog", "parent_class": "Animal"])
        expectProblem(try OntologyClassUpdate(json: ["parent_class": nil]).applied(to: nothing), field: "body.properties",
                      code: "missing_primary_key")
    }

    func testLinkPropertiesInUpdates() throws {
        let product = try OntologyClass(json: OntologyModelTests.productJSON)
        let update = try OntologyClassUpdate(json: ["properties": [
            ["name": "product_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "made_by", "type": "link", "linkTarget": "Supplier", "label": "Made by"],
        ]])
        let updated = try update.applied(to: product)
        XCTAssertEqual(updated.relationships.map(\.predicate), ["similar_to", "made_by"])
        XCTAssertEqual(updated.relationship(predicate: "made_by")?.target, "Supplier")
        XCTAssertEqual(try OntologyClassUpdate(json: update.json).applied(to: product), updated)
    }
}

final class OntologySchemaTests: XCTestCase {
    static func schema() throws -> OntologySchema {
        let classes: [JSONValue] = [
            ["id": "Animal", "label": "Animal", "abstract": true,
             "properties": [["name": "animal_id", "type": "string", "label": "ID", "primary_key": true],
                            ["name": "name", "type": "string", "label": "Name", "required": true]],
             "relationships": [["predicate": "owner", "target": "Person", "label": "Owner", "cardinality": "n:1"]]],
            ["id": "Dog", "label": "Dog", "parent_class": "Animal",
             "properties": [["name": "breed", "type": "string", "label": "Breed"],
                            ["name": "name", "type": "string", "label": "Dog name", "required": false]]],
            ["id": "Puppy", "label": "Puppy", "parent_class": "Dog"],
            ["id": "Person", "label": "Person", "properties": [["name": "person_id", "type": "string", "label": "ID"]]],
        ]
        var result = OntologySchema()
        for json in classes { result.upsert(try OntologyClass(json: json)) }
        return result
    }

    func testInheritance() throws {
        let schema = try Self.schema()
        XCTAssertEqual(schema.ancestors(of: "Puppy"), ["Dog", "Animal"])
        XCTAssertTrue(schema.isSubclass("Puppy", of: "Animal"))
        XCTAssertTrue(schema.isSubclass("Dog", of: "Dog"))
        XCTAssertFalse(schema.isSubclass("Animal", of: "Dog"))
        XCTAssertEqual(schema.subclasses(of: "Animal"), ["Dog", "Puppy"])
        XCTAssertEqual(schema.properties(of: "Puppy").map(\.name), ["animal_id", "name", "breed"])
        XCTAssertEqual(schema.properties(of: "Dog").first { $0.name == "name" }?.required, false)   // redefined
        XCTAssertEqual(schema.relationships(of: "Puppy").map(\.predicate), ["owner"])
        XCTAssertEqual(schema.primaryKey(of: "Puppy")?.name, "animal_id")
        XCTAssertEqual(schema.primaryKey(of: "Person")?.name, "person_id")
        XCTAssertNil(schema.missingAncestor(of: "Puppy"))
        XCTAssertFalse(schema.hasInheritanceCycle(from: "Puppy"))
        XCTAssertEqual(schema.json.arrayValue?.count, 4)
    }

    func testCyclesAreGuarded() throws {
        var schema = OntologySchema()
        schema.upsert(OntologyClass(id: "A", label: "A", parentClass: "B"))
        schema.upsert(OntologyClass(id: "B", label: "B", parentClass: "C"))
        schema.upsert(OntologyClass(id: "C", label: "C", parentClass: "A"))
        XCTAssertTrue(schema.hasInheritanceCycle(from: "A"))
        XCTAssertEqual(schema.ancestors(of: "A"), ["B", "C"])
        XCTAssertEqual(schema.properties(of: "A"), [])
        XCTAssertFalse(schema.isSubclass("A", of: "D"))
        schema.upsert(OntologyClass(id: "D", label: "D", parentClass: "Missing"))
        XCTAssertEqual(schema.missingAncestor(of: "D"), "Missing")
        schema.remove("D")
        XCTAssertNil(schema["D"])
    }
}

final class OntologyLintTests: XCTestCase {
    private func codes(_ issues: [ValidationIssue]) -> [String] { issues.map(\.code) }

    func testValidDefinition() throws {
        let schema = OntologySchema(classes: [OntologyClass(id: "Company", label: "Company", properties: [
            Property(name: "company_id", type: .string, label: "ID", primaryKey: true),
        ])])
        let report = validateClassDefinition(OntologyModelTests.productJSON, existing: schema)
        XCTAssertTrue(report.isValid, "\(report.errors)")
        XCTAssertEqual(codes(report.warnings), ["ONT010"])    // "Product" is not snake_case
        XCTAssertEqual(report.ontologyClass?.id, "Product")
        XCTAssertEqual(report.riskScore, 10)
        XCTAssertEqual(report.riskLevel, "low")
        XCTAssertEqual(report.json["valid"], true)
        XCTAssertEqual(report.json["warnings"]?.arrayValue?.first?["code"], "ONT010")
        XCTAssertEqual(report.json["warnings"]?.arrayValue?.first?["field"], "body.id")
        XCTAssertEqual(report.json["class"]?["id"], "Product")
    }

    func testErrorsAndWarnings() throws {
        let schema = try OntologySchemaTests.schema()
        // Unknown relationship target → error; unknown parent → error.
        let report = validateClassDefinition([
            "id": "cat", "label": "Cat", "parent_class": "Feline",
            "properties": [["name": "catName", "type": "string", "label": "N", "primary_key": true, "colour": "grey",
                            "constraints": ["format": "x"]]],
            "relationships": [["predicate": "chases", "target": "Mouse", "label": "Chases", "weight": 1]],
            "colour": "grey",
        ], existing: schema)
        XCTAssertFalse(report.isValid)
        XCTAssertEqual(codes(report.errors), ["ONT050", "ONT060"])
        XCTAssertEqual(report.errors.map(\.field), ["body.parent_class", "body.relationships[0].target"])
        XCTAssertEqual(Set(codes(report.warnings)), ["ONT030", "ONT040"])
        XCTAssertEqual(Set(report.warnings.compactMap(\.field)), [
            "body.properties[0].name", "body.colour", "body.properties[0].colour", "body.properties[0].constraints.format",
            "body.relationships[0].weight",
        ])
        XCTAssertGreaterThanOrEqual(report.riskScore, 50)
        XCTAssertEqual(report.json["valid"], false)
    }

    func testParseFailureBecomesOneError() {
        let report = validateClassDefinition(["id": "X", "label": "X", "properties": [["name": "a", "type": "nope", "label": "A"]]],
                                             existing: OntologySchema())
        XCTAssertEqual(report.errors.count, 1)
        XCTAssertEqual(report.errors[0].field, "body.properties[0].type")
        XCTAssertEqual(report.errors[0].code, "invalid_request")
        XCTAssertNil(report.ontologyClass)
        let noKey = validateClassDefinition(["id": "X", "label": "X"], existing: OntologySchema())
        XCTAssertEqual(codes(noKey.errors), ["ONT001"])
    }

    func testInheritanceChecks() throws {
        var schema = try OntologySchemaTests.schema()
        // Inherits a key: fine.
        XCTAssertTrue(validateClassDefinition(["id": "Cat", "label": "Cat", "parent_class": "Animal"], existing: schema).isValid)
        // Parent without a key anywhere → ONT001.
        schema.upsert(OntologyClass(id: "Keyless", label: "K", abstract: true))
        let keyless = validateClassDefinition(["id": "Thing", "label": "T", "parent_class": "Keyless"], existing: schema)
        XCTAssertEqual(codes(keyless.errors), ["ONT001"])
        // Redefining an inherited property with another type → ONT052.
        let retyped = validateClassDefinition(["id": "Cat", "label": "Cat", "parent_class": "Animal",
                                               "properties": [["name": "name", "type": "integer", "label": "N"]]], existing: schema)
        XCTAssertEqual(codes(retyped.errors), ["ONT052"])
        XCTAssertEqual(retyped.errors[0].field, "body.properties[0].type")
        // Redefining an existing class so it inherits from its own descendant → cycle.
        let cycle = validateClassDefinition(["id": "Animal", "label": "Animal", "abstract": true, "parent_class": "Puppy"], existing: schema)
        XCTAssertEqual(codes(cycle.errors), ["ONT051"])
        XCTAssertTrue(codes(cycle.warnings).contains("ONT090"))
        // An ancestor that is missing further up.
        schema.upsert(OntologyClass(id: "Orphan", label: "O", parentClass: "Gone"))
        let deep = validateClassDefinition(["id": "Kid", "label": "K", "parent_class": "Orphan",
                                            "properties": [["name": "kid_id", "type": "string", "label": "I"]]], existing: schema)
        XCTAssertEqual(codes(deep.errors), ["ONT050"])
    }

    func testMoreWarnings() throws {
        let schema = try OntologySchemaTests.schema()
        let report = validateClassDefinition([
            "id": "order_created", "label": "Order created",
            "properties": [["name": "b_id", "type": "string", "label": "B"], ["name": "a_id", "type": "string", "label": "A"]],
            "relationships": [["predicate": "buyer", "target": "Person", "label": "Buyer", "inverse_predicate": "person_id"],
                              ["predicate": "self_ref", "target": "order_created", "label": "Self"]],
        ], existing: schema)
        XCTAssertTrue(report.isValid, "\(report.errors)")
        XCTAssertEqual(Set(codes(report.warnings)), ["ONT020", "ONT003", "ONT061"])
    }

    func testUpdateValidationAndRisks() throws {
        let product = try OntologyClass(json: OntologyModelTests.productJSON)
        let schema = OntologySchema(classes: [product, OntologyClass(id: "Company", label: "C", properties: [
            Property(name: "company_id", type: .string, label: "ID", primaryKey: true)])])
        let report = validateClassUpdate(["properties": [
            ["name": "product_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name", "required": false],
            ["name": "stock", "type": "decimal", "label": "Stock"],
        ]], classId: "Product", existing: schema)
        XCTAssertTrue(report.isValid)
        XCTAssertTrue(report.hasHighRiskChanges)
        XCTAssertEqual(Set(codes(report.warnings)), ["ONT010", "ONT901", "ONT902", "ONT903"])
        XCTAssertEqual(report.warnings.first { $0.code == "ONT902" }?.field, "body.properties[2].type")
        XCTAssertEqual(report.json["high_risk_changes"], true)

        let removesKey = validateClassUpdate(["properties": [["name": "x", "type": "string", "label": "X"]]], classId: "Product",
                                             existing: schema)
        XCTAssertEqual(codes(removesKey.errors), ["ONT920"])
        let missing = validateClassUpdate([:], classId: "Nope", existing: schema)
        XCTAssertEqual(codes(missing.errors), ["ONT404"])
        XCTAssertEqual(classChangeRisks(from: product, to: product), [])
    }

    func testRiskLevels() {
        func issue(_ s: ValidationIssue.Severity) -> ValidationIssue { ValidationIssue(severity: s, code: "X", field: nil, message: "m") }
        XCTAssertEqual(ValidationReport(errors: [issue(.error)]).riskLevel, "medium")
        XCTAssertEqual(ValidationReport(errors: [issue(.error), issue(.error)]).riskLevel, "high")
        XCTAssertEqual(ValidationReport(errors: Array(repeating: issue(.error), count: 3)).riskLevel, "critical")
        XCTAssertEqual(ValidationReport(errors: Array(repeating: issue(.error), count: 5)).riskScore, 100)
        XCTAssertEqual(ValidationReport(infos: [issue(.info)]).riskScore, 2)
    }
}
