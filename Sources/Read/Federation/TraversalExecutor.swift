import Core

/// Runs a `TraversalPlan` against the graph and document ports, level by level: the hops of one level run
/// concurrently, one graph call each, and the nodes a level adds get their documents in one call that
/// overlaps the next level's hops. Nothing is ever fetched per node.
///
/// With `hopsWithDocuments` (the graph and the documents in one database), the hops bring their nodes'
/// documents themselves: the levels below the start make no document call, and the last level's documents
/// no longer wait for a round trip of their own.
///
/// Failures: the start nodes' call failing throws; a hop failing is recorded (its sub-hops are skipped) and
/// the rest answers; a document call failing leaves its level's nodes MISSING with a warning.
public struct TraversalExecutor: Sendable {
    let graph: any GraphStore
    let documents: any DocumentStore
    let hopsWithDocuments: (any HopsWithDocuments)?

    public init(graph: any GraphStore, documents: any DocumentStore, hopsWithDocuments: (any HopsWithDocuments)? = nil) {
        self.graph = graph
        self.documents = documents
        self.hopsWithDocuments = hopsWithDocuments
    }

    public func run(_ database: String, _ plan: TraversalPlan, schema: OntologySchema) async throws(ReadModelError) -> TraversalResult {
        // The document reads are child tasks: they run where the request runs (its executor) and end with it.
        let outcome = await withTaskGroup(of: DocumentRead.self) { group in
            await traverse(database, plan, schema: schema, documentReads: &group)
        }
        return try outcome.get()
    }

    /// One level's documents, read by a child task.
    typealias DocumentRead = (depth: Int, documents: Result<[NodeRef: InstanceDocument], ReadModelError>)

    private func traverse(_ database: String, _ plan: TraversalPlan, schema: OntologySchema,
                          documentReads: inout TaskGroup<DocumentRead>) async -> Result<TraversalResult, ReadModelError> {
        let now = EventTimestamp.nowMilliseconds()
        var state = TraversalState(plan: plan)
        state.result.asOf = EventTimestamp.format(milliseconds: now)

        let roots: [GraphNode]
        switch await startNodes(database, plan.start, &state) {
        case .success(let found): roots = found
        case .failure(let error): return .failure(error)
        }
        var fetches = [DocumentFetch(depth: 0, nodes: state.accept(roots, depth: 0))]
        readDocuments(database, fetches[0], plan.includeDocuments, &state.result.calls, &documentReads)

        var frontier = plan.hops.map { (hop: $0, sources: state.result.roots) }
        var depth = 1
        while !frontier.isEmpty {
            let joined = plan.includeDocuments ? hopsWithDocuments : nil
            let walked = await expandAll(database, frontier.map { ($0.hop, $0.sources, state.versions(of: $0.sources)) },
                                         edgeBudget: state.edgeBudget, joined: joined)
            state.result.calls.graph += walked.count
            var next: [(hop: HopPlan, sources: [NodeRef])] = []
            var added: [GraphNode] = []
            var broughtDocuments: [NodeRef: InstanceDocument] = [:]
            for (hop, _) in frontier {
                guard let outcome = walked[hop.id] else { continue }
                switch outcome {
                case .failure(let error):
                    state.result.hopFailures[hop.id] = error
                    state.warn("hop_failed", "hop \(hop.id) (\(hop.predicate)) failed: \(error)")
                case .success(let (hopResult, documents)):
                    if broughtDocuments.isEmpty {
                        broughtDocuments = documents
                    } else {
                        broughtDocuments.merge(documents) { first, _ in first }
                    }
                    let reached = state.keep(hopResult, of: hop, depth: depth, budgetAtStart: walked.budget, added: &added)
                    next += hop.hops.map { (hop: $0, sources: reached) }
                }
            }
            let fetch = DocumentFetch(depth: depth, nodes: added, brought: joined == nil ? nil : broughtDocuments)
            if joined == nil { readDocuments(database, fetch, plan.includeDocuments, &state.result.calls, &documentReads) }
            fetches.append(fetch)
            frontier = next.filter { !$0.sources.isEmpty }
            depth += 1
        }

        var read: [Int: Result<[NodeRef: InstanceDocument], ReadModelError>] = [:]
        for await (depth, documents) in documentReads { read[depth] = documents }
        state.result.nodes.reserveCapacity(fetches.reduce(0) { $0 + $1.nodes.count })
        for fetch in fetches {
            state.resolve(fetch, read: read[fetch.depth], includeDocuments: plan.includeDocuments, schema: schema, now: now)
        }
        return .success(state.result)
    }

    // MARK: Steps

    private func startNodes(_ database: String, _ start: TraversalPlan.Start, _ state: inout TraversalState)
        async -> Result<[GraphNode], ReadModelError> {
        state.result.calls.graph += 1
        switch start {
        case .find(let classId, let filters, let order, let limit, let offset):
            // One more than the page tells whether another page exists.
            let found: [GraphNode]
            switch await Self.find(classId, filters, order, limit: limit + 1, offset: offset, database, graph) {
            case .success(let nodes): found = nodes
            case .failure(let error): return .failure(error)
            }
            state.result.rootsHaveMore = found.count > limit
            return .success(Array(found.prefix(limit)))
        case .nodes(let refs):
            let read: [GraphNode]
            switch await Self.nodes(refs, database, graph) {
            case .success(let nodes): read = nodes
            case .failure(let error): return .failure(error)
            }
            let byRef = Dictionary(read.map { ($0.ref, $0) }, uniquingKeysWith: { first, _ in first })
            var seen = Set<NodeRef>()
            return .success(refs.compactMap { seen.insert($0).inserted ? byRef[$0] : nil })
        }
    }

    /// A hop's edges and nodes, and the documents it brought (none without `hopsWithDocuments`).
    typealias HopOutcome = Result<(GraphHop, [NodeRef: InstanceDocument]), ReadModelError>

    private struct Walked {
        var outcomes: [Int: HopOutcome] = [:]
        let budget: Int
        var count: Int { outcomes.count }
        subscript(id: Int) -> HopOutcome? { outcomes[id] }
    }

    /// Every hop of a level at once; each may walk at most its own limit or the edges left, whichever is less.
    /// The sources go with the versions they were read at, so each hop follows the edges of those versions.
    private func expandAll(_ database: String, _ frontier: [(hop: HopPlan, sources: [NodeRef], versions: [Int])], edgeBudget: Int,
                           joined: (any HopsWithDocuments)?) async -> Walked {
        let graph = self.graph
        // A chain (the graph-query route) has one hop per level: a task group would only add a hand-off.
        if frontier.count == 1, let (hop, sources, versions) = frontier.first {
            var walked = Walked(budget: edgeBudget)
            walked.outcomes[hop.id] = await Self.walk(hop, from: sources, versions: versions, limit: min(hop.limit, edgeBudget), database,
                                                      graph, joined)
            return walked
        }
        return await withTaskGroup(of: (Int, HopOutcome).self) { group in
            for (hop, sources, versions) in frontier {
                group.addTask {
                    (hop.id, await Self.walk(hop, from: sources, versions: versions, limit: min(hop.limit, edgeBudget), database, graph, joined))
                }
            }
            var walked = Walked(budget: edgeBudget)
            for await (id, outcome) in group { walked.outcomes[id] = outcome }
            return walked
        }
    }

    /// Starts the level's document read as a child task, when there is one to make.
    private func readDocuments(_ database: String, _ fetch: DocumentFetch, _ requested: Bool, _ calls: inout BackendCalls,
                               _ group: inout TaskGroup<DocumentRead>) {
        guard requested, !fetch.nodes.isEmpty else { return }
        calls.documents += 1
        let documents = self.documents
        let refs = fetch.nodes.map(\.ref)
        let depth = fetch.depth
        group.addTask { (depth, await Self.read(refs, database, documents)) }
    }

    // A typed `do`/`catch` inside a task's closure miscompiles in release builds (Swift 6.3: the task's
    // result came back with a garbage hop id, so a hop's edges vanished). Plain functions are fine.

    private static func walk(_ hop: HopPlan, from sources: [NodeRef], versions: [Int], limit: Int, _ database: String,
                             _ graph: any GraphStore, _ joined: (any HopsWithDocuments)?) async -> HopOutcome {
        do throws(ReadModelError) {
            if let joined {
                let (walked, documents) = try await joined.expandWithDocuments(
                    database, from: sources, versions: versions, predicate: hop.predicate, direction: hop.direction,
                    targetClass: hop.targetClass, filters: hop.filters, limit: limit)
                return .success((walked, documents))
            }
            return .success((try await graph.expand(database, from: sources, versions: versions, predicate: hop.predicate,
                                                    direction: hop.direction, targetClass: hop.targetClass, filters: hop.filters,
                                                    limit: limit), [:]))
        } catch {
            return .failure(error)
        }
    }

    private static func find(_ classId: String, _ filters: [GraphFilter], _ order: [GraphOrder], limit: Int, offset: Int,
                             _ database: String, _ graph: any GraphStore) async -> Result<[GraphNode], ReadModelError> {
        do throws(ReadModelError) {
            return .success(try await graph.findNodes(database, classId: classId, filters: filters, order: order, limit: limit,
                                                      offset: offset))
        } catch {
            return .failure(error)
        }
    }

    private static func nodes(_ refs: [NodeRef], _ database: String, _ graph: any GraphStore) async -> Result<[GraphNode], ReadModelError> {
        do throws(ReadModelError) {
            return .success(try await graph.nodes(database, refs))
        } catch {
            return .failure(error)
        }
    }

    private static func read(_ refs: [NodeRef], _ database: String,
                             _ documents: any DocumentStore) async -> Result<[NodeRef: InstanceDocument], ReadModelError> {
        do throws(ReadModelError) {
            return .success(try await documents.documents(database, refs))
        } catch {
            return .failure(error)
        }
    }
}

/// One level's new nodes, and the documents their hops brought (nil: a child task reads them, if requested).
struct DocumentFetch {
    let depth: Int
    let nodes: [GraphNode]
    var brought: [NodeRef: InstanceDocument]?
}
