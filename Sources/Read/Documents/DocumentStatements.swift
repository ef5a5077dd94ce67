/// The document read model's statements.
enum DocumentStatements {
    static let spaces = DatabaseSpaces(spaces: "document_spaces", contents: ["documents", "class_documents"])

    /// Instance documents and their tombstones.
    static let writeDocuments = VersionedUpsert(
        table: "documents", spaces: "document_spaces", spaceKind: "document",
        key: [.init("class_id", "text"), .init("instance_id", "text")],
        payload: [.init("data", "jsonb"), .init("deleted", "boolean"), .init("event_id", "text"),
                  .init("created_at", "text"), .init("updated_at", "text")])

    /// Class documents and their tombstones (a NULL definition).
    static let writeClassDocuments = VersionedUpsert(
        table: "class_documents", spaces: "document_spaces", spaceKind: "document",
        key: [.init("class_id", "text")],
        payload: [.init("definition", "jsonb"), .init("deleted", "boolean")])

    /// Live documents among the refs: one primary-key probe per ref.
    static let liveDocuments = """
        SELECT document.class_id, document.instance_id, document.version, document.data::text AS data,
               document.event_id, document.created_at, document.updated_at
        FROM unnest($2::text[], $3::text[]) AS wanted(class_id, instance_id)
        JOIN documents document ON document.database_name = $1 AND document.class_id = wanted.class_id
                               AND document.instance_id = wanted.instance_id
        WHERE NOT document.deleted
        """

    static let countLive = "SELECT count(*) AS live FROM documents WHERE database_name = $1 AND NOT deleted"

    static let liveClassDocuments = """
        SELECT class_id, definition::text AS definition FROM class_documents
        WHERE database_name = $1 AND NOT deleted ORDER BY class_id
        """
}
