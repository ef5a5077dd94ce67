import Foundation
import XCTest

/// Request ids, trace context, CORS, the access log, /readyz and /metrics.
final class CrossCuttingTests: XCTestCase {
    var server: SpiceServer!

    override func tearDown() { server?.stop() }

    private func headers(_ arguments: [String]) throws -> String {
        try Command.run("curl", ["-sS", "-D", "-", "-o", "/dev/null"] + arguments).output.lowercased()
    }

    func testRequestIDIsEchoedOrGenerated() throws {
        server = try SpiceServer()
        XCTAssertTrue(try headers(["-H", "X-Request-Id: abc-123", "\(server.baseURL)/healthz"]).contains("x-request-id: abc-123\r\n"))
        let generated = try headers(["--http2-prior-knowledge", "\(server.baseURL)/healthz"])
        XCTAssertNotNil(generated.range(of: #"x-request-id: [0-9a-f]{16}-[0-9a-f]{8}"#, options: .regularExpression), generated)
        let rejected = try headers(["-H", "X-Request-Id: has space", "\(server.baseURL)/healthz"])
        XCTAssertFalse(rejected.contains("has space"), "an unsafe id is replaced")
    }

    func testTraceparentIsPassedThroughAndLogged() throws {
        server = try SpiceServer()
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        XCTAssertTrue(try headers(["-H", "traceparent: \(trace)", "\(server.baseURL)/healthz"]).contains("traceparent: \(trace)"))
        XCTAssertFalse(try headers(["-H", "traceparent: nonsense", "\(server.baseURL)/healthz"]).contains("traceparent"))
        usleep(100_000)
        let line = server.stdout.split(separator: "\n").first { $0.contains(trace) }
        XCTAssertNotNil(line, server.stdout)
    }

    func testAccessLogIsOneJSONLinePerRequest() throws {
        server = try SpiceServer()
        _ = try Command.run("curl", ["-sS", "-H", "X-Request-Id: log-me", "\(server.baseURL)/healthz"])
        _ = try Command.run("curl", ["-sS", "--http2-prior-knowledge", "\(server.baseURL)/missing"])
        usleep(200_000)
        let lines = server.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, server.stdout)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(first["request_id"] as? String, "log-me")
        XCTAssertEqual(first["route"] as? String, "/healthz")
        XCTAssertEqual(first["status"] as? Int, 200)
        XCTAssertEqual(first["protocol"] as? String, "1.1")
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as! [String: Any]
        XCTAssertEqual(second["status"] as? Int, 404)
        XCTAssertEqual(second["protocol"] as? String, "2")
    }

    func testCORSForConfiguredOriginsOnly() throws {
        server = try SpiceServer(environment: ["SPICE_CORS_ORIGINS": "https://app.example"])
        let preflight = try Command.run("curl", ["-sS", "-i", "-X", "OPTIONS", "-H", "Origin: https://app.example",
                                                 "-H", "Access-Control-Request-Method: POST", "\(server.baseURL)/_diagnostics/echo"]).output.lowercased()
        XCTAssertTrue(preflight.hasPrefix("http/1.1 204"), preflight)
        XCTAssertTrue(preflight.contains("access-control-allow-origin: https://app.example"), preflight)
        XCTAssertTrue(preflight.contains("access-control-allow-methods:"), preflight)
        let simple = try headers(["-H", "Origin: https://app.example", "\(server.baseURL)/healthz"])
        XCTAssertTrue(simple.contains("access-control-allow-origin: https://app.example"), simple)
        let stranger = try headers(["-H", "Origin: https://evil.example", "\(server.baseURL)/healthz"])
        XCTAssertFalse(stranger.contains("access-control-allow-origin"), stranger)
    }

    func testReadyzAndMetrics() throws {
        server = try SpiceServer()
        let ready = try Command.run("curl", ["-sS", "-w", " %{http_code}", "\(server.baseURL)/readyz"])
        XCTAssertEqual(ready.output, "{\"checks\":{\"postgres\":\"ok\",\"server\":\"ok\"},\"status\":\"ready\"} 200")
        for _ in 0..<3 { _ = try Command.run("curl", ["-sS", "--http2-prior-knowledge", "\(server.baseURL)/healthz"]) }
        _ = try Command.run("curl", ["-sS", "-X", "DELETE", "\(server.baseURL)/healthz"])
        let metrics = try Command.run("curl", ["-sS", "-i", "\(server.baseURL)/metrics"]).output
        XCTAssertTrue(metrics.contains("content-type: text/plain; version=0.0.4"), metrics)
        XCTAssertTrue(metrics.contains("spice_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\",protocol=\"2\"} 3"), metrics)
        XCTAssertTrue(metrics.contains("spice_http_requests_total{route=\"unmatched\",method=\"DELETE\",status=\"405\",protocol=\"1.1\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("spice_http_request_duration_seconds_count{route=\"/healthz\"} 3"), metrics)
        XCTAssertTrue(metrics.contains("spice_http_open_connections 1"), metrics)
    }
}
