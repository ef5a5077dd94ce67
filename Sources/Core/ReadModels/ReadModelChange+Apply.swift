extension ReadModelChange {
    /// Applies the graph's part of the change. Versioned writes make a repeat a no-op (`.stale`).
    @discardableResult
    public func apply(to graph: any GraphStore) async throws(ReadModelError) -> VersionedWriteOutcome {
        switch self {
        case .createDatabase(let database):
            try await graph.createDatabase(database)
        case .dropDatabase(let database):
            try await graph.dropDatabase(database)
        case .putClass(let database, let definition, let version):
            return try await graph.putClass(database, definition, version: version)
        case .deleteClass(let database, let classId, let version):
            return try await graph.deleteClass(database, classId: classId, version: version)
        case .putInstance(let database, let node, _):
            return try await graph.upsertNodes(database, [node]).first ?? .applied
        case .deleteInstance(let database, let ref, let tombstone):
            return try await graph.deleteNodes(database, [(ref, tombstone.version)]).first ?? .applied
        }
        return .applied
    }

    /// Applies the documents' part of the change.
    @discardableResult
    public func apply(to documents: any DocumentStore) async throws(ReadModelError) -> VersionedWriteOutcome {
        switch self {
        case .createDatabase(let database):
            try await documents.createDatabase(database)
        case .dropDatabase(let database):
            try await documents.dropDatabase(database)
        case .putClass(let database, let definition, let version):
            return try await documents.putClassDocument(database, classId: definition.id, definition: definition.json, version: version)
        case .deleteClass(let database, let classId, let version):
            return try await documents.putClassDocument(database, classId: classId, definition: nil, version: version)
        case .putInstance(let database, _, let document), .deleteInstance(let database, _, let document):
            return try await documents.put(database, [document]).first ?? .applied
        }
        return .applied
    }
}
