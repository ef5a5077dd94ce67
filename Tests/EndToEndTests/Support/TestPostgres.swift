import Foundation
import XCTest

/// The PostgreSQL cluster `make test` starts (scripts/services/postgres.sh). Each test gets a database of its
/// own in it. Missing cluster = a failed test, never a skip: CI must notice a missing service.
enum TestPostgres {
    static var baseURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["SPICE_TEST_DATABASE_URL"], !url.isEmpty else {
                throw TestServiceError.missing("SPICE_TEST_DATABASE_URL is not set: run the tests with `make test` (it starts PostgreSQL)")
            }
            return url
        }
    }

    static var clusterDirectory: String? { ProcessInfo.processInfo.environment["SPICE_TEST_POSTGRES_DIR"] }

    /// A fresh, empty database; returns its URL.
    static func freshDatabase() throws -> String {
        let base = try baseURL
        let name = "spice_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let created = try psql(base, "CREATE DATABASE \(name)")
        guard created.status == 0 else { throw TestServiceError.missing("cannot create a test database: \(created.stderr)") }
        guard let slash = base.lastIndex(of: "/") else { return base }
        return String(base[...slash]) + name
    }

    @discardableResult
    static func psql(_ url: String, _ sql: String) throws -> CommandResult {
        try Command.run("psql", [url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
    }
}

enum TestServiceError: Error, CustomStringConvertible {
    case missing(String)
    var description: String { if case .missing(let message) = self { return message }; return "" }
}
