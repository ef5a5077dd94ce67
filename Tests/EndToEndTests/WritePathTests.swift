import Foundation
import XCTest

/// The write path through the real binary and a real PostgreSQL: commands, OCC, validation, idempotency,
/// the event files, status, waits and the SSE stream. The server runs the gateway role only (no publisher,
/// no workers), so commands stay where the tests put them: tests play the worker by moving status rows in
/// SQL exactly as a worker's transition does (update + history + NOTIFY). DeliveryTests covers the workers.
final class WritePathTests: XCTestCase {
    var server: SpiceServer!
    var databaseURL = ""
    var dataDirectory = ""

    override func setUpWithError() throws {
        databaseURL = try TestPostgres.freshDatabase()
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("spice-write-\(UUID().uuidString)").path
        server = try SpiceServer(environment: ["SPICE_DATABASE_URL": databaseURL, "SPICE_DATA_DIR": dataDirectory,
                                               "SPICE_ROLES": "gateway"])
    }

    override func tearDown() {
        server?.stop()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    private func api(_ path: String) -> String { server.baseURL + "/api/v1" + path }

    private static var productClass: [String: Any] { [
        "id": "Product", "label": ["en": "Product", "ko": "제품"],
        "properties": [
            ["name": "product_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name", "required": true, "constraints": ["max_length": 40]],
            ["name": "price", "type": "decimal", "label": "Price", "constraints": ["min": 0]],
            ["name": "email", "type": "email", "label": "Contact"],
        ],
        "relationships": [["predicate": "made_by", "target": "Company", "label": "made by", "cardinality": "n:1"]],
    ] }
    private static var companyClass: [String: Any] { [
        "id": "Company", "label": "Company",
        "properties": [["name": "company_id", "type": "string", "label": "ID", "primary_key": true]],
    ] }

    /// Creates database `shop` with classes Company and Product.
    private func makeShop() throws {
        XCTAssertEqual(try HTTP.call("POST", api("/database/create"), json: ["name": "shop"]).status, 202)
        XCTAssertEqual(try HTTP.call("POST", api("/database/shop/ontology"), json: Self.companyClass).status, 202)
        let product = try HTTP.call("POST", api("/database/shop/ontology"), json: Self.productClass)
        XCTAssertEqual(product.status, 202, product.raw)
    }

    func testLifecycleWithVersionsAndConflicts() throws {
        try makeShop()
        let created = try HTTP.call("POST", api("/instances/shop/async/Product/create"),
                                    json: ["data": ["product_id": "p1", "name": "Lamp", "price": 12.5, "made_by": "Company/acme"]])
        XCTAssertEqual(created.status, 202, created.raw)
        XCTAssertEqual(created.json["status"] as? String, "PENDING")
        XCTAssertEqual(created.json["sequence_number"] as? Int, 1)
        XCTAssertEqual(created.json["aggregate_id"] as? String, "shop:main:Product:p1")
        let commandId = try XCTUnwrap(created.json["command_id"] as? String)
        XCTAssertEqual((created.json["links"] as? [String: Any])?["status"] as? String, "/api/v1/commands/\(commandId)/status")

        let read = try HTTP.call("GET", api("/instances/shop/Product/p1"))
        XCTAssertEqual(read.json["sequence_number"] as? Int, 1)
        XCTAssertEqual((read.json["data"] as? [String: Any])?["name"] as? String, "Lamp")

        let updated = try HTTP.call("PUT", api("/instances/shop/async/Product/p1/update?expected_seq=1"), json: ["data": ["price": 10]])
        XCTAssertEqual(updated.status, 202, updated.raw)
        XCTAssertEqual(updated.json["sequence_number"] as? Int, 2)

        let stale = try HTTP.call("PUT", api("/instances/shop/async/Product/p1/update?expected_seq=1"), json: ["data": ["price": 9]])
        XCTAssertEqual(stale.status, 409)
        XCTAssertEqual(stale.json["error"] as? String, "optimistic_concurrency_conflict")
        XCTAssertEqual(stale.json["expected_seq"] as? Int, 1)
        XCTAssertEqual(stale.json["actual_seq"] as? Int, 2)
        XCTAssertEqual(stale.json["aggregate_id"] as? String, "shop:main:Product:p1")

        let ifMatch = try HTTP.call("PUT", api("/instances/shop/async/Product/p1/update"), json: ["data": ["price": 8]],
                                    headers: ["If-Match": "\"2\""])
        XCTAssertEqual(ifMatch.json["sequence_number"] as? Int, 3, ifMatch.raw)

        let noVersion = try HTTP.call("DELETE", api("/instances/shop/async/Product/p1/delete"))
        XCTAssertEqual(noVersion.status, 428)
        XCTAssertEqual(noVersion.json["field"] as? String, "query.expected_seq")

        XCTAssertEqual(try HTTP.call("DELETE", api("/instances/shop/async/Product/p1/delete?expected_seq=3")).status, 202)
        XCTAssertEqual(try HTTP.call("GET", api("/instances/shop/Product/p1")).status, 404)
        let recreate = try HTTP.call("POST", api("/instances/shop/async/Product/create"), json: ["data": ["product_id": "p1", "name": "Lamp"]])
        XCTAssertEqual(recreate.status, 409)
        XCTAssertEqual(recreate.json["error"] as? String, "aggregate_deleted")

        let korean = try HTTP.call("GET", api("/database/shop/ontology/Product?lang=ko"))
        XCTAssertEqual(korean.json["label"] as? String, "제품")
        XCTAssertEqual(korean.json["sequence_number"] as? Int, 1)
        let english = try HTTP.call("GET", api("/database/shop/ontology/Product"), headers: ["Accept-Language": "fr;q=0.9, en;q=0.8"])
        XCTAssertEqual(english.json["label"] as? String, "Product")
        let every = try HTTP.call("GET", api("/database/shop/ontology/Product"))
        XCTAssertEqual((every.json["label"] as? [String: String])?["ko"], "제품", "no preference: all languages")

        let database = try HTTP.call("GET", api("/databases/shop"))
        XCTAssertEqual(database.json["sequence_number"] as? Int, 1)
        XCTAssertEqual(try HTTP.call("GET", api("/database/exists/shop")).json["exists"] as? Bool, true)
        XCTAssertEqual(try HTTP.call("GET", api("/database/exists/nope")).json["exists"] as? Bool, false)
        XCTAssertEqual(try HTTP.call("GET", api("/instances/nope/Product/p1")).status, 404)
    }

    func testValidationProblemsNameTheField() throws {
        try makeShop()
        let cases: [([String: Any], String)] = [
            (["product_id": "p2", "name": "X", "colour": "red"], "body.data.colour"),
            (["product_id": "p2"], "body.data.name"),
            (["product_id": "p2", "name": "X", "price": "cheap"], "body.data.price"),
            (["product_id": "p2", "name": "X", "price": -1], "body.data.price"),
            (["product_id": "p2", "name": String(repeating: "x", count: 41)], "body.data.name"),
            (["product_id": "p2", "name": "X", "email": "not-an-email"], "body.data.email"),
            (["product_id": "p2", "name": "X", "made_by": "Product/p9"], "body.data.made_by"),
            (["product_id": "p2", "name": "X", "made_by": ["Company/a", "Company/b"]], "body.data.made_by"),
        ]
        for (data, field) in cases {
            let result = try HTTP.call("POST", api("/instances/shop/async/Product/create"), json: ["data": data])
            XCTAssertEqual(result.status, 400, "\(data): \(result.raw)")
            XCTAssertEqual(result.json["field"] as? String, field, "\(data): \(result.raw)")
        }
        XCTAssertEqual(try HTTP.call("POST", api("/instances/shop/async/Ghost/create"), json: ["data": [:]]).status, 404)
        let badJSON = try Command.run("curl", ["-sS", "-X", "POST", "-H", "content-type: application/json", "--data", "{\"data\":",
                                               api("/instances/shop/async/Product/create")])
        XCTAssertTrue(badJSON.output.contains("\"field\":\"body\""), badJSON.output)
        let badName = try HTTP.call("POST", api("/database/create"), json: ["name": "Bad Name"])
        XCTAssertEqual(badName.status, 400)
        XCTAssertEqual(badName.json["field"] as? String, "body.name")
        let badClass = try HTTP.call("POST", api("/database/shop/ontology"), json: ["id": "Thing", "label": "Thing",
                                                                                    "properties": [["name": "x", "type": "nonsense", "label": "X"]]])
        XCTAssertEqual(badClass.status, 400, badClass.raw)
        XCTAssertEqual(badClass.json["field"] as? String, "body.properties[0].type")
        let report = try HTTP.call("POST", api("/database/shop/ontology/validate"), json: Self.productClass)
        XCTAssertEqual(report.status, 200)
        XCTAssertEqual(try HTTP.call("GET", api("/database/shop/ontology")).json["classes"].map { ($0 as? [Any])?.count }, 2,
                       "validate wrote nothing")
    }

    func testConcurrentWritersWithTheSameExpectedSeqExactlyOneWins() throws {
        try makeShop()
        XCTAssertEqual(try HTTP.call("POST", api("/instances/shop/async/Company/create"), json: ["data": ["company_id": "acme"]]).status, 202)
        let writers = 16
        let collected = StatusCollector()
        let url = api("/instances/shop/async/Company/acme/update?expected_seq=1")
        DispatchQueue.concurrentPerform(iterations: writers) { _ in
            collected.add((try? HTTP.call("PUT", url, json: ["data": [:]]).status) ?? -1)
        }
        let statuses = collected.values
        XCTAssertEqual(statuses.filter { $0 == 202 }.count, 1, "\(statuses)")
        XCTAssertEqual(statuses.filter { $0 == 409 }.count, writers - 1, "\(statuses)")
        XCTAssertEqual(try HTTP.call("GET", api("/instances/shop/Company/acme")).json["sequence_number"] as? Int, 2)
    }

    func testIdempotencyKeyReplaysOrRefuses() throws {
        try makeShop()
        let key = UUID().uuidString.lowercased()
        let body: [String: Any] = ["data": ["company_id": "c1"]]
        let first = try HTTP.call("POST", api("/instances/shop/async/Company/create"), json: body, headers: ["Idempotency-Key": key])
        let again = try HTTP.call("POST", api("/instances/shop/async/Company/create"), json: body, headers: ["Idempotency-Key": key])
        XCTAssertEqual(first.status, 202)
        XCTAssertEqual(again.status, 202, again.raw)
        XCTAssertEqual(again.json["command_id"] as? String, key)
        XCTAssertEqual(again.json["sequence_number"] as? Int, first.json["sequence_number"] as? Int)
        XCTAssertEqual(again.json["replayed"] as? Bool, true)
        let other = try HTTP.call("POST", api("/instances/shop/async/Company/create"), json: ["data": ["company_id": "c2"]],
                                  headers: ["Idempotency-Key": key])
        XCTAssertEqual(other.status, 409)
        XCTAssertEqual(other.json["error"] as? String, "event_id_reused")
        XCTAssertEqual(try HTTP.call("POST", api("/database/create"), json: ["name": "zzz"], headers: ["Idempotency-Key": "nope"]).status, 400)
    }

    func testCommandEnvelopesAreAtTheirS3KeysAndMatchTheSchema() throws {
        try makeShop()
        let created = try HTTP.call("POST", api("/instances/shop/async/Company/create"), json: ["data": ["company_id": "acme"]])
        let commandId = try XCTUnwrap(created.json["command_id"] as? String)
        let events = dataDirectory + "/events"
        let found = try Command.run("find", [events, "-name", "\(commandId).json"]).output.split(separator: "\n").map(String.init)
        let day = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
            .replacingOccurrences(of: "-", with: "/")
        XCTAssertTrue(found.contains("\(events)/events/\(day)/Instance/shop%3Amain%3ACompany%3Aacme/\(commandId).json"), "\(found)")
        XCTAssertTrue(found.contains("\(events)/indexes/by-event-id/\(commandId).json"), "\(found)")
        let byAggregate = try Command.run("ls", ["\(events)/indexes/by-aggregate/Instance/shop%3Amain%3ACompany%3Aacme"]).output
        XCTAssertEqual(byAggregate, "00000000000000000001_\(commandId).json\n")

        let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schema/event-envelope.schema.json").path
        let check = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1])); envelope = json.load(open(sys.argv[2]))
        jsonschema.Draft202012Validator(schema).validate(envelope)
        assert envelope["event_type"] == "CREATE_INSTANCE_REQUESTED" and envelope["metadata"]["kind"] == "command"
        assert envelope["metadata"]["kafka_topic"] == "instance_commands" and envelope["sequence_number"] == 1
        """
        let envelope = try XCTUnwrap(found.first { $0.contains("/events/20") })
        let validated = try Command.run("python3", ["-c", check, schema, envelope])
        XCTAssertEqual(validated.status, 0, validated.stderr)
    }

    /// Plays the worker: one status transition, as the worker's code does it (row, history, NOTIFY).
    private func move(_ commandId: String, to status: String, result: String = "null") throws {
        let sql = """
            WITH moved AS (UPDATE commands SET status = '\(status)', result = \(result)::jsonb, updated_at = now()
                           WHERE command_id = '\(commandId)' RETURNING command_id, status, progress),
                 history AS (INSERT INTO command_history (command_id, status, progress) SELECT command_id, status, progress FROM moved)
            SELECT pg_notify('spice_command_status', command_id::text) FROM moved
            """
        let moved = try TestPostgres.psql(databaseURL, sql)
        XCTAssertEqual(moved.status, 0, moved.stderr)
    }

    func testSyncWaitIsWokenByNotifyAndTimesOutWith408() throws {
        try makeShop()
        let timedOut = try HTTP.call("POST", api("/instances/shop/sync/Company/create?timeout=1"), json: ["data": ["company_id": "slow"]])
        XCTAssertEqual(timedOut.status, 408, timedOut.raw)
        let commandId = try XCTUnwrap(timedOut.json["command_id"] as? String)
        XCTAssertEqual(timedOut.json["hint"] as? String, "/api/v1/commands/\(commandId)/status")
        XCTAssertEqual(try HTTP.call("GET", api("/commands/\(commandId)/status")).json["status"] as? String, "PENDING")

        let waiting = BackgroundCommand("curl", ["-sS", "-w", "\n%{http_code} %{time_total}",
                                                 api("/commands/\(commandId)/wait?timeout=20")])
        usleep(500_000)
        let changedAt = Date()
        try move(commandId, to: "COMPLETED", result: "'{\"ok\":true}'")
        let answer = waiting.wait()
        let wokeAfter = Date().timeIntervalSince(changedAt)
        XCTAssertTrue(answer.output.contains("\"status\":\"COMPLETED\""), answer.output)
        XCTAssertTrue(answer.output.contains("\n200 "), answer.output)
        print("sync wait answered \(Int(wokeAfter * 1000)) ms after the status change (psql round trip included)")
        XCTAssertLessThan(wokeAfter, 2.0, "woken by NOTIFY, not by a slow poll")

        let history = try HTTP.call("GET", api("/commands/\(commandId)/status")).json["history"] as? [[String: Any]]
        XCTAssertEqual(history?.compactMap { $0["status"] as? String }, ["PENDING", "COMPLETED"])
    }

    func testServerSentEventsFollowTheCommandUntilTerminal() throws {
        try makeShop()
        let created = try HTTP.call("POST", api("/instances/shop/async/Company/create"), json: ["data": ["company_id": "sse"]])
        let commandId = try XCTUnwrap(created.json["command_id"] as? String)
        let stream = BackgroundCommand("curl", ["-sS", "-N", "--max-time", "20", api("/commands/\(commandId)/events?timeout=15")])
        usleep(500_000)
        try move(commandId, to: "PROCESSING")
        usleep(200_000)
        try move(commandId, to: "COMPLETED")
        let events = stream.wait().output.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
        let statuses = events.compactMap { event -> String? in
            let json = try? JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8)) as? [String: Any]
            return json?["status"] as? String
        }
        XCTAssertEqual(statuses, ["PENDING", "PROCESSING", "COMPLETED"], "\(events)")
    }

    func testCancelOnlyWhilePending() throws {
        try makeShop()
        let created = try HTTP.call("POST", api("/instances/shop/async/Company/create"), json: ["data": ["company_id": "cx"]])
        let commandId = try XCTUnwrap(created.json["command_id"] as? String)
        let cancelled = try HTTP.call("POST", api("/commands/\(commandId)/cancel"))
        XCTAssertEqual(cancelled.status, 200, cancelled.raw)
        XCTAssertEqual(cancelled.json["status"] as? String, "CANCELLED")
        XCTAssertEqual(try HTTP.call("POST", api("/commands/\(commandId)/cancel")).status, 409)
        XCTAssertEqual(try HTTP.call("GET", api("/commands/not-a-uuid/status")).status, 404)
    }
}

final class StatusCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [Int] = []
    func add(_ status: Int) { lock.lock(); collected.append(status); lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return collected }
}

/// Settings that need a server of their own.
final class WritePathConfigurationTests: XCTestCase {
    func testCommandStatusExpiresAfterItsTTL() throws {
        let url = try TestPostgres.freshDatabase()
        let server = try SpiceServer(environment: ["SPICE_DATABASE_URL": url, "SPICE_COMMAND_STATUS_TTL": "1"])
        defer { server.stop() }
        let created = try HTTP.call("POST", server.baseURL + "/api/v1/database/create", json: ["name": "ttl"])
        let commandId = try XCTUnwrap(created.json["command_id"] as? String)
        XCTAssertEqual(try HTTP.call("GET", server.baseURL + "/api/v1/commands/\(commandId)/status").status, 200)
        sleep(2)
        XCTAssertEqual(try HTTP.call("GET", server.baseURL + "/api/v1/commands/\(commandId)/status").status, 404)
    }

    func testRegistryOutageAnswers503AndRecovers() throws {
        let cluster = try PrivateCluster()
        defer { cluster.remove() }
        let url = cluster.url
        let server = try SpiceServer(environment: ["SPICE_DATABASE_URL": url])
        defer { server.stop() }
        XCTAssertEqual(try HTTP.call("POST", server.baseURL + "/api/v1/database/create", json: ["name": "before"]).status, 202)

        XCTAssertEqual(cluster.run("stop"), 0)
        let during = try HTTP.call("POST", server.baseURL + "/api/v1/database/create", json: ["name": "during"], timeout: 20)
        XCTAssertEqual(during.status, 503, during.raw)
        XCTAssertEqual(during.json["error"] as? String, "registry_unavailable")
        XCTAssertEqual(try HTTP.call("GET", server.baseURL + "/readyz", timeout: 20).status, 503)

        XCTAssertEqual(cluster.run("start-existing"), 0)
        var after = 0
        for _ in 0..<50 where after != 202 {
            after = try HTTP.call("POST", server.baseURL + "/api/v1/database/create", json: ["name": "after"]).status
            if after != 202 { usleep(200_000) }
        }
        XCTAssertEqual(after, 202, "writes work again once PostgreSQL is back")
        XCTAssertEqual(try HTTP.call("GET", server.baseURL + "/api/v1/databases/before").status, 200, "nothing lost")
    }

    func testEmbeddedPostgresIsCreatedOnFirstStartAndReused() throws {
        // Run from a fresh directory with the default, relative data directory (./.spice), as `make run` does.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spice-embedded-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let defaults = ["SPICE_DATA_DIR": "", "SPICE_DATABASE_URL": ""]
        var server = try SpiceServer(environment: defaults, workingDirectory: directory)
        XCTAssertEqual(try HTTP.call("POST", server.baseURL + "/api/v1/database/create", json: ["name": "kept"]).status, 202)
        server.stop()
        XCTAssertEqual(server.process.terminationStatus, 0, server.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/.spice/postgres/pgdata/PG_VERSION"))
        server = try SpiceServer(environment: defaults, workingDirectory: directory)
        defer { server.stop() }
        XCTAssertEqual(try HTTP.call("GET", server.baseURL + "/api/v1/databases/kept").status, 200, server.stderr)
    }
}
