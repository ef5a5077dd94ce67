import XCTest
@testable import Gateway

final class HTTP1ParserTests: XCTestCase {
    // MARK: Helpers

    /// A comparable transcript entry: heads are rendered with every field.
    enum Ev: Equatable, CustomStringConvertible {
        case head(String)
        case body([UInt8])
        case end

        var description: String {
            switch self {
            case .head(let s): return "head(\(s))"
            case .body(let b): return "body(\(String(decoding: b, as: UTF8.self).debugDescription))"
            case .end: return "end"
            }
        }
    }

    static func render(_ h: HTTP1RequestHead) -> String {
        let fields = h.headers.fields.map { "\($0.name)=\($0.value)" }.joined(separator: "|")
        return "\(h.method) \(h.target) path=\(h.path) query=\(h.query ?? "nil") 1.\(h.minorVersion) "
            + "ka=\(h.keepAlive) cl=\(h.contentLength.map(String.init) ?? "nil") chunked=\(h.isChunked) "
            + "continue=\(h.expectsContinue) upgrade=\(h.upgrade ?? "nil") [\(fields)]"
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Feeds `input` in pieces of `piece` bytes (all at once when nil), draining `next()` after each
    /// feed. Raw body events are returned as they came.
    static func rawEvents(_ input: [UInt8], limits: HTTP1Parser.Limits = .init(), piece: Int? = nil)
        throws(HTTP1ParseError) -> [HTTP1Event]
    {
        var parser = HTTP1Parser(limits: limits)
        var out: [HTTP1Event] = []
        let step = max(piece ?? input.count, 1)
        var i = 0
        repeat {
            let j = min(i + step, input.count)
            if j > i { parser.feed(Array(input[i ..< j])) }
            while let event = try parser.next() { out.append(event) }
            i = j
        } while i < input.count
        return out
    }

    /// Like `rawEvents`, converted to a transcript with consecutive body events merged.
    static func transcript(_ events: [HTTP1Event]) -> [Ev] {
        var out: [Ev] = []
        for event in events {
            switch event {
            case .head(let h): out.append(.head(render(h)))
            case .end: out.append(.end)
            case .body(let b):
                if case .body(let previous)? = out.last {
                    out[out.count - 1] = .body(previous + b)
                } else {
                    out.append(.body(b))
                }
            }
        }
        return out
    }

    func events(_ input: String, limits: HTTP1Parser.Limits = .init(), piece: Int? = nil,
                file: StaticString = #filePath, line: UInt = #line) -> [Ev] {
        do {
            return Self.transcript(try Self.rawEvents(Self.bytes(input), limits: limits, piece: piece))
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return []
        }
    }

    /// Parses one request that must be accepted; returns its head.
    func head(_ input: String, limits: HTTP1Parser.Limits = .init(),
              file: StaticString = #filePath, line: UInt = #line) -> HTTP1RequestHead? {
        do {
            let all = try Self.rawEvents(Self.bytes(input), limits: limits)
            for case .head(let h) in all { return h }
            XCTFail("no head", file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
        return nil
    }

    /// Asserts the input is refused with `status`, whether fed whole, byte by byte or in 7-byte pieces.
    func assertRejects(_ input: [UInt8], _ status: Int, limits: HTTP1Parser.Limits = .init(),
                       file: StaticString = #filePath, line: UInt = #line) {
        for piece in [nil, 1, 7] as [Int?] {
            do {
                let got = try Self.rawEvents(input, limits: limits, piece: piece)
                XCTFail("accepted (piece \(piece.map(String.init) ?? "all")): \(Self.transcript(got))",
                        file: file, line: line)
            } catch {
                XCTAssertEqual(error.status, status,
                               "piece \(piece.map(String.init) ?? "all"): \(error.detail)", file: file, line: line)
            }
        }
    }

    func assertRejects(_ input: String, _ status: Int, limits: HTTP1Parser.Limits = .init(),
                       file: StaticString = #filePath, line: UInt = #line) {
        assertRejects(Self.bytes(input), status, limits: limits, file: file, line: line)
    }

    /// A valid request with `fields` (each "Name: value") and `body` after the blank line.
    static func request(_ requestLine: String = "GET / HTTP/1.1", _ fields: [String] = ["Host: x"],
                        body: String = "") -> String {
        requestLine + "\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n" + body
    }

    // MARK: Valid requests

    func testSimpleGet() throws {
        var parser = HTTP1Parser(limits: .init())
        XCTAssertTrue(parser.isIdle)
        parser.feed(Self.bytes("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertFalse(parser.isIdle)
        guard case .head(let h)? = try parser.next() else { return XCTFail("expected head") }
        XCTAssertEqual(h.method, "GET")
        XCTAssertEqual(h.target, "/healthz")
        XCTAssertEqual(h.path, "/healthz")
        XCTAssertNil(h.query)
        XCTAssertEqual(h.minorVersion, 1)
        XCTAssertEqual(h.headers.count, 1)
        XCTAssertEqual(h.headers["host"], "x")
        XCTAssertTrue(h.keepAlive)
        XCTAssertNil(h.contentLength)
        XCTAssertFalse(h.isChunked)
        XCTAssertFalse(h.expectsContinue)
        XCTAssertNil(h.upgrade)
        XCTAssertFalse(parser.isIdle)
        guard case .end? = try parser.next() else { return XCTFail("expected end") }
        XCTAssertTrue(parser.isIdle)
        XCTAssertNil(try parser.next())
        XCTAssertTrue(parser.isIdle)
    }

    func testFeedFromRawBuffer() throws {
        var parser = HTTP1Parser(limits: .init())
        let input = Self.bytes("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        input.withUnsafeBytes { parser.feed($0) }
        guard case .head(let h)? = try parser.next() else { return XCTFail("expected head") }
        XCTAssertEqual(h.contentLength, 3)
        guard case .body(let b)? = try parser.next() else { return XCTFail("expected body") }
        XCTAssertEqual(b, Self.bytes("abc"))
        guard case .end? = try parser.next() else { return XCTFail("expected end") }
        XCTAssertNil(try parser.next())
    }

    func testTargetPathAndQuery() {
        let h = head("GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(h?.target, "/a/b?x=1&y=%20")
        XCTAssertEqual(h?.path, "/a/b")
        XCTAssertEqual(h?.query, "x=1&y=%20")

        let empty = head("GET /a? HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(empty?.path, "/a")
        XCTAssertEqual(empty?.query, "")

        let second = head("GET /a?b?c HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(second?.path, "/a")
        XCTAssertEqual(second?.query, "b?c")
    }

    func testAbsoluteFormTarget() {
        let h = head("GET http://example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        XCTAssertEqual(h?.target, "http://example.com:8080/p/q?x=1")
        XCTAssertEqual(h?.path, "/p/q")
        XCTAssertEqual(h?.query, "x=1")

        let bare = head("GET HTTP://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n")
        XCTAssertEqual(bare?.path, "/")
        XCTAssertNil(bare?.query)

        let queryOnly = head("GET https://example.com?a=b HTTP/1.1\r\nHost: example.com\r\n\r\n")
        XCTAssertEqual(queryOnly?.path, "/")
        XCTAssertEqual(queryOnly?.query, "a=b")
    }

    func testAsteriskFormForOptions() {
        let h = head("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(h?.method, "OPTIONS")
        XCTAssertEqual(h?.target, "*")
        XCTAssertEqual(h?.path, "*")
        XCTAssertNil(h?.query)
    }

    func testMethodIsAnyToken() {
        XCTAssertEqual(head("PROPFIND /x HTTP/1.1\r\nHost: x\r\n\r\n")?.method, "PROPFIND")
        XCTAssertEqual(head("M-SEARCH! /x HTTP/1.1\r\nHost: x\r\n\r\n")?.method, "M-SEARCH!")
    }

    func testHeaderNamesLowercasedValuesTrimmedOrderKept() {
        let h = head(Self.request("GET / HTTP/1.1", [
            "Host: x", "X-Foo: \t bar  baz \t", "X-Empty:", "X-Spaces:    ", "x-foo: second",
            "Accept-Encoding:gzip", "X-Obs: caf\u{e9}",
        ]))
        XCTAssertEqual(h?.headers.fields.map(\.name),
                       ["host", "x-foo", "x-empty", "x-spaces", "x-foo", "accept-encoding", "x-obs"])
        XCTAssertEqual(h?.headers.values("X-Foo"), ["bar  baz", "second"])
        XCTAssertEqual(h?.headers["x-empty"], "")
        XCTAssertEqual(h?.headers["x-spaces"], "")
        XCTAssertEqual(h?.headers["accept-encoding"], "gzip")
        XCTAssertEqual(h?.headers["x-obs"], "caf\u{e9}")  // obs-text (UTF-8 here) is accepted
    }

    func testPostWithContentLength() {
        let body = String(repeating: "0123456789", count: 100)
        let raw = try? Self.rawEvents(Self.bytes(Self.request("POST /items HTTP/1.1",
                                                              ["Host: x", "Content-Length: 1000"], body: body)))
        XCTAssertEqual(raw?.count, 3, "head, one body slice, end")
        let got = events(Self.request("POST /items HTTP/1.1", ["Host: x", "Content-Length: 1000"], body: body))
        XCTAssertEqual(got.count, 3)
        XCTAssertEqual(got.dropFirst().first, .body(Self.bytes(body)))
        XCTAssertEqual(got.last, .end)
        let h = head(Self.request("POST /items HTTP/1.1", ["Host: x", "Content-Length: 1000"], body: body))
        XCTAssertEqual(h?.contentLength, 1000)
        XCTAssertFalse(h?.isChunked ?? true)
    }

    func testContentLengthZeroHasNoBodyEvent() {
        let got = events(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 0"]))
        XCTAssertEqual(got.count, 2)
        XCTAssertEqual(got.last, .end)
        XCTAssertEqual(head(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 0"]))?.contentLength, 0)
    }

    func testIdenticalContentLengthsAccepted() {
        XCTAssertEqual(head(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 3, 3"], body: "abc"))?
            .contentLength, 3)
        XCTAssertEqual(head(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 3", "Content-Length: 003"],
                                         body: "abc"))?.contentLength, 3)
        XCTAssertEqual(events(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 3,3"], body: "abc")).count, 3)
    }

    func testChunkedWithExtensionsAndTrailers() {
        let input = Self.request("POST /up HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked"],
                                 body: "5;name=value;flag\r\nhello\r\n"
                                     + "6 ; q=\"quoted; string\"\r\n world\r\n"
                                     + "A\r\n0123456789\r\n"
                                     + "0;last\r\nX-Checksum: abc\r\nX-Other:  1 \r\n\r\n")
        let got = events(input)
        XCTAssertEqual(got.count, 3)
        XCTAssertEqual(got[1], .body(Self.bytes("hello world0123456789")))
        XCTAssertEqual(got[2], .end)
        let h = head(input)
        XCTAssertTrue(h?.isChunked ?? false)
        XCTAssertNil(h?.contentLength)
        XCTAssertNil(h?.headers["x-checksum"], "trailers are discarded")
    }

    func testChunkedCodingIsCaseInsensitiveAndUppercaseHex() {
        let input = Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: ChUnKeD"],
                                 body: "b\r\nhello world\r\nB\r\nHELLO WORLD\r\n000\r\n\r\n")
        XCTAssertEqual(events(input).dropFirst().first, .body(Self.bytes("hello worldHELLO WORLD")))
    }

    func testChunkedEmptyBody() {
        let got = events(Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked"], body: "0\r\n\r\n"))
        XCTAssertEqual(got.count, 2)
        XCTAssertEqual(got.last, .end)
    }

    func testChunkedDataCoalescedIntoOneBodyEvent() throws {
        var body = ""
        for _ in 0 ..< 200 { body += "1\r\nx\r\n" }
        body += "0\r\n\r\n"
        let raw = try Self.rawEvents(Self.bytes(Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked"],
                                                             body: body)))
        XCTAssertEqual(raw.count, 3)
        guard case .body(let b) = raw[1] else { return XCTFail("expected body") }
        XCTAssertEqual(b, [UInt8](repeating: UInt8(ascii: "x"), count: 200))
    }

    func testLargeBodyEmittedInLargeSlices() throws {
        var parser = HTTP1Parser(limits: .init())
        let size = 1 << 20
        parser.feed(Self.bytes("PUT /blob HTTP/1.1\r\nHost: x\r\nContent-Length: \(size)\r\n\r\n"))
        guard case .head? = try parser.next() else { return XCTFail("expected head") }
        var received = 0
        var bodyEvents = 0
        let piece = [UInt8](repeating: 7, count: 64 * 1024)
        while received < size {
            parser.feed(piece)
            while let event = try parser.next() {
                switch event {
                case .body(let b): received += b.count; bodyEvents += 1
                case .end: XCTAssertEqual(received, size)
                case .head: XCTFail("unexpected head")
                }
            }
        }
        XCTAssertEqual(bodyEvents, size / piece.count)
        XCTAssertTrue(parser.isIdle)
    }

    func testPipelinedRequestsInOneFeed() {
        let input = "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
            + "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
            + "POST /three HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
            + "GET /four HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        let got = events(input)
        let shape: [String] = got.map {
            switch $0 {
            case .head(let s): return String(s.split(separator: " ")[1])
            case .body(let b): return String(decoding: b, as: UTF8.self)
            case .end: return "end"
            }
        }
        XCTAssertEqual(shape, ["/one", "end", "/two", "hello", "end", "/three", "abc", "end", "/four", "end"])
    }

    func testNextRequestArrivesWithPreviousBody() throws {
        var parser = HTTP1Parser(limits: .init())
        parser.feed(Self.bytes("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234"))
        guard case .head? = try parser.next() else { return XCTFail("expected head") }
        guard case .body(let first)? = try parser.next() else { return XCTFail("expected body") }
        XCTAssertEqual(first, Self.bytes("01234"))
        XCTAssertNil(try parser.next())
        XCTAssertFalse(parser.isIdle)
        parser.feed(Self.bytes("56789GET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HT"))
        guard case .body(let second)? = try parser.next() else { return XCTFail("expected body") }
        XCTAssertEqual(second, Self.bytes("56789"))
        guard case .end? = try parser.next() else { return XCTFail("expected end") }
        guard case .head(let b)? = try parser.next() else { return XCTFail("expected head") }
        XCTAssertEqual(b.path, "/b")
        guard case .end? = try parser.next() else { return XCTFail("expected end") }
        XCTAssertNil(try parser.next())
        XCTAssertFalse(parser.isIdle, "a partial request line is buffered")
        parser.feed(Self.bytes("TP/1.1\r\nHost: x\r\n\r\n"))
        guard case .head(let c)? = try parser.next() else { return XCTFail("expected head") }
        XCTAssertEqual(c.path, "/c")
        guard case .end? = try parser.next() else { return XCTFail("expected end") }
        XCTAssertTrue(parser.isIdle)
    }

    func testLeadingEmptyLinesAreSkipped() {
        let got = events("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(got.count, 4)
        var parser = HTTP1Parser(limits: .init())
        parser.feed(Self.bytes("\r\n"))
        XCTAssertNil(try? parser.next())
        XCTAssertTrue(parser.isIdle)
    }

    func testKeepAliveSemantics() {
        func ka(_ line: String, _ fields: [String]) -> Bool? { head(Self.request(line, fields))?.keepAlive }
        XCTAssertEqual(ka("GET / HTTP/1.1", ["Host: x"]), true)
        XCTAssertEqual(ka("GET / HTTP/1.1", ["Host: x", "Connection: close"]), false)
        XCTAssertEqual(ka("GET / HTTP/1.1", ["Host: x", "Connection: CLOSE"]), false)
        XCTAssertEqual(ka("GET / HTTP/1.1", ["Host: x", "Connection: keep-alive, Close"]), false)
        XCTAssertEqual(ka("GET / HTTP/1.1", ["Host: x", "Connection: foo", "Connection: bar ,close"]), false)
        XCTAssertEqual(ka("GET / HTTP/1.1", ["Host: x", "Connection: closed"]), true)
        XCTAssertEqual(ka("GET / HTTP/1.1", ["Host: x", "Connection: keep-alive"]), true)
        XCTAssertEqual(ka("GET / HTTP/1.0", []), false)
        XCTAssertEqual(ka("GET / HTTP/1.0", ["Connection: keep-alive"]), true)
        XCTAssertEqual(ka("GET / HTTP/1.0", ["Connection: Keep-Alive"]), true)
        XCTAssertEqual(ka("GET / HTTP/1.0", ["Connection: te, keep-alive"]), true)
        XCTAssertEqual(ka("GET / HTTP/1.0", ["Connection: keep-alive", "Connection: close"]), false)
        XCTAssertEqual(ka("GET / HTTP/1.0", ["X-Connection: keep-alive"]), false)
    }

    func testHTTP10WithoutHostAndWithContentLength() {
        let h = head(Self.request("POST /x HTTP/1.0", ["Content-Length: 2"], body: "ok"))
        XCTAssertEqual(h?.minorVersion, 0)
        XCTAssertEqual(h?.contentLength, 2)
        XCTAssertEqual(events(Self.request("POST /x HTTP/1.0", ["Content-Length: 2"], body: "ok")).count, 3)
    }

    func testExpectContinue() {
        XCTAssertEqual(head(Self.request("POST / HTTP/1.1", ["Host: x", "Expect: 100-continue", "Content-Length: 1"],
                                         body: "a"))?.expectsContinue, true)
        XCTAssertEqual(head(Self.request("POST / HTTP/1.1", ["Host: x", "Expect: 100-Continue", "Content-Length: 1"],
                                         body: "a"))?.expectsContinue, true)
        XCTAssertEqual(head(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 1"], body: "a"))?
            .expectsContinue, false)
        // An HTTP/1.0 client cannot handle 100 responses: the expectation is ignored.
        XCTAssertEqual(head(Self.request("POST / HTTP/1.0", ["Expect: 100-continue", "Content-Length: 1"],
                                         body: "a"))?.expectsContinue, false)
    }

    func testExpectContinueHeadComesBeforeBody() throws {
        var parser = HTTP1Parser(limits: .init())
        parser.feed(Self.bytes("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"))
        guard case .head(let h)? = try parser.next() else { return XCTFail("expected head") }
        XCTAssertTrue(h.expectsContinue)
        XCTAssertNil(try parser.next())
        parser.feed(Self.bytes("data"))
        guard case .body(let b)? = try parser.next() else { return XCTFail("expected body") }
        XCTAssertEqual(b, Self.bytes("data"))
        guard case .end? = try parser.next() else { return XCTFail("expected end") }
    }

    func testUpgradeH2cDetection() throws {
        let h = head(Self.request("GET / HTTP/1.1", [
            "Host: x", "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA",
        ]))
        XCTAssertEqual(h?.upgrade, "h2c")
        XCTAssertTrue(h?.keepAlive ?? false)
        XCTAssertNil(head(Self.request("GET / HTTP/1.1", ["Host: x", "Upgrade: h2c"]))?.upgrade,
                     "Upgrade without the Connection option is ignored")
        XCTAssertEqual(head(Self.request("GET / HTTP/1.1", ["Host: x", "Connection: upgrade",
                                                            "Upgrade: websocket"]))?.upgrade, "websocket")

        // After the upgrade request, the rest of the buffer belongs to the new protocol.
        var parser = HTTP1Parser(limits: .init())
        let preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        parser.feed(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" + preface))
        guard case .head(let up)? = try parser.next() else { return XCTFail("expected head") }
        XCTAssertEqual(up.upgrade, "h2c")
        guard case .end? = try parser.next() else { return XCTFail("expected end") }
        XCTAssertEqual(parser.takeUnconsumedBytes(), Self.bytes(preface))
        XCTAssertTrue(parser.isIdle)
    }

    func testLimitsAtTheBoundaryAreAccepted() {
        let limits = HTTP1Parser.Limits(maxHeaderBytes: 64, maxHeaderCount: 3, maxBodyBytes: 5)
        // 16 + 9 + 2 = 27 bytes; pad a field to reach exactly 64.
        let base = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        XCTAssertEqual(base.utf8.count, 27)
        let pad = "X: " + String(repeating: "a", count: 64 - 27 - 5) + "\r\n"
        let exact = "GET / HTTP/1.1\r\nHost: x\r\n" + pad + "\r\n"
        XCTAssertEqual(exact.utf8.count, 64)
        XCTAssertEqual(events(exact, limits: limits).count, 2)
        XCTAssertEqual(events(exact, limits: limits, piece: 1).count, 2)
        assertRejects("GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 64 - 27 - 4) + "\r\n\r\n",
                      431, limits: limits)

        XCTAssertEqual(events(Self.request("GET / HTTP/1.1", ["Host: x", "A: 1", "B: 2"]), limits: limits).count, 2)
        XCTAssertEqual(events(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 5"], body: "12345"),
                              limits: limits).count, 3)
        XCTAssertEqual(events(Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked"],
                                           body: "2\r\n12\r\n3\r\n345\r\n0\r\n\r\n"), limits: limits).count, 3)

        // A request line of exactly maxHeaderBytes (CRLF included) gets past the 414 check.
        let line = "GET /" + String(repeating: "a", count: 64 - 16) + " HTTP/1.1\r\n"
        XCTAssertEqual(line.utf8.count, 64)
        assertRejects(line + "Host: x\r\n\r\n", 431, limits: limits)
        assertRejects("GET /" + String(repeating: "a", count: 64 - 15) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414,
                      limits: limits)
    }

    /// The set of valid inputs the incremental tests replay.
    static let validCorpus: [String] = [
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "\r\nGET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test/1.0\r\nAccept: */*\r\n\r\n",
        "GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"name\":\"a\"}\n",
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\nY-T: 2\r\n\r\n",
        "PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n\r\n",
        // pipelined
        "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbodyGET /3 HTTP/1.1\r\n"
            + "Host: x\r\n\r\nPOST /4 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"
            + "\r\nGET /5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ]

    func testByteAtATimeYieldsTheSameEvents() {
        for input in Self.validCorpus {
            let whole = events(input)
            XCTAssertFalse(whole.isEmpty)
            XCTAssertEqual(whole.last, .end, input.debugDescription)
            for piece in [1, 2, 3, 5, 7, 13, 64] {
                XCTAssertEqual(events(input, piece: piece), whole, "piece \(piece): \(input.debugDescription)")
            }
        }
    }

    func testRandomSplitsOfALongPipelineYieldTheSameEvents() throws {
        // Long enough to exercise buffer compaction with requests straddling feeds.
        var input: [UInt8] = []
        for i in 0 ..< 300 {
            input += Self.bytes(Self.validCorpus[i % Self.validCorpus.count])
        }
        let expected = Self.transcript(try Self.rawEvents(input))
        XCTAssertEqual(expected.filter { $0 == .end }.count, 300 + 300 / Self.validCorpus.count * 4)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        for _ in 0 ..< 5 {
            var parser = HTTP1Parser(limits: .init())
            var raw: [HTTP1Event] = []
            var i = 0
            while i < input.count {
                let j = min(input.count, i + 1 + random(6000))
                parser.feed(Array(input[i ..< j]))
                // Sometimes leave events in the parser so unconsumed data accumulates.
                if random(3) != 0 {
                    while let e = try parser.next() { raw.append(e) }
                }
                i = j
            }
            while let e = try parser.next() { raw.append(e) }
            XCTAssertEqual(Self.transcript(raw), expected)
            XCTAssertTrue(parser.isIdle)
        }
    }

    // MARK: Hostile: request line

    func testInvalidMethod() {
        assertRejects("GE(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects(" / HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("G\u{e9}T / HTTP/1.1\r\nHost: x\r\n\r\n", 400)
    }

    func testRequestLineSpacing() {
        assertRejects("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET /  HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400)
        assertRejects("GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET /\r\nHost: x\r\n\r\n", 400)  // HTTP/0.9 style
        assertRejects("GET\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET / \r\nHost: x\r\n\r\n", 400)
        assertRejects("GET /\tHTTP/1.1\r\nHost: x\r\n\r\n", 400)
    }

    func testTargetForms() {
        assertRejects("GET a/b HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400)  // asterisk only for OPTIONS
        assertRejects("options * HTTP/1.1\r\nHost: x\r\n\r\n", 400)  // methods are case-sensitive
        assertRejects("OPTIONS *x HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET ftp://h/x HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET http:// HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET http://user@h/x HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 400)
        assertRejects("GET ?x HTTP/1.1\r\nHost: x\r\n\r\n", 400)
    }

    func testTargetCharacters() {
        // Long targets are checked eight bytes at a time: put the bad byte at every offset.
        for bad: UInt8 in [0x00, 0x09, 0x7F, 0x80, 0x23, 0x0D] {
            for offset in 1 ..< 24 {
                var target = [UInt8](repeating: UInt8(ascii: "t"), count: 24)
                target[0] = UInt8(ascii: "/")
                target[offset] = bad
                assertRejects(Self.bytes("GET ") + target + Self.bytes(" HTTP/1.1\r\nHost: x\r\n\r\n"), 400)
            }
        }
        // The first "?" splits path and query wherever it falls.
        for offset in 1 ..< 24 {
            var target = [UInt8](repeating: UInt8(ascii: "t"), count: 24)
            target[0] = UInt8(ascii: "/")
            target[offset] = UInt8(ascii: "?")
            let h = head("GET " + String(decoding: target, as: UTF8.self) + " HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertEqual(h?.path, String(decoding: target[..<offset], as: UTF8.self))
            XCTAssertEqual(h?.query, String(decoding: target[(offset + 1)...], as: UTF8.self))
        }
        for bad: [UInt8] in [[0x00], [0x01], [0x09], [0x0D], [0x1F], [0x7F], [0x80], [0xC3, 0xA9], [0xFF], [0x23]] {
            assertRejects(Self.bytes("GET /a") + bad + Self.bytes("b HTTP/1.1\r\nHost: x\r\n\r\n"), 400)
        }
    }

    func testHTTPVersion() {
        assertRejects("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505)
        assertRejects("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505)
        assertRejects("GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505)
        assertRejects("GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505)
        assertRejects("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505)  // HTTP/2 prior-knowledge preface
        assertRejects("GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET / HTTP/11\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET / http/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET / HTTP/1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET / HTTPS/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET / HTTP/ 1.1\r\nHost: x\r\n\r\n", 400)
    }

    func testBareLFIsRejected() {
        assertRejects("GET / HTTP/1.1\nHost: x\r\n\r\n", 400)
        assertRejects("GET / HTTP/1.1\r\nHost: x\n\r\n", 400)
        assertRejects("GET / HTTP/1.1\r\nHost: x\r\n\n", 400)
        assertRejects("\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        assertRejects("GET / HTTP/1.1\r\nHost: x\r\nX: a\nY: b\r\n\r\n", 400)
    }

    func testBareCRIsRejected() {
        assertRejects("GET / HTTP/1.1\rHost: x\r\n\r\n", 400)
        assertRejects("GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", 400)
        assertRejects("GET / HTTP/1.1\r\nHost: x\r\n\r\r\n", 400)
        assertRejects("\r\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400)
    }

    func testNonHTTPBytesFailFast() throws {
        // A TLS ClientHello on the plain-text port is refused without waiting for a line end.
        var parser = HTTP1Parser(limits: .init())
        parser.feed([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
        XCTAssertThrowsError(try parser.next()) { error in
            XCTAssertEqual((error as? HTTP1ParseError)?.status, 400)
        }
    }

    // MARK: Hostile: header fields

    func testFieldSyntax() {
        assertRejects(Self.request("GET / HTTP/1.1", ["Host : x"]), 400)
        assertRejects(Self.request("GET / HTTP/1.1", ["Host\t: x"]), 400)
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", "X-Foo x"]), 400)
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", ": x"]), 400)
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", "X(Y): z"]), 400)
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", "X\u{e9}: z"]), 400)
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", "X Y: z"]), 400)
    }

    func testObsFoldIsRejected() {
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", "X-Long: a", " continued"]), 400)
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", "X-Long: a", "\tcontinued"]), 400)
        assertRejects(Self.request("GET / HTTP/1.1", [" Host: x"]), 400)
    }

    func testControlBytesInValues() {
        for bad: UInt8 in [0x00, 0x01, 0x08, 0x0B, 0x0C, 0x0D, 0x1F, 0x7F] {
            assertRejects(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\nX: a") + [bad] + Self.bytes("b\r\n\r\n"), 400)
        }
        // Long values are checked eight bytes at a time: put the bad byte at every offset.
        for bad: UInt8 in [0x00, 0x0A, 0x0D, 0x1F, 0x7F] {
            for offset in 0 ..< 24 {
                var value = [UInt8](repeating: UInt8(ascii: "v"), count: 24)
                value[offset] = bad
                assertRejects(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\nX: a") + value + Self.bytes("b\r\n\r\n"), 400)
            }
        }
        // HTAB inside a value is allowed.
        XCTAssertEqual(head(Self.request("GET / HTTP/1.1", ["Host: x", "X: a\tb"]))?.headers["x"], "a\tb")
    }

    func testHost() {
        assertRejects(Self.request("GET / HTTP/1.1", []), 400)
        assertRejects(Self.request("GET / HTTP/1.1", ["X-Host: x"]), 400)
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", "Host: x"]), 400)
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: a", "HOST: b"]), 400)
        XCTAssertNotNil(head(Self.request("GET / HTTP/1.0", [])))
        XCTAssertEqual(head(Self.request("GET / HTTP/1.1", ["Host:"]))?.headers["host"], "")  // empty Host is allowed
        for good in ["example.com", "example.com:8080", "[::1]:443", "127.0.0.1", "xn--bcher-kva.example", "a_b.~x"] {
            XCTAssertEqual(head(Self.request("GET / HTTP/1.1", ["Host: \(good)"]))?.headers["host"], good)
        }
        for bad in ["a b", "a/b", "a?b", "a#b", "user@host", "h\u{e9}st", "a\"b", "a\\b", "a<b"] {
            assertRejects(Self.request("GET / HTTP/1.1", ["Host: \(bad)"]), 400)
        }
    }

    func testBufferedByteCountAndIdleDuringBody() throws {
        var parser = HTTP1Parser(limits: .init())
        parser.feed(Self.bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab"))
        XCTAssertEqual(parser.bufferedByteCount, 49)
        guard case .head? = try parser.next() else { return XCTFail("expected head") }
        XCTAssertEqual(parser.bufferedByteCount, 2)
        guard case .body? = try parser.next() else { return XCTFail("expected body") }
        XCTAssertEqual(parser.bufferedByteCount, 0)
        XCTAssertFalse(parser.isIdle, "in the middle of a body")
        XCTAssertNil(try parser.next())
        parser.feed(Self.bytes("cdGET / HTTP/1.1\r\n"))
        guard case .body? = try parser.next() else { return XCTFail("expected body") }
        guard case .end? = try parser.next() else { return XCTFail("expected end") }
        XCTAssertEqual(parser.bufferedByteCount, 16)
        XCTAssertFalse(parser.isIdle)
    }

    // MARK: Hostile: Content-Length

    func testInvalidContentLength() {
        for value in ["abc", "-1", "+5", "", " ", "5 5", "0x10", "1.5", "5,", ",5", "5,,5", "1e3", "٣"] {
            assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: \(value)"], body: "12345"), 400)
        }
    }

    func testConflictingContentLength() {
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 5, 6"], body: "123456"), 400)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 5", "Content-Length: 6"],
                                   body: "123456"), 400)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 5", "Content-Length: 5, 0"],
                                   body: "12345"), 400)
    }

    func testContentLengthOverflow() {
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 99999999999999999999999"]), 400)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 9223372036854775808"]), 400)
        // Fits in Int, far over the limit.
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 9223372036854775807"]), 413)
    }

    func testContentLengthOverLimitRefusedBeforeBody() throws {
        let limits = HTTP1Parser.Limits(maxBodyBytes: 8)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 9"]), 413, limits: limits)
        var parser = HTTP1Parser(limits: limits)
        parser.feed(Self.bytes(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 1000000"])))
        XCTAssertThrowsError(try parser.next()) { error in
            XCTAssertEqual((error as? HTTP1ParseError)?.status, 413)
        }
    }

    // MARK: Hostile: Transfer-Encoding

    func testUnsupportedTransferCodings() {
        for value in ["gzip", "identity", "gzip, chunked", "chunked, gzip", "deflate,chunked", "chunked;x=1", "chunkedx"] {
            assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: \(value)"],
                                       body: "0\r\n\r\n"), 501)
        }
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"],
                                   body: "0\r\n\r\n"), 501)
    }

    func testInvalidTransferEncodingLists() {
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked, chunked"],
                                   body: "0\r\n\r\n"), 400)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked",
                                                       "Transfer-Encoding: chunked"], body: "0\r\n\r\n"), 400)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding:"], body: "0\r\n\r\n"), 400)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: ,"], body: "0\r\n\r\n"), 400)
    }

    func testTransferEncodingWithContentLength() {
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked", "Content-Length: 5"],
                                   body: "0\r\n\r\n"), 400)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 5", "Transfer-Encoding: chunked"],
                                   body: "0\r\n\r\n"), 400)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Content-Length: 5", "Transfer-Encoding: gzip"],
                                   body: "0\r\n\r\n"), 400)
    }

    func testTransferEncodingInHTTP10() {
        assertRejects(Self.request("POST / HTTP/1.0", ["Transfer-Encoding: chunked"], body: "0\r\n\r\n"), 400)
    }

    // MARK: Hostile: Expect

    func testUnsupportedExpectation() {
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Expect: something", "Content-Length: 0"]), 417)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Expect: 100-continue, foo", "Content-Length: 0"]), 417)
        assertRejects(Self.request("POST / HTTP/1.1", ["Host: x", "Expect: 100-continued", "Content-Length: 0"]), 417)
    }

    // MARK: Hostile: chunked framing

    func chunked(_ body: String) -> String {
        Self.request("POST / HTTP/1.1", ["Host: x", "Transfer-Encoding: chunked"], body: body)
    }

    func testInvalidChunkSizes() {
        for size in ["+5", "-5", "", " 5", "zz", "5x", "0x5", "5 ", "5\t", "Z"] {
            assertRejects(chunked("\(size)\r\nhello\r\n0\r\n\r\n"), 400)
        }
    }

    func testChunkSizeDigitBound() {
        assertRejects(chunked("00000000000000005\r\nhello\r\n0\r\n\r\n"), 400)  // 17 digits
        assertRejects(chunked("ffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400)  // overflows Int
        assertRejects(chunked("8000000000000000\r\nhello\r\n0\r\n\r\n"), 400)
        assertRejects(chunked("7fffffffffffffff\r\nhello\r\n0\r\n\r\n"), 413)  // fits, over the limit
        // 16 digits that fit are fine.
        XCTAssertEqual(events(chunked("0000000000000005\r\nhello\r\n0\r\n\r\n")).count, 3)
    }

    func testChunkFraming() {
        assertRejects(chunked("5\r\nhelloX\r\n0\r\n\r\n"), 400)  // data longer than the size
        assertRejects(chunked("5\r\nhell\r\n0\r\n\r\n"), 400)  // data shorter than the size
        assertRejects(chunked("5\r\nhello\n0\r\n\r\n"), 400)  // LF without CR after data
        assertRejects(chunked("5\r\nhello\r0\r\n\r\n"), 400)
        assertRejects(chunked("5\r\nhello\rX0\r\n\r\n"), 400)  // CR + something else
        assertRejects(chunked("5\r\nhelloX"), 400)  // refused without waiting for a second byte
        assertRejects(chunked("5\nhello\r\n0\r\n\r\n"), 400)  // bare LF after size
        assertRejects(chunked("0\n\r\n"), 400)
        assertRejects(chunked("0\r\n\n"), 400)
        assertRejects(chunked("5;a=\u{01}\r\nhello\r\n0\r\n\r\n"), 400)  // control byte in an extension
        assertRejects(chunked("5;" + String(repeating: "a", count: 5000) + "\r\nhello\r\n0\r\n\r\n"), 400)
        assertRejects(chunked("5;" + String(repeating: "a", count: 5000)), 400)  // without waiting for LF
    }

    func testChunkedBodyOverLimit() throws {
        let limits = HTTP1Parser.Limits(maxBodyBytes: 10)
        assertRejects(chunked("b\r\nhello world\r\n0\r\n\r\n"), 413, limits: limits)
        assertRejects(chunked("6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n"), 413, limits: limits)
        // Refused at the size line, before the data arrives.
        var parser = HTTP1Parser(limits: limits)
        parser.feed(Self.bytes(chunked("6\r\nhello \r\n100\r\n")))
        XCTAssertThrowsError(try { while try parser.next() != nil {} }()) { error in
            XCTAssertEqual((error as? HTTP1ParseError)?.status, 413)
        }
    }

    func testTrailerRules() {
        assertRejects(chunked("0\r\nX: a\nY: b\r\n\r\n"), 400)
        assertRejects(chunked("0\r\nX: a\r\n folded\r\n\r\n"), 400)
        assertRejects(chunked("0\r\nX : a\r\n\r\n"), 400)
        assertRejects(chunked("0\r\nX: a\u{00}b\r\n\r\n"), 400)
        assertRejects(chunked("0\r\nno colon\r\n\r\n"), 400)
        let limits = HTTP1Parser.Limits(maxHeaderBytes: 100, maxHeaderCount: 3)
        assertRejects(chunked("0\r\nX: " + String(repeating: "a", count: 100) + "\r\n\r\n"), 431, limits: limits)
        assertRejects(chunked("0\r\nX: " + String(repeating: "a", count: 100)), 431, limits: limits)
        assertRejects(chunked("0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), 431, limits: limits)
        XCTAssertEqual(events(chunked("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), limits: limits).count, 2)
    }

    // MARK: Hostile: size limits

    func testRequestLineTooLong() {
        let limits = HTTP1Parser.Limits(maxHeaderBytes: 1024)
        let long = "GET /" + String(repeating: "a", count: 2000) + " HTTP/1.1\r\nHost: x\r\n\r\n"
        assertRejects(long, 414, limits: limits)
        assertRejects("GET /" + String(repeating: "a", count: 2000), 414, limits: limits)  // never terminated
    }

    func testHeaderSectionTooLarge() {
        let limits = HTTP1Parser.Limits(maxHeaderBytes: 1024)
        let fields = ["Host: x"] + (0 ..< 40).map { "X-Field-\($0): " + String(repeating: "v", count: 20) }
        assertRejects(Self.request("GET / HTTP/1.1", fields), 431, limits: limits)
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", "X: " + String(repeating: "v", count: 2000)]),
                      431, limits: limits)
        assertRejects("GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "v", count: 2000), 431, limits: limits)
        // Defaults: 16 KiB.
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", "Cookie: " + String(repeating: "c", count: 16 * 1024)]),
                      431)
    }

    func testTooManyHeaderFields() {
        let fields = ["Host: x"] + (0 ..< 100).map { "X-\($0): v" }
        assertRejects(Self.request("GET / HTTP/1.1", fields), 431)
        XCTAssertNotNil(head(Self.request("GET / HTTP/1.1", Array(fields.dropLast()))))
        assertRejects(Self.request("GET / HTTP/1.1", ["Host: x", "A: 1", "B: 2"]), 431,
                      limits: .init(maxHeaderCount: 2))
    }

    func testErrorAfterAValidPipelinedRequest() throws {
        var parser = HTTP1Parser(limits: .init())
        parser.feed(Self.bytes("GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /bad HTTP/9.9\r\nHost: x\r\n\r\n"))
        guard case .head(let h)? = try parser.next() else { return XCTFail("expected head") }
        XCTAssertEqual(h.path, "/ok")
        guard case .end? = try parser.next() else { return XCTFail("expected end") }
        XCTAssertThrowsError(try parser.next()) { error in
            XCTAssertEqual((error as? HTTP1ParseError)?.status, 505)
        }
    }
}
