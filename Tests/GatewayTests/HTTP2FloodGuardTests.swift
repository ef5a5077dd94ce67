import XCTest
@testable import Gateway

final class HTTP2FloodGuardTests: XCTestCase {
    private func frame(type: UInt8, flags: UInt8 = 0, payload: Int = 0) -> [UInt8] {
        [UInt8(payload >> 16 & 0xFF), UInt8(payload >> 8 & 0xFF), UInt8(payload & 0xFF), type, flags, 0, 0, 0, 1]
            + [UInt8](repeating: 0, count: payload)
    }

    private func inspect(_ guardian: inout HTTP2FloodGuard, _ bytes: [UInt8], now: UInt64 = 0) -> HTTP2FloodGuard.Abuse? {
        bytes.withUnsafeBytes { guardian.inspect($0, now: now) }
    }

    func testCountsFramesAcrossArbitrarySplits() {
        var guardian = HTTP2FloodGuard(controlFramesPerSecond: 10, maxContinuations: 4)
        var stream = HTTP2FloodGuard.preface
        for _ in 0..<11 { stream += frame(type: 0x6) }  // PING
        var detected: HTTP2FloodGuard.Abuse?
        for byte in stream { detected = detected ?? inspect(&guardian, [byte]) }
        XCTAssertEqual(detected, .pingFlood)
    }

    func testBudgetRefillsEverySecondAndAcksAreFree() {
        var guardian = HTTP2FloodGuard(controlFramesPerSecond: 10, maxContinuations: 4, expectsPreface: false)
        for second in 0..<5 {
            for _ in 0..<10 {
                XCTAssertNil(inspect(&guardian, frame(type: 0x4), now: UInt64(second) * 1000))
                XCTAssertNil(inspect(&guardian, frame(type: 0x4, flags: 0x1), now: UInt64(second) * 1000))
            }
        }
        XCTAssertEqual(inspect(&guardian, frame(type: 0x4), now: 4500), .settingsFlood)
    }

    func testRapidResetAndEmptyDataButNotRealData() {
        var guardian = HTTP2FloodGuard(controlFramesPerSecond: 3, maxContinuations: 4, expectsPreface: false)
        for _ in 0..<100 { XCTAssertNil(inspect(&guardian, frame(type: 0x0, payload: 10))) }
        XCTAssertNil(inspect(&guardian, frame(type: 0x0, flags: 0x1)), "an empty DATA that ends the stream is legitimate")
        for _ in 0..<3 { XCTAssertNil(inspect(&guardian, frame(type: 0x0))) }
        XCTAssertEqual(inspect(&guardian, frame(type: 0x0)), .emptyFrameFlood)

        var resets = HTTP2FloodGuard(controlFramesPerSecond: 3, maxContinuations: 4, expectsPreface: false)
        let burst = (0..<4).flatMap { _ in frame(type: 0x1, flags: 0x5, payload: 5) + frame(type: 0x3, payload: 4) }
        XCTAssertEqual(inspect(&resets, burst), .rapidReset)
    }

    func testContinuationsPerHeaderBlock() {
        var guardian = HTTP2FloodGuard(controlFramesPerSecond: 100, maxContinuations: 2, expectsPreface: false)
        XCTAssertNil(inspect(&guardian, frame(type: 0x1, payload: 3)))
        XCTAssertNil(inspect(&guardian, frame(type: 0x9, payload: 3)))
        XCTAssertNil(inspect(&guardian, frame(type: 0x9, flags: 0x4, payload: 3)))
        XCTAssertNil(inspect(&guardian, frame(type: 0x1, payload: 3)), "a new header block starts a new count")
        XCTAssertNil(inspect(&guardian, frame(type: 0x9)))
        XCTAssertNil(inspect(&guardian, frame(type: 0x9)))
        XCTAssertEqual(inspect(&guardian, frame(type: 0x9)), .continuationFlood)
    }
}
