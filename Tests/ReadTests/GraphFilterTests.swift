import XCTest
import Core
import Drivers
@testable import Read

/// findNodes: each filter kind on stored fields and on `_id`, ordering and paging.
final class GraphFilterTests: ReadModelTestCase {
    override func setUp() async throws {
        try await super.setUp()
        try await write(
            node("Product/p1", 1, ["name": "apple", "price": 5, "added": "2024-01-15", "tags": ["fresh", "red"]]),
            node("Product/p2", 1, ["name": "Banana", "price": 20, "added": "2024-02-01"]),
            node("Product/p3", 1, ["name": "cherry", "price": 100, "added": "2024-03-10"]),
            node("Product/p4", 1, ["name": "date", "price": 10.5, "added": "2023-12-31"]),
            node("Product/p5", 1, ["name": "elder", "price": "cheap", "added": 20240101]),
            node("Product/p6", 1, ["name": "fig", "price": 20]),
            node("Supplier/p7", 1, ["name": "apple", "price": 5]))
        _ = try await graph.deleteNodes(db, [(ref: ref("Product/p6"), version: 2)])
    }

    private func find(_ filters: [GraphFilter], limit: Int = 100, offset: Int = 0) async throws -> [String] {
        try await graph.findNodes(db, classId: "Product", filters: filters, limit: limit, offset: offset).map(\.ref.instanceId)
    }

    private func range(_ field: String, _ lower: JSONValue?, _ upper: JSONValue?,
                       lowerInclusive: Bool = true, upperInclusive: Bool = true) -> GraphFilter {
        .range(field: field, lower: lower, lowerInclusive: lowerInclusive, upper: upper, upperInclusive: upperInclusive)
    }

    func testNoFiltersListsTheClassLiveNodesInIdOrderWithPaging() async throws {
        let all = try await find([])
        XCTAssertEqual(all, ["p1", "p2", "p3", "p4", "p5"], "other classes and tombstones are left out")
        let page = try await find([], limit: 2, offset: 1)
        XCTAssertEqual(page, ["p2", "p3"])
        let nodes = try await graph.findNodes(db, classId: "Product", filters: [], limit: 1, offset: 0)
        XCTAssertEqual(nodes.first?.fields["tags"], ["fresh", "red"])
        XCTAssertEqual(nodes.first?.version, 1)
    }

    func testEquals() async throws {
        let byName = try await find([.equals(field: "name", value: "apple")])
        XCTAssertEqual(byName, ["p1"])
        let byNumber = try await find([.equals(field: "price", value: 20.0)])
        XCTAssertEqual(byNumber, ["p2"], "numbers compare by value")
        let caseMatters = try await find([.equals(field: "name", value: "banana")])
        XCTAssertEqual(caseMatters, [])
        let notContainment = try await find([.equals(field: "tags", value: ["fresh"])])
        XCTAssertEqual(notContainment, [], "equals is equality, not containment")
        let wholeArray = try await find([.equals(field: "tags", value: ["fresh", "red"])])
        XCTAssertEqual(wholeArray, ["p1"])
        let typeMatters = try await find([.equals(field: "price", value: "5")])
        XCTAssertEqual(typeMatters, [])
        let combined = try await find([.equals(field: "price", value: 20), .equals(field: "name", value: "Banana")])
        XCTAssertEqual(combined, ["p2"])
        let missingField = try await find([.equals(field: "colour", value: "red")])
        XCTAssertEqual(missingField, [])
    }

    func testIsIn() async throws {
        let names = try await find([.isIn(field: "name", values: ["cherry", "apple", "kiwi"])])
        XCTAssertEqual(names, ["p1", "p3"])
        let mixed = try await find([.isIn(field: "price", values: [5, 100, "cheap"])])
        XCTAssertEqual(mixed, ["p1", "p3", "p5"])
        let empty = try await find([.isIn(field: "name", values: [])])
        XCTAssertEqual(empty, [])
    }

    func testNumericRangeComparesNumbersAsNumbers() async throws {
        let inclusive = try await find([range("price", 10, 100)])
        XCTAssertEqual(inclusive, ["p2", "p3", "p4"], "100 is above 20 as a number (not as text); the string price is skipped")
        let exclusive = try await find([range("price", 10.5, 100, lowerInclusive: false, upperInclusive: false)])
        XCTAssertEqual(exclusive, ["p2"])
        let lowerOnly = try await find([range("price", 20, nil)])
        XCTAssertEqual(lowerOnly, ["p2", "p3"])
        let upperOnly = try await find([range("price", nil, 10)])
        XCTAssertEqual(upperOnly, ["p1"])
        let unbounded = try await find([range("price", nil, nil)])
        XCTAssertEqual(unbounded, ["p1", "p2", "p3", "p4", "p5"])
        let boolBound = try await find([range("price", true, nil)])
        XCTAssertEqual(boolBound, [], "a bound that is neither number nor string matches nothing")
    }

    func testStringRangeComparesAsText() async throws {
        let january = try await find([range("added", "2024-01-01", "2024-01-31")])
        XCTAssertEqual(january, ["p1"], "the numeric `added` of p5 is not a string")
        let from2024 = try await find([range("added", "2024-01-15", nil, lowerInclusive: false)])
        XCTAssertEqual(from2024, ["p2", "p3"])
        let byteOrder = try await find([range("name", "B", "C", upperInclusive: false)])
        XCTAssertEqual(byteOrder, ["p2"], "byte order: upper case sorts before lower case")
        let lowerCase = try await find([range("name", "a", "e")])
        XCTAssertEqual(lowerCase, ["p1", "p3", "p4"], "\"elder\" sorts after \"e\"")
    }

    func testInstanceIdFilters() async throws {
        let equals = try await find([.equals(field: "_id", value: "p3")])
        XCTAssertEqual(equals, ["p3"])
        let isIn = try await find([.isIn(field: "_id", values: ["p4", "p1", "p6", "p9"])])
        XCTAssertEqual(isIn, ["p1", "p4"], "tombstoned p6 stays hidden")
        let between = try await find([range("_id", "p2", "p5", lowerInclusive: false, upperInclusive: false)])
        XCTAssertEqual(between, ["p3", "p4"])
        let withField = try await find([.isIn(field: "_id", values: ["p1", "p2", "p3"]), range("price", 10, nil)])
        XCTAssertEqual(withField, ["p2", "p3"])
        let numeric = try await find([.equals(field: "_id", value: 7)])
        XCTAssertEqual(numeric, [])
    }

    func testNumericIdsMatchTheirDigits() async throws {
        try await write(node("Product/42", 1))
        let found = try await find([.equals(field: "_id", value: 42)])
        XCTAssertEqual(found, ["42"])
    }
}

/// The composite filters, ordering, and filters on the nodes a hop reaches.
final class GraphFilterCompositionTests: ReadModelTestCase {
    override func setUp() async throws {
        try await super.setUp()
        try await write(
            node("Product/p1", 1, ["name": "green apple", "price": 5]),
            node("Product/p2", 1, ["name": "Banana", "price": 20]),
            node("Product/p3", 1, ["name": "apple pie", "price": 100]),
            node("Product/p4", 1, ["price": 20]))
        try await write(node("Order/o1", 1, edges: [("contains", "Product/p1"), ("contains", "Product/p2"), ("contains", "Product/p3")]))
    }

    private func find(_ filters: [GraphFilter], order: [GraphOrder] = []) async throws -> [String] {
        try await graph.findNodes(db, classId: "Product", filters: filters, order: order, limit: 100, offset: 0).map(\.ref.instanceId)
    }

    func testContainsIsACaseSensitiveSubstringOfStringsOnly() async throws {
        let apples = try await find([.contains(field: "name", text: "apple")])
        XCTAssertEqual(apples, ["p1", "p3"])
        let none = try await find([.contains(field: "price", text: "2")])
        XCTAssertEqual(none, [], "numbers are not text")
        let byId = try await find([.contains(field: "_id", text: "3")])
        XCTAssertEqual(byId, ["p3"])
    }

    func testNotAnyOfAllOf() async throws {
        let notApple = try await find([.not(.contains(field: "name", text: "apple"))])
        XCTAssertEqual(notApple, ["p2", "p4"], "a node without the field is not an apple either")
        let either = try await find([.anyOf([.equals(field: "price", value: 5), .equals(field: "price", value: 100)])])
        XCTAssertEqual(either, ["p1", "p3"])
        let both = try await find([.allOf([.equals(field: "price", value: 20), .contains(field: "name", text: "an")])])
        XCTAssertEqual(both, ["p2"])
        let noneOf = try await find([.anyOf([])])
        XCTAssertEqual(noneOf, [])
        let all = try await find([.allOf([])])
        XCTAssertEqual(all, ["p1", "p2", "p3", "p4"])
    }

    func testOrderByFieldBreaksTiesByIdAndPutsMissingFieldsLast() async throws {
        let ascending = try await find([], order: [GraphOrder(field: "price")])
        XCTAssertEqual(ascending, ["p1", "p2", "p4", "p3"])
        let descending = try await find([], order: [GraphOrder(field: "price", descending: true)])
        XCTAssertEqual(descending, ["p3", "p2", "p4", "p1"])
        let byName = try await find([], order: [GraphOrder(field: "name")])
        XCTAssertEqual(byName.last, "p4", "no name: last")
        let byIdDescending = try await find([], order: [GraphOrder(field: "_id", descending: true)])
        XCTAssertEqual(byIdDescending, ["p4", "p3", "p2", "p1"])
    }

    func testExpandFiltersTheNodesReached() async throws {
        let cheap = try await graph.expand(db, from: [ref("Order/o1")], predicate: "contains", direction: .forward, targetClass: "Product",
                                           filters: [.range(field: "price", lower: nil, lowerInclusive: false, upper: 20, upperInclusive: true)],
                                           limit: 10)
        XCTAssertEqual(cheap.nodes.map(\.ref.instanceId), ["p1", "p2"])
        let orders = try await graph.expand(db, from: [ref("Product/p3")], predicate: "contains", direction: .reverse, targetClass: nil,
                                            filters: [.equals(field: "_id", value: "o1")], limit: 10)
        XCTAssertEqual(orders.nodes.map(\.ref.description), ["Order/o1"])
        let noOrder = try await graph.expand(db, from: [ref("Product/p3")], predicate: "contains", direction: .reverse, targetClass: nil,
                                             filters: [.not(.equals(field: "_id", value: "o1"))], limit: 10)
        XCTAssertEqual(noOrder.nodes, [])
    }
}
