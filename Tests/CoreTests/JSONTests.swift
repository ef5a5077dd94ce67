import XCTest
import Core

final class JSONTests: XCTestCase {
    func testRoundTripIsDeterministic() throws {
        let text = #"{"b":[1,2.5,-3e2,true,false,null],"a":"x\"y\\z\n\u00e9\ud83d\ude00","c":{}}"#
        let value = try JSONParser.parse(text)
        XCTAssertEqual(value["a"], .string("x\"y\\z\né😀"))
        XCTAssertEqual(JSONWriter.string(value), #"{"a":"x\"y\\z\né😀","b":[1,2.5,-300,true,false,null],"c":{}}"#)
        XCTAssertEqual(try JSONParser.parse(JSONWriter.string(value)), value)
    }

    func testRejectsMalformedInputWithA400NamingTheBody() {
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"\\x\"", "{\"a\" 1}", "nul", "[1] 2", "\"\u{01}\"",
                    "{\"a\":1,\"a\":2}", "\"\\ud800\"", "1e999"] {
            XCTAssertThrowsError(try JSONParser.parse(bad), bad) { error in
                let problem = error as? Problem
                XCTAssertEqual(problem?.status, 400, bad)
                XCTAssertEqual(problem?.field, "body", bad)
            }
        }
    }

    func testNestingLimit() throws {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        XCTAssertThrowsError(try JSONParser.parse(deep))
        let fine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try JSONParser.parse(fine))
        XCTAssertThrowsError(try JSONParser.parse("[[[1]]]", limits: .init(maxDepth: 2)))
    }

    func testEnvironmentReaderNamesTheVariable() {
        let env = EnvironmentReader(["SPICE_PORT": "eighty", "SPICE_FLAG": "maybe", "SPICE_LIST": " a, b ,,c "])
        XCTAssertThrowsError(try env.int("SPICE_PORT", default: 1, range: 0...10)) { error in
            XCTAssertTrue("\(error)".contains("SPICE_PORT"))
        }
        XCTAssertThrowsError(try env.bool("SPICE_FLAG", default: false))
        XCTAssertEqual(env.list("SPICE_LIST"), ["a", "b", "c"])
        XCTAssertEqual(try env.int("SPICE_MISSING", default: 7, range: 0...10), 7)
    }
}
