import Core
import Drivers

/// The single statement behind every versioned write of the read models: the batch arrives as one array
/// per column, each row is inserted or updated only if its version is newer than the stored one
/// (tombstones included), and one row per input comes back saying what happened — one round trip.
///
/// The statement first locks the database's space row (FOR KEY SHARE, as a foreign key check would), so a
/// missing or concurrently dropped space writes nothing and returns no rows (→ `notFound`).
///
/// Parameters: `$1` the database, then one array per key column, the versions, one array per payload
/// column, then whatever `afterWrite` uses.
struct VersionedUpsert: Sendable {
    struct Column: Sendable {
        let name: String
        /// The SQL element type of the column's parameter array.
        let type: String
        init(_ name: String, _ type: String) {
            self.name = name
            self.type = type
        }
    }

    let table: String
    let sql: String
    /// What the error says is missing (`graph`, `document`).
    private let spaceKind: String

    /// The stored version of a refused write is looked up by a scalar subquery, so only those rows cost a
    /// probe (joined, the planner may scan the whole table to hash it).
    ///
    /// `afterWrite`: further CTEs (each starting with `,`) run by the same statement; they can read
    /// `input` (the batch, with `ordinal`) and `written` (the keys and versions of the rows that applied).
    /// It is given the number of its first parameter.
    init(table: String, spaces: String, spaceKind: String, key: [Column], payload: [Column],
         afterWrite: (_ firstParameter: Int) -> String = { _ in "" }) {
        let columns = key + [Column("version", "bigint")] + payload
        let arrays = columns.enumerated().map { "$\($0 + 2)::\($1.type)[]" }.joined(separator: ", ")
        let names = columns.map(\.name)
        let keyNames = key.map(\.name)
        let joinWritten = keyNames.map { "written.\($0) = input.\($0)" }.joined(separator: " AND ")
        let joinCurrent = keyNames.map { "current.\($0) = input.\($0)" }.joined(separator: " AND ")
        self.table = table
        self.spaceKind = spaceKind
        self.sql = """
            WITH space AS (
                SELECT database_name FROM \(spaces) WHERE database_name = $1 FOR KEY SHARE
            ), input AS (
                SELECT * FROM unnest(\(arrays)) WITH ORDINALITY AS input(\(names.joined(separator: ", ")), ordinal)
            ), written AS (
                INSERT INTO \(table) AS stored (database_name, \(names.joined(separator: ", ")))
                SELECT space.database_name, \(names.map { "input." + $0 }.joined(separator: ", ")) FROM input CROSS JOIN space
                ON CONFLICT (database_name, \(keyNames.joined(separator: ", "))) DO UPDATE
                    SET \((["version"] + payload.map(\.name)).map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
                    WHERE stored.version < excluded.version
                RETURNING \(keyNames.map { "stored." + $0 }.joined(separator: ", ")), stored.version
            )\(afterWrite(columns.count + 2))
            SELECT input.ordinal, written.version IS NOT NULL AS applied,
                   CASE WHEN written.version IS NULL THEN GREATEST(input.version, (
                       SELECT current.version FROM \(table) current WHERE current.database_name = $1 AND \(joinCurrent)))
                   END AS current_version
            FROM input CROSS JOIN space
            LEFT JOIN written ON \(joinWritten)
            ORDER BY input.ordinal
            """
    }

    /// Runs the statement for `count` writes; outcomes in input order. A stale write reports the version
    /// that refused it (under a concurrent write of the same key, at least its own version: the statement's
    /// snapshot may predate the row that won).
    func run(on client: PostgresClient, database: String, count: Int,
             _ parameters: [PostgresValue]) async throws(ReadModelError) -> [VersionedWriteOutcome] {
        guard count > 0 else { return [] }
        let rows: [PostgresRow]
        do {
            rows = try await client.query(sql, parameters).rows
        } catch {
            throw ReadModelErrors.map(error)
        }
        guard !rows.isEmpty else { throw ReadModelErrors.missingSpace(spaceKind, database) }
        guard rows.count == count else {
            throw .invalidResponse("\(table): \(count) writes but \(rows.count) outcomes")
        }
        var outcomes: [VersionedWriteOutcome] = []
        outcomes.reserveCapacity(count)
        for row in rows {
            if try row.requiredBool("applied") {
                outcomes.append(.applied)
            } else {
                outcomes.append(.stale(currentVersion: try row.requiredInt("current_version")))
            }
        }
        return outcomes
    }
}
