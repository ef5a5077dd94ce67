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

    /// Past 64 levels the writer keeps its commas in a list instead of a bitmask; both must agree.
    func testDeepNestingKeepsItsCommas() throws {
        func nest(_ levels: Int, _ out: inout JSONStreamWriter) {
            guard levels > 0 else { return }
            out.array { out in
                out.number(levels)
                nest(levels - 1, &out)
                out.number(-levels)
            }
        }
        for levels in [63, 64, 65, 70, 130] {
            var out = JSONStreamWriter()
            out.object { out in out.key("first"); out.null(); out.key("deep"); nest(levels, &out); out.key("last"); out.bool(false) }
            let parsed = try JSONParser.parse(out.bytes, limits: .init(maxDepth: 200))
            var level = parsed["deep"]
            for expected in stride(from: levels, to: 0, by: -1) {
                XCTAssertEqual(level?.arrayValue?.first, .number(Double(expected)), "level \(expected) of \(levels)")
                XCTAssertEqual(level?.arrayValue?.last, .number(Double(-expected)))
                level = level?.arrayValue.map { $0.count == 3 ? $0[1] : .null }
            }
            XCTAssertEqual(parsed["last"], false)
        }
    }

    func testJoinedStringsAndDocumentTextAreWrittenAsTheyAre() throws {
        var out = JSONStreamWriter()
        let document = try JSONObjectText(#"{"name": "Anna", "tags": ["a", {"b": "}"}], "n": 1.5e3}"#)
        out.array { out in
            out.string("Class", "/", "id\"1")
            out.json(document)
        }
        XCTAssertEqual(try JSONParser.parse(out.bytes), ["Class/id\"1", ["name": "Anna", "tags": ["a", ["b": "}"]], "n": 1500]])
    }

    func testIntegersAreWrittenDigitForDigit() {
        for value in [0, 7, -7, 10, 99, 100, 1_000_000, -90_210, Int.max, Int.min] {
            var bytes: [UInt8] = []
            JSONWriter.writeInteger(value, into: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), String(value))
        }
    }

    func testPlainAndEscapedStringsRoundTrip() throws {
        for text in ["plain", "tab\there", "quote\"", "back\\slash", "ünïcödé 한국어", "\u{01}"] {
            XCTAssertEqual(try JSONParser.parse(JSONWriter.bytes(.string(text))), .string(text))
        }
        XCTAssertThrowsError(try JSONParser.parse(#"{"a":1,"a":2}"#))
    }
}

final class JSONObjectTextTests: XCTestCase {
    func testMembersAreFoundWithoutParsingTheRest() throws {
        let text = try JSONObjectText(#" { "name" : "Anna", "nested": {"x": [1, "]", {"y": null}]}, "gone": null, "n": -2.5E-1, "ok": true, "k\u00e9y": 1 } "#)
        XCTAssertTrue(text.isObject)
        XCTAssertEqual(text.keys, ["name", "nested", "gone", "n", "ok", "kéy"])
        XCTAssertEqual(text["name"], "Anna")
        XCTAssertEqual(text["nested"], ["x": [1, "]", ["y": nil]]])
        XCTAssertEqual(text["n"], -0.25)
        XCTAssertEqual(text["kéy"], 1)
        XCTAssertNil(text["absent"])
        XCTAssertTrue(text.hasValue("ok"))
        XCTAssertFalse(text.hasValue("gone"), "null counts as no value")
        XCTAssertFalse(text.hasValue("absent"))
        XCTAssertEqual(text.value, try JSONParser.parse(text.text))
    }

    func testEqualValuesAreEqualWhateverTheirSpelling() throws {
        XCTAssertEqual(try JSONObjectText(#"{"a":1,"b":[true]}"#), try JSONObjectText(#"{ "b": [ true ], "a": 1.0 }"#))
        XCTAssertNotEqual(try JSONObjectText(#"{"a":1}"#), try JSONObjectText(#"{"a":2}"#))
        XCTAssertEqual(JSONObjectText(["z": "last", "a": "first"]).text, #"{"a":"first","z":"last"}"#)
    }

    func testOtherValuesHaveNoMembers() throws {
        for text in ["[1,2]", "\"s\"", "null", "12", "[]"] {
            let value = try JSONObjectText(text)
            XCTAssertFalse(value.isObject, text)
            XCTAssertEqual(value.keys, [], text)
        }
        XCTAssertEqual(try JSONObjectText("{}").keys, [])
    }

    func testBrokenTextIsRefused() {
        for text in ["", "{", #"{"a"}"#, #"{"a":}"#, #"{"a":1,}"#, #"{"a":1} x"#, #"{"a":[1}"#, #"{"a":"x}"#, #"{"a":tru}"#,
                     #"{a:1}"#, "[1] 2"] {
            XCTAssertThrowsError(try JSONObjectText(text), text)
        }
    }
}
