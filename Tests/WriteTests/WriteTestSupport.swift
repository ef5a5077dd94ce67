import Foundation
import XCTest
import Drivers

/// A client on a new, empty database of the test PostgreSQL (SPICE_TEST_DATABASE_URL, which `make test`
/// starts), so tests never see each other's rows.
func makeTestDatabaseClient(prefix: String, poolSize: Int = 4) async throws -> PostgresClient {
    guard let base = ProcessInfo.processInfo.environment["SPICE_TEST_DATABASE_URL"], let slash = base.lastIndex(of: "/") else {
        XCTFail("SPICE_TEST_DATABASE_URL is not set: run the tests with `make test` (it starts PostgreSQL)")
        throw XCTSkip("no database")
    }
    let name = prefix + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
    let admin = PostgresClient(PostgresConfiguration(url: base, poolSize: 1))
    _ = try await admin.query("CREATE DATABASE \(name)")
    await admin.shutdown()
    return PostgresClient(PostgresConfiguration(url: String(base[...slash]) + name, poolSize: poolSize))
}
