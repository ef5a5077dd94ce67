import Core

/// `POST /api/v1/graph-query/{db}`: checks the request against the ontology, runs it as a chain plan on the
/// federation executor, applies the walk rules (no_cycles, paths), and shapes the answer.
///
/// Failures: an unknown database is a 404; the graph failing (start nodes or any hop) is a 503, or a 502
/// when it answered garbage — never an empty 200; the documents failing leaves nodes MISSING with a warning.
public struct GraphQueryEngine: Sendable {
    let snapshots: OntologySnapshots
    let executor: TraversalExecutor

    public init(snapshots: OntologySnapshots, executor: TraversalExecutor) {
        self.snapshots = snapshots
        self.executor = executor
    }

    /// The answer as JSON bytes.
    public func run(_ database: String, _ request: GraphQueryRequest) async throws(Problem) -> [UInt8] {
        try await snapshots.withCurrent(database, loadFailure: { Self.problem($0, part: "the graph") }) {
            snapshot, schemaCalls throws(Problem) in
            try await answer(database, request, snapshot: snapshot, schemaCalls: schemaCalls)
        }
    }

    private func answer(_ database: String, _ request: GraphQueryRequest, snapshot: OntologySnapshot?, schemaCalls: Int)
        async throws(Problem) -> [UInt8] {
        guard let snapshot else {
            throw Problem(status: 404, code: "database_not_found", detail: "database '\(database)' has no graph (unknown, or not created yet)",
                          field: "path.db")
        }
        let (plan, resolvedHops) = try GraphQueryPlanner.plan(request, schema: snapshot.schema)
        var result = try await Self.readingGraph { () async throws(ReadModelError) in
            try await executor.run(database, plan, schema: snapshot.schema)
        }
        result.calls.schema += schemaCalls
        if let (hop, error) = result.hopFailures.min(by: { $0.key < $1.key }) {
            throw Self.problem(error, part: "hop \(hop - 1) (\(resolvedHops[hop - 1].predicate))")
        }

        let chain = Self.chain(plan)
        if resolvedHops.count < request.hops.count {
            result.warnings.append(QueryWarning(code: "path_depth_limit_reached",
                                                detail: "path_depth_limit=\(request.pathDepthLimit ?? 0) walked \(resolvedHops.count) of \(request.hops.count) hops"))
        }
        let walks = WalkAnalysis(result, hops: chain, noCycles: request.noCycles, collectPaths: request.includePaths,
                                 maxPaths: request.maxPaths)
        if request.noCycles {
            let removed = walks.prune(&result, hops: chain)
            if removed > 0 {
                result.warnings.append(QueryWarning(code: "cycle_filtered",
                                                    detail: "no_cycles removed \(removed) edges that only led back to a node already on the path"))
            }
            result.summary = Self.summary(of: result)
        }
        if walks.pathsCut {
            result.warnings.append(QueryWarning(code: "path_limit_reached", detail: "max_paths=\(request.maxPaths) cut the paths"))
        }
        if walks.budgetExhausted {
            result.warnings.append(QueryWarning(code: "walk_budget_exhausted",
                                                detail: "more than \(WalkAnalysis.defaultStepBudget) walk steps: paths and the cycle check cover a part of the answer"))
        }
        return GraphQueryResponse(request: request, database: database, schema: snapshot.schema, result: result, chain: chain,
                                  paths: request.includePaths ? walks.paths : nil).bytes
    }

    /// The chain's hops in order.
    static func chain(_ plan: TraversalPlan) -> [HopPlan] {
        var hops: [HopPlan] = []
        var next = plan.hops.first
        while let hop = next {
            hops.append(hop)
            next = hop.hops.first
        }
        return hops
    }

    static func summary(of result: TraversalResult) -> IndexSummary {
        var summary = IndexSummary()
        for node in result.nodes.values { summary.count(node.status, node.indexStatus) }
        return summary
    }

    private static func readingGraph<T>(_ body: () async throws(ReadModelError) -> T) async throws(Problem) -> T {
        do {
            return try await body()
        } catch {
            throw problem(error, part: "the graph")
        }
    }

    static func problem(_ error: ReadModelError, part: String) -> Problem {
        switch error {
        case .unavailable(let why):
            Problem(status: 503, code: "graph_unavailable", detail: "\(part) could not be read: \(why)", extensions: ["retryable": .bool(true)])
        case .invalidResponse(let why):
            Problem(status: 502, code: "graph_invalid_response", detail: "\(part) answered something unreadable: \(why)")
        case .notFound(let what):
            Problem(status: 404, code: "not_found", detail: "\(what) does not exist")
        }
    }
}
