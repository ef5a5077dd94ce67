import Core
import GraphQL

/// One GraphQL request as the HTTP layer hands it over.
public struct GraphQLRequest: Sendable {
    public var query: String
    public var variables: [String: JSONValue]
    public var operationName: String?
    /// GET requests may only run queries (GraphQL over HTTP).
    public var queriesOnly: Bool

    public init(query: String, variables: [String: JSONValue] = [:], operationName: String? = nil, queriesOnly: Bool = false) {
        self.query = query
        self.variables = variables
        self.operationName = operationName
        self.queriesOnly = queriesOnly
    }
}

/// A GraphQL response body. Without `data` it is a request error (the document did not parse or validate,
/// the variables did not fit, or the limits refused it): nothing was executed.
public struct GraphQLResponse: Sendable {
    public let hasData: Bool
    public let body: [UInt8]
}

/// Runs GraphQL requests against one database's generated schema. A request goes: snapshot of the ontology
/// → cached schema → parse and validate → planning pass (the selection compiled to one traversal plan per
/// root field) → depth and cost check → the traversals, concurrently → answering pass (resolvers read the
/// traversals) → response with extensions. Problems (unknown database, a store down before anything could
/// run) are thrown for the HTTP layer to answer.
public struct GraphQLService: Sendable {
    let snapshots: OntologySnapshots
    let executor: TraversalExecutor
    let limits: GraphQLLimits
    public let cache: GraphQLSchemaCache
    /// False makes every answer go through GraphQLSwift's executor: the tests compare the two paths.
    let answersByWalking: Bool
    private let preparedQueries = PreparedQueries()

    public init(graph: any GraphStore, executor: TraversalExecutor, limits: GraphQLLimits, cache: GraphQLSchemaCache? = nil) {
        self.init(graph: graph, executor: executor, limits: limits, cache: cache, answersByWalking: true)
    }

    init(graph: any GraphStore, executor: TraversalExecutor, limits: GraphQLLimits, cache: GraphQLSchemaCache?, answersByWalking: Bool) {
        snapshots = OntologySnapshots(graph: graph)
        self.executor = executor
        self.limits = limits
        self.cache = cache ?? GraphQLSchemaCache(limits: limits)
        self.answersByWalking = answersByWalking
    }

    public func run(database: String, _ request: GraphQLRequest) async throws(Problem) -> GraphQLResponse {
        try await snapshots.withCurrent(database, loadFailure: Self.ontologyUnavailable(database)) {
            snapshot, calls throws(Problem) in
            try await run(database, request, snapshot: snapshot, schemaCalls: calls)
        }
    }

    private func run(_ database: String, _ request: GraphQLRequest, snapshot: OntologySnapshot?, schemaCalls: Int)
        async throws(Problem) -> GraphQLResponse {
        let prepared: Prepared
        switch try await prepare(database: database, request, snapshot: snapshot, schemaCalls: schemaCalls) {
        case .answered(let response): return response
        case .ready(let ready): prepared = ready
        }
        let roots = await traverse(database, prepared.compiled, schema: prepared.ontology)
        let answered = try await answer(prepared, roots, request.operationName)
        return GraphQLResponse(hasData: answered.data != nil, body: GraphQLResponseWriter.body(
            data: answered.data, errors: sorted(answered.errors + GraphQLResultAssembly.documentErrors(roots)),
            extensions: GraphQLResultAssembly.extensions(prepared.compiled, roots, schemaVersion: prepared.entry.version,
                                                          schemaCalls: prepared.schemaCalls, limits: limits)))
    }

    /// The answering pass: the fast walk, or GraphQLSwift's executor when the query also asks for introspection.
    private func answer(_ prepared: Prepared, _ roots: [String: AnsweringContext.Root], _ operationName: String?)
        async throws(Problem) -> (data: Map?, errors: [GraphQLError]) {
        if answersByWalking, var answerer = GraphQLAnswerer(model: prepared.entry.model, document: prepared.document, operationName: operationName,
                                          variables: prepared.variables, roots: roots),
           let data = answerer.answer() {
            return (data, answerer.errors)
        }
        let answered = try await execute(prepared.entry.schema, prepared.document, AnsweringContext(roots: roots), prepared.variables,
                                         operationName)
        return (answered.data, answered.errors)
    }

    /// A request ready to run: its plans compiled and within the limits.
    struct Prepared {
        let entry: GraphQLSchemaCache.Entry
        let ontology: OntologySchema
        /// Graph calls it took to check the ontology (1 when the cached snapshot was current, else 2).
        let schemaCalls: Int
        let document: Document
        let variables: [String: Map]
        let compiled: CompiledQuery
    }

    enum Preparation {
        /// Refused, or answered without touching the stores (introspection only).
        case answered(GraphQLResponse)
        case ready(Prepared)
    }

    /// `prepare` on a freshly loaded snapshot (for tests that look at the compiled plans).
    func prepare(database: String, _ request: GraphQLRequest) async throws(Problem) -> Preparation {
        let loaded: (snapshot: OntologySnapshot?, calls: Int)
        do throws(ReadModelError) {
            loaded = try await snapshots.load(database)
        } catch {
            throw Self.ontologyUnavailable(database)(error)
        }
        return try await prepare(database: database, request, snapshot: loaded.snapshot, schemaCalls: loaded.calls)
    }

    /// Everything before the first graph or document call: schema, parse, validation, planning pass, limits.
    func prepare(database: String, _ request: GraphQLRequest, snapshot: OntologySnapshot?, schemaCalls: Int)
        async throws(Problem) -> Preparation {
        guard request.query.utf8.count <= limits.maxQueryBytes else {
            throw Problem(status: 413, code: "query_too_large",
                          detail: "the query is \(request.query.utf8.count) bytes; at most \(limits.maxQueryBytes) are accepted (SPICE_GRAPHQL_MAX_QUERY_BYTES)",
                          field: "query")
        }
        if let nesting = QueryTextCheck.nestingBeyond(limits.maxNesting, in: request.query) {
            return refused([GraphQLError(message: "the query nests brackets \(nesting) deep; at most \(limits.maxNesting) are accepted",
                                         extensions: ["code": "QUERY_TOO_DEEP", "nesting": .int(nesting), "maxNesting": .int(limits.maxNesting)])])
        }
        let (entry, ontology) = try schema(database, snapshot)

        let known = preparedQueries.document(schemaVersion: entry.version, query: request.query)
        let document: Document
        if let known {
            document = known
        } else {
            do {
                document = try parse(source: Source(body: request.query, name: "GraphQL request"))
            } catch {
                return refused([error as? GraphQLError ?? GraphQLError(message: "\(error)")])
            }
        }
        if request.queriesOnly, let operation = Self.operation(document, named: request.operationName), operation.operation != .query {
            throw Problem(status: 405, code: "method_not_allowed", detail: "only queries may be sent with GET; send \(operation.operation.rawValue)s with POST",
                          extensions: ["allow": ["POST"]])
        }
        if known == nil {
            let invalid = validate(schema: entry.schema, ast: document)
            guard invalid.isEmpty else { return refused(invalid) }
            preparedQueries.remember(document, schemaVersion: entry.version, query: request.query)
        }
        let variables = request.variables.mapValues(GraphQLValues.map)
        if let compiled = preparedQueries.plan(schemaVersion: entry.version, request) {
            return .ready(Prepared(entry: entry, ontology: ontology, schemaCalls: schemaCalls, document: document, variables: variables,
                                   compiled: compiled))
        }

        let recorder = QueryPlanRecorder()
        let planned = try await execute(entry.schema, document, PlanningContext(recorder: recorder), variables, request.operationName)
        guard planned.data != nil, planned.errors.isEmpty else { return refused(sorted(planned.errors)) }
        // Only introspection and __typename: the planning pass is the answer, and no store was touched.
        guard !recorder.isEmpty else {
            return .answered(GraphQLResponse(hasData: true, body: GraphQLResponseWriter.body(
                data: planned.data, errors: [],
                extensions: GraphQLResultAssembly.extensions(nil, [:], schemaVersion: entry.version, schemaCalls: schemaCalls, limits: limits))))
        }

        let compiled = recorder.compile(walkLimit: limits.maxCost)
        let overBudget = QueryBudget.check(compiled, limits)
        guard overBudget.isEmpty else {
            return refused(overBudget, extensions: GraphQLResultAssembly.extensions(compiled, [:], schemaVersion: entry.version,
                                                                                      schemaCalls: schemaCalls, limits: limits))
        }
        preparedQueries.remember(compiled, schemaVersion: entry.version, request)
        return .ready(Prepared(entry: entry, ontology: ontology, schemaCalls: schemaCalls, document: document, variables: variables, compiled: compiled))
    }

    // MARK: Steps

    static func ontologyUnavailable(_ database: String) -> (ReadModelError) -> Problem {
        { error in Problem(status: 503, code: "read_model_unavailable", detail: "the ontology of '\(database)' could not be read: \(error)") }
    }

    /// The ontology's schema (cached by the snapshot's fingerprint).
    private func schema(_ database: String, _ snapshot: OntologySnapshot?) throws(Problem) -> (GraphQLSchemaCache.Entry, OntologySchema) {
        guard let snapshot else { throw Problem.notFound("no database '\(database)'") }
        do {
            return (try cache.schema(for: database, snapshot), snapshot.schema)
        } catch {
            throw Problem(status: 500, code: "schema_generation_failed", detail: "\(error)")
        }
    }

    private func execute(_ schema: GraphQLSchema, _ document: Document, _ context: any Sendable, _ variables: [String: Map],
                         _ operationName: String?) async throws(Problem) -> GraphQLResult {
        do {
            return try await GraphQL.execute(schema: schema, documentAST: document, rootValue: (), context: context,
                                             variableValues: variables, operationName: operationName)
        } catch {
            throw Problem(status: 500, code: "graphql_execution_failed", detail: "\(error)")
        }
    }

    /// Every root field's plan at once; a root whose start fails is recorded, not thrown, so the others answer.
    private func traverse(_ database: String, _ compiled: CompiledQuery, schema: OntologySchema)
        async -> [String: AnsweringContext.Root] {
        let executor = self.executor
        return await withTaskGroup(of: (String, AnsweringContext.Root).self) { group in
            for root in compiled.roots {
                group.addTask { (root.key, await Self.run(root, database, schema, executor)) }
            }
            var roots: [String: AnsweringContext.Root] = [:]
            for await (key, root) in group { roots[key] = root }
            return roots
        }
    }

    // Not inline in the task's closure: a typed do/catch there miscompiles in release builds (Swift 6.3).
    private static func run(_ root: CompiledRoot, _ database: String, _ schema: OntologySchema, _ executor: TraversalExecutor)
        async -> AnsweringContext.Root {
        do throws(ReadModelError) {
            return .done(try await executor.run(database, root.plan, schema: schema), hopIds: root.hopIds)
        } catch {
            return .failed(error)
        }
    }

    private func refused(_ errors: [GraphQLError], extensions: JSONValue? = nil) -> Preparation {
        .answered(GraphQLResponse(hasData: false, body: GraphQLResponseWriter.body(data: nil, errors: errors, extensions: extensions)))
    }

    /// Resolvers run concurrently, so errors arrive in any order; by path they read (and test) the same every time.
    private func sorted(_ errors: [GraphQLError]) -> [GraphQLError] {
        errors.enumerated().sorted { lhs, rhs in
            let (a, b) = (lhs.element.path.elements.map(\.description), rhs.element.path.elements.map(\.description))
            return a == b ? lhs.offset < rhs.offset : a.lexicographicallyPrecedes(b)
        }.map(\.element)
    }

    static func operation(_ document: Document, named name: String?) -> OperationDefinition? {
        let operations = document.definitions.compactMap { $0 as? OperationDefinition }
        guard let name else { return operations.count == 1 ? operations[0] : nil }
        return operations.first { $0.name?.value == name }
    }
}
