import Core

/// Walks over a chain's answer: start node → hop 1 target → hop 2 target … Used for the two things that
/// depend on whole walks rather than levels: `paths`, and `no_cycles`, which keeps a node or edge only when
/// some walk reaches it without visiting a node twice.
///
/// Walks are enumerated depth first, so the work is bounded by `stepBudget` edge visits; when it runs out
/// the answer keeps what was proven so far and says so.
struct WalkAnalysis {
    struct Path: Equatable {
        var nodes: [NodeRef]
        var edges: [GraphEdge]
    }

    /// What no_cycles keeps: per hop id, the (source, target) steps on an acyclic walk; and the nodes.
    var keptSteps: [Int: Set<Step>] = [:]
    var keptNodes = Set<NodeRef>()
    var paths: [Path] = []
    var pathsCut = false
    var budgetExhausted = false

    struct Step: Hashable {
        let source: NodeRef
        let target: NodeRef
    }

    static let defaultStepBudget = 200_000

    init(_ result: TraversalResult, hops: [HopPlan], noCycles: Bool, collectPaths: Bool, maxPaths: Int,
         stepBudget: Int = WalkAnalysis.defaultStepBudget) {
        guard noCycles || collectPaths else { return }
        var edgeOf: [Int: [Step: GraphEdge]] = [:]
        for hop in hops {
            for edge in result.edges[hop.id] ?? [] {
                let step = hop.direction == .forward ? Step(source: edge.from, target: edge.to) : Step(source: edge.to, target: edge.from)
                edgeOf[hop.id, default: [:]][step] = edge
            }
        }
        var walker = Walker(result: result, hops: hops, edgeOf: edgeOf, noCycles: noCycles, collectPaths: collectPaths,
                            maxPaths: maxPaths, stepsLeft: stepBudget)
        for root in result.roots {
            keptNodes.insert(root)
            guard walker.walk(Path(nodes: [root], edges: []), level: 0, into: &self) else { break }
        }
    }

    /// The recursion, with what it reads and its budget.
    private struct Walker {
        let result: TraversalResult
        let hops: [HopPlan]
        let edgeOf: [Int: [Step: GraphEdge]]
        let noCycles: Bool
        let collectPaths: Bool
        let maxPaths: Int
        var stepsLeft: Int

        /// False when the walk must stop altogether (budget spent, or all paths found and nothing else to prove).
        mutating func walk(_ path: Path, level: Int, into analysis: inout WalkAnalysis) -> Bool {
            guard level < hops.count else {
                if collectPaths {
                    if analysis.paths.count < maxPaths { analysis.paths.append(path) } else { analysis.pathsCut = true }
                }
                // Without no_cycles, the walk only collects paths: one past the limit proves the cut, then stop.
                return noCycles || !analysis.pathsCut
            }
            let hop = hops[level], source = path.nodes[path.nodes.count - 1]
            for target in result.targets[hop.id]?[source] ?? [] {
                guard stepsLeft > 0 else {
                    analysis.budgetExhausted = true
                    return false
                }
                stepsLeft -= 1
                if noCycles && path.nodes.contains(target) { continue }
                let step = Step(source: source, target: target)
                analysis.keptSteps[hop.id, default: []].insert(step)
                analysis.keptNodes.insert(target)
                var longer = path
                longer.nodes.append(target)
                if let edge = edgeOf[hop.id]?[step] { longer.edges.append(edge) }
                guard walk(longer, level: level + 1, into: &analysis) else { return false }
            }
            return true
        }
    }

    /// The result with only what an acyclic walk reaches; returns how many edges went.
    func prune(_ result: inout TraversalResult, hops: [HopPlan]) -> Int {
        var removed = 0
        for hop in hops {
            let kept = keptSteps[hop.id] ?? []
            let before = result.edges[hop.id]?.count ?? 0
            result.edges[hop.id] = result.edges[hop.id]?.filter {
                kept.contains(hop.direction == .forward ? Step(source: $0.from, target: $0.to) : Step(source: $0.to, target: $0.from))
            }
            removed += before - (result.edges[hop.id]?.count ?? 0)
            var targets: [NodeRef: [NodeRef]] = [:]
            for (source, reached) in result.targets[hop.id] ?? [:] {
                let remaining = reached.filter { kept.contains(Step(source: source, target: $0)) }
                if !remaining.isEmpty { targets[source] = remaining }
            }
            result.targets[hop.id] = targets
        }
        result.nodes = result.nodes.filter { keptNodes.contains($0.key) }
        return removed
    }
}
