import Core
import GraphQL
import OrderedCollections

/// The answering pass, without GraphQLSwift's executor: a synchronous walk of the validated selection over
/// the traversals already run. GraphQLSwift resolves every field of every object in a task of its own
/// (queries have no serial strategy), which for a few hundred nodes costs several times the traversal; here
/// a field is a dictionary lookup.
///
/// It follows the spec's field collection (aliases, fragments, inline fragments with type conditions,
/// `@skip`/`@include`, merging by response key) and reports the same errors at the same paths as the
/// resolvers. Nulls never need to propagate: the only non-null fields (the meta fields, list items of
/// objects) always have values. Introspection (`__schema`, `__type`) is not handled: `answer` returns nil
/// and the caller runs GraphQLSwift's executor.
struct GraphQLAnswerer {
    let model: GraphQLModel
    let operation: OperationDefinition
    let fragments: [String: FragmentDefinition]
    let variables: [String: Map]
    let roots: [String: AnsweringContext.Root]
    private(set) var errors: [GraphQLError] = []
    /// Field collection depends only on the runtime type and the position in the query, not on the node:
    /// done once per (type, key path), not once per object.
    private var collected: [String: OrderedDictionary<String, [Field]>] = [:]
    /// Each class's fields by GraphQL name, built when the class is first answered.
    private var fieldsByName: [String: [String: GraphQLModel.Field]] = [:]
    private var compiledSelections: [SelectionKey: CompiledSelection] = [:]

    init?(model: GraphQLModel, document: Document, operationName: String?, variables: [String: Map],
          roots: [String: AnsweringContext.Root]) {
        guard let operation = GraphQLService.operation(document, named: operationName), operation.operation == .query else { return nil }
        self.model = model
        self.operation = operation
        var fragments: [String: FragmentDefinition] = [:]
        for case let fragment as FragmentDefinition in document.definitions { fragments[fragment.name.value] = fragment }
        self.fragments = fragments
        var values = variables
        for definition in operation.variableDefinitions where values[definition.variable.name.value] == nil {
            if let literal = definition.defaultValue { values[definition.variable.name.value] = Self.literal(literal) }
        }
        self.variables = values
        self.roots = roots
    }

    /// The `data` member, or nil when the operation needs GraphQLSwift (introspection).
    mutating func answer() -> Map? {
        let fields = collect(typeName: "Query", [operation.selectionSet])
        guard !fields.keys.contains(where: { fields[$0]![0].name.value.hasPrefix("__") && fields[$0]![0].name.value != "__typename" }) else {
            return nil
        }
        var data = OrderedDictionary<String, Map>()
        for (key, asts) in fields {
            let name = asts[0].name.value
            let path = ResponsePath.root.appending(.key(key))
            if name == "__typename" {
                data[key] = .string("Query")
                continue
            }
            guard let root = roots[key] else {
                errors.append(error("internal error: no plan for this field", "INTERNAL_ERROR", asts, path))
                data[key] = .null
                continue
            }
            switch root {
            case .failed(let failure):
                errors.append(error(GraphQLFailures.startMessage(failure), "GRAPH_UNAVAILABLE", asts, path,
                                    ["reason": .string(failure.description)]))
                data[key] = .null
            case .done(let result, let hopIds):
                let walk = Walk(result: result, hopIds: hopIds)
                if name == "node" {
                    let found = result.roots.first.flatMap { result.nodes[$0] }
                    data[key] = found.map { object($0, asts, path, keyPath: key, walk) } ?? .null
                } else {
                    let nodes = result.roots.compactMap { result.nodes[$0] }
                    data[key] = .array(nodes.enumerated().map { object($1, asts, path.appending(.index($0)), keyPath: key, walk) })
                }
            }
        }
        return .dictionary(data)
    }

    /// One root's traversal and its hops by key path.
    private struct Walk {
        let result: TraversalResult
        let hopIds: [String: Int]
    }

    // MARK: Objects

    private mutating func object(_ node: ResolvedNode, _ parents: [Field], _ path: ResponsePath, keyPath: String, _ walk: Walk) -> Map {
        guard let type = model[classId: node.node.ref.classId] else { return .null }
        let selection = compiledSelection(type, keyPath: keyPath, parents)
        var out = OrderedDictionary<String, Map>(minimumCapacity: selection.fields.count)
        for field in selection.fields {
            switch field.kind {
            case .typename: out[field.key] = .string(type.typeName)
            case .id: out[field.key] = .string(node.node.ref.instanceId)
            case .classId: out[field.key] = .string(node.node.ref.classId)
            case .version: out[field.key] = .int(node.node.version)
            case .dataStatus: out[field.key] = .string(node.status.rawValue)
            case .indexStatus(let childKeyPath): out[field.key] = indexStatus(node.indexStatus, field.asts, keyPath: childKeyPath)
            case .property(let property):
                switch GraphQLResolvers.propertyValue(node, property) {
                case .success(let value): out[field.key] = value
                case .failure(let mismatch):
                    errors.append(error(mismatch.message, "INVALID_STORED_VALUE", field.asts, path.appending(.key(field.key))))
                    out[field.key] = .null
                }
            case .relationship(let relationship, let childKeyPath):
                out[field.key] = self.relationship(relationship, from: node, field.asts, path.appending(.key(field.key)),
                                                   keyPath: childKeyPath, walk)
            case .unknown:
                out[field.key] = .null
            }
        }
        return .dictionary(out)
    }

    /// The fields a type's objects answer at one position of the query, each with what answering it needs:
    /// worked out once per (type, key path), since every object there answers the same fields.
    private struct CompiledField {
        enum Kind {
            case typename, id, classId, version, dataStatus
            case indexStatus(keyPath: String)
            case property(GraphQLModel.PropertyField)
            case relationship(GraphQLModel.RelationshipField, keyPath: String)
            case unknown
        }

        let key: String
        let asts: [Field]
        let kind: Kind
    }

    private struct SelectionKey: Hashable {
        let typeName: String
        let keyPath: String
    }

    private final class CompiledSelection {
        let fields: [CompiledField]
        init(fields: [CompiledField]) { self.fields = fields }
    }

    private mutating func compiledSelection(_ type: GraphQLModel.ClassType, keyPath: String, _ parents: [Field]) -> CompiledSelection {
        let cacheKey = SelectionKey(typeName: type.typeName, keyPath: keyPath)
        if let known = compiledSelections[cacheKey] { return known }
        var fields: [CompiledField] = []
        for (key, asts) in collectOnce(typeName: type.typeName, keyPath: keyPath, parents) {
            let kind: CompiledField.Kind
            switch asts[0].name.value {
            case "__typename": kind = .typename
            case "_id": kind = .id
            case "_class": kind = .classId
            case "_version": kind = .version
            case "_dataStatus": kind = .dataStatus
            case "_indexStatus": kind = .indexStatus(keyPath: keyPath + "." + key)
            case let name:
                switch field(named: name, of: type) {
                case .property(let property)?: kind = .property(property)
                case .relationship(let relationship)?: kind = .relationship(relationship, keyPath: keyPath + "." + key)
                case nil: kind = .unknown
                }
            }
            fields.append(CompiledField(key: key, asts: asts, kind: kind))
        }
        let selection = CompiledSelection(fields: fields)
        compiledSelections[cacheKey] = selection
        return selection
    }

    private mutating func relationship(_ field: GraphQLModel.RelationshipField, from node: ResolvedNode, _ asts: [Field],
                                       _ path: ResponsePath, keyPath: String, _ walk: Walk) -> Map {
        guard let hop = walk.hopIds[keyPath] else {
            errors.append(error("internal error: no plan for this field", "INTERNAL_ERROR", asts, path))
            return .null
        }
        if let failure = walk.result.hopFailures[hop] {
            errors.append(error(GraphQLFailures.hopMessage(field.predicate, failure), "GRAPH_UNAVAILABLE", asts, path,
                                ["reason": .string(failure.description)]))
            return .null
        }
        let targets = walk.result.targets(of: hop, from: node.node.ref)
        guard field.isList else {
            return targets.first.map { object($0, asts, path, keyPath: keyPath, walk) } ?? .null
        }
        return .array(targets.enumerated().map { object($1, asts, path.appending(.index($0)), keyPath: keyPath, walk) })
    }

    private mutating func indexStatus(_ status: IndexStatus, _ parents: [Field], keyPath: String) -> Map {
        var out = OrderedDictionary<String, Map>()
        for (key, asts) in collectOnce(typeName: "IndexStatus", keyPath: keyPath, parents) {
            let name = asts[0].name.value
            out[key] = name == "__typename" ? .string("IndexStatus") : GraphQLIndexStatusFields.value(name, of: status)
        }
        return .dictionary(out)
    }

    private mutating func field(named name: String, of type: GraphQLModel.ClassType) -> GraphQLModel.Field? {
        if let known = fieldsByName[type.typeName] { return known[name] }
        let byName = Dictionary(type.fields.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        fieldsByName[type.typeName] = byName
        return byName[name]
    }

    // MARK: Field collection (GraphQL spec, CollectFields)

    private mutating func collectOnce(typeName: String, keyPath: String, _ parents: [Field]) -> OrderedDictionary<String, [Field]> {
        let cacheKey = typeName + "|" + keyPath
        if let known = collected[cacheKey] { return known }
        let fields = collect(typeName: typeName, parents.compactMap(\.selectionSet))
        collected[cacheKey] = fields
        return fields
    }

    private func collect(typeName: String, _ selectionSets: [SelectionSet]) -> OrderedDictionary<String, [Field]> {
        var fields = OrderedDictionary<String, [Field]>()
        var visited = Set<String>()
        for selectionSet in selectionSets { collect(typeName, selectionSet, &fields, &visited) }
        return fields
    }

    private func collect(_ typeName: String, _ selectionSet: SelectionSet, _ fields: inout OrderedDictionary<String, [Field]>,
                         _ visited: inout Set<String>) {
        for selection in selectionSet.selections {
            switch selection {
            case let field as Field:
                guard included(field.directives) else { continue }
                fields[field.alias?.value ?? field.name.value, default: []].append(field)
            case let spread as FragmentSpread:
                guard included(spread.directives), visited.insert(spread.name.value).inserted,
                      let fragment = fragments[spread.name.value], applies(fragment.typeCondition.name.value, to: typeName) else { continue }
                collect(typeName, fragment.selectionSet, &fields, &visited)
            case let inline as InlineFragment:
                guard included(inline.directives), inline.typeCondition.map({ applies($0.name.value, to: typeName) }) ?? true else { continue }
                collect(typeName, inline.selectionSet, &fields, &visited)
            default:
                continue
            }
        }
    }

    /// Every class type implements `Node`; there are no unions.
    private func applies(_ condition: String, to typeName: String) -> Bool {
        condition == typeName || (condition == "Node" && model[typeName: typeName] != nil)
    }

    private func included(_ directives: [Directive]) -> Bool {
        for directive in directives {
            let condition = directive.arguments.first { $0.name.value == "if" }.map { flag($0.value) } ?? false
            if directive.name.value == "skip", condition { return false }
            if directive.name.value == "include", !condition { return false }
        }
        return true
    }

    private func flag(_ value: Value) -> Bool {
        switch value {
        case let literal as BooleanValue: literal.value
        case let variable as Variable: variables[variable.name.value] == .bool(true)
        default: false
        }
    }

    private static func literal(_ value: Value) -> Map? {
        (value as? BooleanValue).map { .bool($0.value) }
    }

    private func error(_ message: String, _ code: String, _ asts: [Field], _ path: ResponsePath,
                       _ extensions: [String: Map] = [:]) -> GraphQLError {
        var all = extensions
        all["code"] = .string(code)
        return GraphQLError(message: message, nodes: asts, path: IndexPath(path.elements), extensions: all)
    }

    /// A response path that shares its prefix with its parent's: one allocation per step instead of copying
    /// the whole path for every object, since only an error ever reads it.
    final class ResponsePath: Sendable {
        static let root = ResponsePath(parent: nil, element: nil)
        private let parent: ResponsePath?
        private let element: IndexPathValue?

        private init(parent: ResponsePath?, element: IndexPathValue?) {
            self.parent = parent
            self.element = element
        }

        func appending(_ element: IndexPathValue) -> ResponsePath { ResponsePath(parent: self, element: element) }

        var elements: [IndexPathValue] {
            var reversed: [IndexPathValue] = []
            var current: ResponsePath? = self
            while let step = current, let element = step.element {
                reversed.append(element)
                current = step.parent
            }
            return reversed.reversed()
        }
    }
}
