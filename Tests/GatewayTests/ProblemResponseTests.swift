import XCTest
import Core
@testable import Gateway

final class ProblemResponseTests: XCTestCase {
    func testProblemBodyNamesTheFieldAndStatus() throws {
        let response = Response.problem(.badRequest("limit must be positive", field: "query.limit"))
        XCTAssertEqual(response.status, 400)
        XCTAssertEqual(response.headers["content-type"], "application/problem+json")
        guard case .bytes(let bytes) = response.body else { return XCTFail("expected bytes") }
        let body = try JSONParser.parse(bytes)
        XCTAssertEqual(body["status"], 400)
        XCTAssertEqual(body["title"], "Bad Request")
        XCTAssertEqual(body["field"], "query.limit")
        XCTAssertEqual(body["detail"], "limit must be positive")
        XCTAssertEqual(body["type"], "https://spice-harvester.dev/problems/invalid_request")
    }

    func testExtensionsAreMergedAndAllowBecomesAHeader() throws {
        let conflict = Problem(status: 409, code: "optimistic_concurrency_conflict",
                               extensions: ["aggregate_id": "db/x", "expected_seq": 3, "actual_seq": 5])
        XCTAssertEqual(conflict.json["actual_seq"], 5)
        XCTAssertEqual(conflict.json["error"], "optimistic_concurrency_conflict")

        let notAllowed = Response.problem(Problem(status: 405, extensions: ["allow": ["GET", "HEAD"]]))
        XCTAssertEqual(notAllowed.headers["allow"], "GET, HEAD")
    }

    func testUnexpectedErrorsBecomeOpaque500s() throws {
        struct Secret: Error {}
        let response = RequestPipeline.response(for: Secret(), requestID: "req-1")
        XCTAssertEqual(response.status, 500)
        guard case .bytes(let bytes) = response.body else { return XCTFail("expected bytes") }
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertFalse(text.contains("Secret"))
        XCTAssertTrue(text.contains("req-1"))
    }
}
