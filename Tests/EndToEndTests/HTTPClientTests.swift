import Foundation
import XCTest

/// The real binary, real clients: curl (HTTP/1.1, h2c prior knowledge, h2c upgrade, h2 and HTTP/1.1
/// over TLS) and nghttp.
final class HTTPClientTests: XCTestCase {
    var server: SpiceServer!
    var workDirectory: URL!

    override func setUpWithError() throws {
        workDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("spice-clients-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        server?.stop()
        try? FileManager.default.removeItem(at: workDirectory)
    }

    private func curl(_ arguments: [String]) throws -> CommandResult {
        try Command.run("curl", ["-sS", "--max-time", "30"] + arguments)
    }

    func testHealthOverEveryCleartextProtocol() throws {
        server = try SpiceServer()
        let cases: [(flags: [String], version: String)] = [
            (["--http1.1"], "1.1"),
            (["--http2-prior-knowledge"], "2"),
            (["--http2"], "2"),  // cleartext: Upgrade: h2c
        ]
        for (flags, version) in cases {
            let result = try curl(flags + ["-w", "\n%{http_code} %{http_version}", "\(server.baseURL)/healthz"])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.output, "{\"status\":\"ok\"}\n200 \(version)", "flags \(flags)")
        }
    }

    func testTLSWithALPNChoosesH2OrHTTP11() throws {
        let key = workDirectory.appendingPathComponent("key.pem").path
        let certificate = workDirectory.appendingPathComponent("cert.pem").path
        let made = try Command.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                                               "-out", certificate, "-days", "1", "-subj", "/CN=localhost"])
        XCTAssertEqual(made.status, 0, made.stderr)
        server = try SpiceServer(environment: ["SPICE_TLS_CERT": certificate, "SPICE_TLS_KEY": key])

        let h2 = try curl(["--cacert", certificate, "--http2", "--resolve", "localhost:\(server.port):127.0.0.1",
                           "-w", " %{http_version}", "https://localhost:\(server.port)/healthz"])
        XCTAssertEqual(h2.output, "{\"status\":\"ok\"} 2", h2.stderr)
        let h1 = try curl(["--cacert", certificate, "--http1.1", "--resolve", "localhost:\(server.port):127.0.0.1",
                           "-w", " %{http_version}", "https://localhost:\(server.port)/healthz"])
        XCTAssertEqual(h1.output, "{\"status\":\"ok\"} 1.1", h1.stderr)

        let body = try makeBody(bytes: 5_000_000)
        for flag in ["--http2", "--http1.1"] {
            let output = workDirectory.appendingPathComponent("echo\(flag).bin").path
            let echo = try curl(["-k", flag, "--data-binary", "@\(body)", "-o", output, "-w", "%{http_code} %{size_download}",
                                 "\(server.httpsURL)/_diagnostics/echo"])
            XCTAssertEqual(echo.output, "200 5000000", "\(flag): \(echo.stderr)")
            XCTAssertTrue(FileManager.default.contentsEqual(atPath: body, andPath: output), "\(flag) echo differs")
        }

        let bad = try curl(["--cacert", certificate, "--http2", "https://127.0.0.1:\(server.port)/healthz"])
        XCTAssertNotEqual(bad.status, 0, "a certificate for localhost must not verify for 127.0.0.1")
    }

    func testFiveMegabyteBodiesBothWaysOnEveryProtocol() throws {
        server = try SpiceServer()
        let body = try makeBody(bytes: 5_000_000)
        for flags in [["--http1.1"], ["--http1.1", "-H", "Expect: 100-continue"], ["--http2-prior-knowledge"], ["--http2"]] {
            let output = workDirectory.appendingPathComponent("out.bin").path
            let result = try curl(flags + ["--data-binary", "@\(body)", "-H", "content-type: application/octet-stream",
                                           "-o", output, "-w", "%{http_code} %{size_download}",
                                           "\(server.baseURL)/_diagnostics/echo"])
            XCTAssertEqual(result.output, "200 5000000", "\(flags): \(result.stderr)")
            XCTAssertTrue(FileManager.default.contentsEqual(atPath: body, andPath: output), "\(flags): echo differs")
        }
    }

    func testBodyOverTheLimitIs413WithAProblem() throws {
        server = try SpiceServer(environment: ["SPICE_MAX_BODY_BYTES": "1000000"])
        let body = try makeBody(bytes: 2_000_000)
        for flags in [["--http1.1"], ["--http2-prior-knowledge"]] {
            let result = try curl(flags + ["--data-binary", "@\(body)", "-w", "\n%{http_code}", "\(server.baseURL)/_diagnostics/echo"])
            XCTAssertTrue(result.output.hasSuffix("\n413"), "\(flags): \(result.output) \(result.stderr)")
            XCTAssertTrue(result.output.contains("\"status\":413"), result.output)
        }
    }

    func testKeepAliveReusesTheConnection() throws {
        server = try SpiceServer()
        let result = try curl(["-v", "--http1.1", "\(server.baseURL)/healthz", "\(server.baseURL)/healthz", "\(server.baseURL)/healthz"])
        XCTAssertEqual(result.output, String(repeating: "{\"status\":\"ok\"}", count: 3))
        XCTAssertTrue(result.stderr.contains("Re-using existing connection"), result.stderr)
        XCTAssertEqual(result.stderr.components(separatedBy: "Connected to").count - 1, 1, "one TCP connection for three requests")
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        server = try SpiceServer()
        let requests = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /_diagnostics/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
            + "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /_diagnostics/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        let result = try Command.run("python3", [Scripts.path("raw_http1.py"), "127.0.0.1", String(server.port)],
                                     stdin: Data(requests.utf8))
        let statuses = result.output.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
        XCTAssertEqual(statuses, ["200", "200", "404", "200"], result.output)
        XCTAssertTrue(result.output.contains("\r\n\r\nhello"), result.output)
        XCTAssertTrue(result.output.hasSuffix("abc\nCLOSED\n"), "Connection: close is honoured: \(result.output)")
    }

    func testNghttpConcurrentStreamsOnOneConnection() throws {
        server = try SpiceServer()
        // 50 requests multiplexed on one connection, each delayed so they really overlap.
        let urls = (0..<50).map { "\(server.baseURL)/_diagnostics/sleep?ms=200&i=\($0)" }
        let started = Date()
        let result = try Command.run("nghttp", ["-n", "-s", "-m", "1"] + urls, timeout: 30)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(result.status, 0, result.stderr)
        let ok = result.output.components(separatedBy: "\n").filter { $0.contains(" 200 ") }
        XCTAssertEqual(ok.count, 50, result.output)
        XCTAssertLessThan(elapsed, 5, "50 × 200 ms on one connection must run concurrently")

        let load = try Command.run("h2load", ["-n", "2000", "-c", "1", "-m", "100", "\(server.baseURL)/healthz"], timeout: 60)
        XCTAssertTrue(load.output.contains("2000 succeeded, 0 failed, 0 errored"), load.output)
    }

    func testServerSentEventsStreamOverBothProtocols() throws {
        server = try SpiceServer()
        for flag in ["--http1.1", "--http2-prior-knowledge"] {
            let result = try curl([flag, "-N", "\(server.baseURL)/_diagnostics/events?count=3&interval_ms=50"])
            XCTAssertEqual(result.output, "data: {\"index\":1}\n\ndata: {\"index\":2}\n\ndata: {\"index\":3}\n\n", flag)
        }
    }

    private func makeBody(bytes: Int) throws -> String {
        let path = workDirectory.appendingPathComponent("body-\(bytes).bin").path
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }
}
