import XCTest
import Core
@testable import Read

/// The selection compiled into traversal plans: one hop per relationship field per response key, with
/// arguments from literals or variables, fragments followed, @skip/@include honoured, budgets multiplied
/// down the tree — and the depth and cost limits refusing a query before any graph or document call.
final class GraphQLCompileTests: GraphQLTestCase {
    override func setUp() async throws {
        try await super.setUp()
        try await defineShop()
    }

    private func hops(_ plan: TraversalPlan) -> [HopPlan] {
        var all: [HopPlan] = []
        func walk(_ hops: [HopPlan]) { for hop in hops { all.append(hop); walk(hop.hops) } }
        walk(plan.hops)
        return all
    }

    func testRootArgumentsBecomeTheStartAndEachRelationshipOneHop() async throws {
        let compiled = try await compile("""
            { Customer(filter: {name: {eq: "Ann"}, age: {gte: 18, lt: 65}}, orderBy: [{field: age, direction: DESC}], limit: 20, offset: 40) {
                name owns(limit: 5, filter: {active: {eq: true}}) { name } } }
            """)
        let root = try XCTUnwrap(compiled?.roots.first)
        XCTAssertEqual(root.key, "Customer")
        guard case .find(let classId, let filters, let order, let limit, let offset) = root.plan.start else { return XCTFail("\(root.plan.start)") }
        XCTAssertEqual(classId, "Customer")
        XCTAssertEqual(filters, [.equals(field: "name", value: "Ann"),
                                 .range(field: "age", lower: 18, lowerInclusive: true, upper: nil, upperInclusive: false),
                                 .range(field: "age", lower: nil, lowerInclusive: false, upper: 65, upperInclusive: false)])
        XCTAssertEqual(order, [GraphOrder(field: "age", descending: true)])
        XCTAssertEqual(limit, 20)
        XCTAssertEqual(offset, 40)
        let owns = try XCTUnwrap(root.plan.hops.first)
        XCTAssertEqual(owns.predicate, "owned_by")
        XCTAssertEqual(owns.direction, .reverse, "owns is the inverse of Product.owned_by")
        XCTAssertEqual(owns.targetClass, "Product")
        XCTAssertEqual(owns.filters, [.equals(field: "active", value: true)])
        XCTAssertEqual(owns.perSourceLimit, 5)
        XCTAssertEqual(owns.limit, limits.maxCost, "a hop may walk the whole budget, so no parent starves the others")
        XCTAssertEqual(root.cost, 120, "20 customers + 5 products for each")
        XCTAssertEqual(root.depth, 1)
    }

    func testAliasesAreSeparateHopsAndRootsSeparatePlans() async throws {
        let maybe = try await compile("""
            { cheap: Product(filter: {price: {lt: 50}}) { owner: owned_by { name } again: owned_by { age } }
              dear: Product(filter: {price: {gte: 50}}, limit: 3) { owned_by { name } } }
            """)
        let compiled = try XCTUnwrap(maybe)
        XCTAssertEqual(compiled.roots.map(\.key), ["cheap", "dear"])
        XCTAssertEqual(Set(compiled.roots[0].hopIds.keys), ["cheap.owner", "cheap.again"])
        XCTAssertEqual(hops(compiled.roots[0].plan).map(\.predicate), ["owned_by", "owned_by"])
        XCTAssertEqual(hops(compiled.roots[0].plan).map(\.perSourceLimit), [1, 1], "to-one fields keep one target")
        XCTAssertEqual(Set(compiled.roots[1].hopIds.keys), ["dear.owned_by"])
        XCTAssertEqual(compiled.roots[1].cost, 6)
        XCTAssertEqual(compiled.cost, 300 + 6)
    }

    func testFragmentsVariablesAndDirectivesAreFollowed() async throws {
        let text = """
            query Shop($limit: Int!, $withOwner: Boolean!, $skipItems: Boolean!, $name: String) {
              Order(limit: $limit) {
                ...OrderParts
                ... on Order { placed_by @include(if: $withOwner) { name } }
                items(limit: 7) @skip(if: $skipItems) { name }
              }
              node(id: "Customer/c1") { ... on Customer { owns(filter: {name: {eq: $name}}) { name } } }
            }
            fragment OrderParts on Order { total items(limit: 7) { ...ProductParts } }
            fragment ProductParts on Product { owned_by { name } }
            """
        let compiledAll = try await compile(text, variables: ["limit": 10, "withOwner": true, "skipItems": false, "name": "Lamp"])
        let all = try XCTUnwrap(compiledAll)
        let order = try XCTUnwrap(all.roots.first { $0.key == "Order" })
        XCTAssertEqual(Set(order.hopIds.keys), ["Order.items", "Order.items.owned_by", "Order.placed_by"])
        // Fields with the same response key merge (the spec's CollectFields): `items` is one hop whose
        // sub-selection joins both occurrences'.
        let items = try XCTUnwrap(order.plan.hops.first { $0.predicate == "items" })
        XCTAssertEqual(items.perSourceLimit, 7)
        XCTAssertEqual(items.hops.map(\.predicate), ["owned_by"])
        guard case .find(_, _, _, let limit, _) = order.plan.start else { return XCTFail() }
        XCTAssertEqual(limit, 10, "from the variable")
        let node = try XCTUnwrap(all.roots.first { $0.key == "node" })
        guard case .nodes(let refs) = node.plan.start else { return XCTFail() }
        XCTAssertEqual(refs, [ref("Customer/c1")])
        XCTAssertEqual(node.plan.hops.first?.filters, [.equals(field: "name", value: "Lamp")])

        let compiledTrimmed = try await compile(text.replacingOccurrences(of: "total items(limit: 7) { ...ProductParts }", with: "total")
                                                    .replacingOccurrences(of: "fragment ProductParts on Product { owned_by { name } }", with: ""),
                                                variables: ["limit": 10, "withOwner": false, "skipItems": true])
        let trimmed = try XCTUnwrap(compiledTrimmed)
        XCTAssertEqual(Set(trimmed.roots.first { $0.key == "Order" }!.hopIds.keys), [], "skipped and excluded fields make no hop")
    }

    func testBadArgumentsAndBadVariablesAreRefusedBeforeAnyDataCall() async throws {
        countingGraph.resetCalls()
        let tooMany = try await query("{ Customer(limit: 5000) { name } }")
        XCTAssertFalse(tooMany.hasData)
        XCTAssertEqual(codes(tooMany.body), ["BAD_USER_INPUT"])
        XCTAssertEqual(errors(tooMany.body).first?["path"], ["Customer"])

        let badVariable = try await query("query($n: Int) { Customer(limit: $n) { name } }", variables: ["n": "ten"])
        XCTAssertFalse(badVariable.hasData)
        XCTAssertTrue(errors(badVariable.body).first?["message"]?.stringValue?.contains("$n") ?? false, "\(badVariable.body)")

        let badId = try await query(#"{ node(id: "no-slash") { _id } }"#)
        XCTAssertEqual(codes(badId.body), ["BAD_USER_INPUT"])
        let badDate = try await query(#"{ Customer(filter: {joined: {gt: "yesterday"}}) { name } }"#)
        XCTAssertFalse(badDate.hasData, "a DateTime filter value is checked like a stored one")

        XCTAssertEqual(countingGraph.dataCalls, 0)
        XCTAssertEqual(countingDocuments.documentCalls, 0)
    }

    func testDepthAndCostLimitsRefuseBeforeAnyDataCall() async throws {
        limits.maxDepth = 2
        limits.maxCost = 1_000
        makeService()
        countingGraph.resetCalls()

        let deep = try await query("{ Order(limit: 1) { items(limit: 1) { owned_by { owns(limit: 1) { name } } } } }")
        XCTAssertFalse(deep.hasData)
        XCTAssertEqual(codes(deep.body), ["QUERY_TOO_DEEP"])
        XCTAssertEqual(errors(deep.body).first?["extensions"]?["depth"], 3)
        XCTAssertEqual(errors(deep.body).first?["extensions"]?["maxDepth"], 2)

        let costly = try await query("{ Customer(limit: 100) { owns(limit: 20) { name } } }")
        XCTAssertFalse(costly.hasData)
        XCTAssertEqual(codes(costly.body), ["QUERY_TOO_COSTLY"])
        XCTAssertEqual(errors(costly.body).first?["extensions"]?["cost"], 2_100)
        XCTAssertEqual(errors(costly.body).first?["extensions"]?["maxCost"], 1_000)

        let both = try await query("{ a: Order(limit: 100) { items(limit: 100) { owned_by { owns(limit: 1) { name } } } } }")
        XCTAssertEqual(codes(both.body), ["QUERY_TOO_DEEP", "QUERY_TOO_COSTLY"])

        let nested = String(repeating: "{", count: 500) + String(repeating: "}", count: 500)
        let hostile = try await query(nested)
        XCTAssertEqual(codes(hostile.body), ["QUERY_TOO_DEEP"], "bracket nesting is refused before parsing")

        XCTAssertEqual(countingGraph.dataCalls, 0, "no node or edge was read: \(countingGraph.calls)")
        XCTAssertEqual(countingDocuments.documentCalls, 0)

        let within = try await query("{ Customer(limit: 10) { owns(limit: 20) { name } } }")
        XCTAssertTrue(within.hasData, "\(within.body)")
        XCTAssertEqual(within.body["extensions"]?["cost"]?["cost"], 210)
    }
}
