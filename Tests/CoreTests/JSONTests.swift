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

final class JSONStreamWriterTests: XCTestCase {
    func testWritesMembersInOrderWithCommasWhereTheyBelong() throws {
        var out = JSONStreamWriter()
        out.object { out in
            out.key("b"); out.number(1)
            out.key("a"); out.array { out in
                out.string("x\"y"); out.null(); out.bool(true)
                out.object { _ in }
                out.array { out in out.number(2.5) }
            }
            out.member("c", ["k": [1, 2]])
            out.key("d"); out.object { out in out.key("e"); out.string("") }
        }
        let text = String(decoding: out.bytes, as: UTF8.self)
        XCTAssertEqual(text, #"{"b":1,"a":["x\"y",null,true,{},[2.5]],"c":{"k":[1,2]},"d":{"e":""}}"#)
        XCTAssertEqual(try JSONParser.parse(out.bytes), ["b": 1, "a": ["x\"y", nil, true, [:], [2.5]], "c": ["k": [1, 2]], "d": ["e": ""]])
    }

    func testPlainAndEscapedStringsRoundTrip() throws {
        for text in ["plain", "tab\there", "quote\"", "back\\slash", "ünïcödé 한국어", "\u{01}"] {
            XCTAssertEqual(try JSONParser.parse(JSONWriter.bytes(.string(text))), .string(text))
        }
        XCTAssertThrowsError(try JSONParser.parse(#"{"a":1,"a":2}"#))
    }
}
