/// A full instance document: the instance's complete data at `version`, as projected from its domain events.
public struct InstanceDocument: Sendable, Equatable {
    public let ref: NodeRef
    /// The instance aggregate's sequence number.
    public let version: Int
    /// The data as JSON text: reads pass documents on far more often than they look inside them.
    public let body: JSONObjectText
    /// A tombstone: the instance was deleted at `version`; it hides the document from reads and refuses
    /// older versions so a late event cannot resurrect it.
    public let deleted: Bool
    /// The domain event that produced this version.
    public let eventId: String
    /// RFC 3339, from the events (first creation, latest change).
    public let createdAt: String
    public let updatedAt: String

    public init(ref: NodeRef, version: Int, data: JSONValue, deleted: Bool = false, eventId: String,
                createdAt: String, updatedAt: String) {
        self.init(ref: ref, version: version, body: JSONObjectText(data), deleted: deleted, eventId: eventId,
                  createdAt: createdAt, updatedAt: updatedAt)
    }

    public init(ref: NodeRef, version: Int, body: JSONObjectText, deleted: Bool = false, eventId: String,
                createdAt: String, updatedAt: String) {
        self.ref = ref
        self.version = version
        self.body = body
        self.deleted = deleted
        self.eventId = eventId
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The data, parsed.
    public var data: JSONValue { body.value }
}

/// The document index port: per database, instance documents and the ontology's class documents.
/// Adapters: the Postgres read model (embedded, JSONB) and Elasticsearch/OpenSearch. Writes refuse versions
/// at or below the stored one, so redeliveries and reordering converge.
public protocol DocumentStore: Sendable {
    func createDatabase(_ database: String) async throws(ReadModelError)
    func dropDatabase(_ database: String) async throws(ReadModelError)

    /// Writes documents (tombstones included) each only if its version is newer than the stored one. One
    /// round trip for the batch; outcomes in input order.
    func put(_ database: String, _ documents: [InstanceDocument]) async throws(ReadModelError) -> [VersionedWriteOutcome]
    /// The stored documents among `refs`, tombstones excluded, in one round trip.
    func documents(_ database: String, _ refs: [NodeRef]) async throws(ReadModelError) -> [NodeRef: InstanceDocument]
    /// How many live documents the database holds (for replay checks and summaries).
    func count(_ database: String) async throws(ReadModelError) -> Int

    /// The class document (definition with labels), versioned like instances; `definition == nil` deletes.
    func putClassDocument(_ database: String, classId: String, definition: JSONValue?, version: Int)
        async throws(ReadModelError) -> VersionedWriteOutcome
    func classDocuments(_ database: String) async throws(ReadModelError) -> [String: JSONValue]
}
