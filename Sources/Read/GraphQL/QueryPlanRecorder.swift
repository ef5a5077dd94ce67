import Core
import Synchronization

/// The selection compiler. The validated operation is executed once in a planning pass (see
/// `GraphQLExecution`) whose resolvers call this recorder instead of reading data: every root field and
/// every relationship field, under its response key (so aliases are separate hops), reports its arguments
/// with variables already coerced. Because GraphQLSwift's own executor walks the selection, fragments,
/// inline fragments, `@skip`/`@include` and the merging of fields with the same response key are exactly
/// those the answering pass resolves — there is no second reading of the document that could drift.
///
/// In the planning pass every list holds one placeholder node, so each response-key path (`a.orders.product`,
/// list indexes dropped) is reported once; the answering pass finds its hop by the same path.
final class QueryPlanRecorder: Sendable {
    struct Root {
        let key: String
        let start: TraversalPlan.Start
        /// The most start nodes (the page size; 1 for `node(id:)`).
        let budget: Int
    }

    struct Hop {
        let path: String
        let parentPath: String
        let field: GraphQLModel.RelationshipField
        let filters: [GraphFilter]
        /// The most targets per parent (1 for a to-one field).
        let perSource: Int
    }

    private struct State {
        var roots: [String: Root] = [:]
        var hops: [String: Hop] = [:]
    }

    private let state = Mutex(State())

    func record(_ root: Root) { state.withLock { $0.roots[root.key] = root } }
    func record(_ hop: Hop) { state.withLock { $0.hops[hop.path] = hop } }

    var isEmpty: Bool { state.withLock { $0.roots.isEmpty } }

    /// One plan per root field. A hop's node budget is `perSource × the most nodes its parent level can
    /// hold`; the cost is the sum of those budgets over the tree, the root's page included, and bounds the
    /// answer. What a hop may *walk* is `walkLimit` (the largest cost allowed), not its budget: the graph
    /// stops at the walk limit before ordering, so a budget-sized walk would let one parent with many edges
    /// use it up and leave the other parents short. The per-parent cut (`perSourceLimit`) then keeps the
    /// answer within the budget.
    func compile(walkLimit: Int) -> CompiledQuery {
        let (roots, hops) = state.withLock { ($0.roots, $0.hops) }
        let children = Dictionary(grouping: hops.values, by: \.parentPath)
        var nextId = 0
        var compiled: [CompiledRoot] = []
        for root in roots.values.sorted(by: { $0.key < $1.key }) {
            var hopIds: [String: Int] = [:]
            var cost = root.budget
            func plans(under path: String, parentBudget: Int, level: Int, depth: inout Int) -> [HopPlan] {
                (children[path] ?? []).sorted { $0.path < $1.path }.map { hop in
                    let budget = saturating(parentBudget, times: hop.perSource)
                    cost = saturating(cost, plus: budget)
                    depth = max(depth, level)
                    let id = nextId
                    nextId += 1
                    hopIds[hop.path] = id
                    return HopPlan(id: id, predicate: hop.field.predicate, direction: hop.field.direction,
                                   targetClass: hop.field.targetClass, filters: hop.filters, limit: walkLimit,
                                   perSourceLimit: hop.perSource,
                                   hops: plans(under: hop.path, parentBudget: budget, level: level + 1, depth: &depth))
                }
            }
            var depth = 0
            let hopPlans = plans(under: root.key, parentBudget: root.budget, level: 1, depth: &depth)
            // The budgets bound the answer, so the executor's node cap never cuts it; its edge cap counts only
            // the edges kept, which the per-parent cuts already bound.
            let plan = TraversalPlan(start: root.start, hops: hopPlans, includeDocuments: true, maxNodes: cost, maxEdges: max(cost, walkLimit))
            compiled.append(CompiledRoot(key: root.key, plan: plan, hopIds: hopIds, depth: depth, cost: cost))
        }
        return CompiledQuery(roots: compiled)
    }
}

struct CompiledRoot: Sendable {
    let key: String
    let plan: TraversalPlan
    /// Response-key path of each relationship field → its hop id in `plan`.
    let hopIds: [String: Int]
    let depth: Int
    let cost: Int
}

struct CompiledQuery: Sendable {
    let roots: [CompiledRoot]
    var depth: Int { roots.map(\.depth).max() ?? 0 }
    var cost: Int { roots.reduce(0) { saturating($0, plus: $1.cost) } }
}

private func saturating(_ a: Int, times b: Int) -> Int {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max / 2 : min(product, Int.max / 2)
}

private func saturating(_ a: Int, plus b: Int) -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max / 2 : min(sum, Int.max / 2)
}
