import Core
import Drivers

/// A read model's database spaces: one row per database in `spaces`, and the tables whose rows belong to it.
struct DatabaseSpaces: Sendable {
    let spaces: String
    /// Tables keyed by `database_name` that a drop empties.
    let contents: [String]

    func create(_ database: String, on client: PostgresClient) async throws(ReadModelError) {
        do {
            _ = try await client.query("INSERT INTO \(spaces) (database_name) VALUES ($1) ON CONFLICT DO NOTHING",
                                       [.text(database)])
        } catch {
            throw ReadModelErrors.map(error)
        }
    }

    /// The space row goes first, in its own statement: it waits for writes holding it (see
    /// `VersionedUpsert`), turns later ones away, and the deletes that follow run on fresh snapshots, so they
    /// see every row those writes committed.
    func drop(_ database: String, on client: PostgresClient) async throws(ReadModelError) {
        do {
            try await client.transaction { connection in
                _ = try await connection.query("DELETE FROM \(spaces) WHERE database_name = $1", [.text(database)])
                for table in contents {
                    _ = try await connection.query("DELETE FROM \(table) WHERE database_name = $1", [.text(database)])
                }
            }
        } catch {
            throw ReadModelErrors.map(error)
        }
    }

    func exists(_ database: String, on client: PostgresClient) async throws(ReadModelError) -> Bool {
        do {
            return !(try await client.query("SELECT 1 FROM \(spaces) WHERE database_name = $1", [.text(database)]).rows.isEmpty)
        } catch {
            throw ReadModelErrors.map(error)
        }
    }
}
