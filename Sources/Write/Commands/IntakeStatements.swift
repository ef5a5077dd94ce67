import Core
import Drivers

/// The SQL of an intake transaction (`IntakeTransaction`), in two forms with the same results: for one
/// command, with scalar parameters, and for a batch, with array parameters unnested in input order. Rows
/// carry `ordinal`, the command's 1-based position in the batch.
///
/// A batch of one is what an idle server sees, and PostgreSQL runs the one-command form in about 0.25 ms
/// less (simpler plans); the batch form costs little more for 30 commands than for one.
enum IntakeStatements {
    /// Round trip 1: BEGIN, the command ids' locks, the aggregates' locks, then the read (its own statement,
    /// so that its snapshot is taken once the locks are held).
    static func lockAndRead(_ requests: [CommandRequest]) -> [PostgresStatement] {
        if requests.count == 1 { return lockAndReadOne(requests[0]) }
        let commandIds = PostgresArrayLiteral.text(requests.map(\.commandId))
        let types = PostgresArrayLiteral.text(requests.map(\.aggregate.kind.rawValue))
        let ids = PostgresArrayLiteral.text(requests.map(\.aggregate.id))
        let databases = PostgresArrayLiteral.text(requests.map { $0.ontology?.database })
        return [
            PostgresStatement("BEGIN"),
            PostgresStatement(batchPlannerSettings),
            // Each set of locks in key order: two batches never wait on each other in a cycle.
            PostgresStatement("""
                SELECT pg_advisory_xact_lock(key) FROM (
                    SELECT DISTINCT \(CommandStatusStore.intakeLockKey("id")) AS key FROM unnest($1::text[]) AS id
                    ORDER BY key) AS keys
                """, [commandIds]),
            PostgresStatement("""
                SELECT pg_advisory_xact_lock(type_key, id_key) FROM (
                    SELECT DISTINCT hashtext(type) AS type_key, hashtext(id) AS id_key
                    FROM unnest($1::text[], $2::text[]) AS aggregate(type, id) ORDER BY type_key, id_key) AS keys
                """, [types, ids]),
            PostgresStatement("""
                SELECT r.ordinal, \(commandColumns), a.*, o.*
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                     WITH ORDINALITY AS r(command_id, aggregate_type, aggregate_id, database_name, ordinal)
                LEFT JOIN LATERAL (SELECT * FROM commands WHERE command_id = r.command_id::uuid OFFSET 0) AS c ON true
                LEFT JOIN LATERAL (SELECT \(AggregateStore.columns) FROM aggregates
                                   WHERE aggregate_type = r.aggregate_type AND aggregate_id = r.aggregate_id OFFSET 0) AS a ON true
                LEFT JOIN LATERAL (SELECT \(OntologyPrecondition.columns(database: "r.database_name")) OFFSET 0) AS o
                       ON r.database_name IS NOT NULL
                """, [commandIds, types, ids, databases]),
        ]
    }

    private static func lockAndReadOne(_ request: CommandRequest) -> [PostgresStatement] {
        let ref = request.aggregate
        var readParameters: [PostgresValue] = [.text(request.commandId), .text(ref.kind.rawValue), .text(ref.id)]
        var ontologyColumns = ""
        if let ontology = request.ontology {
            readParameters.append(.text(ontology.database))
            ontologyColumns = ", " + OntologyPrecondition.columns(database: "$4")
        }
        return [
            PostgresStatement("BEGIN"),
            PostgresStatement("""
                SELECT pg_advisory_xact_lock(\(CommandStatusStore.intakeLockKey("$1"))), pg_advisory_xact_lock(hashtext($2), hashtext($3))
                """, [.text(request.commandId), .text(ref.kind.rawValue), .text(ref.id)]),
            PostgresStatement("""
                SELECT 1 AS ordinal, \(commandColumns), a.*\(ontologyColumns)
                FROM (SELECT 1) AS one
                LEFT JOIN commands c ON c.command_id = $1::uuid
                LEFT JOIN LATERAL (SELECT \(AggregateStore.columns) FROM aggregates
                                   WHERE aggregate_type = $2 AND aggregate_id = $3) AS a ON true
                """, readParameters),
        ]
    }

    /// For the batch's transaction only. Every row the intake touches is found by primary key, and the
    /// statements are the same for every batch: plan them once per connection (`force_generic_plan`;
    /// planning the write statement costs more than running it), and keep those plans from scanning or
    /// hashing tables, which is cheapest while the tables are small, when a connection's plans are made,
    /// and gets slower with every row after.
    private static let batchPlannerSettings = """
        SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true),
               set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)
        """

    private static let commandColumns = """
        c.payload_digest, c.command_type, c.aggregate_type AS command_aggregate_type,
        c.aggregate_id AS command_aggregate_id, c.sequence_number AS command_sequence
        """

    typealias Write = (request: CommandRequest, state: String, digest: String)

    /// Round trip 2, before COMMIT: the aggregates' new versions and states and the PENDING status rows, each
    /// with its first history entry, in one statement; returns `ordinal, sequence_number` per row written.
    static func write(_ writes: [Write], ttlSeconds: Int?) -> PostgresStatement {
        let ttl: PostgresValue = ttlSeconds.map { .int(Int64($0)) } ?? .null
        if writes.count == 1 { return writeOne(writes[0], ttl: ttl) }
        let requests = writes.map(\.request)
        return PostgresStatement("""
            WITH input AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                     $7::text[], $9::bigint[], $10::bool[], $11::bool[])
                WITH ORDINALITY AS i(aggregate_type, aggregate_id, database_name, state, command_id, command_type,
                                     digest, expected_seq, deleting, creating, ordinal)),
            inserted AS (
                INSERT INTO aggregates (aggregate_type, aggregate_id, database_name, sequence_number, state)
                SELECT aggregate_type, aggregate_id, database_name, 1, state::jsonb FROM input WHERE creating
                ON CONFLICT DO NOTHING RETURNING aggregate_type, aggregate_id, sequence_number),
            updated AS (
                UPDATE aggregates a SET sequence_number = a.sequence_number + 1, state = i.state::jsonb,
                                        deleted = i.deleting, updated_at = now()
                FROM input i
                WHERE NOT i.creating AND a.aggregate_type = i.aggregate_type AND a.aggregate_id = i.aggregate_id
                      AND a.sequence_number = i.expected_seq AND NOT a.deleted
                RETURNING a.aggregate_type, a.aggregate_id, a.sequence_number),
            written AS (
                SELECT i.*, w.sequence_number
                FROM input i JOIN (SELECT * FROM inserted UNION ALL SELECT * FROM updated) AS w
                     ON w.aggregate_type = i.aggregate_type AND w.aggregate_id = i.aggregate_id),
            created AS (
                INSERT INTO commands (command_id, command_type, aggregate_type, aggregate_id, sequence_number,
                                      payload_digest, status, expires_at)
                SELECT command_id::uuid, command_type, aggregate_type, aggregate_id, sequence_number, digest, 'PENDING',
                       \(expiry("$8"))
                FROM written
                RETURNING command_id, status, progress),
            \(historyOfCreated)
            SELECT ordinal, sequence_number FROM written
            """, [
                PostgresArrayLiteral.text(requests.map(\.aggregate.kind.rawValue)),
                PostgresArrayLiteral.text(requests.map(\.aggregate.id)),
                PostgresArrayLiteral.text(requests.map(\.aggregate.database)),
                PostgresArrayLiteral.text(writes.map(\.state)),
                PostgresArrayLiteral.text(requests.map(\.commandId)),
                PostgresArrayLiteral.text(requests.map(\.commandType)),
                PostgresArrayLiteral.text(writes.map(\.digest)),
                ttl,
                PostgresArrayLiteral.integers(requests.map(\.expectedSequence)),
                PostgresArrayLiteral.booleans(requests.map { $0.effect == .delete }),
                PostgresArrayLiteral.booleans(requests.map { $0.effect == .create }),
            ])
    }

    private static func writeOne(_ write: Write, ttl: PostgresValue) -> PostgresStatement {
        let request = write.request
        let ref = request.aggregate
        let written = request.effect == .create
            ? """
              INSERT INTO aggregates (aggregate_type, aggregate_id, database_name, sequence_number, state)
              VALUES ($1, $2, $3, 1, $4::jsonb) ON CONFLICT DO NOTHING RETURNING sequence_number
              """
            : """
              UPDATE aggregates SET sequence_number = sequence_number + 1, state = $4::jsonb, deleted = $10::bool,
                                    updated_at = now()
              WHERE aggregate_type = $1 AND aggregate_id = $2 AND database_name = $3 AND sequence_number = $9::bigint
                    AND NOT deleted
              RETURNING sequence_number
              """
        var parameters: [PostgresValue] = [
            .text(ref.kind.rawValue), .text(ref.id), .text(ref.database), .text(write.state),
            .text(request.commandId), .text(request.commandType), .text(write.digest), ttl,
        ]
        if request.effect != .create {
            parameters += [.int(Int64(request.expectedSequence)), .bool(request.effect == .delete)]
        }
        return PostgresStatement("""
            WITH written AS (\(written)),
            created AS (
                INSERT INTO commands (command_id, command_type, aggregate_type, aggregate_id, sequence_number,
                                      payload_digest, status, expires_at)
                SELECT $5::uuid, $6, $1, $2, sequence_number, $7, 'PENDING', \(expiry("$8"))
                FROM written
                RETURNING command_id, status, progress),
            \(historyOfCreated)
            SELECT 1 AS ordinal, sequence_number FROM written
            """, parameters)
    }

    /// `expires_at` for a TTL in seconds given by the int parameter `ttl` (NULL: never).
    private static func expiry(_ ttl: String) -> String {
        "CASE WHEN \(ttl)::int IS NULL THEN NULL ELSE now() + make_interval(secs => \(ttl)::int) END"
    }

    /// The first history entry of every row the CTE `created` inserted. No NOTIFY: creating a command is not
    /// a transition, and nobody can wait on an id before this commit makes it exist (see `CommandStatusStore`).
    private static let historyOfCreated = """
        history AS (
            INSERT INTO command_history (command_id, status, progress, message)
            SELECT command_id, status, progress, 'accepted' FROM created)
        """
}
