import Foundation
import Drivers
import Write

public struct TestDatabaseUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// A database of its own for one test, on the cluster `scripts/test.sh` starts, with every migration
/// applied. Without SPICE_TEST_DATABASE_URL it throws: CI must fail, never skip, when PostgreSQL is missing.
public enum FreshDatabase {
    public static func url(prefix: String = "t") async throws -> String {
        guard let base = ProcessInfo.processInfo.environment["SPICE_TEST_DATABASE_URL"], let slash = base.lastIndex(of: "/") else {
            throw TestDatabaseUnavailable(description: """
                SPICE_TEST_DATABASE_URL is not set: these tests need PostgreSQL. Run them with `make test` \
                (it starts a cluster), or start one with scripts/services/postgres.sh and export the URL it prints.
                """)
        }
        let name = prefix + "_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let admin = PostgresClient(PostgresConfiguration(url: base, poolSize: 1))
        do {
            _ = try await admin.query("CREATE DATABASE \(name)")
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
        return String(base[...slash]) + name
    }

    /// A client on a new, migrated database. Shut it down in tearDown.
    public static func client(prefix: String = "t", poolSize: Int = 4) async throws -> PostgresClient {
        let client = PostgresClient(PostgresConfiguration(url: try await url(prefix: prefix), poolSize: poolSize))
        try await Migrator(client: client).migrate()
        return client
    }
}
