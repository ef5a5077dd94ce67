import Core

/// How complete a node's data is, compared with what the graph says about it.
public enum DataStatus: String, Sendable, Equatable, CaseIterable {
    /// The document is present at (or past) the graph node's version and holds every required field.
    case full = "FULL"
    /// The document is older than the graph's version or lacks required fields (projection lag), or
    /// documents were not requested.
    case partial = "PARTIAL"
    /// No document: never projected, deleted in the index, or the document backend failed.
    case missing = "MISSING"
}

/// Why a node is not FULL, and how fresh its document is.
public struct IndexStatus: Sendable, Equatable {
    public enum Reason: String, Sendable {
        case staleDocument = "stale_document"
        case missingRequiredFields = "missing_required_fields"
        case documentsNotRequested = "documents_not_requested"
        case notProjected = "not_projected"
        case documentsUnavailable = "documents_unavailable"
    }

    public let graphVersion: Int
    public let documentVersion: Int?
    /// The document's `updated_at` and its age when read.
    public let lastIndexedAt: String?
    public let indexAgeSeconds: Double?
    public let eventId: String?
    public let reason: Reason?
    public let missingFields: [String]

    /// Written straight into an answer (the graph-query route's `index_status`).
    public func write(into out: inout JSONStreamWriter) {
        out.object { out in
            out.key("graph_version"); out.number(graphVersion)
            if let documentVersion { out.key("document_version"); out.number(documentVersion) }
            if let lastIndexedAt { out.key("last_indexed_at"); out.string(lastIndexedAt) }
            if let indexAgeSeconds { out.key("index_age_seconds"); out.number((indexAgeSeconds * 1000).rounded() / 1000) }
            if let eventId { out.key("event_id"); out.string(eventId) }
            if let reason { out.key("reason"); out.string(reason.rawValue) }
            if !missingFields.isEmpty { out.member("missing_fields", .array(missingFields.map(JSONValue.string))) }
        }
    }
}

/// The rule that sets `data_status`, in one place for the graph-query route and GraphQL.
enum DataStatusRule {
    /// What the documents side gave for a node's level.
    enum DocumentLookup {
        case notRequested
        case unavailable
        case looked(InstanceDocument?)
    }

    static func resolve(_ node: GraphNode, _ lookup: DocumentLookup, requiredFields: [String], nowMilliseconds: Int64)
        -> (status: DataStatus, index: IndexStatus) {
        switch lookup {
        case .notRequested:
            return (.partial, status(node, nil, .documentsNotRequested, nowMilliseconds))
        case .unavailable:
            return (.missing, status(node, nil, .documentsUnavailable, nowMilliseconds))
        case .looked(nil):
            return (.missing, status(node, nil, .notProjected, nowMilliseconds))
        case .looked(let document?):
            // A document newer than the graph node means the graph lags, not the data: the data is complete.
            if document.version < node.version {
                return (.partial, status(node, document, .staleDocument, nowMilliseconds))
            }
            let missing = requiredFields.filter { !document.body.hasValue($0) }
            if !missing.isEmpty {
                return (.partial, status(node, document, .missingRequiredFields, nowMilliseconds, missing: missing))
            }
            return (.full, status(node, document, nil, nowMilliseconds))
        }
    }

    private static func status(_ node: GraphNode, _ document: InstanceDocument?, _ reason: IndexStatus.Reason?,
                               _ now: Int64, missing: [String] = []) -> IndexStatus {
        let indexedAt = document.flatMap { EventTimestamp.parse($0.updatedAt) }
        return IndexStatus(graphVersion: node.version, documentVersion: document?.version, lastIndexedAt: document?.updatedAt,
                           indexAgeSeconds: indexedAt.map { Double(max(0, now - $0)) / 1000 }, eventId: document?.eventId,
                           reason: reason, missingFields: missing)
    }
}
