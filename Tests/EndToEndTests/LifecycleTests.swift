import Foundation
import XCTest

/// Start-up validation, graceful shutdown, request deadlines, hostile HTTP/1.1 input on the wire.
final class LifecycleTests: XCTestCase {
    var server: SpiceServer!

    override func tearDown() { server?.stop() }

    func testBadConfigurationStopsWithAMessageNamingTheVariable() throws {
        server = try SpiceServer(environment: ["SPICE_MAX_BODY_BYTES": "lots"], expectStartup: false)
        XCTAssertEqual(server.waitForExit(timeout: 10), 2)
        XCTAssertTrue(server.stderr.contains("SPICE_MAX_BODY_BYTES"), server.stderr)
        XCTAssertTrue(server.stderr.contains("\"lots\""), server.stderr)
    }

    func testSIGTERMDrainsInFlightRequestsThenExitsZero() throws {
        server = try SpiceServer(environment: ["SPICE_SHUTDOWN_GRACE": "10"])
        let inFlight = [["--http1.1"], ["--http2-prior-knowledge"]].map { flags in
            BackgroundCommand("curl", ["-sS", "--max-time", "20", "-w", " %{http_code}"] + flags + ["\(server.baseURL)/_diagnostics/sleep?ms=1500"])
        }
        usleep(400_000)
        server.signal(SIGTERM)
        usleep(200_000)
        let refused = try Command.run("curl", ["-sS", "--max-time", "2", "\(server.baseURL)/healthz"])
        XCTAssertNotEqual(refused.status, 0, "no new connections once draining")
        for request in inFlight {
            let result = request.wait()
            XCTAssertEqual(result.output, "{\"slept_ms\":1500} 200", result.stderr)
        }
        XCTAssertEqual(server.waitForExit(timeout: 10), 0)
        XCTAssertTrue(server.stderr.contains("spice stopped"), server.stderr)
    }

    func testShutdownGraceCutsRequestsThatTakeTooLong() throws {
        server = try SpiceServer(environment: ["SPICE_SHUTDOWN_GRACE": "0.5"])
        let slow = BackgroundCommand("curl", ["-sS", "--max-time", "20", "\(server.baseURL)/_diagnostics/sleep?ms=10000"])
        usleep(300_000)
        let started = Date()
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(timeout: 5), 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
        XCTAssertNotEqual(slow.wait().status, 0, "the cut request fails on the client")
    }

    func testHandlerOverTheRequestTimeoutGets504() throws {
        server = try SpiceServer(environment: ["SPICE_REQUEST_TIMEOUT": "0.5"])
        let result = try Command.run("curl", ["-sS", "-w", "\n%{http_code}", "\(server.baseURL)/_diagnostics/sleep?ms=3000"])
        XCTAssertTrue(result.output.hasSuffix("\n504"), result.output)
        XCTAssertTrue(result.output.contains("\"error\":\"request_timeout\""), result.output)
    }

    func testUnexpectedHandlerErrorIsA500ProblemWithoutInternals() throws {
        server = try SpiceServer()
        let result = try Command.run("curl", ["-sS", "-i", "\(server.baseURL)/_diagnostics/crash"])
        XCTAssertTrue(result.output.hasPrefix("HTTP/1.1 500"), result.output)
        XCTAssertTrue(result.output.contains("content-type: application/problem+json"), result.output)
        XCTAssertFalse(result.output.contains("stack and internals"), result.output)
        usleep(100_000)
        XCTAssertTrue(server.stderr.contains("stack and internals"), "the error is in the server log")
    }

    func testHostileHTTP1InputGetsTheRightStatusAndTheConnectionCloses() throws {
        server = try SpiceServer(environment: ["SPICE_MAX_HEADER_BYTES": "4096"])
        let cases: [(String, String)] = [
            ("GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
            ("POST /_diagnostics/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "400"),
            ("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n", "400"),
            ("GET  /healthz HTTP/1.1\r\nHost: a\r\n\r\n", "400"),
            ("GET /healthz HTTP/1.1\r\n\r\n", "400"),
            ("GET /healthz HTTP/2.5\r\nHost: a\r\n\r\n", "505"),
            ("GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "x", count: 5000))\r\n\r\n", "431"),
            ("POST /_diagnostics/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "501"),
        ]
        for (request, status) in cases {
            let result = try Command.run("python3", [Scripts.path("raw_http1.py"), "127.0.0.1", String(server.port)],
                                         stdin: Data(request.utf8))
            XCTAssertTrue(result.output.hasPrefix("HTTP/1.1 \(status) "), "\(request.debugDescription) → \(result.output)")
            XCTAssertTrue(result.output.contains("application/problem+json"), result.output)
            XCTAssertTrue(result.output.hasSuffix("CLOSED\n"), "connection closed after \(request.debugDescription)")
        }
        let healthy = try Command.run("curl", ["-sS", "\(server.baseURL)/healthz"])
        XCTAssertEqual(healthy.output, "{\"status\":\"ok\"}")
    }
}

/// A client command running while the test does something else (e.g. sends SIGTERM).
final class BackgroundCommand: @unchecked Sendable {
    private var result: CommandResult?
    private let done = DispatchSemaphore(value: 0)

    init(_ executable: String, _ arguments: [String]) {
        DispatchQueue.global().async {
            self.result = (try? Command.run(executable, arguments, timeout: 60))
                ?? CommandResult(status: -1, stdout: Data(), stderr: "did not run")
            self.done.signal()
        }
    }

    func wait() -> CommandResult {
        done.wait()
        return result!
    }
}
