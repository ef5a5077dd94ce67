import Core
import Drivers
import Schema

/// Applies the numbered migrations of `schema/migrations` that the database has not seen, each in its own
/// transaction, recorded in `schema_migrations`. Safe to run from several processes at once: an advisory
/// lock serialises them, and a re-run applies nothing.
public struct Migrator: Sendable {
    private let client: PostgresClient
    /// Arbitrary, fixed: the advisory lock key that serialises migrators.
    private static let lockKey = 0x5370_6963_6548

    public init(client: PostgresClient) { self.client = client }

    @discardableResult
    public func migrate(log: @Sendable (String) -> Void = { _ in }) async throws -> [Int] {
        let migrations = try Schema.migrations()
        // Under the lock too: concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog.
        try await client.transaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock($1::bigint)", [.int(Int64(Self.lockKey))])
            _ = try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """)
        }
        var applied: [Int] = []
        for migration in migrations {
            let didApply = try await client.transaction { connection in
                _ = try await connection.query("SELECT pg_advisory_xact_lock($1::bigint)", [.int(Int64(Self.lockKey))])
                let seen = try await connection.query("SELECT 1 FROM schema_migrations WHERE version = $1::int",
                                                      [.int(Int64(migration.version))])
                guard seen.rows.isEmpty else { return false }
                _ = try await connection.query(migration.sql)
                _ = try await connection.query("INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)",
                                               [.int(Int64(migration.version)), .text(migration.name)])
                return true
            }
            if didApply {
                applied.append(migration.version)
                log("applied migration \(migration.version) \(migration.name)")
            }
        }
        return applied
    }
}
