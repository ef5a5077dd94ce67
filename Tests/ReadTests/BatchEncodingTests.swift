import XCTest
import Core
import Drivers
@testable import Read

/// The helpers every batch goes through: array literals and the one-write-per-key reduction.
final class BatchEncodingTests: ReadModelTestCase {
    func testArrayLiteralsQuoteEveryElementAndEscapeQuotesAndBackslashes() {
        XCTAssertEqual(PostgresArrayLiteral.text(["a", "b,c", "{d}", "e\"f", "g\\h", "NULL", ""]),
                       .text(#"{"a","b,c","{d}","e\"f","g\\h","NULL",""}"#))
        XCTAssertEqual(PostgresArrayLiteral.text([String]()), .text("{}"))
        XCTAssertEqual(PostgresArrayLiteral.text(["x", nil]), .text(#"{"x",NULL}"#))
        XCTAssertEqual(PostgresArrayLiteral.integers([1, -2, 30]), .text("{1,-2,30}"))
        XCTAssertEqual(PostgresArrayLiteral.booleans([true, false]), .text("{t,f}"))
    }

    func testArrayLiteralsRoundTripThroughPostgres() async throws {
        let awkward = ["plain", "quo\"te", "back\\slash", "\\\"", "com,ma", "{br}ace}", "NULL", "null", "", "  spaced  ",
                       "line\nbreak\ttab", "한국어", "emoji 🚀", "é (e + combining)", "\u{7F}", "ends with \\"]
        let rows = try await client.query("""
            SELECT value, ordinal FROM unnest($1::text[]) WITH ORDINALITY AS element(value, ordinal) ORDER BY ordinal
            """, [PostgresArrayLiteral.text(awkward)]).rows
        XCTAssertEqual(rows.map { $0.string("value") }, awkward)

        let json = awkward.map { JSONWriter.string(["v": .string($0)]) }
        let parsed = try await client.query("SELECT (value ->> 'v') AS v FROM unnest($1::jsonb[]) WITH ORDINALITY AS element(value, ordinal) ORDER BY ordinal",
                                            [PostgresArrayLiteral.text(json)]).rows
        XCTAssertEqual(parsed.map { $0.string("v") }, awkward)

        let withNull = try await client.query("SELECT value IS NULL AS missing FROM unnest($1::jsonb[]) AS element(value)",
                                              [PostgresArrayLiteral.text(["{}", nil])]).rows
        XCTAssertEqual(withNull.map { $0.bool("missing") }, [false, true])
    }

    func testABatchSendsTheHighestVersionPerKeyAndAnswersForTheOthers() {
        let batch = VersionedBatch(keys: ["a", "b", "a", "c", "a", "b"], versions: [2, 1, 5, 1, 5, 0])
        XCTAssertEqual(batch.sent, [1, 2, 3], "b@1, a@5 (the first of the two), c@1")
        XCTAssertEqual(batch.outcomes([.applied, .applied, .stale(currentVersion: 4)]), [
            .stale(currentVersion: 5), .applied, .applied, .stale(currentVersion: 4), .stale(currentVersion: 5), .stale(currentVersion: 1),
        ])
        XCTAssertEqual(batch.outcomes([.stale(currentVersion: 9), .stale(currentVersion: 7), .applied]), [
            .stale(currentVersion: 7), .stale(currentVersion: 9), .stale(currentVersion: 7), .applied, .stale(currentVersion: 7),
            .stale(currentVersion: 9),
        ])
        let empty = VersionedBatch<String>(keys: [], versions: [])
        XCTAssertEqual(empty.sent, [])
        XCTAssertEqual(empty.outcomes([]), [])
    }
}
