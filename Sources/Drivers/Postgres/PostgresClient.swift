/// A pooled PostgreSQL client on libpq's non-blocking API, driven by one I/O thread of its own.
///
/// - `query` runs on any pool connection. With no parameters it uses the simple protocol (several
///   statements allowed, e.g. migrations); with parameters it prepares the statement once per connection
///   and executes the prepared statement afterwards.
/// - Waiters for a connection are served first come, first served. A connection that fails is dropped and
///   replaced on demand, so queries work again after the server restarts. A lost or unreachable server
///   fails queries with `isConnectionFailure` (connect attempts are bounded by `connectTimeoutSeconds`).
/// - Cancelling the awaiting task withdraws a query (or `withConnection`) still waiting for a connection;
///   a query already sent runs to completion and its task gets the outcome.
public final class PostgresClient: PostgresQuerying, Sendable {
    public let configuration: PostgresConfiguration
    let loop: PostgresIOLoop

    public init(_ configuration: PostgresConfiguration) {
        self.configuration = configuration
        self.loop = PostgresIOLoop(configuration: configuration)
    }

    deinit {
        loop.requestShutdown()
    }

    /// The I/O thread as a task executor: a task that prefers it runs its code between queries on that
    /// thread, so a statement's answer reaches it without waking another thread.
    public var executor: any TaskExecutor { loop }

    public func query(_ sql: String, _ parameters: [PostgresValue] = []) async throws(PostgresError) -> PostgresResult {
        try await loop.query(sql, parameters, target: .pool)
    }

    /// Runs `body` with a connection of its own (for statements that must share a session). The handle
    /// must not be used after `body` returns. A transaction left open by `body` is rolled back.
    /// (`isolation` keeps `body` on the caller's actor; leave it to its default.)
    public func withConnection<T: Sendable>(isolation: isolated (any Actor)? = #isolation,
                                            _ body: (PostgresConnectionHandle) async throws -> T) async throws -> T {
        let (connection, lease) = try await loop.acquire()
        defer { loop.release(connection: connection, lease: lease) }
        return try await body(PostgresConnectionHandle(loop: loop, connection: connection, lease: lease))
    }

    /// BEGIN … COMMIT; ROLLBACK if body throws (then rethrows). Connection-level failures are
    /// PostgresError(isConnectionFailure: true). A COMMIT that the server turns into a rollback (a statement
    /// failed inside and body caught the error) throws PostgresError with sqlState 25P02.
    public func transaction<T: Sendable>(isolation: isolated (any Actor)? = #isolation,
                                         _ body: (PostgresConnectionHandle) async throws -> T) async throws -> T {
        try await withConnection(isolation: isolation) { connection in
            _ = try await connection.query("BEGIN")
            let value: T
            do {
                value = try await body(connection)
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
            let commit = try await connection.query("COMMIT")
            if commit.commandTag == "ROLLBACK" {
                throw PostgresError(sqlState: "25P02", message: "the transaction was rolled back: a statement inside it failed")
            }
            return value
        }
    }

    /// LISTEN on the client's dedicated listener connection. Yields each NOTIFY payload; after a reconnect
    /// it re-LISTENs and yields `.reconnected` so waiters re-check state (notifications may have been
    /// missed meanwhile). The LISTEN takes effect shortly after this returns; ending the iteration (or
    /// dropping the stream) unlistens.
    public func listen(_ channel: String) -> AsyncStream<PostgresNotification> {
        loop.listen(channel)
    }

    /// Like `listen`, but returns only once the LISTEN is in effect on the server, so a NOTIFY sent after
    /// this returns is delivered. Throws if the listener connection cannot be established.
    public func subscribe(_ channel: String) async throws(PostgresError) -> AsyncStream<PostgresNotification> {
        try await loop.subscribe(channel)
    }

    /// SELECT 1 within the connect timeout (for /readyz).
    public func isReachable() async -> Bool {
        let timeout = UInt64(max(1, configuration.connectTimeoutSeconds)) * 1_000_000_000
        do {
            _ = try await loop.query("SELECT 1", [], target: .pool, timeoutNanos: timeout)
            return true
        } catch {
            return false
        }
    }

    /// Pool counters (open, idle, connecting, waiting).
    public func statistics() async -> PostgresPoolStatistics {
        await loop.statistics()
    }

    /// Fails waiting and running queries, closes every connection, ends notification streams and stops the
    /// I/O thread. Later calls fail with isConnectionFailure.
    public func shutdown() async {
        await loop.shutdown()
    }
}

/// A connection checked out of the pool, valid inside `withConnection` / `transaction` only. Queries on it
/// run one after another in the order they were issued.
public final class PostgresConnectionHandle: PostgresQuerying {
    let loop: PostgresIOLoop
    let connection: Int
    let lease: UInt64

    init(loop: PostgresIOLoop, connection: Int, lease: UInt64) {
        self.loop = loop
        self.connection = connection
        self.lease = lease
    }

    public func query(_ sql: String, _ parameters: [PostgresValue] = []) async throws(PostgresError) -> PostgresResult {
        try await loop.query(sql, parameters, target: .connection(id: connection, lease: lease))
    }

    /// Sends `statements` together and waits once (libpq pipeline mode); results come back in order. If one
    /// fails, its error is thrown and the server skipped the rest (inside a transaction, the transaction is
    /// then aborted). Every statement uses the extended protocol: one SQL command each, prepared and cached
    /// on this connection like `query`'s.
    public func pipeline(_ statements: [PostgresStatement]) async throws(PostgresError) -> [PostgresResult] {
        try await loop.pipeline(statements, connection: connection, lease: lease)
    }
}
