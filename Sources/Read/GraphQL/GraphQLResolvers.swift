import Core
import GraphQL

/// The field resolvers. Root and relationship fields behave by pass: planning, they record the field and
/// return placeholders; answering, they read the traversal already run. No resolver ever calls a backend,
/// so a selection costs what its plan costs, however many nodes it returns.
enum GraphQLResolvers {
    static func rootField(_ type: GraphQLModel.ClassType, limits: GraphQLLimits) -> GraphQLFieldResolve {
        { _, args, context, info in
            if let planning = context as? PlanningContext {
                try planRoot(type, limits, args, info, planning.recorder)
                return [NodeValue.placeholder(type.classId)] as [(any Sendable)?]
            }
            let result = try answered(context, info)
            return result.roots.compactMap { result.nodes[$0].map(NodeValue.init) } as [(any Sendable)?]
        }
    }

    /// `node(id: "Class/id")`.
    static func nodeField(_ model: GraphQLModel) -> GraphQLFieldResolve {
        { _, args, context, info in
            if let planning = context as? PlanningContext {
                let id = args["id"].string ?? ""
                guard let ref = NodeRef(link: id), model[classId: ref.classId] != nil else {
                    throw info.error("id must be \"Class/instance_id\" naming a class of this database, got \"\(id.prefix(200))\"",
                                     code: "BAD_USER_INPUT", ["argument": "id"])
                }
                planning.recorder.record(QueryPlanRecorder.Root(key: info.rootKey, start: .nodes([ref]), budget: 1))
                return NodeValue.placeholder(ref.classId)
            }
            let result = try answered(context, info)
            return result.roots.first.flatMap { result.nodes[$0] }.map(NodeValue.init)
        }
    }

    static func relationship(_ field: GraphQLModel.RelationshipField, target: GraphQLModel.ClassType,
                             limits: GraphQLLimits) -> GraphQLFieldResolve {
        { source, args, context, info in
            guard let node = source as? NodeValue else { return nil }
            if let planning = context as? PlanningContext {
                try planHop(field, target, limits, args, info, planning.recorder)
                let placeholder = NodeValue.placeholder(field.targetClass)
                return field.isList ? [placeholder] as [(any Sendable)?] : placeholder
            }
            guard let answering = context as? AnsweringContext, case .done(let result, let hopIds)? = answering.roots[info.rootKey],
                  let hop = hopIds[info.keyPath] else {
                throw info.error("internal error: no plan for this field", code: "INTERNAL_ERROR")
            }
            if let failure = result.hopFailures[hop] {
                throw info.error(GraphQLFailures.hopMessage(field.predicate, failure), code: "GRAPH_UNAVAILABLE",
                                 ["reason": .string(failure.description)])
            }
            let targets = result.targets(of: hop, from: node.ref).map(NodeValue.init)
            return field.isList ? targets as [(any Sendable)?] : targets.first
        }
    }

    /// A property: from the document when it has the field, else from the graph node (which keeps top-level
    /// scalars), so nodes without a document still answer what the graph knows.
    static func property(_ field: GraphQLModel.PropertyField) -> GraphQLFieldResolve {
        { source, _, _, info in
            guard let node = source as? NodeValue else { return nil }
            switch propertyValue(node.resolved, field) {
            case .failure(let mismatch): throw info.error(mismatch.message, code: "INVALID_STORED_VALUE")
            case .success(.null): return nil
            // GraphQLSwift wants lists as Swift arrays, not `Map.array`.
            case .success(.array(let items)): return items.map { $0 == .null ? nil : $0 } as [(any Sendable)?]
            case .success(let value): return value
            }
        }
    }

    /// A property's value as GraphQL output (`.null` when absent; lists as `.array`), for both answering paths.
    static func propertyValue(_ node: ResolvedNode, _ field: GraphQLModel.PropertyField) -> Result<Map, GraphQLValues.ValueMismatch> {
        let name = field.property.name
        guard let value = node.document?.body[name] ?? node.node.fields[name], value != .null else { return .success(.null) }
        guard field.isList else { return GraphQLValues.output(value, field.kind) }
        guard case .array(let items) = value else {
            return .failure(GraphQLValues.ValueMismatch(kind: field.kind, value: value, notAList: true))
        }
        var converted: [Map] = []
        converted.reserveCapacity(items.count)
        for item in items {
            switch GraphQLValues.output(item, field.kind) {
            case .success(let map): converted.append(map)
            case .failure(let mismatch): return .failure(mismatch)
            }
        }
        return .success(.array(converted))
    }

    static let id: GraphQLFieldResolve = { source, _, _, _ in (source as? NodeValue).map { Map.string($0.ref.instanceId) } }
    static let classId: GraphQLFieldResolve = { source, _, _, _ in (source as? NodeValue).map { Map.string($0.ref.classId) } }
    static let version: GraphQLFieldResolve = { source, _, _, _ in (source as? NodeValue).map { Map.int($0.resolved.node.version) } }
    static let dataStatus: GraphQLFieldResolve = { source, _, _, _ in
        (source as? NodeValue).map { Map.string($0.resolved.status.rawValue) }
    }
    static let indexStatus: GraphQLFieldResolve = { source, _, _, _ in (source as? NodeValue)?.resolved.indexStatus }

    /// A field of `IndexStatus` (nil, not `Map.null`, for an absent value: GraphQLSwift hands `Map.null` to
    /// the scalar's serializer, which refuses it).
    static func indexStatusField(_ read: @escaping @Sendable (IndexStatus) -> Map?) -> GraphQLFieldResolve {
        { source, _, _, _ in (source as? IndexStatus).flatMap(read) }
    }

    // Planning steps are plain functions rather than code in the resolver closures: a typed do/catch in a
    // closure run as a task miscompiles in release builds (Swift 6.3), and resolvers run in tasks.

    private static func planRoot(_ type: GraphQLModel.ClassType, _ limits: GraphQLLimits, _ args: Map, _ info: GraphQLResolveInfo,
                                 _ recorder: QueryPlanRecorder) throws {
        let arguments = QueryArguments(type: type, limits: limits)
        do throws(QueryArguments.Invalid) {
            let limit = try arguments.limit(args)
            recorder.record(QueryPlanRecorder.Root(
                key: info.rootKey,
                start: .find(classId: type.classId, filters: try arguments.filters(args), order: arguments.order(args),
                             limit: limit, offset: try arguments.offset(args)),
                budget: limit))
        } catch {
            throw info.error(error.message, code: "BAD_USER_INPUT", ["argument": .string(error.argument)])
        }
    }

    private static func planHop(_ field: GraphQLModel.RelationshipField, _ target: GraphQLModel.ClassType, _ limits: GraphQLLimits,
                                _ args: Map, _ info: GraphQLResolveInfo, _ recorder: QueryPlanRecorder) throws {
        let arguments = QueryArguments(type: target, limits: limits)
        do throws(QueryArguments.Invalid) {
            let path = info.keyPath
            let parent = String(path[..<(path.lastIndex(of: ".") ?? path.startIndex)])
            recorder.record(QueryPlanRecorder.Hop(path: path, parentPath: parent, field: field, filters: try arguments.filters(args),
                                                  perSource: field.isList ? try arguments.limit(args) : 1))
        } catch {
            throw info.error(error.message, code: "BAD_USER_INPUT", ["argument": .string(error.argument)])
        }
    }

    private static func answered(_ context: any Sendable, _ info: GraphQLResolveInfo) throws -> TraversalResult {
        guard let answering = context as? AnsweringContext, let root = answering.roots[info.rootKey] else {
            throw info.error("internal error: no plan for this field", code: "INTERNAL_ERROR")
        }
        switch root {
        case .failed(let failure):
            throw info.error(GraphQLFailures.startMessage(failure), code: "GRAPH_UNAVAILABLE",
                             ["reason": .string(failure.description)])
        case .done(let result, _):
            return result
        }
    }
}

/// Failure messages shared by the resolvers and the fast answering pass, so both say the same.
enum GraphQLFailures {
    static func hopMessage(_ predicate: String, _ failure: ReadModelError) -> String {
        "the graph could not walk '\(predicate)': \(failure)"
    }

    static func startMessage(_ failure: ReadModelError) -> String {
        "the graph could not find the start nodes: \(failure)"
    }
}
