import Core
import Drivers

/// The document read model in PostgreSQL (migration 004): full instance documents as JSONB and the
/// ontology's class documents, per database space, with the same version rule as the graph.
///
/// Reads of a database without a space find nothing; writes to one throw `notFound`.
public struct PostgresDocumentStore: DocumentStore {
    private let client: PostgresClient

    public init(client: PostgresClient) { self.client = client }

    public func createDatabase(_ database: String) async throws(ReadModelError) {
        try await DocumentStatements.spaces.create(database, on: client)
    }

    public func dropDatabase(_ database: String) async throws(ReadModelError) {
        try await DocumentStatements.spaces.drop(database, on: client)
    }

    public func put(_ database: String, _ documents: [InstanceDocument]) async throws(ReadModelError) -> [VersionedWriteOutcome] {
        let batch = VersionedBatch(keys: documents.map(\.ref), versions: documents.map(\.version))
        let sent = batch.sent.map { documents[$0] }
        let outcomes = try await DocumentStatements.writeDocuments.run(on: client, database: database, count: sent.count, [
            .text(database),
            PostgresArrayLiteral.text(sent.map(\.ref.classId)),
            PostgresArrayLiteral.text(sent.map(\.ref.instanceId)),
            PostgresArrayLiteral.integers(sent.map(\.version)),
            PostgresArrayLiteral.text(sent.map(\.body.text)),
            PostgresArrayLiteral.booleans(sent.map(\.deleted)),
            PostgresArrayLiteral.text(sent.map(\.eventId)),
            PostgresArrayLiteral.text(sent.map(\.createdAt)),
            PostgresArrayLiteral.text(sent.map(\.updatedAt)),
        ])
        return batch.outcomes(outcomes)
    }

    public func documents(_ database: String, _ refs: [NodeRef]) async throws(ReadModelError) -> [NodeRef: InstanceDocument] {
        let wanted = Set(refs)
        guard !wanted.isEmpty else { return [:] }
        let rows = try await query(DocumentStatements.liveDocuments, [
            .text(database), PostgresArrayLiteral.text(wanted.map(\.classId)), PostgresArrayLiteral.text(wanted.map(\.instanceId)),
        ])
        var documents: [NodeRef: InstanceDocument] = [:]
        documents.reserveCapacity(rows.count)
        for row in rows {
            let ref = try row.nodeRef(classColumn: "class_id", idColumn: "instance_id")
            documents[ref] = try Self.document(ref, row, versionColumn: "version", dataColumn: "data")
        }
        return documents
    }

    /// A live document from a row that selected its columns (also the graph's hops that join documents).
    static func document(_ ref: NodeRef, _ row: PostgresRow, versionColumn: String, dataColumn: String) throws(ReadModelError) -> InstanceDocument {
        InstanceDocument(ref: ref, version: try row.requiredInt(versionColumn), body: try row.jsonText(dataColumn), deleted: false,
                         eventId: try row.required("event_id"), createdAt: try row.required("created_at"),
                         updatedAt: try row.required("updated_at"))
    }

    public func count(_ database: String) async throws(ReadModelError) -> Int {
        let rows = try await query(DocumentStatements.countLive, [.text(database)])
        guard let row = rows.first else { throw .invalidResponse("count(*) returned no row") }
        return try row.requiredInt("live")
    }

    public func putClassDocument(_ database: String, classId: String, definition: JSONValue?, version: Int)
        async throws(ReadModelError) -> VersionedWriteOutcome {
        let outcomes = try await DocumentStatements.writeClassDocuments.run(on: client, database: database, count: 1, [
            .text(database), PostgresArrayLiteral.text([classId]), PostgresArrayLiteral.integers([version]),
            PostgresArrayLiteral.text([definition.map { JSONWriter.string($0) }]), PostgresArrayLiteral.booleans([definition == nil]),
        ])
        return outcomes[0]
    }

    public func classDocuments(_ database: String) async throws(ReadModelError) -> [String: JSONValue] {
        let rows = try await query(DocumentStatements.liveClassDocuments, [.text(database)])
        var definitions: [String: JSONValue] = [:]
        for row in rows {
            definitions[try row.required("class_id")] = try row.json("definition")
        }
        return definitions
    }

    private func query(_ sql: String, _ parameters: [PostgresValue]) async throws(ReadModelError) -> [PostgresRow] {
        do {
            return try await client.query(sql, parameters).rows
        } catch {
            throw ReadModelErrors.map(error)
        }
    }
}
