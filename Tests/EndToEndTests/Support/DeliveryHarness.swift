import Foundation
import XCTest

/// One `spice serve` with workers on a database and data directory of its own, restartable with the same
/// state (as after a crash), and the checks the delivery tests make: status polling and SQL on the read
/// models and the registry.
final class DeliveryHarness: @unchecked Sendable {
    let databaseURL: String
    let dataDirectory: String
    private(set) var server: SpiceServer?
    /// Short leases and backoffs so takeovers and retries happen within a test's patience.
    var baseEnvironment: [String: String]

    init(databaseURL: String? = nil) throws {
        self.databaseURL = try databaseURL ?? TestPostgres.freshDatabase()
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("spice-delivery-\(UUID().uuidString)").path
        baseEnvironment = ["SPICE_DATABASE_URL": self.databaseURL, "SPICE_DATA_DIR": dataDirectory,
                           "SPICE_WORKER_LEASE_SECONDS": "1", "SPICE_WORKER_BACKOFF_MS": "50", "SPICE_ACCESS_LOG": "off"]
    }

    @discardableResult
    func start(_ extra: [String: String] = [:]) throws -> SpiceServer {
        server?.stop()
        var environment = baseEnvironment
        for (key, value) in extra { environment[key] = value }
        let started = try SpiceServer(environment: environment)
        server = started
        return started
    }

    func stop() {
        server?.stop()
        server = nil
    }

    /// Removes the data directory unless SPICE_KEEP_TEST_DATA is set (to read a failed run's logs and store).
    func cleanUp() {
        stop()
        if ProcessInfo.processInfo.environment["SPICE_KEEP_TEST_DATA"] != nil {
            print("kept \(dataDirectory) (database \(databaseURL))")
            return
        }
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    func api(_ path: String) -> String { (server?.baseURL ?? "http://127.0.0.1:1") + "/api/v1" + path }

    /// Polls the status route until the command reaches `status` (or any terminal status when nil).
    @discardableResult
    func waitForStatus(_ commandId: String, _ status: String? = nil, timeout: TimeInterval = 30,
                       file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            let response = try HTTP.call("GET", api("/commands/\(commandId)/status"))
            last = response.json
            let current = last["status"] as? String ?? ""
            if let status, current == status { return last }
            if status == nil, ["COMPLETED", "FAILED", "CANCELLED"].contains(current) { return last }
            usleep(50_000)
        }
        XCTFail("command \(commandId) did not reach \(status ?? "a terminal status") in \(timeout) s; last: \(last)", file: file, line: line)
        return last
    }

    /// One value from SQL (trimmed), on the test's own database.
    func sql(_ query: String) throws -> String {
        let result = try TestPostgres.psql(databaseURL, query)
        guard result.status == 0 else { throw TestServiceError.missing("psql failed: \(result.stderr) for \(query)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits until `query` returns `expected`.
    func waitForSQL(_ query: String, _ expected: String, timeout: TimeInterval = 30,
                    file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            last = try sql(query)
            if last == expected { return }
            usleep(50_000)
        }
        XCTFail("\(query) gave \(last), expected \(expected)", file: file, line: line)
    }

    /// Database `shop` with Company and Product (Product made_by Company); the database command completes,
    /// the class commands reach `expecting`.
    func makeShop(expecting: String = "COMPLETED") throws {
        for (path, body) in [("/database/create", ["name": "shop"] as [String: Any]),
                             ("/database/shop/ontology", Self.companyClass), ("/database/shop/ontology", Self.productClass)] {
            let response = try HTTP.call("POST", api(path), json: body)
            XCTAssertEqual(response.status, 202, response.raw)
            try waitForStatus(response.json["command_id"] as? String ?? "", path == "/database/create" ? "COMPLETED" : expecting)
        }
    }

    /// Creates a product asynchronously; returns its command id. With `idempotencyKey` the request may be
    /// sent again after a crash; `mayFail` accepts no answer at all (the process died first) and returns "".
    func createProduct(_ id: String, name: String = "Lamp", company: String = "acme", idempotencyKey: String? = nil,
                       mayFail: Bool = false) throws -> String {
        let response = try HTTP.call("POST", api("/instances/shop/async/Product/create"),
                                     json: ["data": ["product_id": id, "name": name, "made_by": "Company/\(company)"]],
                                     headers: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:])
        if !(mayFail && response.status == 0) { XCTAssertEqual(response.status, 202, response.raw) }
        return response.json["command_id"] as? String ?? ""
    }

    static var productClass: [String: Any] { [
        "id": "Product", "label": ["en": "Product", "ko": "제품"],
        "properties": [
            ["name": "product_id", "type": "string", "label": "ID", "primary_key": true],
            ["name": "name", "type": "string", "label": "Name", "required": true],
        ],
        "relationships": [["predicate": "made_by", "target": "Company", "label": "made by", "cardinality": "n:1"]],
    ] }
    static var companyClass: [String: Any] { [
        "id": "Company", "label": "Company",
        "properties": [["name": "company_id", "type": "string", "label": "ID", "primary_key": true]],
    ] }
}
