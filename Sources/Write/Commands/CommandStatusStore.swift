import Core
import Drivers

/// Command status in Postgres: a row per command plus an append-only history. Every transition is one
/// statement that moves the row (only along `CommandStatus.canMove`), appends the history entry and
/// NOTIFYs `spice_command_status` with `{command_id}:{STATUS}`, so it is atomic and waiters are pushed, not
/// polling (and skip reading moves that are not final).
///
/// The PENDING row is created by `CommandIntake`, in its own transaction, without a NOTIFY: creation is not
/// a transition, and no waiter can exist before the row does (waits and event streams of an unknown id are
/// 404). The NOTIFY would not be free either: PostgreSQL serializes the commits of all notifying
/// transactions behind one cluster-wide lock held through the commit's WAL flush, so every accepted command
/// would wait for the previous one's fsync.
public struct CommandStatusStore: Sendable {
    public static let channel = "spice_command_status"
    private let client: PostgresClient
    /// Rows expire this long after creation (nil: kept until deleted).
    let ttlSeconds: Int?

    public init(client: PostgresClient, ttlSeconds: Int?) {
        self.client = client
        self.ttlSeconds = ttlSeconds
    }

    /// A timestamptz column as RFC 3339 UTC with milliseconds.
    static func formatted(_ column: String, as name: String) -> String {
        PostgresTimestampText.rfc3339(column) + " AS " + name
    }

    /// Moves a command to `status` if the move is allowed from where it is. Returns false when it was not
    /// (unknown id, already terminal, or an illegal move): duplicates and late deliveries change nothing.
    @discardableResult
    public func transition(_ commandId: String, to status: CommandStatus, progress: Int? = nil,
                           result: JSONValue? = nil, error: JSONValue? = nil, message: String? = nil,
                           countsAsAttempt: Bool = false, reopening: Bool = false) async throws -> Bool {
        // Reopening is the operator's replay of a dead letter: FAILED → RETRYING, nothing else.
        let from = reopening ? [CommandStatus.failed.rawValue] : CommandStatus.allCases.filter { $0.canMove(to: status) }.map(\.rawValue)
        guard UUIDText.isValid(commandId), !from.isEmpty else { return false }
        let moved = try await mapStorageErrors {
            try await client.query("""
                WITH moved AS (
                    UPDATE commands SET status = $2,
                                        progress = COALESCE($3::int, CASE WHEN $2 = 'COMPLETED' THEN 100 ELSE progress END),
                                        result = COALESCE($4::jsonb, result), error = COALESCE($5::jsonb, error),
                                        attempt = attempt + $7::int, updated_at = now()
                    WHERE command_id = $1::uuid AND status = ANY($6::text[])
                    RETURNING command_id, status, progress),
                history AS (
                    INSERT INTO command_history (command_id, status, progress, message, error)
                    SELECT command_id, status, progress, $8, $5::jsonb FROM moved RETURNING 1)
                SELECT pg_notify($9, command_id::text || ':' || status) FROM moved
                """, [.text(commandId), .text(status.rawValue), progress.map { .int(Int64($0)) } ?? .null,
                      result.map { .text(JSONWriter.string($0)) } ?? .null,
                      error.map { .text(JSONWriter.string($0)) } ?? .null,
                      .text("{" + from.joined(separator: ",") + "}"), .int(countsAsAttempt ? 1 : 0),
                      message.map { .text($0) } ?? .null, .text(Self.channel)])
        }
        return !moved.rows.isEmpty
    }

    /// The advisory lock key of a command id (the SQL expression `id`), held by the intake transaction that
    /// appends its envelope.
    static func intakeLockKey(_ id: String) -> String { "hashtextextended(\(id)::text, 0)" }

    /// Where a command stands for a worker about to act on its envelope. Without a status row, waits for
    /// the intake transaction that appended the envelope to settle (its advisory lock) and looks again:
    /// still nothing means that transaction rolled back, and the envelope is an orphan.
    public func standing(of commandId: String) async throws -> CommandStanding {
        guard UUIDText.isValid(commandId) else { return .orphan }
        let query = "SELECT status FROM commands WHERE command_id = $1::uuid"
        if let status = try await client.query(query, [.text(commandId)]).rows.first?.string("status") {
            return Self.standing(status)
        }
        let status = try await client.transaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock_shared(\(Self.intakeLockKey("$1")))", [.text(commandId)])
            return try await connection.query(query, [.text(commandId)]).rows.first?.string("status")
        }
        return status.map(Self.standing) ?? .orphan
    }

    private static func standing(_ status: String) -> CommandStanding {
        switch CommandStatus(rawValue: status) {
        case .cancelled?: .cancelled
        case .completed?, .failed?: .finished
        default: .open
        }
    }

    /// Records progress on a command being processed (history entry and NOTIFY, no status change).
    @discardableResult
    public func progress(_ commandId: String, progress: Int, message: String) async throws -> Bool {
        guard UUIDText.isValid(commandId) else { return false }
        let moved = try await mapStorageErrors {
            try await client.query("""
                WITH moved AS (
                    UPDATE commands SET progress = $2::int, updated_at = now()
                    WHERE command_id = $1::uuid AND status IN ('PROCESSING', 'RETRYING')
                    RETURNING command_id, status, progress),
                history AS (
                    INSERT INTO command_history (command_id, status, progress, message)
                    SELECT command_id, status, progress, $3 FROM moved RETURNING 1)
                SELECT pg_notify($4, command_id::text || ':' || status) FROM moved
                """, [.text(commandId), .int(Int64(min(100, max(0, progress)))), .text(message), .text(Self.channel)])
        }
        return !moved.rows.isEmpty
    }

    /// The command with its history; nil if unknown or expired.
    public func record(_ commandId: String) async throws -> CommandRecord? {
        guard UUIDText.isValid(commandId) else { return nil }
        return try await mapStorageErrors {
            // One round trip: the history comes along as a JSON array (a sync write answers with it).
            let rows = try await client.query("""
                SELECT command_id::text AS command_id, command_type, aggregate_type, aggregate_id, sequence_number,
                       payload_digest, status, progress, result::text AS result, error::text AS error, attempt,
                       \(Self.formatted("created_at", as: "created_at")), \(Self.formatted("updated_at", as: "updated_at")),
                       \(Self.formatted("expires_at", as: "expires_at")),
                       (SELECT coalesce(json_agg(json_build_object(
                                    'status', h.status, 'progress', h.progress, 'message', h.message, 'error', h.error,
                                    'at', \(PostgresTimestampText.rfc3339("h.at"))) ORDER BY h.id), '[]')
                        FROM command_history h WHERE h.command_id = c.command_id)::text AS history
                FROM commands c WHERE command_id = $1::uuid AND (expires_at IS NULL OR expires_at > now())
                """, [.text(commandId)]).rows
            guard let row = rows.first else { return nil }
            return try Self.decode(row)
        }
    }

    /// Cancels a command that no worker has picked up yet. Returns the record after the attempt.
    public func cancel(_ commandId: String) async throws -> (cancelled: Bool, record: CommandRecord?) {
        let moved = try await transition(commandId, to: .cancelled, message: "cancelled by request")
        return (moved, try await record(commandId))
    }

    /// Deletes rows past their TTL, with their history; returns how many commands.
    @discardableResult
    public func deleteExpired() async throws -> Int {
        try await mapStorageErrors {
            try await client.query("""
                WITH expired AS (DELETE FROM commands WHERE expires_at IS NOT NULL AND expires_at <= now() RETURNING command_id),
                history AS (DELETE FROM command_history WHERE command_id IN (SELECT command_id FROM expired))
                SELECT count(*) AS n FROM expired
                """).rows.first?.int("n") ?? 0
        }
    }

    static func decode(_ row: PostgresRow) throws -> CommandRecord {
        func json(_ text: String?) throws -> JSONValue? { try text.map { try JSONParser.parse($0) } }
        let history = try json(row.string("history"))?.arrayValue ?? []
        return CommandRecord(
            commandId: row.string("command_id") ?? "", commandType: row.string("command_type") ?? "",
            aggregateType: row.string("aggregate_type") ?? "", aggregateId: row.string("aggregate_id") ?? "",
            sequenceNumber: row.int("sequence_number") ?? 0, payloadDigest: row.string("payload_digest") ?? "",
            status: CommandStatus(rawValue: row.string("status") ?? "") ?? .failed,
            progress: row.int("progress") ?? 0, result: try json(row.string("result")),
            error: try json(row.string("error")), attempt: row.int("attempt") ?? 0,
            createdAt: row.string("created_at") ?? "", updatedAt: row.string("updated_at") ?? "",
            expiresAt: row.string("expires_at"),
            history: history.map { entry in
                CommandHistoryEntry(status: CommandStatus(rawValue: entry["status"]?.stringValue ?? "") ?? .failed,
                                    progress: entry["progress"]?.intValue ?? 0, message: entry["message"]?.stringValue,
                                    error: entry["error"].flatMap { $0 == .null ? nil : $0 }, at: entry["at"]?.stringValue ?? "")
            })
    }
}

/// Command ids are UUIDs; anything else is answered 404 without asking Postgres (which would raise a cast error).
public enum UUIDText {
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                let isHex = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
                guard isHex else { return false }
            }
        }
        return true
    }
}
