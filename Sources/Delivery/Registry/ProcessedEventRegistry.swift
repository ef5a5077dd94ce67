import Core
import Drivers

/// What a claim found.
public enum ClaimOutcome: Sendable, Equatable {
    /// The caller owns the event now (`attempt` 1 for a first claim, more after a takeover or a retry).
    case claimed(attempt: Int)
    /// The handler already finished this event: skip it.
    case duplicateDone
    /// Another owner holds a live lease: try again later (never skip — its owner may be dead).
    case inProgress(owner: String)
    /// At or below the aggregate's `last_sequence` for this handler: recorded `skipped_stale`, no effect.
    case stale
}

/// A registry row, for inspection and tests.
public struct ProcessedEvent: Sendable, Equatable {
    public let handler: String
    public let eventId: String
    public let aggregateId: String
    public let sequenceNumber: Int?
    public let status: String
    public let owner: String
    public let attemptCount: Int
    public let lastError: String?
}

/// The processed-events registry and the ordering guard in Postgres (correctness contract rules 1, 3, 6, 7).
/// Every operation is one statement, so each is atomic on its own; the lease makes a dead owner's claim
/// recoverable, and the owner check makes a live-but-late owner harmless.
public struct ProcessedEventRegistry: Sendable {
    private let client: PostgresClient
    public let leaseSeconds: Double

    public init(client: PostgresClient, leaseSeconds: Double = 30) {
        self.client = client
        self.leaseSeconds = leaseSeconds
    }

    /// Claims `(handler, eventId)` for `owner`. A new event, an expired lease, a failed previous attempt or the
    /// same owner's own claim is taken; stale events (sequence ≤ the guard) are recorded `skipped_stale`.
    public func claim(handler: String, eventId: String, aggregateId: String, sequence: Int?, owner: String)
        async throws(PostgresError) -> ClaimOutcome {
        let taken = try await client.query("""
            WITH guard AS (
                SELECT last_sequence FROM aggregate_versions WHERE handler = $1 AND aggregate_id = $3),
            verdict AS (
                SELECT CASE WHEN $4::bigint IS NOT NULL AND $4::bigint <= coalesce((SELECT last_sequence FROM guard), 0)
                            THEN 'skipped_stale' ELSE 'processing' END AS status)
            INSERT INTO processed_events AS p (handler, event_id, aggregate_id, sequence_number, status, owner)
            SELECT $1, $2::uuid, $3, $4::bigint, verdict.status, $5 FROM verdict
            ON CONFLICT (handler, event_id) DO UPDATE
                SET status = (SELECT status FROM verdict), owner = EXCLUDED.owner, attempt_count = p.attempt_count + 1,
                    claimed_at = now(), heartbeat_at = now(), finished_at = NULL
                WHERE p.status = 'failed' OR (p.status = 'processing'
                      AND (p.owner = EXCLUDED.owner OR p.heartbeat_at < now() - make_interval(secs => $6::float8)))
            RETURNING p.status, p.attempt_count
            """, [.text(handler), .text(eventId), .text(aggregateId), sequence.map { .int(Int64($0)) } ?? .null,
                  .text(owner), .double(leaseSeconds)]).rows
        if let row = taken.first {
            return row.string("status") == "skipped_stale" ? .stale : .claimed(attempt: row.int("attempt_count") ?? 1)
        }
        // Not taken: someone else's row. Read it with a new snapshot (a concurrent claimer's row is committed by now).
        guard let current = try await record(handler: handler, eventId: eventId) else {
            return try await claim(handler: handler, eventId: eventId, aggregateId: aggregateId, sequence: sequence, owner: owner)
        }
        switch current.status {
        case "done": return .duplicateDone
        case "skipped_stale": return .stale
        default: return .inProgress(owner: current.owner)
        }
    }

    /// Renews the lease; false when `owner` no longer holds it (taken over, or finished).
    public func heartbeat(handler: String, eventId: String, owner: String) async throws(PostgresError) -> Bool {
        try await client.query("""
            UPDATE processed_events SET heartbeat_at = now()
            WHERE handler = $1 AND event_id = $2::uuid AND owner = $3 AND status = 'processing'
            """, [.text(handler), .text(eventId), .text(owner)]).affectedRows == 1
    }

    /// Marks the event done and advances the aggregate's `last_sequence` (never backwards) in the same
    /// statement. False when `owner` does not hold the claim: nothing changes.
    public func markDone(handler: String, eventId: String, owner: String) async throws(PostgresError) -> Bool {
        let rows = try await client.query("""
            WITH done AS (
                UPDATE processed_events SET status = 'done', finished_at = now(), heartbeat_at = now(), last_error = NULL
                WHERE handler = $1 AND event_id = $2::uuid AND owner = $3 AND status = 'processing'
                RETURNING aggregate_id, sequence_number),
            guard AS (
                INSERT INTO aggregate_versions AS v (handler, aggregate_id, last_sequence)
                SELECT $1, aggregate_id, sequence_number FROM done WHERE sequence_number IS NOT NULL
                ON CONFLICT (handler, aggregate_id) DO UPDATE
                    SET last_sequence = greatest(v.last_sequence, EXCLUDED.last_sequence), updated_at = now())
            SELECT count(*) AS marked FROM done
            """, [.text(handler), .text(eventId), .text(owner)]).rows
        return rows.first?.int("marked") == 1
    }

    /// Records a failed attempt; the event can be claimed again. False when `owner` does not hold the claim.
    public func markFailed(handler: String, eventId: String, owner: String, error: String) async throws(PostgresError) -> Bool {
        try await client.query("""
            UPDATE processed_events SET status = 'failed', finished_at = now(), last_error = $4
            WHERE handler = $1 AND event_id = $2::uuid AND owner = $3 AND status = 'processing'
            """, [.text(handler), .text(eventId), .text(owner), .text(error)]).affectedRows == 1
    }

    public func record(handler: String, eventId: String) async throws(PostgresError) -> ProcessedEvent? {
        let rows = try await client.query("""
            SELECT handler, event_id::text AS event_id, aggregate_id, sequence_number, status, owner, attempt_count, last_error
            FROM processed_events WHERE handler = $1 AND event_id = $2::uuid
            """, [.text(handler), .text(eventId)]).rows
        return rows.first.map {
            ProcessedEvent(handler: $0.string("handler") ?? "", eventId: $0.string("event_id") ?? "",
                           aggregateId: $0.string("aggregate_id") ?? "", sequenceNumber: $0.int("sequence_number"),
                           status: $0.string("status") ?? "", owner: $0.string("owner") ?? "",
                           attemptCount: $0.int("attempt_count") ?? 0, lastError: $0.string("last_error"))
        }
    }

    /// The ordering guard's value for one aggregate (nil: nothing applied yet).
    public func lastSequence(handler: String, aggregateId: String) async throws(PostgresError) -> Int? {
        try await client.query("SELECT last_sequence FROM aggregate_versions WHERE handler = $1 AND aggregate_id = $2",
                               [.text(handler), .text(aggregateId)]).rows.first?.int("last_sequence")
    }

    /// Counts by status, per handler: what `/readyz`-style summaries and the soak test's invariant check read.
    public func statusCounts() async throws(PostgresError) -> [String: [String: Int]] {
        var counts: [String: [String: Int]] = [:]
        for row in try await client.query("SELECT handler, status, count(*) AS n FROM processed_events GROUP BY 1, 2").rows {
            counts[row.string("handler") ?? "", default: [:]][row.string("status") ?? ""] = row.int("n") ?? 0
        }
        return counts
    }
}
