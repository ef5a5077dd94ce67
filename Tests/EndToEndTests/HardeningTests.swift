import Foundation
import XCTest

/// Attacks with a raw-frame client while a normal client keeps being served on another connection.
final class HardeningTests: XCTestCase {
    var server: SpiceServer!

    override func tearDown() { server?.stop() }

    /// Runs `attack` in the background and, while it runs, checks that normal requests still get 200s.
    private func assertStopped(mode: String, environment: [String: String] = [:], seconds: Int = 12,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        server = try SpiceServer(environment: environment)
        let port = String(server.port)
        let attack = AttackRun(mode: mode, port: port, seconds: seconds)
        var served = 0
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline {
            let probe = try Command.run("curl", ["-sS", "--max-time", "5", "--http2-prior-knowledge", "-o", "/dev/null",
                                                 "-w", "%{http_code}", "\(server.baseURL)/healthz"])
            if probe.output == "200" { served += 1 }
            usleep(100_000)
        }
        let result = attack.wait()
        XCTAssertEqual(result.status, 0, "\(mode) was not stopped: \(result.output) \(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.output.contains("\"closed\": true"), result.output, file: file, line: line)
        XCTAssertGreaterThan(served, 5, "a normal client kept being served during \(mode)", file: file, line: line)
        let after = try Command.run("curl", ["-sS", "--max-time", "5", "-w", "%{http_code}", "-o", "/dev/null", "\(server.baseURL)/healthz"])
        XCTAssertEqual(after.output, "200", "server unharmed after \(mode)", file: file, line: line)
    }

    func testRapidResetFloodGetsEnhanceYourCalm() throws {
        try assertStopped(mode: "rapid_reset")
        let metrics = try Command.run("curl", ["-sS", "\(server.baseURL)/metrics"]).output
        XCTAssertTrue(metrics.contains("spice_http2_floods_stopped_total{kind=\"rapid_reset\"} 1"), metrics)
    }

    func testContinuationFloodGetsEnhanceYourCalm() throws {
        try assertStopped(mode: "continuation_flood")
    }

    func testSettingsFloodGetsEnhanceYourCalm() throws {
        try assertStopped(mode: "settings_flood")
    }

    func testPingFloodGetsEnhanceYourCalm() throws {
        try assertStopped(mode: "ping_flood")
    }

    func testEmptyDataFrameFloodGetsEnhanceYourCalm() throws {
        try assertStopped(mode: "empty_data_flood")
    }

    func testSlowlorisIsCutByTheHeaderTimeout() throws {
        try assertStopped(mode: "slowloris", environment: ["SPICE_HEADER_TIMEOUT": "2"])
    }

    func testIdleConnectionsAreClosed() throws {
        server = try SpiceServer(environment: ["SPICE_IDLE_TIMEOUT": "1"])
        let request = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
        let started = Date()
        let result = try Command.run("python3", [Scripts.path("raw_http1.py"), "127.0.0.1", String(server.port), "10"],
                                     stdin: Data(request.utf8))
        XCTAssertTrue(result.output.hasPrefix("HTTP/1.1 200 OK"), result.output)
        XCTAssertTrue(result.output.hasSuffix("CLOSED\n"), result.output)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testConnectionLimitRefusesTheExtraConnections() throws {
        server = try SpiceServer(environment: ["SPICE_MAX_CONNECTIONS": "2", "SPICE_EVENT_LOOPS": "1"])
        let holders = (0..<2).map { _ in AttackRun(mode: "slowloris", port: String(server.port), seconds: 3) }
        usleep(500_000)
        let refused = try Command.run("curl", ["-sS", "--max-time", "3", "\(server.baseURL)/healthz"])
        XCTAssertNotEqual(refused.status, 0, "a third connection must be refused while two are open")
        for holder in holders { _ = holder.wait() }
        let metrics = try Command.run("curl", ["-sS", "\(server.baseURL)/metrics"]).output
        XCTAssertTrue(metrics.contains("spice_http_connections_rejected_total "), metrics)
        XCTAssertFalse(metrics.contains("spice_http_connections_rejected_total 0\n"), metrics)
    }
}

/// The raw-frame attacker (Scripts/h2_abuse.py) running in the background.
final class AttackRun: @unchecked Sendable {
    private let process = Process()
    private let out = Pipe()
    private let err = Pipe()
    private let collector: OutputCollector

    init(mode: String, port: String, seconds: Int) {
        process.executableURL = URL(fileURLWithPath: (try? Command.resolve("python3")) ?? "/usr/bin/python3")
        process.arguments = [Scripts.path("h2_abuse.py"), mode, "127.0.0.1", port, "--seconds", String(seconds)]
        process.standardOutput = out
        process.standardError = err
        collector = OutputCollector(out: out, err: err)
        try? process.run()
    }

    func wait() -> CommandResult {
        _ = Command.waitForExit(process, timeout: 120)
        let (stdout, stderr) = collector.finish()
        return CommandResult(status: process.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
    }
}
