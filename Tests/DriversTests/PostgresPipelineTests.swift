import XCTest
@testable import Drivers

/// Pipeline mode against the real PostgreSQL of SPICE_TEST_DATABASE_URL.
final class PostgresPipelineTests: XCTestCase {
    private func makeClient() throws -> PostgresClient {
        PostgresClient(PostgresConfiguration(url: try postgresTestURL(), poolSize: 1, connectTimeoutSeconds: 5))
    }

    private func count(_ table: String, _ client: PostgresClient) async throws -> Int? {
        try await client.query("SELECT count(*) AS n FROM \(table)").rows.first?.int("n")
    }

    func testATransactionInOnePipelineAnswersEveryStatementInOrder() async throws {
        let client = try makeClient()
        let table = postgresUniqueName("pipe")
        _ = try await client.query("CREATE TABLE \(table) (id bigint PRIMARY KEY, body text)")
        let insert = "INSERT INTO \(table) VALUES ($1, $2) RETURNING id"
        let results = try await client.withConnection { connection in
            try await connection.pipeline([
                PostgresStatement("BEGIN"),
                PostgresStatement(insert, [.int(1), .text("one")]),
                PostgresStatement(insert, [.int(2), .text("two")]),   // the same text again: prepared once
                PostgresStatement("SELECT count(*) AS n, txid_current_if_assigned() IS NOT NULL AS in_tx FROM \(table)"),
                PostgresStatement("COMMIT"),
            ])
        }
        XCTAssertEqual(results.map(\.commandTag), ["BEGIN", "INSERT 0 1", "INSERT 0 1", "SELECT 1", "COMMIT"])
        XCTAssertEqual(results[1].rows.first?.int("id"), 1)
        XCTAssertEqual(results[2].rows.first?.int("id"), 2)
        XCTAssertEqual(results[3].rows.first?.int("n"), 2)
        XCTAssertEqual(results[3].rows.first?.bool("in_tx"), true)
        let committed = try await count(table, client)
        XCTAssertEqual(committed, 2)

        // The connection is back in ordinary mode: single queries and more pipelines work on it.
        let mixed = try await client.withConnection { connection -> (PostgresResult, [PostgresResult]) in
            let single = try await connection.query("SELECT $1::int AS v", [.int(7)])
            let again = try await connection.pipeline([PostgresStatement(insert, [.int(3), .text("three")])])
            return (single, again)
        }
        XCTAssertEqual(mixed.0.rows.first?.int("v"), 7)
        XCTAssertEqual(mixed.1.first?.rows.first?.int("id"), 3)
        _ = try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    func testAFailingStatementThrowsSkipsTheRestAndLeavesTheConnectionUsable() async throws {
        let client = try makeClient()
        let table = postgresUniqueName("pipefail")
        _ = try await client.query("CREATE TABLE \(table) (id bigint PRIMARY KEY)")
        let insert = "INSERT INTO \(table) VALUES ($1)"
        do {
            _ = try await client.withConnection { connection in
                try await connection.pipeline([
                    PostgresStatement("BEGIN"),
                    PostgresStatement(insert, [.int(1)]),
                    PostgresStatement(insert, [.int(1)]),   // unique violation
                    PostgresStatement(insert, [.int(2)]),   // skipped by the server
                    PostgresStatement("COMMIT"),            // skipped: the transaction stays aborted
                ])
            }
            XCTFail("the duplicate key should fail the pipeline")
        } catch let error as PostgresError {
            XCTAssertEqual(error.sqlState, PostgresError.uniqueViolation)
            XCTAssertFalse(error.isConnectionFailure)
        }
        // The aborted transaction was rolled back when the connection went back to the pool.
        let afterFailure = try await count(table, client)
        XCTAssertEqual(afterFailure, 0)

        // A statement that cannot be prepared fails alone and is not left in the statement cache.
        for _ in 0..<2 {
            do {
                _ = try await client.withConnection { connection in
                    try await connection.pipeline([PostgresStatement("SELEC $1::int", [.int(1)])])
                }
                XCTFail("a syntax error should fail the pipeline")
            } catch let error as PostgresError {
                XCTAssertEqual(error.sqlState, "42601")
            }
        }
        let committed = try await client.withConnection { connection in
            try await connection.pipeline([PostgresStatement(insert, [.int(5)]), PostgresStatement("SELECT count(*) AS n FROM \(table)")])
        }
        XCTAssertEqual(committed.last?.rows.first?.int("n"), 1)
        _ = try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    func testAnEmptyPipelineAndAStatementWhosePlanWentStale() async throws {
        let client = try makeClient()
        let table = postgresUniqueName("pipeplan")
        _ = try await client.query("CREATE TABLE \(table) (a int)")
        _ = try await client.query("INSERT INTO \(table) VALUES (1)")
        let empty = try await client.withConnection { connection in try await connection.pipeline([]) }
        XCTAssertTrue(empty.isEmpty)

        let select = "SELECT * FROM \(table) WHERE a = $1"
        let before = try await client.withConnection { connection in try await connection.pipeline([PostgresStatement(select, [.int(1)])]) }
        XCTAssertEqual(before.first?.rows.first?.columns, ["a"])
        _ = try await client.query("ALTER TABLE \(table) ADD COLUMN b text DEFAULT 'x'")
        // The cached plan's result type changed: that run fails, the statement is prepared afresh for the next.
        var answered: [PostgresResult] = []
        for _ in 0..<2 where answered.isEmpty {
            do {
                answered = try await client.withConnection { connection in try await connection.pipeline([PostgresStatement(select, [.int(1)])]) }
            } catch let error as PostgresError {
                XCTAssertEqual(error.sqlState, "0A000")
            }
        }
        XCTAssertEqual(answered.first?.rows.first?.string("b"), "x")
        _ = try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    func testAPipelineCutByAServerRestartFailsAsAConnectionFailureAndLaterOnesWork() async throws {
        let client = try makeClient()
        _ = try await client.query("SELECT 1")
        let running = Task { () -> PostgresError? in
            do {
                _ = try await client.withConnection { connection in
                    try await connection.pipeline([PostgresStatement("BEGIN"), PostgresStatement("SELECT pg_sleep(10)"),
                                                   PostgresStatement("COMMIT")])
                }
                return nil
            } catch {
                return error as? PostgresError
            }
        }
        try await Task.sleep(nanoseconds: 300_000_000)
        try restartTestPostgres()
        let error = try await postgresWithTimeout(10, "a pipeline running during the restart") { await running.value }
        XCTAssertEqual(error?.isConnectionFailure, true, "\(String(describing: error))")
        let recovered = await postgresEventually(15) {
            let results = try? await client.withConnection { connection in
                try await connection.pipeline([PostgresStatement("SELECT $1::int AS n", [.int(3)])])
            }
            return results?.first?.rows.first?.int("n") == 3
        }
        XCTAssertTrue(recovered, "pipelines work again on a new connection")
        await client.shutdown()
    }
}
