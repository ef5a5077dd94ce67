import Core
import GraphQL

/// What the traversals add to a GraphQL response besides `data`: the errors no resolver raises (a level
/// whose documents could not be read) and the response `extensions` (as-of marker, index summary, backend
/// calls, cost figures, paging and warnings).
enum GraphQLResultAssembly {
    static func documentErrors(_ roots: [String: AnsweringContext.Root]) -> [GraphQLError] {
        var errors: [GraphQLError] = []
        for key in roots.keys.sorted() {
            guard case .done(let result, _)? = roots[key] else { continue }
            for (level, failure) in result.documentFailures.sorted(by: { $0.key < $1.key }) {
                errors.append(GraphQLError(
                    message: "the documents of level \(level) under '\(key)' could not be read (\(failure)): those nodes answer only what the graph stores, with _dataStatus MISSING",
                    path: [key], extensions: ["code": "DOCUMENTS_UNAVAILABLE", "level": .int(level), "reason": .string(failure.description)]))
            }
        }
        return errors
    }

    static func extensions(_ compiled: CompiledQuery?, _ roots: [String: AnsweringContext.Root], schemaVersion: String,
                           schemaCalls: Int, limits: GraphQLLimits) -> JSONValue {
        var summary = IndexSummary()
        var calls = BackendCalls()
        calls.schema = schemaCalls // checking the ontology the schema was built from
        var asOf: String?
        var hasMore: [String: JSONValue] = [:]
        var warnings: [JSONValue] = []
        for key in roots.keys.sorted() {
            guard case .done(let result, _)? = roots[key] else { continue }
            merge(result.summary, into: &summary)
            calls.schema += result.calls.schema
            calls.graph += result.calls.graph
            calls.documents += result.calls.documents
            // The earliest: every read of every root saw the stores at this moment or later.
            if !result.asOf.isEmpty, asOf.map({ result.asOf < $0 }) ?? true { asOf = result.asOf }
            if case .find? = compiled?.roots.first(where: { $0.key == key })?.plan.start { hasMore[key] = .bool(result.rootsHaveMore) }
            warnings += result.warnings.map { .object(["field": .string(key), "code": .string($0.code), "detail": .string($0.detail)]) }
        }
        var object: [String: JSONValue] = [
            "asOf": .string(asOf ?? EventTimestamp.format(milliseconds: EventTimestamp.nowMilliseconds())),
            "schemaVersion": .string(schemaVersion),
            "indexSummary": summary.json,
            "calls": calls.json,
            "warnings": .array(warnings),
        ]
        if !hasMore.isEmpty { object["hasMore"] = .object(hasMore) }
        if let compiled {
            object["cost"] = .object(["depth": .number(Double(compiled.depth)), "cost": .number(Double(compiled.cost)),
                                      "maxDepth": .number(Double(limits.maxDepth)), "maxCost": .number(Double(limits.maxCost))])
        }
        return .object(object)
    }

    private static func merge(_ part: IndexSummary, into total: inout IndexSummary) {
        total.documentsFound += part.documentsFound
        total.documentsMissing += part.documentsMissing
        total.documentsStale += part.documentsStale
        total.maxVersionLag = max(total.maxVersionLag, part.maxVersionLag)
        if let age = part.maxIndexAgeSeconds { total.maxIndexAgeSeconds = max(total.maxIndexAgeSeconds ?? 0, age) }
    }
}
