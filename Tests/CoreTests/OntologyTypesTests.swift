import XCTest
import Core

/// Asserts that `expression` throws a `Problem` with the given status, field and (optionally) code.
func expectProblem<T>(_ expression: @autoclosure () throws -> T, status: Int = 400, field: String?, code: String? = nil,
                      _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    do {
        let value = try expression()
        XCTFail("expected a problem at \(field ?? "nil"), got \(value) \(message)", file: file, line: line)
    } catch let problem as Problem {
        XCTAssertEqual(problem.status, status, "status: \(problem.detail ?? "") \(message)", file: file, line: line)
        XCTAssertEqual(problem.field, field, "field: \(problem.detail ?? "") \(message)", file: file, line: line)
        if let code { XCTAssertEqual(problem.code, code, "code: \(problem.detail ?? "") \(message)", file: file, line: line) }
    } catch {
        XCTFail("expected a Problem, got \(error)", file: file, line: line)
    }
}

final class OntologyNamesTests: XCTestCase {
    func testDatabaseNames() throws {
        for good in ["abc", "my_db", "my-db-2", "a1b", String(repeating: "a", count: 50), "a_b-c"] {
            XCTAssertEqual(try Names.databaseName(good), good)
        }
        for bad in ["ab", String(repeating: "a", count: 51), "1abc", "Abc", "ab_", "ab-", "a__b", "a--b", "a b c", "ab.c", "abç", "_abc", ""] {
            expectProblem(try Names.databaseName(bad, field: "body.name"), field: "body.name", code: "invalid_request", bad)
        }
        expectProblem(try Names.databaseName("_system"), status: 403, field: "body.name", code: "reserved_name")
        expectProblem(try Names.databaseName("_meta", field: "path.db_name"), status: 403, field: "path.db_name", code: "reserved_name")
    }

    func testClassIds() {
        for good in ["Product", "p", "schema:Thing", "My-Class_2", String(repeating: "A", count: 100)] {
            XCTAssertTrue(Names.isValidClassId(good), good)
        }
        for bad in ["", "1Product", "_Product", "Pro duct", "Pro/duct", "Prod.uct", String(repeating: "A", count: 101), "Ünïcode"] {
            expectProblem(try Names.classId(bad), field: "body.id", bad)
        }
    }

    func testPropertyNamesAndPredicates() {
        for good in ["name", "_private", "camelCase", "snake_case_2", String(repeating: "x", count: 100)] {
            XCTAssertTrue(Names.isValidPropertyName(good), good)
        }
        for bad in ["", "2name", "na-me", "na:me", "na me", "@id", String(repeating: "x", count: 101)] {
            expectProblem(try Names.propertyName(bad, field: "f"), field: "f", bad)
            expectProblem(try Names.predicate(bad, field: "g"), field: "g", bad)
        }
    }

    func testInstanceIds() {
        for good in ["42", "abc", "A-b_c:d", String(repeating: "9", count: 255)] {
            XCTAssertTrue(Names.isValidInstanceId(good), good)
        }
        for bad in ["", "a/b", "a b", "a.b", "é", String(repeating: "9", count: 256)] {
            expectProblem(try Names.instanceId(bad, field: "x"), field: "x", bad)
        }
    }

    func testBranchNames() {
        for good in ["main", "feature/x", "release-1_2", "a", String(repeating: "b", count: 100)] {
            XCTAssertTrue(Names.isValidBranchName(good), good)
        }
        for bad in ["", "HEAD", "refs", "refs/heads/main", "refsx", "a b", "a.b", "/x", "x/", "a//b", "ü",
                    String(repeating: "b", count: 101)] {
            expectProblem(try Names.branchName(bad), field: "query.branch", bad)
        }
        XCTAssertTrue(Names.isValidBranchName("head"))
    }

    func testProblemsDoNotEchoHugeInput() {
        let huge = String(repeating: "x", count: 100_000) + "!"
        do {
            try Names.classId(huge)
            XCTFail()
        } catch {
            XCTAssertLessThan(error.detail?.count ?? 1000, 200)
        }
    }

    func testSnakeCase() {
        XCTAssertTrue(Names.isSnakeCase("product_line"))
        XCTAssertFalse(Names.isSnakeCase("Product"))
        XCTAssertFalse(Names.isSnakeCase("productLine"))
        XCTAssertFalse(Names.isSnakeCase("_x"))
    }
}

final class LocalizedTextTests: XCTestCase {
    func testParsesStringsAndLanguageMaps() throws {
        XCTAssertEqual(try LocalizedText(json: "Product", field: "body.label"), .plain("Product"))
        let map = try LocalizedText(json: ["en": "Product", "ko": "제품", "pt-br": "Produto", "zh_hant_tw": "產品", "fr": ""],
                                    field: "body.label")
        XCTAssertEqual(map.values, ["en": "Product", "ko": "제품", "pt-BR": "Produto", "zh-Hant-TW": "產品"])
        XCTAssertEqual(map["PT-BR"], "Produto")
        XCTAssertEqual(map.json, ["en": "Product", "ko": "제품", "pt-BR": "Produto", "zh-Hant-TW": "產品"])
        XCTAssertEqual(try LocalizedText(json: map.json, field: "x"), map)
    }

    func testRefusesBadText() {
        expectProblem(try LocalizedText(json: "", field: "body.label"), field: "body.label")
        expectProblem(try LocalizedText(json: "   ", field: "body.label"), field: "body.label")
        expectProblem(try LocalizedText(json: 5, field: "body.label"), field: "body.label")
        expectProblem(try LocalizedText(json: [:], field: "body.label"), field: "body.label")
        expectProblem(try LocalizedText(json: ["en": "", "ko": " "], field: "body.label"), field: "body.label")
        expectProblem(try LocalizedText(json: ["english": "x"], field: "body.label"), field: "body.label.english")
        expectProblem(try LocalizedText(json: ["e": "x"], field: "body.label"), field: "body.label.e")
        expectProblem(try LocalizedText(json: ["en-": "x"], field: "body.label"), field: "body.label.en-")
        expectProblem(try LocalizedText(json: ["en-x": "x"], field: "body.label"), field: "body.label.en-x")
        expectProblem(try LocalizedText(json: ["en": 1], field: "body.label"), field: "body.label.en")
        expectProblem(try LocalizedText(json: ["en": "a", "EN": "b"], field: "body.label"), field: "body.label.en")
        expectProblem(try LocalizedText(json: .string(String(repeating: "a", count: 201)), field: "l"), field: "l")
        XCTAssertNoThrow(try LocalizedText(json: .string(String(repeating: "a", count: 5000)), field: "d", maxLength: 5000))
    }

    func testResolve() throws {
        let text = try LocalizedText(json: ["en": "Product", "ko": "제품", "pt-BR": "Produto", "de-AT": "Ware"], field: "l")
        XCTAssertEqual(text.resolve(preferred: ["ko"]), "제품")
        XCTAssertEqual(text.resolve(preferred: ["fr", "ko", "en"]), "제품")
        XCTAssertEqual(text.resolve(preferred: ["pt"]), "Produto")        // primary-language match
        XCTAssertEqual(text.resolve(preferred: ["de-DE"]), "Ware")        // same primary language
        XCTAssertEqual(text.resolve(preferred: ["pt-br"]), "Produto")
        XCTAssertEqual(text.resolve(preferred: ["fr"]), "Product")        // falls back to English
        XCTAssertEqual(text.resolve(preferred: []), "Product")
        let noEnglish = try LocalizedText(json: ["ko": "제품", "ja": "製品"], field: "l")
        XCTAssertEqual(noEnglish.resolve(preferred: ["fr"]), "製品")       // any: the alphabetically first tag
        XCTAssertEqual(noEnglish.resolve(preferred: ["en-GB", "ko"]), "제품")
        let enGB = try LocalizedText(json: ["en-GB": "Colour", "ko": "색"], field: "l")
        XCTAssertEqual(enGB.resolve(preferred: ["fr"]), "Colour")          // en-* counts as English
        XCTAssertEqual(LocalizedText.plain("Plain").resolve(preferred: ["ko"]), "Plain")
    }

    func testLanguageTags() {
        XCTAssertEqual(LocalizedText.normalizeLanguageTag("EN"), "en")
        XCTAssertEqual(LocalizedText.normalizeLanguageTag("en_us"), "en-US")
        XCTAssertEqual(LocalizedText.normalizeLanguageTag("zh-hant-tw"), "zh-Hant-TW")
        XCTAssertEqual(LocalizedText.normalizeLanguageTag("es-419"), "es-419")
        XCTAssertEqual(LocalizedText.normalizeLanguageTag("fil"), "fil")
        for bad in ["", "e", "engl", "en-", "-en", "en--us", "en-a", "en-abcdefghi", "1a", "en us", "*"] {
            XCTAssertNil(LocalizedText.normalizeLanguageTag(bad), bad)
        }
    }

    func testAcceptLanguage() {
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"),
                       ["ko-KR", "ko", "en-US", "en"])
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: "en;q=0.5, fr;q=0.9, de"), ["de", "fr", "en"])
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: "en;q=0.5, fr;q=0.5"), ["en", "fr"])  // ties keep order
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: "*, en;q=0, ja;q=bogus, !!, ko;q=1.5, fr"), ["fr"])
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: "en, EN, en"), ["en"])
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: "fr;Q=0.8 ; level=1, de"), ["de", "fr"])
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: "en", lang: "ko"), ["ko", "en"])
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: "ko, en", lang: "ko"), ["ko", "en"])
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: nil, lang: "bogus-tag-!"), [])
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: nil, lang: nil), [])
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: ""), [])
        // A hostile header is bounded.
        let hostile = Array(repeating: "en;q=0.1", count: 100_000).joined(separator: ",")
        XCTAssertEqual(LocalizedText.preferredLanguages(acceptLanguage: hostile), ["en"])
        // End to end: header → resolve.
        let text: LocalizedText = .localized(["en": "Product", "ko": "제품"])
        XCTAssertEqual(text.resolve(preferred: LocalizedText.preferredLanguages(acceptLanguage: "ko-KR,ko;q=0.9")), "제품")
        XCTAssertEqual(text.resolve(preferred: LocalizedText.preferredLanguages(acceptLanguage: "ko", lang: "en")), "Product")
    }
}

final class OntologyTypesTests: XCTestCase {
    private func ok(_ value: JSONValue, _ type: PropertyType, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNil(ValueValidator.typeError(value, type: type), "\(value) should be a valid \(type)", file: file, line: line)
    }

    private func bad(_ value: JSONValue, _ type: PropertyType, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotNil(ValueValidator.typeError(value, type: type), "\(value) should not be a valid \(type)", file: file, line: line)
    }

    func testTypeSpellings() {
        XCTAssertEqual(PropertyType(spelling: "xsd:integer"), .integer)
        XCTAssertEqual(PropertyType(spelling: "integer"), .integer)
        XCTAssertEqual(PropertyType(spelling: "INTEGER"), .integer)
        XCTAssertEqual(PropertyType(spelling: "xsd:dateTime"), .dateTime)
        XCTAssertEqual(PropertyType(spelling: "DATETIME"), .dateTime)
        XCTAssertEqual(PropertyType(spelling: "custom:money"), .money)
        XCTAssertEqual(PropertyType(spelling: "money"), .money)
        XCTAssertEqual(PropertyType(spelling: "enum"), .enumeration)
        XCTAssertEqual(PropertyType(spelling: "xsd:anyURI"), .anyURI)
        XCTAssertEqual(PropertyType(spelling: "sys:JSON"), .object)
        XCTAssertEqual(PropertyType(spelling: "bool"), .boolean)
        XCTAssertNil(PropertyType(spelling: "xsd:nonsense"))
        XCTAssertNil(PropertyType(spelling: "link"))
        XCTAssertEqual(PropertyType.integer.canonicalName, "xsd:integer")
        XCTAssertEqual(PropertyType.dateTime.canonicalName, "xsd:dateTime")
        XCTAssertEqual(PropertyType.money.canonicalName, "money")
        for type in PropertyType.allCases {
            XCTAssertEqual(PropertyType(spelling: type.canonicalName), type)
            XCTAssertEqual(PropertyType(spelling: type.rawValue), type)
        }
        expectProblem(try PropertyType.parse("blob", field: "body.properties[0].type"), field: "body.properties[0].type")
    }

    func testNumbers() {
        ok(1, .integer); ok(-5, .integer); ok(1.0, .integer); ok(9_007_199_254_740_991, .integer)
        bad(1.5, .integer); bad("1", .integer); bad(true, .integer); bad(.null, .integer); bad(1e300, .integer)
        ok(2_147_483_647, .int); ok(-2_147_483_648, .int); bad(2_147_483_648, .int); bad(0.5, .int)
        ok(-9_007_199_254_740_991, .long); bad(1e16, .long)
        ok(1.5, .decimal); ok("12.50", .decimal); ok("-3", .decimal); ok(".5", .decimal); ok("1e3", .decimal); ok("+2.", .decimal)
        bad("abc", .decimal); bad("", .decimal); bad("1.2.3", .decimal); bad("NaN", .decimal); bad("Infinity", .decimal)
        bad("1e", .decimal); bad(" 1", .decimal); bad("0x10", .decimal); bad("1e999", .decimal); bad(true, .decimal)
        ok(1.5, .double); ok(1e300, .double); bad("1.5", .double)
        ok(3.4e38, .float); bad(3.5e38, .float); bad("1", .float)
        ok(true, .boolean); ok(false, .boolean); bad("true", .boolean); bad(1, .boolean); bad(.null, .boolean)
        ok("", .string); ok("any", .string); bad(1, .string); bad(["a"], .string)
    }

    func testDates() {
        for good in ["2024-02-29", "2000-02-29", "1999-12-31", "0001-01-01", "9999-12-31", "2023-04-30"] { ok(.string(good), .date) }
        for invalid in ["2023-02-29", "1900-02-29", "2100-02-29", "2024-04-31", "2024-13-01", "2024-00-10", "2024-01-00",
                        "0000-01-01", "2024-1-01", "24-01-01", "2024/01/01", "2024-01-01T00:00:00Z", "2024-01-32", "２０２４-01-01"] {
            bad(.string(invalid), .date)
        }
        bad(20240101, .date)
        XCTAssertTrue(ValueValidator.isLeapYear(2000))
        XCTAssertFalse(ValueValidator.isLeapYear(1900))
        XCTAssertTrue(ValueValidator.isLeapYear(2024))
    }

    func testDateTimes() {
        for good in ["2024-05-01T12:30:00Z", "2024-05-01T12:30:00.123456Z", "2024-05-01t12:30:00z", "2024-05-01 12:30:00+09:00",
                     "2024-02-29T23:59:59-05:30", "2016-12-31T23:59:60Z", "2024-05-01T00:00:00+00:00"] {
            ok(.string(good), .dateTime)
        }
        for invalid in ["2024-05-01T12:30:00", "2024-05-01", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z", "2024-05-01T12:30:61Z",
                        "2024-05-01T12:30:60Z", "2023-02-29T12:00:00Z", "2024-05-01T12:30Z", "2024-05-01T12:30:00+0900",
                        "2024-05-01T12:30:00+24:00", "2024-05-01T12:30:00.Z", "2024-05-01X12:30:00Z", "2024-05-01T12:30:00ZZ"] {
            bad(.string(invalid), .dateTime)
        }
        for good in ["12:30:00", "00:00:00.5", "23:59:59Z", "08:00:00+09:00"] { ok(.string(good), .time) }
        for invalid in ["24:00:00", "12:30", "12:30:00+9", "1:30:00", "12:30:00 "] { bad(.string(invalid), .time) }
    }

    func testTemporalOrderingAcrossOffsets() {
        let a = ValueValidator.temporalValue("2024-05-01T12:00:00+09:00", type: .dateTime)!
        let b = ValueValidator.temporalValue("2024-05-01T03:00:00Z", type: .dateTime)!
        XCTAssertEqual(a, b)
        XCTAssertEqual(ValueValidator.temporalValue("1970-01-01", type: .date), 0)
        XCTAssertEqual(ValueValidator.temporalValue("2000-03-01", type: .date), 11_017)
        XCTAssertEqual(ValueValidator.temporalValue("2024-01-01", type: .dateTime), 1_704_067_200)
    }

    func testEmails() {
        for good in ["a@b.co", "first.last+tag@example.com", "user@sub.domain.org", "x_y-z@ex-ample.io", "us'er@example.com",
                     "홍길동@예시.한국", "a@xn--80ak6aa92e.com"] {
            ok(.string(good), .email)
        }
        for invalid in ["", "plain", "@example.com", "user@", "user@example", "a@@b.com", "a@b@c.com", "a b@c.com", "ab@c .com",
                        ".a@b.com", "a.@b.com", "a..b@c.com", "a@b..com", "a@.b.com", "a@b.com.", "a@-b.com", "a@b-.com",
                        "a@b.c", "a@1.2.3.4", "a@b.123", "a<b@c.com", "a@b_c.com",
                        String(repeating: "a", count: 65) + "@example.com", "a@" + String(repeating: "b", count: 250) + ".com"] {
            bad(.string(invalid), .email)
        }
        bad(1, .email)
    }

    func testURLs() {
        for good in ["http://example.com", "https://example.com/path?q=1#frag", "HTTPS://EXAMPLE.COM", "http://localhost:8080",
                     "https://user:pw@host.example.org:443/x", "http://127.0.0.1/", "http://[::1]:3000/", "https://例え.jp/パス",
                     "https://a.b.c.d.e/f"] {
            ok(.string(good), .url)
        }
        for invalid in ["", "example.com", "ftp://example.com", "http://", "https:///path", "http://exa mple.com", "http://a..b",
                        "http://-a.com", "http://host:99999", "http://host:", "http://host:8o", "http://[::1", "http://[zz::1]/",
                        "http://999.1.1.1", "javascript:alert(1)", "http://a.com/\n", "mailto:a@b.com"] {
            bad(.string(invalid), .url)
        }
        ok("urn:isbn:0451450523", .anyURI); ok("mailto:a@b.com", .anyURI); ok("https://x.y/z", .anyURI)
        bad("no-scheme", .anyURI); bad("1http://x", .anyURI); bad("http:", .anyURI); bad("a b:c", .anyURI); bad(":x", .anyURI)
    }

    func testUUIDs() {
        ok("123e4567-e89b-12d3-a456-426614174000", .uuid)
        ok("123E4567-E89B-12D3-A456-426614174000", .uuid)
        ok("00000000-0000-0000-0000-000000000000", .uuid)
        for invalid in ["123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400", "123e4567-e89b-12d3-a456-4266141740000",
                        "g23e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456_426614174000", "{123e4567-e89b-12d3-a456-426614174000}"] {
            bad(.string(invalid), .uuid)
        }
    }

    func testPhones() {
        for good in ["+821012345678", "+1 (555) 123-4567", "555-1234", "02.123.4567", "(02) 1234 5678", "1234567", "+123456789012345"] {
            ok(.string(good), .phone)
        }
        for invalid in ["123456", "+1234567890123456", "12345a67", "++1234567", "1+234567", "(555 1234567", "555) 1234567",
                        "(55)(55) 1234567", "", "+", "--1234567", "1234567-", "phone", "+82 10 1234 5678 ext 9"] {
            bad(.string(invalid), .phone)
        }
        bad(1234567, .phone)
    }

    func testMoney() {
        ok(["amount": 12.5, "currency": "USD"], .money)
        ok(["amount": "12.50", "currency": "KRW"], .money)
        ok("12.50 USD", .money); ok("USD 12.50", .money); ok("-3 EUR", .money)
        for invalid: JSONValue in [["amount": 12.5], ["currency": "USD"], ["amount": 12.5, "currency": "usd"],
                                   ["amount": 12.5, "currency": "US"], ["amount": "abc", "currency": "USD"],
                                   ["amount": true, "currency": "USD"], ["amount": 1, "currency": "USD", "note": "x"],
                                   "12.50", "USD", "12.50 usd", "12.50 US Dollar", "abc USD", 12.5, .null] {
            bad(invalid, .money)
        }
        XCTAssertEqual(ValueValidator.money("12.50 USD")?.amount, 12.5)
        XCTAssertEqual(ValueValidator.money(["amount": "7", "currency": "JPY"])?.currency, "JPY")
    }

    func testCoordinates() {
        ok(["lat": 37.5, "lon": 127.0], .coordinate)
        ok(["lat": -90, "lng": 180], .coordinate)
        ok(["latitude": 90, "longitude": -180], .coordinate)
        ok("37.5665, 126.9780", .coordinate)
        for invalid: JSONValue in [["lat": 91, "lon": 0], ["lat": -90.01, "lon": 0], ["lat": 0, "lon": 180.5], ["lat": 0, "lng": -181],
                                   ["lat": 0], ["lon": 0], ["lat": "1", "lon": 2], ["lat": 1, "lon": 2, "lng": 3],
                                   "91,0", "1;2", "a,b", [1, 2], .null] {
            bad(invalid, .coordinate)
        }
    }

    func testAddresses() {
        ok(["street": "1 Main St", "city": "Springfield", "country": "US"], .address)
        ok(["city": "Seoul"], .address)
        ok(["postal_code": "04524", "note": "back door"], .address)
        bad([:], .address); bad(["note": "x"], .address); bad(["city": ""], .address); bad(["city": 5], .address)
        bad(["city": "Seoul", "floor": 3], .address); bad("1 Main St", .address)
    }

    func testImagesAndFiles() {
        for type in [PropertyType.image, .file] {
            ok("https://cdn.example.com/a.png", type)
            ok(["url": "https://cdn.example.com/a.png", "name": "a.png", "size": 1024], type)
            bad("a.png", type); bad(["name": "a.png"], type); bad(["url": "not a url"], type); bad(5, type)
        }
    }

    func testIPAddresses() {
        for good in ["0.0.0.0", "192.168.1.1", "255.255.255.255", "::", "::1", "2001:db8::1", "fe80::1:2:3:4",
                     "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "::ffff:192.0.2.128", "1::", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8"] {
            ok(.string(good), .ip)
        }
        for invalid in ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", "a.b.c.d", "1:2:3:4:5:6:7:8:9", "1::2::3",
                        "12345::1", "2001:db8:::1", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "g::1", "::ffff:999.0.0.1",
                        "fe80::1%eth0", "1:2:3:4:5:6:7:8::", "", ":", "1.2.3.4 "] {
            bad(.string(invalid), .ip)
        }
        XCTAssertTrue(ValueValidator.isValidIPv6("1:2:3:4:5:6:1.2.3.4"))
        XCTAssertFalse(ValueValidator.isValidIPv6("1:2:3:4:5:6:7:1.2.3.4"))
    }

    func testStructuralTypes() {
        ok(["a": 1], .object); ok([:], .object); bad([1], .object); bad("{}", .object)
        ok([1, "a"], .array); ok([], .array); bad(["a": 1], .array)
        ok("x", .enumeration); ok(1, .enumeration); ok(true, .enumeration); bad(["x"], .enumeration); bad(.null, .enumeration)
    }

    func testTypeErrorsAreBounded() {
        let reason = ValueValidator.typeError(.string(String(repeating: "z", count: 50_000)), type: .integer)!
        XCTAssertLessThan(reason.count, 160)
        let nested = ValueValidator.typeError(.array(Array(repeating: .string(String(repeating: "q", count: 1000)), count: 1000)), type: .string)!
        XCTAssertLessThan(nested.count, 160)
    }
}

final class PropertyConstraintTests: XCTestCase {
    private func property(_ json: JSONValue) throws -> Property {
        try Property(json: json, fieldPrefix: "body.properties[0]")
    }

    func testNumericBounds() throws {
        let p = try property(["name": "age", "type": "xsd:integer", "label": "Age", "constraints": ["min": 0, "max": 150]])
        XCTAssertNoThrow(try ValueValidator.validate(0, property: p, field: "f"))
        XCTAssertNoThrow(try ValueValidator.validate(150, property: p, field: "f"))
        expectProblem(try ValueValidator.validate(-1, property: p, field: "f"), field: "f", code: "constraint_violation")
        expectProblem(try ValueValidator.validate(151, property: p, field: "f"), field: "f", code: "constraint_violation")
        expectProblem(try ValueValidator.validate(1.5, property: p, field: "f"), field: "f", code: "invalid_value")

        let d = try property(["name": "price", "type": "decimal", "label": "Price", "constraints": ["minimum": 0.5]])
        XCTAssertNoThrow(try ValueValidator.validate("0.5", property: d, field: "f"))
        expectProblem(try ValueValidator.validate("0.49", property: d, field: "f"), field: "f", code: "constraint_violation")

        let m = try property(["name": "cost", "type": "money", "label": "Cost", "constraints": ["min": 0]])
        XCTAssertNoThrow(try ValueValidator.validate("0 USD", property: m, field: "f"))
        expectProblem(try ValueValidator.validate(["amount": -1, "currency": "USD"], property: m, field: "f"), field: "f",
                      code: "constraint_violation")
    }

    func testLengthBounds() throws {
        let p = try property(["name": "code", "type": "string", "label": "Code", "constraints": ["min": 2, "max": 4]])
        XCTAssertNoThrow(try ValueValidator.validate("ab", property: p, field: "f"))
        XCTAssertNoThrow(try ValueValidator.validate("한국어임", property: p, field: "f"))   // characters, not bytes
        expectProblem(try ValueValidator.validate("a", property: p, field: "f"), field: "f", code: "constraint_violation")
        expectProblem(try ValueValidator.validate("abcde", property: p, field: "f"), field: "f", code: "constraint_violation")

        let q = try property(["name": "code", "type": "string", "label": "Code", "constraints": ["min_length": 1, "maxLength": 3]])
        XCTAssertEqual(q.constraints, PropertyConstraints(minLength: 1, maxLength: 3))
        expectProblem(try ValueValidator.validate("", property: q, field: "f"), field: "f")
        expectProblem(try ValueValidator.validate("abcd", property: q, field: "f"), field: "f")

        let dec = try property(["name": "d", "type": "decimal", "label": "D", "constraints": ["max_length": 5]])
        expectProblem(try ValueValidator.validate("123.456", property: dec, field: "f"), field: "f")
        XCTAssertNoThrow(try ValueValidator.validate(123.456, property: dec, field: "f"))
    }

    func testArrayBoundsItemsEnumAndPattern() throws {
        let p = try property(["name": "tags", "type": "array", "label": "Tags", "items": "xsd:string",
                              "constraints": ["min": 1, "max_length": 3, "pattern": "^[a-z]+$"]])
        XCTAssertNoThrow(try ValueValidator.validate(["a", "bc"], property: p, field: "body.data.tags"))
        expectProblem(try ValueValidator.validate([], property: p, field: "body.data.tags"), field: "body.data.tags")
        expectProblem(try ValueValidator.validate(["a", "b", "c", "d"], property: p, field: "body.data.tags"), field: "body.data.tags")
        expectProblem(try ValueValidator.validate(["a", 5], property: p, field: "body.data.tags"), field: "body.data.tags[1]",
                      code: "invalid_value")
        expectProblem(try ValueValidator.validate(["a", "B"], property: p, field: "body.data.tags"), field: "body.data.tags[1]",
                      code: "constraint_violation")
        expectProblem(try ValueValidator.validate("a", property: p, field: "body.data.tags"), field: "body.data.tags")

        let e = try property(["name": "sizes", "type": "array<enum>", "label": "Sizes", "enum": ["S", "M", "L"]])
        XCTAssertEqual(e.items, .enumeration)
        XCTAssertNoThrow(try ValueValidator.validate(["S", "L"], property: e, field: "f"))
        expectProblem(try ValueValidator.validate(["S", "XL"], property: e, field: "f"), field: "f[1]", code: "constraint_violation")
    }

    func testEnumAndPattern() throws {
        let e = try property(["name": "status", "type": "enum", "label": "Status", "enum": ["active", "inactive", 3]])
        XCTAssertNoThrow(try ValueValidator.validate("active", property: e, field: "f"))
        XCTAssertNoThrow(try ValueValidator.validate(3, property: e, field: "f"))
        expectProblem(try ValueValidator.validate("Active", property: e, field: "f"), field: "f", code: "constraint_violation")
        expectProblem(try ValueValidator.validate(["active"], property: e, field: "f"), field: "f", code: "invalid_value")

        let s = try property(["name": "grade", "type": "string", "label": "Grade", "constraints": ["enum": ["A", "B"]]])
        XCTAssertEqual(s.enumValues, ["A", "B"])
        expectProblem(try ValueValidator.validate("C", property: s, field: "f"), field: "f")

        let sku = try property(["name": "sku", "type": "string", "label": "SKU", "constraints": ["pattern": "^[A-Z]{3}-\\d{4}$"]])
        XCTAssertNoThrow(try ValueValidator.validate("ABC-1234", property: sku, field: "f"))
        expectProblem(try ValueValidator.validate("abc-1234", property: sku, field: "f"), field: "f", code: "constraint_violation")
        expectProblem(try ValueValidator.validate("ABC-12345", property: sku, field: "f"), field: "f")
    }

    func testDateBounds() throws {
        let p = try property(["name": "born", "type": "date", "label": "Born", "constraints": ["min": "1900-01-01", "max": "2024-12-31"]])
        XCTAssertNoThrow(try ValueValidator.validate("2000-02-29", property: p, field: "f"))
        expectProblem(try ValueValidator.validate("1899-12-31", property: p, field: "f"), field: "f", code: "constraint_violation")
        expectProblem(try ValueValidator.validate("2025-01-01", property: p, field: "f"), field: "f", code: "constraint_violation")
        let t = try property(["name": "at", "type": "xsd:dateTime", "label": "At", "constraints": ["min": "2024-01-01T00:00:00Z"]])
        XCTAssertNoThrow(try ValueValidator.validate("2024-01-01T09:00:00+09:00", property: t, field: "f"))   // exactly the bound
        expectProblem(try ValueValidator.validate("2024-01-01T08:59:59+09:00", property: t, field: "f"), field: "f")
    }

    func testConstraintsAreCheckedAtDefinition() {
        let prefix = "body.properties[0]"
        expectProblem(try property(["name": "a", "type": "xsd:integer", "label": "A", "constraints": ["min": "x"]]),
                      field: "\(prefix).constraints.min")
        expectProblem(try property(["name": "a", "type": "xsd:integer", "label": "A", "constraints": ["min": 5, "max": 1]]),
                      field: "\(prefix).constraints.min")
        expectProblem(try property(["name": "a", "type": "string", "label": "A", "constraints": ["min_length": -1]]),
                      field: "\(prefix).constraints.min_length")
        expectProblem(try property(["name": "a", "type": "string", "label": "A", "constraints": ["minLength": 1.5]]),
                      field: "\(prefix).constraints.minLength")
        expectProblem(try property(["name": "a", "type": "string", "label": "A", "constraints": ["min_length": 3, "max_length": 2]]),
                      field: "\(prefix).constraints.min_length")
        expectProblem(try property(["name": "a", "type": "boolean", "label": "A", "constraints": ["max": 1]]),
                      field: "\(prefix).constraints.max")
        expectProblem(try property(["name": "a", "type": "boolean", "label": "A", "constraints": ["pattern": "x"]]),
                      field: "\(prefix).constraints.pattern")
        expectProblem(try property(["name": "a", "type": "xsd:integer", "label": "A", "constraints": ["max_length": 3]]),
                      field: "\(prefix).constraints.max_length")
        expectProblem(try property(["name": "a", "type": "string", "label": "A", "constraints": ["pattern": "(a"]]),
                      field: "\(prefix).constraints.pattern", code: "invalid_pattern")
        expectProblem(try property(["name": "a", "type": "string", "label": "A", "constraints": ["pattern": "(?=a)"]]),
                      field: "\(prefix).constraints.pattern", code: "invalid_pattern")
        expectProblem(try property(["name": "a", "type": "string", "label": "A", "constraints": ["pattern": 5]]),
                      field: "\(prefix).constraints.pattern")
        expectProblem(try property(["name": "a", "type": "date", "label": "A", "constraints": ["min": "2023-02-30"]]),
                      field: "\(prefix).constraints.min")
        expectProblem(try property(["name": "a", "type": "date", "label": "A", "constraints": ["min": "2024-01-02", "max": "2024-01-01"]]),
                      field: "\(prefix).constraints.min")
        expectProblem(try property(["name": "a", "type": "string", "label": "A", "constraints": "min=1"]),
                      field: "\(prefix).constraints")
        expectProblem(try property(["name": "a", "type": "array", "items": "xsd:integer", "label": "A", "constraints": ["pattern": "x"]]),
                      field: "\(prefix).constraints.pattern")
        expectProblem(try property(["name": "a", "type": "string", "label": "A", "constraints": ["min": 1, "minimum": 2]]),
                      field: "\(prefix).constraints.minimum")
    }
}

final class SafePatternTests: XCTestCase {
    private func matches(_ pattern: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        do { return try SafePattern(pattern).matches(text) } catch {
            XCTFail("pattern \(pattern) failed to compile: \(error)", file: file, line: line)
            return false
        }
    }

    func testLiteralsAndSearchSemantics() {
        XCTAssertTrue(matches("abc", "xxabcxx"))
        XCTAssertFalse(matches("abc", "ab"))
        XCTAssertTrue(matches("^abc", "abcd"))
        XCTAssertFalse(matches("^abc", "xabc"))
        XCTAssertTrue(matches("abc$", "xabc"))
        XCTAssertFalse(matches("abc$", "abcx"))
        XCTAssertTrue(matches("^$", ""))
        XCTAssertFalse(matches("^$", "a"))
        XCTAssertTrue(matches("", "anything"))
        XCTAssertTrue(matches("한글", "이건 한글입니다"))
    }

    func testDotClassesAndEscapes() {
        XCTAssertTrue(matches("^a.c$", "abc"))
        XCTAssertTrue(matches("^a.c$", "a한c"))
        XCTAssertFalse(matches("^a.c$", "a\nc"))
        XCTAssertTrue(matches("^[a-z0-9_]+$", "snake_case_1"))
        XCTAssertFalse(matches("^[a-z0-9_]+$", "Snake"))
        XCTAssertTrue(matches("^[^0-9]+$", "abc"))
        XCTAssertFalse(matches("^[^0-9]+$", "ab1"))
        XCTAssertTrue(matches("^[]a]+$", "]a]"))
        XCTAssertTrue(matches("^[a-]+$", "-a-"))
        XCTAssertTrue(matches("^[\\d.]+$", "1.2.3"))
        XCTAssertFalse(matches("^[\\d.]+$", "1,2"))
        XCTAssertTrue(matches("^[^\\s]+$", "nospace"))
        XCTAssertFalse(matches("^[^\\s]+$", "a space"))
        XCTAssertTrue(matches("^\\d\\d\\d$", "123"))
        XCTAssertTrue(matches("^\\w+@\\w+\\.com$", "me@site.com"))
        XCTAssertFalse(matches("^\\w+$", "a-b"))
        XCTAssertTrue(matches("^\\W$", "-"))
        XCTAssertTrue(matches("^\\D\\S\\s$", "a! "))
        XCTAssertTrue(matches("^\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\\\\\^\\$\\/$", ".*+?()[]{}|\\^$/"))
        XCTAssertTrue(matches("^\\u00e9\\x41\\t$", "éA\t"))
        XCTAssertTrue(matches("^[\\u0041-\\u0043]+$", "ABCCBA"))
        XCTAssertTrue(matches("^a{b$", "a{b"))   // a brace that is not a quantifier is a literal
        XCTAssertTrue(matches("^a}$", "a}"))
    }

    func testQuantifiersGroupsAlternation() {
        XCTAssertTrue(matches("^ab*c$", "ac"))
        XCTAssertTrue(matches("^ab*c$", "abbbc"))
        XCTAssertFalse(matches("^ab+c$", "ac"))
        XCTAssertTrue(matches("^ab?c$", "abc"))
        XCTAssertFalse(matches("^ab?c$", "abbc"))
        XCTAssertTrue(matches("^a{3}$", "aaa"))
        XCTAssertFalse(matches("^a{3}$", "aaaa"))
        XCTAssertTrue(matches("^a{2,}$", "aaaaa"))
        XCTAssertFalse(matches("^a{2,}$", "a"))
        XCTAssertTrue(matches("^a{1,3}$", "aa"))
        XCTAssertFalse(matches("^a{1,3}$", "aaaa"))
        XCTAssertTrue(matches("^a{0}b$", "b"))
        XCTAssertTrue(matches("^(cat|dog)s?$", "dogs"))
        XCTAssertFalse(matches("^(cat|dog)s?$", "cow"))
        XCTAssertTrue(matches("^(?:ab)+$", "ababab"))
        XCTAssertFalse(matches("^(?:ab)+$", "aba"))
        XCTAssertTrue(matches("^(a|b|)c$", "c"))
        XCTAssertTrue(matches("^((a|b)c){2}$", "acbc"))
        XCTAssertTrue(matches("^a*?b+?$", "aabb"))   // lazy quantifiers accepted
        XCTAssertTrue(matches("x|^y", "ay x"))
        XCTAssertFalse(matches("^x|^y", "ay"))
        XCTAssertTrue(matches("^[A-Z]{2}\\d{2}[A-Z0-9]{1,30}$", "GB82WEST12345698765432"))
        XCTAssertTrue(matches("^(()*)*$", ""))
        XCTAssertTrue(matches("^(a*)*b$", "aaab"))
    }

    func testRefusesUnsupportedSyntax() {
        for bad in ["(a", "a)", "[a-", "[z-a]", "*a", "a**", "a++", "a{2}{3}", "^*", "(?=a)", "(?!a)", "(?<n>a)", "(?i)a", "\\1",
                    "\\b", "\\p{L}", "a{1001}", "a{3,2}", "\\", "[[:alpha:]]", "\\u12", "\\xZZ", "[\\d-z]",
                    String(repeating: "a", count: 1001)] {
            XCTAssertThrowsError(try SafePattern(bad), bad)
        }
        // Expansion is bounded: nested counted repetition cannot blow up the program.
        XCTAssertThrowsError(try SafePattern("(a{1000}){1000}")) { error in
            XCTAssertTrue((error as? SafePattern.Error)?.message.contains("too complex") ?? false)
        }
        XCTAssertThrowsError(try SafePattern("((a{30}){30}){30}"))
    }

    func testPathologicalPatternsFinishFast() throws {
        let start = ContinuousClock.now
        let evil = try SafePattern("^(a+)+$")
        XCTAssertFalse(evil.matches(String(repeating: "a", count: 5000) + "!"))
        XCTAssertTrue(evil.matches(String(repeating: "a", count: 5000)))
        let alternation = try SafePattern("^(a|aa)*b$")
        XCTAssertFalse(alternation.matches(String(repeating: "a", count: 5000)))
        let nested = try SafePattern("(x+x+)+y")
        XCTAssertFalse(nested.matches(String(repeating: "x", count: 5000)))
        let counted = try SafePattern("^(a?){25}a{25}$")
        XCTAssertTrue(counted.matches(String(repeating: "a", count: 25)))
        let emptyLoop = try SafePattern("^(a*)*$")
        XCTAssertFalse(emptyLoop.matches(String(repeating: "a", count: 5000) + "b"))
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
    }

    func testWorkIsBoundedForHugeInputs() throws {
        // A pattern near the size limit against long input: refused up front rather than run for seconds.
        let big = try SafePattern("^([a-z]{600})+$")
        let long = String(repeating: "a", count: 200_000)
        XCTAssertFalse(big.canMatch(long))
        XCTAssertFalse(big.matches(long))
        let small = try SafePattern("^a+$")
        XCTAssertTrue(small.canMatch(long))
        XCTAssertTrue(small.matches(long))
        let property = try Property(json: ["name": "s", "type": "string", "label": "S",
                                           "constraints": ["pattern": .string(big.source)]], fieldPrefix: "p")
        expectProblem(try ValueValidator.validate(.string(long), property: property, field: "body.data.s"), field: "body.data.s",
                      code: "constraint_violation")
        let start = ContinuousClock.now
        let medium = String(repeating: "abcdefghij", count: 300)   // 3000 characters, 600 per repetition
        XCTAssertTrue(big.matches(String(medium.prefix(3000))))
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
    }

    func testEqualityBySource() throws {
        XCTAssertEqual(try SafePattern("^a+$"), try SafePattern("^a+$"))
        XCTAssertNotEqual(try SafePattern("^a+$"), try SafePattern("^a*$"))
        XCTAssertEqual(try SafePattern("x").description, "x")
    }
}
