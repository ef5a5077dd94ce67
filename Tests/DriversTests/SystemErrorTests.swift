import XCTest
import Glibc
@testable import Drivers

final class SystemErrorTests: XCTestCase {
    func testSyscallRetriesEINTRAndReportsOtherErrors() {
        var calls = 0
        let result = try? syscall("fake") { () -> Int32 in
            calls += 1
            if calls == 1 { errno = EINTR; return -1 }
            return 7
        }
        XCTAssertEqual(result, 7)
        XCTAssertEqual(calls, 2)
        XCTAssertThrowsError(try syscall("open(/nonexistent)") { open("/nonexistent/x", O_RDONLY) }) { error in
            XCTAssertTrue("\(error)".contains("open(/nonexistent) failed"), "\(error)")
            XCTAssertEqual((error as? SystemError)?.errno, ENOENT)
        }
    }
}
