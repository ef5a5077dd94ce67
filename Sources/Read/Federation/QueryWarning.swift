import Core

/// A limit that cut the answer, or a part that failed while the rest answered. Codes are stable; the
/// detail is for people.
public struct QueryWarning: Sendable, Equatable {
    public let code: String
    public let detail: String

    public init(code: String, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var json: JSONValue { .object(["code": .string(code), "detail": .string(detail)]) }
}

/// Backend round trips a query made, by port — the proof that work grows with levels, not nodes.
public struct BackendCalls: Sendable, Equatable {
    public var schema = 0
    public var graph = 0
    public var documents = 0

    public init() {}

    public var json: JSONValue {
        .object(["schema": .number(Double(schema)), "graph": .number(Double(graph)), "documents": .number(Double(documents))])
    }
}

/// What the documents side looked like across a query's nodes.
public struct IndexSummary: Sendable, Equatable {
    public var documentsFound = 0
    public var documentsMissing = 0
    /// Found but older than the graph node.
    public var documentsStale = 0
    /// The largest `graph version − document version` among stale documents.
    public var maxVersionLag = 0
    public var maxIndexAgeSeconds: Double?

    public init() {}

    mutating func count(_ status: DataStatus, _ index: IndexStatus) {
        guard let documentVersion = index.documentVersion else {
            if index.reason != .documentsNotRequested { documentsMissing += 1 }
            return
        }
        documentsFound += 1
        if documentVersion < index.graphVersion {
            documentsStale += 1
            maxVersionLag = max(maxVersionLag, index.graphVersion - documentVersion)
        }
        if let age = index.indexAgeSeconds { maxIndexAgeSeconds = max(maxIndexAgeSeconds ?? 0, age) }
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "documents_found": .number(Double(documentsFound)), "documents_missing": .number(Double(documentsMissing)),
            "documents_stale": .number(Double(documentsStale)), "max_version_lag": .number(Double(maxVersionLag)),
        ]
        object["max_index_age_seconds"] = maxIndexAgeSeconds.map { .number(($0 * 1000).rounded() / 1000) } ?? .null
        return .object(object)
    }
}
