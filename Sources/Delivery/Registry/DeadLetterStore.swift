import Core
import Drivers

/// A message a handler gave up on, as it was delivered.
public struct DeadLetter: Sendable, Equatable {
    public let id: Int
    public let handler: String
    public let eventId: String?
    public let topic: String
    public let partition: Int
    public let offset: Int64
    public let key: String
    public let value: [UInt8]
    public let error: String
    public let attempts: Int
    public let createdAt: String
    public let replayedAt: String?
    public let replayCount: Int

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .number(Double(id)), "handler": .string(handler), "topic": .string(topic),
            "partition": .number(Double(partition)), "offset": .number(Double(offset)), "key": .string(key),
            "error": .string(error), "attempts": .number(Double(attempts)), "created_at": .string(createdAt),
            "replay_count": .number(Double(replayCount)),
        ]
        object["event_id"] = eventId.map(JSONValue.string) ?? .null
        object["replayed_at"] = replayedAt.map(JSONValue.string) ?? .null
        // The envelope as delivered, readable when it is JSON (it always is for our own topics).
        object["message"] = (try? JSONParser.parse(value)) ?? .string(String(decoding: value, as: UTF8.self))
        return .object(object)
    }
}

/// Dead letters in Postgres (contract rule 8: nothing is dropped silently). Replaying one publishes its
/// message again to the topic it came from; the handler's registry row is `failed`, so the next delivery is
/// claimed and processed like a retry.
public struct DeadLetterStore: Sendable {
    private let client: PostgresClient

    public init(client: PostgresClient) { self.client = client }

    @discardableResult
    public func record(handler: String, eventId: String?, message: BusMessage, error: String, attempts: Int)
        async throws(PostgresError) -> Int {
        let rows = try await client.query("""
            INSERT INTO dead_letters (handler, event_id, topic, "partition", "offset", message_key, value, error, attempts)
            VALUES ($1, $2::uuid, $3, $4::int, $5::bigint, $6, $7::bytea, $8, $9::int) RETURNING id
            """, [.text(handler), eventId.map(PostgresValue.text) ?? .null, .text(message.topic),
                  .int(Int64(message.partition)), .int(message.offset), .text(message.key), .bytes(message.value),
                  .text(error), .int(Int64(attempts))]).rows
        return rows.first?.int("id") ?? 0
    }

    /// Newest first. `pendingOnly` hides the ones already replayed.
    public func list(handler: String? = nil, pendingOnly: Bool = false, limit: Int, offset: Int) async throws(PostgresError) -> [DeadLetter] {
        try await client.query("""
            SELECT \(Self.columns) FROM dead_letters
            WHERE ($1::text IS NULL OR handler = $1) AND (NOT $2::bool OR replayed_at IS NULL)
            ORDER BY id DESC LIMIT $3::int OFFSET $4::int
            """, [handler.map(PostgresValue.text) ?? .null, .bool(pendingOnly), .int(Int64(limit)), .int(Int64(offset))])
            .rows.map(Self.decode)
    }

    public func get(id: Int) async throws(PostgresError) -> DeadLetter? {
        try await client.query("SELECT \(Self.columns) FROM dead_letters WHERE id = $1::bigint", [.int(Int64(id))])
            .rows.first.map(Self.decode)
    }

    /// Publishes the dead letters again (all not yet replayed, or the one with `id`) and marks them replayed.
    /// Returns the replayed letters. The commands behind them are reopened first (FAILED → RETRYING), so
    /// the worker that succeeds this time can complete them. Publishing before marking means a crash in
    /// between replays twice, which the handlers' registry absorbs, rather than never.
    public func replay(id: Int? = nil, handler: String? = nil, limit: Int = 1000, on bus: any MessageBus,
                       commands: any CommandProgressReporting) async throws -> [DeadLetter] {
        let letters: [DeadLetter]
        if let id {
            letters = try await get(id: id).map { [$0] } ?? []
        } else {
            letters = try await list(handler: handler, pendingOnly: true, limit: limit, offset: 0)
        }
        guard !letters.isEmpty else { return [] }
        for letter in letters {
            if let commandId = (try? EventEnvelope(bytes: letter.value))?.metadata.commandId {
                try await commands.reopened(commandId, message: "dead letter \(letter.id) replayed")
            }
        }
        try await bus.publish(letters.map { OutgoingMessage(topic: $0.topic, key: $0.key, value: $0.value) })
        _ = try await client.query("""
            UPDATE dead_letters SET replayed_at = now(), replay_count = replay_count + 1 WHERE id = ANY($1::bigint[])
            """, [PostgresArrayLiteral.integers(letters.map(\.id))])
        return letters
    }

    private static let columns = """
        id, handler, event_id::text AS event_id, topic, "partition", "offset", message_key, value, error, attempts,
        \(PostgresTimestampText.rfc3339("created_at")) AS created_at,
        \(PostgresTimestampText.rfc3339("replayed_at")) AS replayed_at, replay_count
        """

    private static func decode(_ row: PostgresRow) -> DeadLetter {
        DeadLetter(id: row.int("id") ?? 0, handler: row.string("handler") ?? "", eventId: row.string("event_id"),
                   topic: row.string("topic") ?? "", partition: row.int("partition") ?? 0,
                   offset: Int64(row.int("offset") ?? 0), key: row.string("message_key") ?? "",
                   value: row.bytes("value") ?? [], error: row.string("error") ?? "", attempts: row.int("attempts") ?? 0,
                   createdAt: row.string("created_at") ?? "", replayedAt: row.string("replayed_at"),
                   replayCount: row.int("replay_count") ?? 0)
    }
}
