import Foundation
import XCTest

/// Commands flowing end to end through the real binary: publisher, bus, workers, graph and documents, in
/// PostgreSQL — including the correctness contract's failure tests (crash points, retries, dead letters).
final class DeliveryTests: XCTestCase {
    private var harness: DeliveryHarness!

    override func setUpWithError() throws {
        harness = try DeliveryHarness()
    }

    override func tearDown() {
        harness?.cleanUp()
    }

    private func document(_ id: String) throws -> String {
        try harness.sql("SELECT version || ':' || deleted || ':' || (data->>'name') FROM documents WHERE database_name = 'shop' AND class_id = 'Product' AND instance_id = '\(id)'")
    }

    func testAsyncCreateCompletesIntoTheGraphAndTheDocuments() throws {
        try harness.start()
        try harness.makeShop()
        let commandId = try harness.createProduct("p1")
        let record = try harness.waitForStatus(commandId, "COMPLETED")
        let history = (record["history"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
        XCTAssertEqual(history.first, "PENDING")
        XCTAssertTrue(history.contains("PROCESSING"), "\(history)")
        XCTAssertEqual(history.last, "COMPLETED")
        XCTAssertEqual((record["result"] as? [String: Any])?["event_type"] as? String, "INSTANCE_CREATED")

        XCTAssertEqual(try document("p1"), "1:false:Lamp")
        XCTAssertEqual(try harness.sql("SELECT version || ':' || (fields->>'name') FROM graph_nodes WHERE database_name = 'shop' AND instance_id = 'p1'"), "1:Lamp")
        XCTAssertEqual(try harness.sql("SELECT predicate || '->' || to_class || '/' || to_id FROM graph_edges WHERE database_name = 'shop' AND from_id = 'p1'"),
                       "made_by->Company/acme")
        XCTAssertEqual(try harness.sql("SELECT count(*) FROM graph_classes WHERE database_name = 'shop' AND NOT deleted"), "2")
        XCTAssertEqual(try harness.sql("SELECT count(*) FROM class_documents WHERE database_name = 'shop' AND NOT deleted"), "2")
        XCTAssertEqual(try harness.sql("SELECT string_agg(handler || '=' || status, ',' ORDER BY handler) FROM processed_events WHERE event_id::text = '\(commandId)'"),
                       "instance_worker=done")
        XCTAssertEqual(try harness.sql("SELECT count(*) FROM processed_events WHERE status <> 'done'"), "0")
        // The domain event is in the store, next to its command, under the same aggregate and sequence number.
        let index = harness.dataDirectory + "/events/indexes/by-aggregate/Instance/shop%3Amain%3AProduct%3Ap1"
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: index).count, 2)
    }

    func testSyncWritesAnswerOnceTheDocumentIsReadable() throws {
        try harness.start()
        try harness.makeShop()
        let created = try HTTP.call("POST", harness.api("/instances/shop/sync/Product/create"),
                                    json: ["data": ["product_id": "p1", "name": "Lamp"]])
        XCTAssertEqual(created.status, 201, created.raw)
        XCTAssertEqual(try document("p1"), "1:false:Lamp", "a sync create answers only once the document is written")

        let updated = try HTTP.call("PUT", harness.api("/instances/shop/sync/Product/p1/update?expected_seq=1"),
                                    json: ["data": ["name": "Desk lamp"]])
        XCTAssertEqual(updated.status, 200, updated.raw)
        XCTAssertEqual(try document("p1"), "2:false:Desk lamp")

        let deleted = try HTTP.call("DELETE", harness.api("/instances/shop/sync/Product/p1/delete?expected_seq=2"))
        XCTAssertEqual(deleted.status, 200, deleted.raw)
        XCTAssertEqual(try document("p1"), "3:true:Desk lamp", "a delete leaves a versioned tombstone")
        XCTAssertEqual(try harness.sql("SELECT version || ':' || deleted FROM graph_nodes WHERE instance_id = 'p1'"), "3:true")
        XCTAssertEqual(try harness.sql("SELECT count(*) FROM graph_edges WHERE from_id = 'p1'"), "0")
    }

    /// Contract: a worker killed at each point converges after restart — one effect, and (when it died
    /// holding the claim) a takeover that counts a second attempt.
    func testEveryCrashPointConverges() throws {
        let cases: [(String, Bool)] = [
            ("instance_worker.after_claim", true), ("instance_worker.before_side_effect", true),
            ("instance_worker.after_side_effect", true), ("instance_worker.before_mark_done", true),
            ("instance_worker.before_commit", false),
            ("projection_worker.before_side_effect", true), ("projection_worker.after_side_effect", true),
            ("projection_worker.before_commit", false),
        ]
        for (point, takesOver) in cases {
            harness.cleanUp()
            harness = try DeliveryHarness()
            // The shop first, without chaos (the projection would otherwise crash on the database's own event).
            try harness.start()
            try harness.makeShop()
            try harness.start(["SPICE_CHAOS_CRASH_POINT": point])
            // The worker may crash before the intake has answered (the envelope is durable, and delivered,
            // before the intake transaction commits): then the client retries with its Idempotency-Key —
            // recognised as the same command, or, if the crash cut the transaction, recovered from the orphan.
            let key = UUID().uuidString.lowercased()
            var commandId = try harness.createProduct("p1", idempotencyKey: key, mayFail: true)
            XCTAssertEqual(harness.server?.waitForExit(timeout: 30), 70, "\(point): the process should crash there")
            XCTAssertTrue(harness.server?.stderr.contains("chaos: crashing at \(point)") ?? false, point)

            try harness.start(["SPICE_CHAOS_CRASH_POINT": point])
            if commandId.isEmpty { commandId = try harness.createProduct("p1", idempotencyKey: key) }
            let record = try harness.waitForStatus(commandId, "COMPLETED")
            XCTAssertEqual(record["status"] as? String, "COMPLETED", point)
            XCTAssertEqual(try document("p1"), "1:false:Lamp", point)
            XCTAssertEqual(try harness.sql("SELECT count(*) FROM documents"), "1", point)
            XCTAssertEqual(try harness.sql("SELECT count(*) FROM graph_nodes WHERE instance_id = 'p1' AND version = 1"), "1", point)
            let handler = String(point.prefix { $0 != "." })
            try harness.waitForSQL("SELECT count(*) FROM processed_events WHERE status <> 'done'", "0")
            let attempts = Int(try harness.sql("""
                SELECT max(attempt_count) FROM processed_events WHERE handler = '\(handler)' AND aggregate_id = 'shop:main:Product:p1'
                """)) ?? 0
            if takesOver {
                XCTAssertGreaterThanOrEqual(attempts, 2, "\(point): the restarted worker takes the expired claim over")
            } else {
                XCTAssertEqual(attempts, 1, "\(point): the redelivery is a duplicate of a done event")
            }
            let index = harness.dataDirectory + "/events/indexes/by-aggregate/Instance/shop%3Amain%3AProduct%3Ap1"
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: index).count, 2, "\(point): one domain event")
        }
    }

    func testARetriedFailureSucceedsAndTheHistoryShowsIt() throws {
        try harness.start(["SPICE_CHAOS_FAIL": "instance_worker.2"])
        try harness.makeShop()
        let commandId = try harness.createProduct("p1")
        let record = try harness.waitForStatus(commandId, "COMPLETED")
        let history = (record["history"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
        XCTAssertEqual(history.filter { $0 == "RETRYING" }.count, 2, "\(history)")
        XCTAssertEqual(record["retry_count"] as? Int, 2, "\(record)")
        XCTAssertEqual(try harness.sql("SELECT attempt_count || ':' || status FROM processed_events WHERE handler = 'instance_worker' AND event_id::text = '\(commandId)'"),
                       "3:done")
        XCTAssertEqual(try document("p1"), "1:false:Lamp")
    }

    func testAnExhaustedEventIsADeadLetterThatReplaysToCompletion() throws {
        try harness.start(["SPICE_CHAOS_FAIL": "projection_worker.100", "SPICE_WORKER_MAX_ATTEMPTS": "2"])
        // The projection completes class commands too, so the shop's classes end FAILED as well.
        try harness.makeShop(expecting: "FAILED")
        let commandId = try harness.createProduct("p1")
        let failed = try harness.waitForStatus(commandId, "FAILED")
        XCTAssertNotNil(failed["error"], "\(failed)")
        let listed = try HTTP.call("GET", harness.api("/admin/dead-letters?handler=projection_worker"))
        XCTAssertEqual(listed.status, 200, listed.raw)
        let letters = listed.json["dead_letters"] as? [[String: Any]] ?? []
        let letter = try XCTUnwrap(letters.first { (($0["message"] as? [String: Any])?["aggregate_id"] as? String) == "shop:main:Product:p1" })
        XCTAssertEqual(letter["attempts"] as? Int, 2)
        XCTAssertTrue((letter["error"] as? String ?? "").contains("chaos"), "\(letter)")
        XCTAssertEqual(try harness.sql("SELECT count(*) FROM documents"), "0")

        // The "fix" ships: restart without the fault, then replay every dead letter.
        try harness.start()
        let replayed = try HTTP.call("POST", harness.api("/admin/dead-letters/replay"))
        XCTAssertEqual(replayed.status, 202, replayed.raw)
        XCTAssertGreaterThanOrEqual(replayed.json["count"] as? Int ?? 0, 1)
        let record = try harness.waitForStatus(commandId, "COMPLETED")
        let history = (record["history"] as? [[String: Any]] ?? []).compactMap { $0["status"] as? String }
        XCTAssertTrue(history.contains("FAILED") && history.last == "COMPLETED", "\(history)")
        XCTAssertEqual(try document("p1"), "1:false:Lamp")
        let after = try HTTP.call("GET", harness.api("/admin/dead-letters?pending=true"))
        XCTAssertEqual(after.json["count"] as? Int, 0, after.raw)
        XCTAssertEqual(try HTTP.call("GET", harness.api("/admin/dead-letters/abc")).status, 400)
        XCTAssertEqual(try HTTP.call("POST", harness.api("/admin/dead-letters/999999/replay")).status, 404)
    }

    func testReplayRebuildsReadModelsIdenticalToIncrementalOnes() throws {
        try harness.start()
        try harness.makeShop()
        var last = ""
        for n in 0..<12 { last = try harness.createProduct("p\(n)", name: "Item \(n)", company: "c\(n % 3)") }
        try harness.waitForStatus(last, "COMPLETED")
        for n in 0..<4 {
            let response = try HTTP.call("PUT", harness.api("/instances/shop/sync/Product/p\(n)/update?expected_seq=1"),
                                         json: ["data": ["name": "Renamed \(n)"]])
            XCTAssertEqual(response.status, 200, response.raw)
        }
        XCTAssertEqual(try HTTP.call("DELETE", harness.api("/instances/shop/sync/Product/p5/delete?expected_seq=1")).status, 200)
        try harness.waitForSQL("SELECT count(*) FROM processed_events WHERE status <> 'done'", "0")
        let before = try snapshot()
        harness.stop()

        _ = try harness.sql("DELETE FROM documents; DELETE FROM graph_nodes; DELETE FROM graph_edges; DELETE FROM class_documents; DELETE FROM graph_classes")
        let run = try Command.run(SpiceServer.binaryPath, ["replay"], timeout: 120,
                                  environment: ProcessInfo.processInfo.environment.merging(harness.baseEnvironment) { $1 })
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("replay done"), run.stderr)
        XCTAssertTrue(run.stderr.contains("INSTANCE_CREATED 12"), run.stderr)
        XCTAssertEqual(try snapshot(), before)
    }

    /// Everything the read models hold, in a stable order.
    private func snapshot() throws -> String {
        try [
            "SELECT string_agg(class_id || '|' || version || '|' || deleted || '|' || coalesce(definition::text, ''), E'\\n' ORDER BY class_id) FROM graph_classes",
            "SELECT string_agg(class_id || '|' || instance_id || '|' || version || '|' || deleted || '|' || fields::text, E'\\n' ORDER BY class_id, instance_id) FROM graph_nodes",
            "SELECT string_agg(from_id || '|' || predicate || '|' || to_class || '|' || to_id, E'\\n' ORDER BY from_id, predicate, to_id) FROM graph_edges",
            "SELECT string_agg(class_id || '|' || instance_id || '|' || version || '|' || deleted || '|' || data::text || '|' || event_id, E'\\n' ORDER BY class_id, instance_id) FROM documents",
            "SELECT string_agg(class_id || '|' || version || '|' || deleted, E'\\n' ORDER BY class_id) FROM class_documents",
        ].map { try harness.sql($0) }.joined(separator: "\n--\n")
    }
}

/// Contract rule 9 with the workers running: PostgreSQL stops mid-run; writes answer 503, consumers pause;
/// once it is back, everything accepted before completes exactly once.
final class DeliveryOutageTests: XCTestCase {
    func testRegistryOutagePausesConsumersAndLosesNothing() throws {
        let cluster = try PrivateCluster()
        defer { cluster.remove() }
        _ = try TestPostgres.psql(cluster.url, "CREATE DATABASE outage")
        let base = cluster.url
        let url = String(base[...(base.lastIndex(of: "/") ?? base.startIndex)]) + "outage"
        let harness = try DeliveryHarness(databaseURL: url)
        defer { harness.cleanUp() }
        try harness.start()
        try harness.makeShop()
        // 400 commands, then the stop right away: most are still being delivered when PostgreSQL goes.
        let bulk = try HTTP.call("POST", harness.api("/instances/shop/async/Product/bulk-create"),
                                 json: ["instances": (0..<400).map { ["product_id": "p\($0)", "name": "Lamp"] }], timeout: 60)
        XCTAssertEqual(bulk.status, 202, bulk.raw)
        var accepted = (bulk.json["items"] as? [[String: Any]] ?? []).compactMap { $0["command_id"] as? String }
        XCTAssertEqual(accepted.count, 400)

        let projectedBefore = try harness.sql("SELECT count(*) FROM documents")
        XCTAssertEqual(cluster.run("stop"), 0)
        print("outage: \(projectedBefore) of 400 documents projected when PostgreSQL stopped")
        let during = try HTTP.call("POST", harness.api("/instances/shop/async/Product/create"),
                                   json: ["data": ["product_id": "lost", "name": "Never accepted"]], timeout: 20)
        XCTAssertEqual(during.status, 503, during.raw)
        sleep(2)
        XCTAssertTrue(harness.server?.process.isRunning ?? false, "an outage pauses the workers; it does not kill the process")

        XCTAssertEqual(cluster.run("start-existing"), 0)
        for n in 400..<405 {
            var status = 0
            for _ in 0..<50 where status != 202 {
                let response = try HTTP.call("POST", harness.api("/instances/shop/async/Product/create"),
                                             json: ["data": ["product_id": "p\(n)", "name": "Lamp", "made_by": "Company/acme"]])
                status = response.status
                if status == 202 { accepted.append(response.json["command_id"] as? String ?? "") } else { usleep(200_000) }
            }
            XCTAssertEqual(status, 202)
        }
        for commandId in accepted {
            XCTAssertEqual(try harness.waitForStatus(commandId, timeout: 60)["status"] as? String, "COMPLETED", commandId)
        }
        XCTAssertEqual(try harness.sql("SELECT count(*) FROM documents WHERE NOT deleted"), "405")
        XCTAssertEqual(try harness.sql("SELECT count(*) FROM documents WHERE instance_id = 'lost'"), "0")
        XCTAssertEqual(try harness.sql("SELECT max(c) FROM (SELECT count(*) AS c FROM processed_events GROUP BY handler, event_id) x"), "1")
        try harness.waitForSQL("SELECT count(*) FROM processed_events WHERE status <> 'done'", "0")
    }
}
