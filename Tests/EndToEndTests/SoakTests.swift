import Foundation
import XCTest

/// A seeded soak: random creates, updates and deletes while the process is killed (SIGKILL) and restarted
/// at random, then the invariants of the correctness contract. `SPICE_SOAK_SECONDS` (default 15, what CI
/// runs) and `SPICE_SOAK_SEED` (default random, printed so a failure can be replayed) tune it.
final class SoakTests: XCTestCase {
    func testRandomWritesWithCrashesConverge() throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = Double(environment["SPICE_SOAK_SECONDS"] ?? "") ?? 15
        let seed = UInt64(environment["SPICE_SOAK_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64(UInt32.max))
        print("soak: \(seconds) s, SPICE_SOAK_SEED=\(seed)")
        var random = SeededRandom(seed: seed)
        let harness = try DeliveryHarness()
        defer { harness.cleanUp() }
        try harness.start()
        try harness.makeShop()

        var accepted: [String] = []
        var versions: [String: Int] = [:]   // live instance → version the API last answered
        var nextId = 0, crashes = 0, refused = 0
        let deadline = Date().addingTimeInterval(seconds)
        var nextCrash = Date().addingTimeInterval(Double(random.next(upTo: 3000) + 1000) / 1000)
        while Date() < deadline {
            if Date() >= nextCrash {
                harness.server?.signal(SIGKILL)
                _ = harness.server?.waitForExit(timeout: 10)
                try harness.start()
                crashes += 1
                nextCrash = Date().addingTimeInterval(Double(random.next(upTo: 3000) + 1000) / 1000)
            }
            let roll = random.next(upTo: 100)
            let response: HTTPResult
            var target = ""
            var deleting = false
            if roll < 60 || versions.isEmpty {
                target = "s\(nextId)"
                nextId += 1
                response = try HTTP.call("POST", harness.api("/instances/shop/async/Product/create"),
                                         json: ["data": ["product_id": target, "name": "Item \(target)", "made_by": "Company/c\(random.next(upTo: 5))"]])
            } else {
                let keys = versions.keys.sorted()
                target = keys[random.next(upTo: keys.count)]
                let version = versions[target] ?? 1
                if roll < 88 {
                    response = try HTTP.call("PUT", harness.api("/instances/shop/async/Product/\(target)/update?expected_seq=\(version)"),
                                             json: ["data": ["name": "Item \(target) v\(version + 1)"]])
                } else {
                    deleting = true
                    response = try HTTP.call("DELETE", harness.api("/instances/shop/async/Product/\(target)/delete?expected_seq=\(version)"))
                }
            }
            guard response.status == 202, let commandId = response.json["command_id"] as? String,
                  let sequence = response.json["sequence_number"] as? Int else {
                refused += 1
                continue
            }
            accepted.append(commandId)
            versions[target] = deleting ? nil : sequence
        }
        print("soak: \(accepted.count) commands accepted, \(refused) refused (conflicts, or the server was down), \(crashes) crashes")
        XCTAssertGreaterThan(accepted.count, 10)

        // Every accepted command ends COMPLETED (no fault is injected, so FAILED would be a bug here).
        for commandId in accepted {
            let record = try harness.waitForStatus(commandId, timeout: 60)
            XCTAssertEqual(record["status"] as? String, "COMPLETED", "\(commandId): \(record)")
            // Its domain event is in the store.
            if let eventId = (record["result"] as? [String: Any])?["event_id"] as? String {
                XCTAssertTrue(FileManager.default.fileExists(atPath: harness.dataDirectory + "/events/indexes/by-event-id/\(eventId).json"),
                              "domain event \(eventId) of \(commandId) is missing")
            } else {
                XCTFail("\(commandId) completed without a domain event id: \(record)")
            }
        }
        // Exactly one document per instance, at the write model's latest version, live iff the instance is.
        XCTAssertEqual(try harness.sql("""
            SELECT count(*) FROM aggregates a
            LEFT JOIN documents d ON d.database_name = 'shop' AND d.class_id = 'Product'
                 AND a.aggregate_id = 'shop:main:Product:' || d.instance_id
            WHERE a.aggregate_type = 'Instance' AND (d.version IS DISTINCT FROM a.sequence_number OR d.deleted IS DISTINCT FROM a.deleted)
            """), "0", "documents disagree with the write model")
        XCTAssertEqual(try harness.sql("SELECT count(*) FROM documents"),
                       try harness.sql("SELECT count(*) FROM aggregates WHERE aggregate_type = 'Instance'"))
        // The registry is all done (orphans — envelopes of intake transactions a kill cut short — are
        // recorded failed on purpose and were never accepted).
        try harness.waitForSQL("""
            SELECT count(*) FROM processed_events WHERE status NOT IN ('done', 'skipped_stale')
                AND NOT (status = 'failed' AND last_error LIKE 'orphan%')
            """, "0")
    }
}

/// SplitMix64: tiny, seedable, the same sequence on every platform.
struct SeededRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(upTo bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(max(1, bound)))
    }
}
