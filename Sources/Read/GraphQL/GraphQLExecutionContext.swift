import Core
import GraphQL

/// What a resolver's `source` is for a class type: one node of an answer (or, in the planning pass, a
/// placeholder of the class so the selection below it is walked).
struct NodeValue: Sendable {
    let resolved: ResolvedNode

    var ref: NodeRef { resolved.node.ref }

    static func placeholder(_ classId: String) -> NodeValue {
        let node = GraphNode(ref: NodeRef(classId: classId, instanceId: "_"), version: 0)
        return NodeValue(resolved: ResolvedNode(
            node: node, document: nil, status: .missing,
            indexStatus: IndexStatus(graphVersion: 0, documentVersion: nil, lastIndexedAt: nil, indexAgeSeconds: nil, eventId: nil,
                                     reason: nil, missingFields: []),
            depth: 0))
    }
}

/// The planning pass's context: resolvers report fields to the recorder and return placeholders.
struct PlanningContext: Sendable {
    let recorder: QueryPlanRecorder
}

/// The answering pass's context: every root field's traversal, already run. Resolvers only read it.
struct AnsweringContext: Sendable {
    enum Root: Sendable {
        case done(TraversalResult, hopIds: [String: Int])
        case failed(ReadModelError)
    }

    let roots: [String: Root]
}

extension GraphQLResolveInfo {
    /// The response keys from the operation's root to this field, list indexes dropped (`a.orders.product`):
    /// the same in both passes, so it names the field's hop.
    var keyPath: String { path.elements.compactMap(\.key).joined(separator: ".") }

    var rootKey: String { path.elements.lazy.compactMap(\.key).first ?? fieldName }

    /// A field error at this field's real response path.
    func error(_ message: String, code: String, _ extensions: [String: Map] = [:]) -> GraphQLError {
        var all = extensions
        all["code"] = .string(code)
        return GraphQLError(message: message, nodes: fieldASTs, path: path, extensions: all)
    }
}

private extension IndexPathValue {
    var key: String? {
        if case .key(let key) = self { return key }
        return nil
    }
}
