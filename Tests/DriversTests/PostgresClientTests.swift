import Foundation
import Glibc
import XCTest
@testable import Drivers

/// Against the real PostgreSQL of SPICE_TEST_DATABASE_URL (scripts/test.sh starts one).
final class PostgresClientTests: XCTestCase {
    private func makeClient(poolSize: Int = 4, connectTimeout: Int = 5) throws -> PostgresClient {
        PostgresClient(PostgresConfiguration(url: try postgresTestURL(), poolSize: poolSize, connectTimeoutSeconds: connectTimeout))
    }

    // MARK: values

    func testParameterTypesRoundTrip() async throws {
        let client = try makeClient()
        let text = "it's \"quoted\" \\ back\\slash; ünïcødé ✓ 🚀 $1 %s\n\ttabs"
        let allBytes = (0...255).map { UInt8($0) }
        let result = try await client.query("""
            SELECT $1::text AS t, $2::bigint AS imax, $3::bigint AS imin, $4::float8 AS d, $5::float8 AS tiny,
                   $6::bool AS yes, $7::bool AS no, $8::bytea AS b, $9::bytea AS empty, $10::text AS n, $11::int AS small
            """, [.text(text), .int(.max), .int(.min), .double(3.141592653589793), .double(-1.5e-300),
                  .bool(true), .bool(false), .bytes(allBytes), .bytes([]), .null, .int(-42)])
        XCTAssertEqual(result.rows.count, 1)
        let row = try XCTUnwrap(result.rows.first)
        XCTAssertEqual(row.columns, ["t", "imax", "imin", "d", "tiny", "yes", "no", "b", "empty", "n", "small"])
        XCTAssertEqual(row.string("t"), text)
        XCTAssertEqual(row.int("imax"), Int.max)
        XCTAssertEqual(row.int("imin"), Int.min)
        XCTAssertEqual(row.double("d"), 3.141592653589793)
        XCTAssertEqual(row.double("tiny"), -1.5e-300)
        XCTAssertEqual(row.bool("yes"), true)
        XCTAssertEqual(row.bool("no"), false)
        XCTAssertEqual(row.bytes("b"), allBytes)
        XCTAssertEqual(row.bytes("empty"), [])
        XCTAssertTrue(row.isNull("n"))
        XCTAssertNil(row.string("n"))
        XCTAssertFalse(row.isNull("t"))
        XCTAssertEqual(row.int("small"), -42)
        XCTAssertNil(row.string("no_such_column"))

        // Special doubles, numeric text, and the same statement again (now a cached prepared statement).
        for _ in 0..<2 {
            let special = try await client.query(
                "SELECT $1::float8 AS inf, $2::float8 AS ninf, $3::float8 AS nan, 12345678901234::numeric AS num, 7::int2 AS i2",
                [.double(.infinity), .double(-.infinity), .double(.nan)])
            let row = try XCTUnwrap(special.rows.first)
            XCTAssertEqual(row.double("inf"), .infinity)
            XCTAssertEqual(row.double("ninf"), -.infinity)
            XCTAssertTrue(row.double("nan")?.isNaN ?? false)
            XCTAssertEqual(row.int("num"), 12345678901234)
            XCTAssertEqual(row.int("i2"), 7)
        }

        // Text cannot hold NUL: refused before it is sent, with PostgreSQL's SQLSTATE for it.
        do {
            _ = try await client.query("SELECT $1::text", [.text("a\u{0}b")])
            XCTFail("a NUL byte in text should be refused")
        } catch {
            XCTAssertEqual(error.sqlState, "22021")
            XCTAssertFalse(error.isConnectionFailure)
        }
        await client.shutdown()
    }

    func testJSONBParameters() async throws {
        let client = try makeClient()
        let document = #"{"name": "Ünïcode \"q\"", "n": 42, "tags": ["a", "b"], "nested": {"ok": true}}"#
        let result = try await client.query("""
            SELECT $1::jsonb ->> 'name' AS name, ($1::jsonb -> 'n')::int AS n,
                   jsonb_array_length($1::jsonb -> 'tags') AS tags, ($1::jsonb #>> '{nested,ok}')::bool AS ok,
                   $1::jsonb AS doc
            """, [.text(document)])
        let row = try XCTUnwrap(result.rows.first)
        XCTAssertEqual(row.string("name"), "Ünïcode \"q\"")
        XCTAssertEqual(row.int("n"), 42)
        XCTAssertEqual(row.int("tags"), 2)
        XCTAssertEqual(row.bool("ok"), true)
        XCTAssertEqual(row.string("doc"), #"{"n": 42, "name": "Ünïcode \"q\"", "tags": ["a", "b"], "nested": {"ok": true}}"#)
        await client.shutdown()
    }

    func testMultiStatementSimpleQuery() async throws {
        let client = try makeClient()
        let table = postgresUniqueName("multi")
        let result = try await client.query("""
            CREATE TABLE \(table) (id bigint PRIMARY KEY, body text);
            INSERT INTO \(table) VALUES (1, 'one'), (2, 'two');
            INSERT INTO \(table) VALUES (3, 'three');
            SELECT count(*) AS n FROM \(table);
            """)
        XCTAssertEqual(result.rows.first?.int("n"), 3)
        let rows = try await client.query("SELECT id, body FROM \(table) WHERE id >= $1 ORDER BY id", [.int(2)])
        XCTAssertEqual(rows.rows.map { $0.string("body") }, ["two", "three"])
        XCTAssertEqual(rows.affectedRows, 2)
        let updated = try await client.query("UPDATE \(table) SET body = upper(body) WHERE id <= $1", [.int(2)])
        XCTAssertEqual(updated.affectedRows, 2)
        XCTAssertEqual(updated.commandTag, "UPDATE 2")
        _ = try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    func testErrorsCarrySQLStateAndDoNotPoisonTheConnection() async throws {
        let client = try makeClient(poolSize: 1) // one connection: every query below shares it
        let table = postgresUniqueName("uniq")
        _ = try await client.query("CREATE TABLE \(table) (id bigint PRIMARY KEY)")
        _ = try await client.query("INSERT INTO \(table) VALUES ($1)", [.int(1)])
        do {
            _ = try await client.query("INSERT INTO \(table) VALUES ($1)", [.int(1)])
            XCTFail("duplicate key should fail")
        } catch {
            XCTAssertEqual(error.sqlState, PostgresError.uniqueViolation)
            XCTAssertEqual(error.constraint, "\(table)_pkey")
            XCTAssertFalse(error.isConnectionFailure)
            XCTAssertTrue(error.description.contains("23505"), error.description)
        }
        let value1 = try await client.query("SELECT count(*) AS n FROM \(table)").rows.first?.int("n")
        XCTAssertEqual(value1, 1)

        for sql in ["SELEC 1", "SELECT FROM WHERE $1"] {
            do {
                _ = try await client.query(sql, sql.contains("$1") ? [.int(1)] : [])
                XCTFail("syntax error expected")
            } catch {
                XCTAssertEqual(error.sqlState, "42601")
                XCTAssertFalse(error.isConnectionFailure)
            }
            let value2 = try await client.query("SELECT 1 AS one").rows.first?.int("one")
            XCTAssertEqual(value2, 1)
        }

        // A run-time error of a prepared statement, then the same statement succeeding.
        do {
            _ = try await client.query("SELECT $1::int AS n", [.text("not a number")])
            XCTFail("invalid input expected")
        } catch {
            XCTAssertEqual(error.sqlState, "22P02")
        }
        let value3 = try await client.query("SELECT $1::int AS n", [.text("5")]).rows.first?.int("n")
        XCTAssertEqual(value3, 5)
        _ = try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    func testPreparedStatementSurvivesTableChange() async throws {
        let client = try makeClient(poolSize: 1)
        let table = postgresUniqueName("plan")
        _ = try await client.query("CREATE TABLE \(table) (a int)")
        _ = try await client.query("INSERT INTO \(table) VALUES ($1)", [.int(1)])
        let sql = "SELECT * FROM \(table) WHERE a = $1"
        let value4 = try await client.query(sql, [.int(1)]).rows.first?.columns
        XCTAssertEqual(value4, ["a"])
        _ = try await client.query("ALTER TABLE \(table) ADD COLUMN b text DEFAULT 'x'")
        let row = try await client.query(sql, [.int(1)]).rows.first
        XCTAssertEqual(row?.columns, ["a", "b"])
        XCTAssertEqual(row?.string("b"), "x")
        // The session's prepared statements dropped behind the driver's back: prepared again.
        _ = try await client.query("DEALLOCATE ALL")
        let again = try await client.query(sql, [.int(1)]).rows.first
        XCTAssertEqual(again?.string("b"), "x")
        _ = try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    // MARK: transactions

    struct Boom: Error {}

    func testTransactionCommitsAndRollsBackOnThrow() async throws {
        let client = try makeClient()
        let table = postgresUniqueName("tx")
        _ = try await client.query("CREATE TABLE \(table) (id bigint PRIMARY KEY, body text)")

        let inserted = try await client.transaction { connection in
            _ = try await connection.query("INSERT INTO \(table) VALUES ($1, $2)", [.int(1), .text("committed")])
            _ = try await connection.query("INSERT INTO \(table) VALUES ($1, $2)", [.int(2), .text("committed")])
            return try await connection.query("SELECT count(*) AS n FROM \(table)").rows.first?.int("n") ?? -1
        }
        XCTAssertEqual(inserted, 2)
        let value5 = try await client.query("SELECT count(*) AS n FROM \(table)").rows.first?.int("n")
        XCTAssertEqual(value5, 2)

        do {
            _ = try await client.transaction { connection -> Int in
                _ = try await connection.query("INSERT INTO \(table) VALUES ($1, $2)", [.int(3), .text("rolled back")])
                throw Boom()
            }
            XCTFail("the body's error should be rethrown")
        } catch is Boom {
        }
        let value6 = try await client.query("SELECT count(*) AS n FROM \(table)").rows.first?.int("n")
        XCTAssertEqual(value6, 2)

        // A failed statement caught inside the body: COMMIT turns into ROLLBACK, reported as 25P02.
        do {
            _ = try await client.transaction { connection -> Int in
                _ = try await connection.query("INSERT INTO \(table) VALUES ($1, $2)", [.int(4), .text("lost")])
                _ = try? await connection.query("INSERT INTO \(table) VALUES ($1, $2)", [.int(1), .text("duplicate")])
                return 0
            }
            XCTFail("a transaction with a failed statement must not report success")
        } catch let error as PostgresError {
            XCTAssertEqual(error.sqlState, "25P02")
        }
        let value7 = try await client.query("SELECT count(*) AS n FROM \(table)").rows.first?.int("n")
        XCTAssertEqual(value7, 2)

        // A transaction left open in withConnection is rolled back when the connection returns to the pool.
        let single = try makeClient(poolSize: 1)
        try await single.withConnection { connection in
            _ = try await connection.query("BEGIN")
            _ = try await connection.query("INSERT INTO \(table) VALUES ($1, $2)", [.int(5), .text("abandoned")])
        }
        let value8 = try await single.query("SELECT count(*) AS n FROM \(table)").rows.first?.int("n")
        XCTAssertEqual(value8, 2)
        let value9 = try await single.query("SELECT now() = statement_timestamp() AS fresh").rows.first?.bool("fresh")
        XCTAssertEqual(value9, true)
        await single.shutdown()

        _ = try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    /// An actor's state used inside a transaction body (the body runs on the caller's actor).
    actor Ledger {
        var entries: [Int] = []
        func record(_ client: PostgresClient) async throws -> Int {
            try await client.transaction { connection in
                let value = try await connection.query("SELECT $1::int AS n", [.int(Int64(entries.count + 1))]).rows.first?.int("n") ?? 0
                entries.append(value)
                return entries.count
            }
        }
    }

    func testTransactionBodyRunsOnTheCallersActor() async throws {
        let client = try makeClient()
        let ledger = Ledger()
        let first = try await ledger.record(client)
        let second = try await ledger.record(client)
        XCTAssertEqual([first, second], [1, 2])
        let entries = await ledger.entries
        XCTAssertEqual(entries, [1, 2])
        await client.shutdown()
    }

    // MARK: concurrency

    func testTwoHundredConcurrentQueriesThroughAPoolOfFour() async throws {
        let client = try makeClient(poolSize: 4)
        // Each query reports its value and when, by the server's clock, its 10 ms sleep ran: the windows
        // show how many ran at once, however slow this machine is today.
        let windows = try await postgresWithTimeout(30, "200 queries") {
            try await withThrowingTaskGroup(of: (n: Int, start: Double, end: Double).self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let row = try await client.query("""
                            SELECT $1::int AS n, extract(epoch FROM clock_timestamp())::float8 AS started,
                                   pg_sleep(0.01)::text AS slept, extract(epoch FROM clock_timestamp())::float8 AS ended
                            """, [.int(Int64(index))]).rows.first
                        return (row?.int("n") ?? -1, row?.double("started") ?? 0, row?.double("ended") ?? 0)
                    }
                }
                var windows: [(n: Int, start: Double, end: Double)] = []
                for try await window in group { windows.append(window) }
                return windows
            }
        }
        XCTAssertEqual(windows.map(\.n).sorted(), Array(0..<200))
        let stats = await client.statistics()
        XCTAssertLessThanOrEqual(stats.open, 4)
        XCTAssertEqual(stats.waiting, 0)
        XCTAssertEqual(stats.idle, stats.open)
        // Sweep the windows' edges: the most queries sleeping at one moment is the pool's real parallelism.
        var edges: [(at: Double, change: Int)] = []
        for window in windows {
            edges.append((window.start, 1))
            edges.append((window.end, -1))
        }
        // At equal times an end sorts first: touching windows did not overlap.
        edges.sort { first, second in first.at != second.at ? first.at < second.at : first.change < second.change }
        var running = 0
        var mostAtOnce = 0
        for edge in edges {
            running += edge.change
            mostAtOnce = max(mostAtOnce, running)
        }
        print("PostgresClientTests: 200 queries through a pool of 4, at most \(mostAtOnce) at once")
        XCTAssertGreaterThan(mostAtOnce, 1, "the pool ran the queries one at a time")
        XCTAssertLessThanOrEqual(mostAtOnce, 4, "more queries ran at once than the pool has connections")
        await client.shutdown()
    }

    // MARK: the I/O thread as a task executor

    func testTasksPreferringTheClientRunBetweenQueriesOnItsIOThread() async throws {
        let client = try makeClient(poolSize: 2)
        let threads = try await withTaskExecutorPreference(client.executor) {
            var onLoop = [client.loop.isCurrentThread]
            let one = try await client.query("SELECT $1::int AS n", [.int(1)])
            onLoop.append(client.loop.isCurrentThread)
            let two = try await client.transaction { connection in
                try await connection.query("SELECT $1::int + 1 AS n", [.int(1)]).rows.first?.int("n")
            }
            onLoop.append(client.loop.isCurrentThread)
            // Child tasks inherit the preference and run concurrently over the pool.
            let sum = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        let value = try await client.query("SELECT pg_sleep(0.005), $1::int AS n", [.int(Int64(index))]).rows.first?.int("n") ?? -1
                        return client.loop.isCurrentThread ? value : -1000
                    }
                }
                return try await group.reduce(0, +)
            }
            XCTAssertEqual(one.rows.first?.int("n"), 1)
            XCTAssertEqual(two, 2)
            XCTAssertEqual(sum, (0..<20).reduce(0, +))
            return onLoop
        }
        // The body starts on the executor it asked for, and every query's answer resumes it there.
        XCTAssertEqual(threads, [true, true, true])
        await client.shutdown()
    }

    func testTasksPreferringAStoppedClientStillRun() async throws {
        let client = try makeClient()
        await client.shutdown()
        let outcome = await withTaskExecutorPreference(client.executor) { () -> String in
            do {
                _ = try await client.query("SELECT 1")
                return "answered"
            } catch {
                // Still running (now on the global executor): the loop hands its jobs on once it has stopped.
                let failure = (error as? PostgresError)?.isConnectionFailure == true
                return failure && !client.loop.isCurrentThread ? "failed elsewhere" : "\(error)"
            }
        }
        XCTAssertEqual(outcome, "failed elsewhere")
    }

    func testPoolWaitersAreServedFIFO() async throws {
        let client = try makeClient(poolSize: 1)
        let table = postgresUniqueName("fifo")
        _ = try await client.query("CREATE TABLE \(table) (seq bigserial PRIMARY KEY, waiter int)")
        let release = PostgresTestGate()
        let holder = Task {
            try await client.withConnection { connection in
                _ = try await connection.query("SELECT 1")
                await release.wait()
            }
        }
        let held = await postgresEventually(5) { let stats = await client.statistics(); return stats.idle == 0 && stats.open == 1 }
        XCTAssertTrue(held)
        // Queries and withConnection calls queue one after another; the single connection records the
        // order in which they are served.
        var tasks: [Task<Void, any Error>] = []
        for index in 0..<12 {
            if index % 2 == 0 {
                tasks.append(Task { _ = try await client.query("INSERT INTO \(table) (waiter) VALUES ($1)", [.int(Int64(index))]) })
            } else {
                tasks.append(Task {
                    try await client.withConnection { connection in
                        _ = try await connection.query("INSERT INTO \(table) (waiter) VALUES ($1)", [.int(Int64(index))])
                    }
                })
            }
            let queued = await postgresEventually(5) { await client.statistics().waiting == index + 1 }
            XCTAssertTrue(queued, "waiter \(index) did not queue")
        }
        release.open()
        try await holder.value
        for task in tasks { try await task.value }
        let order = try await client.query("SELECT waiter FROM \(table) ORDER BY seq").rows.compactMap { $0.int("waiter") }
        XCTAssertEqual(order, Array(0..<12))
        _ = try await client.query("DROP TABLE \(table)")
        await client.shutdown()
    }

    func testCancellationDoesNotLeak() async throws {
        let client = try makeClient(poolSize: 1)
        let release = PostgresTestGate()
        let holder = Task {
            try await client.withConnection { _ in await release.wait() }
        }
        let held = await postgresEventually(5) { let stats = await client.statistics(); return stats.idle == 0 && stats.open == 1 }
        XCTAssertTrue(held)

        // Waiters: cancel every other one while they queue.
        var tasks: [Task<String, Never>] = []
        for index in 0..<20 {
            tasks.append(Task {
                do {
                    if index % 4 == 3 {
                        return try await client.withConnection { _ in "ran" }
                    }
                    _ = try await client.query("SELECT $1::int", [.int(Int64(index))])
                    return "ran"
                } catch let error as PostgresError {
                    return error.sqlState == PostgresError.queryCanceled ? "canceled" : "error \(error)"
                } catch is CancellationError {
                    return "canceled"
                } catch {
                    return "error \(error)"
                }
            })
        }
        let allQueued = await postgresEventually(5) { await client.statistics().waiting == 20 }
        XCTAssertTrue(allQueued)
        for (index, task) in tasks.enumerated() where index % 2 == 1 { task.cancel() }
        let withdrawn = await postgresEventually(5) { await client.statistics().waiting == 10 }
        XCTAssertTrue(withdrawn, "cancelled waiters should leave the queue")
        release.open()
        try await holder.value
        let waiterTasks = tasks
        let outcomes = try await postgresWithTimeout(10, "waiters finishing") {
            var outcomes: [String] = []
            for task in waiterTasks { outcomes.append(await task.value) }
            return outcomes
        }
        for (index, outcome) in outcomes.enumerated() {
            XCTAssertEqual(outcome, index % 2 == 1 ? "canceled" : "ran", "waiter \(index)")
        }

        // A query already running is not interrupted: its task gets the result, exactly once.
        let running = Task { try await client.query("SELECT pg_sleep(0.2), 7 AS n").rows.first?.int("n") }
        try await Task.sleep(nanoseconds: 50_000_000)
        running.cancel()
        let value = try await postgresWithTimeout(5, "running query") { try await running.value }
        XCTAssertEqual(value, 7)

        // A task cancelled before it asks: the query may still run; either way it answers.
        let early = Task { () -> String in
            withUnsafeCurrentTask { $0?.cancel() }
            do { _ = try await client.query("SELECT 1"); return "ran" } catch { return "canceled" }
        }
        _ = try await postgresWithTimeout(5, "pre-cancelled query") { await early.value }

        let stats = await client.statistics()
        XCTAssertEqual(stats.waiting, 0)
        XCTAssertEqual(stats.idle, stats.open)
        let value10 = try await client.query("SELECT 2 AS n").rows.first?.int("n")
        XCTAssertEqual(value10, 2)
        await client.shutdown()
    }

    // MARK: LISTEN / NOTIFY

    func testNotifyArrivesQuickly() async throws {
        let client = try makeClient()
        let channel = postgresUniqueName("Chan")   // mixed case: used exactly as given
        let stream = try await postgresWithTimeout(10, "subscribe") { try await client.subscribe(channel) }
        let received = PostgresTestRecorder<(PostgresNotification, UInt64)>()
        let ended = PostgresTestGate()
        let consumer = Task {
            for await event in stream { received.append((event, DispatchTime.now().uptimeNanoseconds)) }
            ended.open()
        }
        var latencies: [Double] = []
        for index in 0..<20 {
            let sent = DispatchTime.now().uptimeNanoseconds
            _ = try await client.query("SELECT pg_notify($1, $2)", [.text(channel), .text("payload \(index) ✓")])
            let arrived = await postgresEventually(5) { received.values.count == index + 1 }
            XCTAssertTrue(arrived, "notification \(index) did not arrive")
            guard arrived, let (event, at) = received.values.last else { break }
            XCTAssertEqual(event, .message(channel: channel, payload: "payload \(index) ✓"))
            latencies.append(Double(at - sent) / 1_000_000)
        }
        latencies.sort()
        if latencies.count == 20 {
            print("PostgresClientTests: NOTIFY latency (ms, pg_notify sent → stream element) over 20: "
                  + "min \(String(format: "%.2f", latencies[0])), median \(String(format: "%.2f", latencies[10])), "
                  + "max \(String(format: "%.2f", latencies[19]))")
            XCTAssertLessThan(latencies[10], 50)
        }

        // listen() (returns before the LISTEN is in effect) also delivers once it is.
        let other = postgresUniqueName("other")
        let second = client.listen(other)
        let secondReceived = PostgresTestRecorder<PostgresNotification>()
        let secondConsumer = Task { for await event in second { secondReceived.append(event) } }
        let delivered = await postgresEventually(5) {
            _ = try? await client.query("SELECT pg_notify($1, 'hi')", [.text(other)])
            return await postgresEventually(0.1) { !secondReceived.values.isEmpty }
        }
        XCTAssertTrue(delivered)
        XCTAssertEqual(secondReceived.values.first, .message(channel: other, payload: "hi"))

        // Shutdown ends the streams.
        await client.shutdown()
        _ = try await postgresWithTimeout(5, "stream end after shutdown") { await ended.wait() }
        secondConsumer.cancel()
        consumer.cancel()
    }

    func testListenRecoversAfterServerRestart() async throws {
        let client = try makeClient()
        let channel = postgresUniqueName("restart")
        let stream = try await postgresWithTimeout(10, "subscribe") { try await client.subscribe(channel) }
        let events = PostgresTestRecorder<PostgresNotification>()
        let consumer = Task {
            for await event in stream { events.append(event) }
        }
        _ = try await client.query("SELECT pg_notify($1, 'before')", [.text(channel)])
        let before = await postgresEventually(5) { events.values.contains(.message(channel: channel, payload: "before")) }
        XCTAssertTrue(before)

        try restartTestPostgres()
        let reconnected = await postgresEventually(15) { events.values.contains(.reconnected) }
        XCTAssertTrue(reconnected, "the stream should yield .reconnected after the server restart")

        let delivered = await postgresEventually(15) {
            _ = try? await client.query("SELECT pg_notify($1, 'after')", [.text(channel)])
            return await postgresEventually(0.5) { events.values.contains(.message(channel: channel, payload: "after")) }
        }
        XCTAssertTrue(delivered, "notifications after the restart should arrive")
        let all = events.values
        let reconnectIndex = all.firstIndex(of: .reconnected) ?? -1
        let afterIndex = all.firstIndex(of: .message(channel: channel, payload: "after")) ?? -1
        XCTAssertLessThan(reconnectIndex, afterIndex)
        consumer.cancel()
        await client.shutdown()
    }

    // MARK: failures

    func testQueriesRecoverAfterServerRestart() async throws {
        let client = try makeClient(poolSize: 4)
        for index in 0..<8 {
            _ = try await client.query("SELECT $1::int", [.int(Int64(index))])
        }
        // A query running while the server shuts down fails as a connection failure, promptly.
        let long = Task { () -> PostgresError? in
            do { _ = try await client.query("SELECT pg_sleep(10)"); return nil } catch { return error as? PostgresError }
        }
        try await Task.sleep(nanoseconds: 200_000_000)

        // Restart on another thread while queries keep coming.
        let restarted = PostgresTestGate()
        let restartError = PostgresTestRecorder<String>()
        Thread.detachNewThread {
            do { try restartTestPostgres() } catch { restartError.append("\(error)") }
            restarted.open()
        }
        let started = Date()
        var failures: [PostgresError] = []
        var successesAfterRestart = 0
        var restartDone = false
        while Date().timeIntervalSince(started) < 20, successesAfterRestart < 3 {
            let done = restarted.isOpen
            do {
                let value = try await postgresWithTimeout(7, "query around a restart") {
                    try await client.query("SELECT pg_sleep(0.02), $1::int AS n", [.int(5)]).rows.first?.int("n")
                }
                XCTAssertEqual(value, 5)
                if restartDone { successesAfterRestart += 1 }
            } catch let error as PostgresError {
                XCTAssertTrue(error.isConnectionFailure, "unexpected error around the restart: \(error)")
                failures.append(error)
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            restartDone = done
        }
        XCTAssertEqual(restartError.values, [])
        XCTAssertEqual(successesAfterRestart, 3, "queries should succeed again after the restart")
        let longError = try await postgresWithTimeout(10, "query running during the restart") { await long.value }
        XCTAssertEqual(longError?.isConnectionFailure, true, "\(String(describing: longError))")
        print("PostgresClientTests: restart → \(failures.count) connection failures, recovered after "
              + "\(String(format: "%.2f", Date().timeIntervalSince(started))) s; running query got: \(longError.map { "\($0)" } ?? "success")")

        // Every pool connection is usable again (stale ones were replaced).
        let results = try await postgresWithTimeout(10, "queries after recovery") {
            try await withThrowingTaskGroup(of: Int?.self) { group in
                for index in 0..<16 {
                    group.addTask { try await client.query("SELECT pg_sleep(0.01), $1::int AS n", [.int(Int64(index))]).rows.first?.int("n") }
                }
                var values: [Int] = []
                for try await value in group { values.append(value ?? -1) }
                return values.sorted()
            }
        }
        XCTAssertEqual(results, Array(0..<16))
        let reachable = await client.isReachable()
        XCTAssertTrue(reachable)
        await client.shutdown()
    }

    func testUnreachableServerFailsFastWithConnectionFailure() async throws {
        // A port nobody listens on: connection refused.
        let port = try Self.closedPort()
        let client = PostgresClient(PostgresConfiguration(url: "postgresql://postgres@127.0.0.1:\(port)/postgres",
                                                          poolSize: 2, connectTimeoutSeconds: 2))
        let started = Date()
        do {
            _ = try await postgresWithTimeout(5, "query to a closed port") { try await client.query("SELECT 1") }
            XCTFail("query should fail")
        } catch let error as PostgresError {
            XCTAssertTrue(error.isConnectionFailure, "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5)
        // Several waiters at once all fail too.
        let failures = try await postgresWithTimeout(5, "concurrent queries to a closed port") {
            await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        do { _ = try await client.query("SELECT $1::int", [.int(1)]); return false } catch { return (error as? PostgresError)?.isConnectionFailure ?? false }
                    }
                }
                var all = true
                for await failed in group { all = all && failed }
                return all
            }
        }
        XCTAssertTrue(failures)
        let reachable = await client.isReachable()
        XCTAssertFalse(reachable)
        await client.shutdown()
    }

    func testConnectTimeoutBoundsASilentServer() async throws {
        // A socket that accepts TCP connections (the kernel completes them) but never answers.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        XCTAssertTrue(bound)
        XCTAssertEqual(listen(fd, 16), 0)
        let port = UInt16(bigEndian: address.sin_port)

        let client = PostgresClient(PostgresConfiguration(url: "postgresql://postgres@127.0.0.1:\(port)/postgres?sslmode=disable",
                                                          poolSize: 2, connectTimeoutSeconds: 1))
        let started = Date()
        do {
            _ = try await postgresWithTimeout(5, "query to a silent server") { try await client.query("SELECT 1") }
            XCTFail("query should fail")
        } catch let error as PostgresError {
            XCTAssertTrue(error.isConnectionFailure, "\(error)")
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 2.5)
        let probeStart = Date()
        let reachable = await client.isReachable()
        XCTAssertFalse(reachable)
        XCTAssertLessThan(Date().timeIntervalSince(probeStart), 2.5)
        await client.shutdown()
    }

    func testReachabilityAndShutdown() async throws {
        let client = try makeClient()
        let reachable = await client.isReachable()
        XCTAssertTrue(reachable)
        let stream = client.listen(postgresUniqueName("bye"))
        await client.shutdown()
        do {
            _ = try await client.query("SELECT 1")
            XCTFail("queries after shutdown should fail")
        } catch {
            XCTAssertTrue(error.isConnectionFailure)
        }
        let ended = try await postgresWithTimeout(5, "stream end after shutdown") {
            var iterator = stream.makeAsyncIterator()
            return await iterator.next() == nil
        }
        XCTAssertTrue(ended)
        let afterShutdown = await client.isReachable()
        XCTAssertFalse(afterShutdown)
        await client.shutdown() // twice is fine
    }

    private static func closedPort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresTestFailure("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw PostgresTestFailure("bind failed") }
        return UInt16(bigEndian: address.sin_port)
    }
}

