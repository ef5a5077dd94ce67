import Foundation
import Glibc
import XCTest
@testable import Drivers

/// EmbeddedPostgres against the system's PostgreSQL 15 binaries (missing binaries fail the test).
final class EmbeddedPostgresTests: XCTestCase {
    private func makeDirectory() throws -> String {
        // Under /tmp: as root the cluster runs as `postgres`, which must be able to reach the directory.
        var template = Array("/tmp/spice-embedded-pg-XXXXXX".utf8CString)
        guard let path = mkdtemp(&template) else { throw PostgresTestFailure("mkdtemp failed") }
        chmod(path, 0o755)
        return String(cString: path)
    }

    func testStartCreatesClusterStopAndRestartKeepData() async throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let embedded = EmbeddedPostgres(dataDirectory: directory + "/postgres")
        defer { try? embedded.stop() }

        let started = Date()
        let url = try embedded.start()
        print("EmbeddedPostgresTests: initdb + start took \(String(format: "%.2f", Date().timeIntervalSince(started))) s → \(url)")
        XCTAssertTrue(url.hasPrefix("postgresql://postgres@127.0.0.1:"), url)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/postgres/pgdata/PG_VERSION"))

        var client = PostgresClient(PostgresConfiguration(url: url, poolSize: 2))
        _ = try await client.query("CREATE TABLE kept (id bigint PRIMARY KEY, body text)")
        _ = try await client.query("INSERT INTO kept VALUES ($1, $2)", [.int(1), .text("survives restarts")])
        let fsync = try await client.query("SHOW fsync").rows.first?.string("fsync")
        XCTAssertEqual(fsync, "on", "the embedded cluster keeps durability on")

        // A second start while it runs reuses the running server.
        XCTAssertEqual(try embedded.start(), url)

        await client.shutdown()
        try embedded.stop()
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/postgres/pgdata/postmaster.pid"))
        try embedded.stop() // stopping a stopped cluster is fine

        let restarted = Date()
        let again = try embedded.start()
        print("EmbeddedPostgresTests: restart of the existing cluster took \(String(format: "%.2f", Date().timeIntervalSince(restarted))) s")
        XCTAssertEqual(again, url, "the stored port is reused while free")
        client = PostgresClient(PostgresConfiguration(url: again, poolSize: 2))
        let body = try await client.query("SELECT body FROM kept WHERE id = $1", [.int(1)]).rows.first?.string("body")
        XCTAssertEqual(body, "survives restarts")
        await client.shutdown()
        try embedded.stop()
    }

    func testMissingBinariesAreReportedClearly() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let embedded = EmbeddedPostgres(dataDirectory: directory, binDirectory: "/nonexistent/postgresql/bin")
        XCTAssertThrowsError(try embedded.start()) { error in
            XCTAssertEqual("\(error)", "PostgreSQL server binaries not found in /nonexistent/postgresql/bin: install the Debian package postgresql-15")
        }
    }
}
