import Core
import Drivers

/// Reads of the write model: aggregates' versions and accepted state. Writes happen only inside
/// `CommandIntake`'s transaction.
public struct AggregateStore: Sendable {
    private let client: PostgresClient

    public init(client: PostgresClient) { self.client = client }

    static let columns = """
        sequence_number, deleted, state::text AS state,
        \(CommandStatusStore.formatted("created_at", as: "created_at")), \(CommandStatusStore.formatted("updated_at", as: "updated_at"))
        """

    public func snapshot(_ ref: AggregateRef) async throws -> AggregateSnapshot? {
        try await mapStorageErrors {
            try await Self.snapshot(ref, on: client, lock: false)
        }
    }

    /// Live (not deleted) aggregates of one kind in a database, ordered by id, paged.
    public func list(_ kind: AggregateKind, database: String, limit: Int, offset: Int) async throws -> [(id: String, snapshot: AggregateSnapshot)] {
        try await mapStorageErrors {
            let rows = try await client.query("""
                SELECT aggregate_id, \(Self.columns) FROM aggregates
                WHERE aggregate_type = $1 AND database_name = $2 AND NOT deleted
                ORDER BY aggregate_id LIMIT $3::int OFFSET $4::int
                """, [.text(kind.rawValue), .text(database), .int(Int64(limit)), .int(Int64(offset))]).rows
            return try rows.map { (id: $0.string("aggregate_id") ?? "", snapshot: try Self.decode($0)) }
        }
    }

    /// Live aggregates of one kind across all databases (used to list databases).
    public func listAll(_ kind: AggregateKind, limit: Int, offset: Int) async throws -> [(id: String, snapshot: AggregateSnapshot)] {
        try await mapStorageErrors {
            let rows = try await client.query("""
                SELECT aggregate_id, \(Self.columns) FROM aggregates WHERE aggregate_type = $1 AND NOT deleted
                ORDER BY aggregate_id LIMIT $2::int OFFSET $3::int
                """, [.text(kind.rawValue), .int(Int64(limit)), .int(Int64(offset))]).rows
            return try rows.map { (id: $0.string("aggregate_id") ?? "", snapshot: try Self.decode($0)) }
        }
    }

    static func snapshot(_ ref: AggregateRef, on connection: PostgresQuerying, lock: Bool) async throws -> AggregateSnapshot? {
        let rows = try await connection.query("""
            SELECT \(columns) FROM aggregates WHERE aggregate_type = $1 AND aggregate_id = $2\(lock ? " FOR UPDATE" : "")
            """, [.text(ref.kind.rawValue), .text(ref.id)]).rows
        return try rows.first.map(decode)
    }

    static func decode(_ row: PostgresRow) throws -> AggregateSnapshot {
        AggregateSnapshot(sequenceNumber: row.int("sequence_number") ?? 0, deleted: row.bool("deleted") ?? false,
                          state: try JSONParser.parse(row.string("state") ?? "{}", limits: .init(maxDepth: 256)),
                          createdAt: row.string("created_at") ?? "", updatedAt: row.string("updated_at") ?? "")
    }
}
