import XCTest
import Core
import Drivers
@testable import Read

/// One hop of the Postgres graph: direction, target class, live targets only, the limit.
final class GraphHopTests: ReadModelTestCase {
    func testExpandForwardAndReverseWithTargetClassRestriction() async throws {
        try await write(node("Order/o1", 4, ["total": 10]), node("Order/o2", 1, ["total": 20]), node("Refund/r1", 1),
                        node("Customer/c2", 1, edges: [("placed", "Order/o2")]))
        try await write(node("Customer/c1", 2, ["name": "Ann"], edges: [("placed", "Order/o1"), ("placed", "Order/o2"),
                                                                         ("placed", "Refund/r1"), ("knows", "Customer/c2")]))

        let toOrders = try await graph.expand(db, from: [ref("Customer/c1")], predicate: "placed", direction: .forward,
                                              targetClass: "Order", limit: 10)
        XCTAssertEqual(toOrders.edges, [GraphEdge(from: ref("Customer/c1"), predicate: "placed", to: ref("Order/o1")),
                                        GraphEdge(from: ref("Customer/c1"), predicate: "placed", to: ref("Order/o2"))])
        XCTAssertEqual(toOrders.nodes, [GraphNode(ref: ref("Order/o1"), version: 4, fields: ["total": 10]),
                                        GraphNode(ref: ref("Order/o2"), version: 1, fields: ["total": 20])])
        XCTAssertFalse(toOrders.truncated)

        let anyClass = try await graph.expand(db, from: [ref("Customer/c1")], predicate: "placed", direction: .forward,
                                              targetClass: nil, limit: 10)
        XCTAssertEqual(anyClass.nodes.map(\.ref.description), ["Order/o1", "Order/o2", "Refund/r1"])

        let placers = try await graph.expand(db, from: [ref("Order/o2")], predicate: "placed", direction: .reverse,
                                             targetClass: "Customer", limit: 10)
        XCTAssertEqual(edgeSet(placers), ["Customer/c1 -placed-> Order/o2", "Customer/c2 -placed-> Order/o2"])
        XCTAssertEqual(placers.nodes, [GraphNode(ref: ref("Customer/c1"), version: 2, fields: ["name": "Ann"]),
                                       GraphNode(ref: ref("Customer/c2"), version: 1)])

        let wrongClass = try await graph.expand(db, from: [ref("Order/o2")], predicate: "placed", direction: .reverse,
                                                targetClass: "Supplier", limit: 10)
        XCTAssertEqual(wrongClass, GraphHop(edges: [], nodes: [], truncated: false))
        let otherPredicate = try await graph.expand(db, from: [ref("Customer/c1")], predicate: "knows", direction: .forward,
                                                    targetClass: nil, limit: 10)
        XCTAssertEqual(otherPredicate.nodes.map(\.ref.description), ["Customer/c2"])
    }

    func testExpandSkipsDeletedAndMissingTargets() async throws {
        try await write(node("Product/p1", 1), node("Product/p2", 1))
        try await write(node("Order/o1", 1, edges: [("contains", "Product/p1"), ("contains", "Product/p2"),
                                                     ("contains", "Product/not_projected_yet")]))
        try await write(node("Order/o2", 1, edges: [("contains", "Product/p1")]))
        _ = try await graph.deleteNodes(db, [(ref: ref("Product/p2"), version: 2), (ref: ref("Order/o2"), version: 2)])

        let forward = try await graph.expand(db, from: [ref("Order/o1")], predicate: "contains", direction: .forward,
                                             targetClass: "Product", limit: 10)
        XCTAssertEqual(edgeSet(forward), ["Order/o1 -contains-> Product/p1"])
        XCTAssertEqual(forward.nodes.map(\.ref.description), ["Product/p1"])

        let reverse = try await graph.expand(db, from: [ref("Product/p1")], predicate: "contains", direction: .reverse,
                                             targetClass: "Order", limit: 10)
        XCTAssertEqual(edgeSet(reverse), ["Order/o1 -contains-> Product/p1"], "the deleted order is not reached")

        // The edge to the missing node is kept: once the node is projected, the hop reaches it.
        try await write(node("Product/not_projected_yet", 1))
        let later = try await graph.expand(db, from: [ref("Order/o1")], predicate: "contains", direction: .forward,
                                           targetClass: "Product", limit: 10)
        XCTAssertEqual(later.nodes.map(\.ref.instanceId), ["not_projected_yet", "p1"])
    }

    func testLimitCutsEdgesAndSetsTruncated() async throws {
        let products = (1...5).map { "Product/p\($0)" }
        for product in products { try await write(node(product, 1)) }
        try await write(node("Order/o1", 1, edges: products.map { ("contains", $0) }))
        try await write(node("Order/o2", 1, edges: [("contains", "Product/p1")]))

        let exact = try await graph.expand(db, from: [ref("Order/o1")], predicate: "contains", direction: .forward, targetClass: nil, limit: 5)
        XCTAssertEqual(exact.edges.count, 5)
        XCTAssertFalse(exact.truncated, "exactly limit edges is not truncation")

        let cut = try await graph.expand(db, from: [ref("Order/o1")], predicate: "contains", direction: .forward, targetClass: nil, limit: 3)
        XCTAssertEqual(cut.edges.count, 3)
        XCTAssertEqual(cut.nodes.count, 3)
        XCTAssertTrue(cut.truncated)
        XCTAssertEqual(Set(cut.edges.map(\.to)), Set(cut.nodes.map(\.ref)), "nodes are those the kept edges reach")

        let reverse = try await graph.expand(db, from: [ref("Product/p1")], predicate: "contains", direction: .reverse, targetClass: nil, limit: 1)
        XCTAssertEqual(reverse.edges.count, 1)
        XCTAssertTrue(reverse.truncated)

        let none = try await graph.expand(db, from: [ref("Order/o1")], predicate: "contains", direction: .forward, targetClass: nil, limit: 0)
        XCTAssertEqual(none, GraphHop(edges: [], nodes: [], truncated: true))
        let noStart = try await graph.expand(db, from: [], predicate: "contains", direction: .forward, targetClass: nil, limit: 10)
        XCTAssertEqual(noStart, GraphHop(edges: [], nodes: [], truncated: false))
    }

    func testANodeReachedTwiceIsListedOnceAndRepeatedStartsCountOnce() async throws {
        try await write(node("Product/p1", 1))
        try await write(node("Order/o1", 1, edges: [("contains", "Product/p1")]), node("Order/o2", 1, edges: [("contains", "Product/p1")]))
        let hop = try await graph.expand(db, from: [ref("Order/o2"), ref("Order/o1"), ref("Order/o1")], predicate: "contains",
                                         direction: .forward, targetClass: "Product", limit: 10)
        XCTAssertEqual(hop.edges.map(\.from.instanceId), ["o1", "o2"])
        XCTAssertEqual(hop.nodes.map(\.ref.description), ["Product/p1"])
    }

    /// The read path's shape: a thousand start nodes, one call (one statement, see GraphHopSQL), both ways.
    func testExpandFromAThousandStartNodes() async throws {
        let products = (0..<50).map { node("Product/p\($0)", 1, ["sku": .string("sku-\($0)")]) }
        _ = try await graph.upsertNodes(db, products)
        let orders = (0..<1000).map { index in
            node("Order/o\(index)", 1, edges: [("contains", "Product/p\(index % 50)"), ("contains", "Product/p\((index * 7 + 1) % 50)")])
        }
        _ = try await graph.upsertNodes(db, orders)

        let starts = orders.map(\.node.ref) + [ref("Order/never_written")]
        let hop = try await graph.expand(db, from: starts, predicate: "contains", direction: .forward, targetClass: "Product", limit: 5000)
        let expected = Set(orders.flatMap(\.edges))
        XCTAssertEqual(hop.edges.count, expected.count)
        XCTAssertEqual(Set(hop.edges), expected)
        XCTAssertEqual(Set(hop.nodes.map(\.ref)), Set(products.map(\.node.ref)))
        XCTAssertEqual(hop.nodes.count, 50)
        XCTAssertEqual(hop.nodes.first(where: { $0.ref == self.ref("Product/p7") })?.fields, ["sku": "sku-7"])
        XCTAssertFalse(hop.truncated)

        let back = try await graph.expand(db, from: products.map(\.node.ref), predicate: "contains", direction: .reverse,
                                          targetClass: "Order", limit: 5000)
        XCTAssertEqual(Set(back.edges), expected)
        XCTAssertEqual(back.nodes.count, 1000)

        let capped = try await graph.expand(db, from: starts, predicate: "contains", direction: .forward, targetClass: "Product", limit: 100)
        XCTAssertEqual(capped.edges.count, 100)
        XCTAssertTrue(capped.truncated)
    }

    func testAForwardHopFromKnownVersionsFollowsTheEdgesOfThoseVersions() async throws {
        try await write(node("Product/p1", 1), node("Product/p2", 1))
        try await write(node("Order/o1", 1, edges: [("contains", "Product/p1")]))
        try await write(node("Order/o1", 2, edges: [("contains", "Product/p2")]))

        let current = try await graph.expand(db, from: [ref("Order/o1")], versions: [2], predicate: "contains", direction: .forward,
                                             targetClass: nil, filters: [], limit: 10)
        XCTAssertEqual(current.nodes.map(\.ref.instanceId), ["p2"])
        let older = try await graph.expand(db, from: [ref("Order/o1")], versions: [1], predicate: "contains", direction: .forward,
                                           targetClass: nil, filters: [], limit: 10)
        XCTAssertEqual(older.edges, [], "the edges of version 1 were replaced")
        let repeated = try await graph.expand(db, from: [ref("Order/o1"), ref("Order/o1")], versions: [2, 1], predicate: "contains",
                                              direction: .forward, targetClass: nil, filters: [], limit: 10)
        XCTAssertEqual(repeated.nodes.map(\.ref.instanceId), ["p2"], "a repeated start keeps its first version")
        let reverse = try await graph.expand(db, from: [ref("Product/p2")], versions: [7], predicate: "contains", direction: .reverse,
                                             targetClass: nil, filters: [], limit: 10)
        XCTAssertEqual(reverse.nodes.map(\.ref.description), ["Order/o1"], "reverse, the owner is the node reached: versions do not apply")
    }
}
