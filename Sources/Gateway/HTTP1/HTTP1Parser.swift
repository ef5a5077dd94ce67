#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// A strict, incremental HTTP/1.1 request parser (RFC 9112).
//
// Bytes are appended with `feed`; `next()` hands out `.head`, zero or more `.body`, then `.end` for each
// request, in order, for as many pipelined requests as the buffer holds. The parser keeps one byte
// buffer and a read index into it; consumed bytes are dropped only when the buffer is fully read or
// the consumed prefix dominates it, so a stream of pipelined requests costs no per-request memmove.
// The head is scanned line by line as bytes arrive: each CRLF-terminated line is validated and turned
// into strings once, and the scan resumes where it stopped, so a head fed one byte at a time is not
// rescanned. Strings are built only for complete lines.

/// One step of a request, as handed out by `HTTP1Parser.next()`.
enum HTTP1Event: Sendable {
    /// The request line and header section.
    case head(HTTP1RequestHead)
    /// Body bytes, in order; a body may arrive as several events. Never empty.
    case body([UInt8])
    /// The request is complete (directly after `.head` for a bodiless request).
    case end
}

/// The request line and header section of one request.
struct HTTP1RequestHead: Sendable {
    /// The method token, case preserved ("GET").
    var method: String
    /// The request-target as sent: "/a/b?x=1", "*", or "http://host/a?x=1".
    var target: String
    /// The path of the target ("/a/b"); "*" for the asterisk form; "/" for "http://host".
    var path: String
    /// What follows the first "?", without it; nil when there is no "?".
    var query: String?
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    var minorVersion: Int
    /// Every field, in order; names lower-case.
    var headers: HTTPHeaders
    /// Whether the connection may serve another request after this one.
    var keepAlive: Bool
    /// The body length; nil when chunked or when there is no body.
    var contentLength: Int?
    /// Whether the body uses the chunked transfer coding.
    var isChunked: Bool
    /// "Expect: 100-continue" on an HTTP/1.1 request: answer 100 before reading the body.
    var expectsContinue: Bool
    /// The Upgrade field's value when "upgrade" is among the Connection options, else nil.
    var upgrade: String?
}

struct HTTP1Parser {
    struct Limits: Sendable {
        /// Request line plus header section (each line with its CRLF, and the final empty line).
        /// Over it: 431, or 414 when the request line alone is over it. Also bounds a trailer section.
        var maxHeaderBytes: Int
        /// Header fields per request (and trailer fields per chunked body). Over it: 431.
        var maxHeaderCount: Int
        /// Body bytes per request, Content-Length or the sum of chunk sizes. Over it: 413.
        var maxBodyBytes: Int

        init(maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 8 * 1024 * 1024) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// A chunk-size line (size, extensions, CRLF) longer than this is refused with 400.
    static let maxChunkSizeLineBytes = 4096

    private enum State {
        /// Reading a request line and header fields.
        case head
        /// The head of a bodiless request (or the last body bytes) went out; `.end` is next.
        case endPending
        /// Content-Length body with this many bytes still to come.
        case fixedBody(remaining: Int)
        /// Chunked body: expecting a chunk-size line at `readIndex`.
        case chunkSize
        /// Chunked body: inside chunk data.
        case chunkData(remaining: Int)
        /// Chunked body: the CRLF that closes chunk data.
        case chunkDataEnd
        /// Chunked body: the trailer section after the last chunk, starting at `readIndex`.
        case trailers
    }

    /// What the header fields seen so far say; reset for each request.
    private struct PendingHead {
        var hasRequestLine = false
        var method = ""
        var target = ""
        var path = ""
        var query: String?
        var minorVersion = 1
        var headers: HTTPHeaders = {
            var headers = HTTPHeaders()
            headers.reserveCapacity(8)
            return headers
        }()
        var fieldCount = 0
        var hostCount = 0
        var contentLength: Int?
        var transferEncodingSeen = false
        var chunkedCount = 0
        var unsupportedCoding = false
        var connectionClose = false
        var connectionKeepAlive = false
        var connectionUpgrade = false
        var expectContinue = false
        var unsupportedExpectation = false
        var upgrade: String?
    }

    let limits: Limits

    private var buffer: [UInt8] = []
    /// First byte not yet consumed. While reading a head (or trailers) it stays at the section's start.
    private var readIndex = 0
    /// Start of the line being looked for (head and trailer sections).
    private var lineStart = 0
    /// Where the search for the next LF resumes: bytes before it hold no LF of the current line.
    private var scanIndex = 0
    private var state: State = .head
    private var pending = PendingHead()
    /// Chunked body bytes declared so far.
    private var chunkedBodyBytes = 0
    /// Trailer fields seen so far.
    private var trailerCount = 0

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// True when no partial request is buffered (between requests, nothing received yet).
    var isIdle: Bool {
        guard case .head = state else { return false }
        return !pending.hasRequestLine && readIndex == buffer.count
    }

    // MARK: Input

    /// Appends received bytes to the parser's internal buffer.
    mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes to the parser's internal buffer.
    mutating func feed(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        compact()
        if buffer.isEmpty && buffer.capacity < bytes.count {
            buffer = bytes  // shares the storage; no copy
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    /// Bytes received but not yet consumed by `next()` (pipelined requests waiting their turn).
    var bufferedByteCount: Int { buffer.count - readIndex }

    /// Removes and returns the buffered bytes that `next()` has not consumed: after the `.end` of a
    /// request that switches protocols (h2c Upgrade), they belong to the new protocol.
    mutating func takeUnconsumedBytes() -> [UInt8] {
        let rest = Array(buffer[readIndex...])
        buffer.removeAll()
        readIndex = 0
        lineStart = 0
        scanIndex = 0
        pending = PendingHead()
        state = .head
        return rest
    }

    /// Drops consumed bytes when that is cheap or worth it: always when everything was consumed,
    /// otherwise only once the consumed prefix is large and at least half the buffer.
    private mutating func compact() {
        let consumed = readIndex
        guard consumed > 0 else { return }
        if consumed == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 16)
        } else if consumed >= 4096 && consumed * 2 >= buffer.count {
            buffer.removeSubrange(0 ..< consumed)
        } else {
            return
        }
        readIndex = 0
        lineStart = max(lineStart - consumed, 0)
        scanIndex = max(scanIndex - consumed, 0)
    }

    // MARK: Events

    /// Returns the next parse event, nil when more bytes are needed. Throws on bad input; the
    /// connection must then be answered with `error.status` and closed (the parser is not reusable).
    mutating func next() throws(HTTP1ParseError) -> HTTP1Event? {
        if case .endPending = state {
            state = .head
            lineStart = readIndex
            scanIndex = readIndex
            return .end
        }
        if readIndex == buffer.count { return nil }
        let storage = buffer  // a second reference so `self` can be mutated while the bytes are read
        return try storage.withUnsafeBufferPointer { (bytes) throws(HTTP1ParseError) -> HTTP1Event? in
            try step(bytes)
        }
    }

    private mutating func step(_ p: UnsafeBufferPointer<UInt8>) throws(HTTP1ParseError) -> HTTP1Event? {
        switch state {
        case .head:
            return try parseHead(p)
        case .endPending:
            return nil  // handled in next()
        case .fixedBody(let remaining):
            let count = min(p.count - readIndex, remaining)
            if count == 0 { return nil }
            let bytes = Array(UnsafeBufferPointer(rebasing: p[readIndex ..< readIndex + count]))
            readIndex += count
            state = count == remaining ? .endPending : .fixedBody(remaining: remaining - count)
            return .body(bytes)
        case .chunkSize, .chunkData, .chunkDataEnd:
            return try parseChunked(p)
        case .trailers:
            return try parseTrailers(p)
        }
    }

    // MARK: Head

    private mutating func parseHead(_ p: UnsafeBufferPointer<UInt8>) throws(HTTP1ParseError) -> HTTP1Event? {
        let end = p.count
        while true {
            guard let lf = Self.findLF(p, from: scanIndex, to: end) else {
                scanIndex = end
                if !pending.hasRequestLine {
                    if end - lineStart > limits.maxHeaderBytes { throw .uriTooLong("request line too long") }
                    // Fail fast on bytes that cannot start a request (a TLS hello, binary noise).
                    if lineStart < end, p[lineStart] != Self.cr, !Self.isTokenByte(p[lineStart]) {
                        throw .badRequest("malformed request line")
                    }
                } else if end - readIndex > limits.maxHeaderBytes {
                    throw .headersTooLarge("header section too large")
                }
                return nil
            }
            scanIndex = lf + 1
            if lf == lineStart || p[lf - 1] != Self.cr { throw .badRequest("bare LF line ending") }
            let contentEnd = lf - 1
            if !pending.hasRequestLine {
                if contentEnd == lineStart {  // empty line before the request line: ignored
                    readIndex = lf + 1
                    lineStart = lf + 1
                    continue
                }
                if lf + 1 - lineStart > limits.maxHeaderBytes { throw .uriTooLong("request line too long") }
                try parseRequestLine(p, from: lineStart, to: contentEnd)
                pending.hasRequestLine = true
            } else {
                if lf + 1 - readIndex > limits.maxHeaderBytes { throw .headersTooLarge("header section too large") }
                if contentEnd == lineStart { return .head(try finishHead(endingAt: lf + 1)) }
                try parseField(p, from: lineStart, to: contentEnd)
            }
            lineStart = lf + 1
        }
    }

    /// `method SP request-target SP HTTP-version`, bytes `s..<e` (CRLF excluded).
    private mutating func parseRequestLine(_ p: UnsafeBufferPointer<UInt8>, from s: Int, to e: Int) throws(HTTP1ParseError) {
        var i = s
        while i < e && p[i] != Self.sp {
            guard Self.isTokenByte(p[i]) else { throw .badRequest("invalid method") }
            i += 1
        }
        guard i > s, i < e else { throw .badRequest("malformed request line") }
        let methodEnd = i
        i += 1
        let targetStart = i
        var question = -1  // index of the first "?"
        let raw = UnsafeRawPointer(p.baseAddress!)
        while i < e {
            // Skip eight bytes at once when none of them needs a look: a space, a control, "#",
            // "?", DEL or non-ASCII.
            if i + 8 <= e {
                let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if word & Self.highBits == 0 && !Self.anyByteBelow(word, 0x21) && !Self.anyByteEquals(word, 0x7F)
                    && !Self.anyByteEquals(word, 0x23) && (question >= 0 || !Self.anyByteEquals(word, 0x3F)) {
                    i += 8
                    continue
                }
            }
            let b = p[i]
            if b == Self.sp { break }
            guard Self.isTargetByte(b) else { throw .badRequest("invalid character in request-target") }
            if b == 0x3F && question < 0 { question = i }
            i += 1
        }
        guard i > targetStart, i < e else { throw .badRequest("malformed request line") }
        let targetEnd = i
        i += 1

        // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
        guard e - i == 8, p[i] == 0x48, p[i + 1] == 0x54, p[i + 2] == 0x54, p[i + 3] == 0x50, p[i + 4] == 0x2F,
              Self.isDigit(p[i + 5]), p[i + 6] == 0x2E, Self.isDigit(p[i + 7])
        else { throw .badRequest("malformed HTTP version") }
        guard p[i + 5] == 0x31, p[i + 7] == 0x30 || p[i + 7] == 0x31 else {
            throw .versionNotSupported("only HTTP/1.0 and HTTP/1.1 are supported")
        }
        pending.minorVersion = Int(p[i + 7] - 0x30)
        pending.method = Self.string(p, s, methodEnd)

        // request-target: origin-form, asterisk-form (OPTIONS only) or absolute-form (http/https).
        let first = p[targetStart]
        var pathStart = targetStart
        if first == 0x2F {  // "/"
        } else if first == 0x2A {  // "*"
            guard targetEnd - targetStart == 1, Self.equalsExactly(p, s, methodEnd, "OPTIONS") else {
                throw .badRequest("asterisk-form is only allowed with OPTIONS")
            }
            let target = "*"
            pending.target = target
            pending.path = target
            pending.query = nil
            return
        } else {
            var authorityStart = targetStart
            if Self.hasPrefixIgnoringCase(p, targetStart, targetEnd, "http://") {
                authorityStart = targetStart + 7
            } else if Self.hasPrefixIgnoringCase(p, targetStart, targetEnd, "https://") {
                authorityStart = targetStart + 8
            } else {
                throw .badRequest("invalid request-target")
            }
            var j = authorityStart
            while j < targetEnd && p[j] != 0x2F && p[j] != 0x3F {
                if p[j] == 0x40 { throw .badRequest("userinfo in request-target") }  // "@"
                j += 1
            }
            guard j > authorityStart else { throw .badRequest("missing authority in request-target") }
            pathStart = j
        }

        let target = Self.string(p, targetStart, targetEnd)
        pending.target = target
        let q = question >= 0 ? question : targetEnd
        if pathStart == targetStart && q == targetEnd {
            pending.path = target
        } else if pathStart == q {
            pending.path = "/"
        } else {
            pending.path = Self.string(p, pathStart, q)
        }
        pending.query = q < targetEnd ? Self.string(p, q + 1, targetEnd) : nil
    }

    /// `field-name ":" OWS field-value OWS`, bytes `s..<e` (CRLF excluded, never empty).
    private mutating func parseField(_ p: UnsafeBufferPointer<UInt8>, from s: Int, to e: Int) throws(HTTP1ParseError) {
        let (nameEnd, valueStart, valueEnd, nameHasUpper) = try Self.splitField(p, s, e)
        pending.fieldCount += 1
        if pending.fieldCount > limits.maxHeaderCount { throw .headersTooLarge("too many header fields") }

        let nameLength = nameEnd - s
        let name: String
        var isUpgrade = false
        switch nameLength {
        case 4 where Self.equals(p, s, nameEnd, "host"):
            name = "host"
            pending.hostCount += 1
            if pending.hostCount > 1 { throw .badRequest("more than one Host field") }
            for k in valueStart ..< valueEnd where !Self.isHostByte(p[k]) { throw .badRequest("invalid Host field") }
        case 6 where Self.equals(p, s, nameEnd, "expect"):
            name = "expect"
            Self.forEachElement(p, valueStart, valueEnd) { a, b in
                if Self.equals(p, a, b, "100-continue") {
                    pending.expectContinue = true
                } else {
                    pending.unsupportedExpectation = true
                }
            }
        case 7 where Self.equals(p, s, nameEnd, "upgrade"):
            name = "upgrade"
            isUpgrade = true
        case 10 where Self.equals(p, s, nameEnd, "connection"):
            name = "connection"
            Self.forEachElement(p, valueStart, valueEnd) { a, b in
                switch b - a {
                case 5 where Self.equals(p, a, b, "close"): pending.connectionClose = true
                case 7 where Self.equals(p, a, b, "upgrade"): pending.connectionUpgrade = true
                case 10 where Self.equals(p, a, b, "keep-alive"): pending.connectionKeepAlive = true
                default: break
                }
            }
        case 14 where Self.equals(p, s, nameEnd, "content-length"):
            name = "content-length"
            try parseContentLength(p, valueStart, valueEnd)
        case 17 where Self.equals(p, s, nameEnd, "transfer-encoding"):
            name = "transfer-encoding"
            pending.transferEncodingSeen = true
            Self.forEachElement(p, valueStart, valueEnd) { a, b in
                if Self.equals(p, a, b, "chunked") {
                    pending.chunkedCount += 1
                } else {
                    pending.unsupportedCoding = true
                }
            }
        default:
            if let common = Self.commonName(p, s, nameEnd) {
                name = common
            } else if nameHasUpper {
                name = Self.lowercasedString(p, s, nameEnd)
            } else {
                name = Self.string(p, s, nameEnd)
            }
        }
        let value = Self.string(p, valueStart, valueEnd)
        if isUpgrade {
            pending.upgrade = pending.upgrade.map { $0 + ", " + value } ?? value
        }
        pending.headers.appendLowercased(name, value)
    }

    /// Content-Length = 1*DIGIT; a comma list (or a repeated field) is accepted only when every
    /// value is the same.
    private mutating func parseContentLength(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) throws(HTTP1ParseError) {
        var i = s
        while true {
            // one element: 1*DIGIT, OWS around it
            while i < e && (p[i] == Self.sp || p[i] == Self.htab) { i += 1 }
            let digitsStart = i
            var value = 0
            while i < e && Self.isDigit(p[i]) {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(p[i] - 0x30))
                if o1 || o2 { throw .badRequest("Content-Length overflows") }
                value = sum
                i += 1
            }
            guard i > digitsStart else { throw .badRequest("invalid Content-Length") }
            while i < e && (p[i] == Self.sp || p[i] == Self.htab) { i += 1 }
            if let previous = pending.contentLength, previous != value {
                throw .badRequest("conflicting Content-Length values")
            }
            pending.contentLength = value
            if i == e { return }
            guard p[i] == 0x2C else { throw .badRequest("invalid Content-Length") }  // ","
            i += 1
        }
    }

    /// Applies the whole-head rules, builds the head and picks the body state. `headEnd` is the
    /// index just past the empty line.
    private mutating func finishHead(endingAt headEnd: Int) throws(HTTP1ParseError) -> HTTP1RequestHead {
        var h = PendingHead()
        swap(&h, &pending)  // moves the strings out without copying
        if h.minorVersion == 1 && h.hostCount == 0 { throw .badRequest("missing Host field") }
        var isChunked = false
        if h.transferEncodingSeen {
            if h.minorVersion == 0 { throw .badRequest("Transfer-Encoding in an HTTP/1.0 request") }
            if h.contentLength != nil { throw .badRequest("both Transfer-Encoding and Content-Length") }
            if h.unsupportedCoding { throw .notImplemented("unsupported transfer coding") }
            if h.chunkedCount != 1 { throw .badRequest("invalid Transfer-Encoding") }
            isChunked = true
        }
        if let length = h.contentLength, length > limits.maxBodyBytes {
            throw .contentTooLarge("body larger than \(limits.maxBodyBytes) bytes")
        }
        if h.unsupportedExpectation { throw .expectationFailed("unsupported expectation") }

        let keepAlive = h.minorVersion == 1 ? !h.connectionClose : (h.connectionKeepAlive && !h.connectionClose)
        let head = HTTP1RequestHead(
            method: h.method, target: h.target, path: h.path, query: h.query,
            minorVersion: h.minorVersion, headers: h.headers, keepAlive: keepAlive,
            contentLength: isChunked ? nil : h.contentLength,
            isChunked: isChunked,
            expectsContinue: h.expectContinue && h.minorVersion == 1,
            upgrade: h.connectionUpgrade ? h.upgrade : nil)

        readIndex = headEnd
        lineStart = headEnd
        scanIndex = headEnd
        if isChunked {
            chunkedBodyBytes = 0
            state = .chunkSize
        } else if let length = h.contentLength, length > 0 {
            state = .fixedBody(remaining: length)
        } else {
            state = .endPending
        }
        return head
    }

    // MARK: Chunked body

    /// Decodes as many chunks as the buffer holds and returns their data as one `.body`.
    private mutating func parseChunked(_ p: UnsafeBufferPointer<UInt8>) throws(HTTP1ParseError) -> HTTP1Event? {
        var out: [UInt8] = []
        decoding: while true {
            switch state {
            case .chunkSize:
                guard let lf = Self.findLF(p, from: scanIndex, to: p.count) else {
                    scanIndex = p.count
                    if p.count - readIndex > Self.maxChunkSizeLineBytes { throw .badRequest("chunk-size line too long") }
                    break decoding
                }
                if lf == readIndex || p[lf - 1] != Self.cr { throw .badRequest("bare LF in chunked body") }
                if lf + 1 - readIndex > Self.maxChunkSizeLineBytes { throw .badRequest("chunk-size line too long") }
                let size = try Self.parseChunkSizeLine(p, readIndex, lf - 1)
                readIndex = lf + 1
                scanIndex = readIndex
                if size == 0 {
                    state = .trailers
                    lineStart = readIndex
                    trailerCount = 0
                    break decoding
                }
                if size > limits.maxBodyBytes - chunkedBodyBytes {
                    throw .contentTooLarge("body larger than \(limits.maxBodyBytes) bytes")
                }
                chunkedBodyBytes += size
                state = .chunkData(remaining: size)
            case .chunkData(let remaining):
                let count = min(p.count - readIndex, remaining)
                if count == 0 { break decoding }
                if out.capacity == 0 { out.reserveCapacity(count) }  // later chunks grow it geometrically
                out.append(contentsOf: UnsafeBufferPointer(rebasing: p[readIndex ..< readIndex + count]))
                readIndex += count
                if count < remaining {
                    state = .chunkData(remaining: remaining - count)
                    break decoding
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                let available = p.count - readIndex
                if available >= 2 {
                    guard p[readIndex] == Self.cr, p[readIndex + 1] == Self.lf else {
                        throw .badRequest("missing CRLF after chunk data")
                    }
                    readIndex += 2
                    scanIndex = readIndex
                    state = .chunkSize
                } else {
                    if available == 1 && p[readIndex] != Self.cr { throw .badRequest("missing CRLF after chunk data") }
                    break decoding
                }
            default:
                break decoding
            }
        }
        if !out.isEmpty { return .body(out) }
        if case .trailers = state { return try parseTrailers(p) }
        return nil
    }

    /// `chunk-size [ chunk-ext ]`, bytes `s..<e`; extensions are checked for stray control bytes and
    /// otherwise ignored.
    private static func parseChunkSizeLine(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) throws(HTTP1ParseError) -> Int {
        var i = s
        var size = 0
        while i < e, let digit = hexValue(p[i]) {
            if i - s == 16 { throw .badRequest("chunk size has too many digits") }
            if size > Int.max >> 4 { throw .badRequest("chunk size overflows") }
            size = size << 4 | digit
            i += 1
        }
        guard i > s else { throw .badRequest("invalid chunk size") }
        if i == e { return size }
        var j = i
        while j < e && (p[j] == sp || p[j] == htab) { j += 1 }
        guard j < e, p[j] == 0x3B else { throw .badRequest("invalid chunk size") }  // ";"
        j += 1
        while j < e {
            guard isFieldValueByte(p[j]) else { throw .badRequest("invalid chunk extension") }
            j += 1
        }
        return size
    }

    /// The trailer section: fields are validated, counted and dropped.
    private mutating func parseTrailers(_ p: UnsafeBufferPointer<UInt8>) throws(HTTP1ParseError) -> HTTP1Event? {
        let end = p.count
        while true {
            guard let lf = Self.findLF(p, from: scanIndex, to: end) else {
                scanIndex = end
                if end - readIndex > limits.maxHeaderBytes { throw .headersTooLarge("trailer section too large") }
                return nil
            }
            scanIndex = lf + 1
            if lf == lineStart || p[lf - 1] != Self.cr { throw .badRequest("bare LF line ending") }
            if lf + 1 - readIndex > limits.maxHeaderBytes { throw .headersTooLarge("trailer section too large") }
            if lf - 1 == lineStart {
                readIndex = lf + 1
                lineStart = readIndex
                state = .head
                return .end
            }
            _ = try Self.splitField(p, lineStart, lf - 1)
            trailerCount += 1
            if trailerCount > limits.maxHeaderCount { throw .headersTooLarge("too many trailer fields") }
            lineStart = lf + 1
        }
    }

    // MARK: Byte helpers

    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A
    private static let sp: UInt8 = 0x20
    private static let htab: UInt8 = 0x09

    /// Splits a field line `s..<e` into the name's end and the trimmed value's bounds, validating
    /// both; also tells whether the name has upper-case letters.
    @inline(__always)
    private static func splitField(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int)
        throws(HTTP1ParseError) -> (nameEnd: Int, valueStart: Int, valueEnd: Int, nameHasUpper: Bool)
    {
        if p[s] == sp || p[s] == htab { throw .badRequest("obsolete line folding or whitespace before field name") }
        var i = s
        var upper: UInt8 = 0
        while i < e && p[i] != 0x3A {  // ":"
            let b = p[i]
            guard isTokenByte(b) else { throw .badRequest("invalid field name") }
            upper |= b &- 0x41 < 26 ? 1 : 0
            i += 1
        }
        guard i < e, i > s else { throw .badRequest("malformed header field") }
        let nameEnd = i
        var valueStart = i + 1
        var valueEnd = e
        while valueStart < valueEnd && (p[valueStart] == sp || p[valueStart] == htab) { valueStart += 1 }
        while valueEnd > valueStart && (p[valueEnd - 1] == sp || p[valueEnd - 1] == htab) { valueEnd -= 1 }
        guard isFieldValue(p, valueStart, valueEnd) else { throw .badRequest("invalid character in field value") }
        return (nameEnd, valueStart, valueEnd, upper != 0)
    }

    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Whether a byte of `word` is below `n` (n <= 0x80). Exact as a whole-word answer.
    @inline(__always)
    private static func anyByteBelow(_ word: UInt64, _ n: UInt8) -> Bool {
        (word &- ones &* UInt64(n)) & ~word & highBits != 0
    }

    /// Whether a byte of `word` equals `b`. Exact as a whole-word answer.
    @inline(__always)
    private static func anyByteEquals(_ word: UInt64, _ b: UInt8) -> Bool {
        let x = word ^ (ones &* UInt64(b))
        return (x &- ones) & ~x & highBits != 0
    }

    /// Every byte of `s..<e` is a field-value byte; eight bytes at a time while none is suspicious.
    @inline(__always)
    private static func isFieldValue(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        guard let base = p.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var j = s
        while j + 8 <= e {
            let word = raw.loadUnaligned(fromByteOffset: j, as: UInt64.self)
            if anyByteBelow(word, 0x20) || anyByteEquals(word, 0x7F) {
                for k in j ..< j + 8 where !isFieldValueByte(p[k]) { return false }
            }
            j += 8
        }
        while j < e {
            if !isFieldValueByte(p[j]) { return false }
            j += 1
        }
        return true
    }

    /// The lower-case literal for a frequent field name, so no String is built for it.
    @inline(__always)
    private static func commonName(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> String? {
        switch e - s {
        case 2: if equals(p, s, e, "te") { return "te" }
        case 5: if equals(p, s, e, "range") { return "range" }
        case 6:
            if equals(p, s, e, "accept") { return "accept" }
            if equals(p, s, e, "cookie") { return "cookie" }
            if equals(p, s, e, "origin") { return "origin" }
            if equals(p, s, e, "pragma") { return "pragma" }
        case 7: if equals(p, s, e, "referer") { return "referer" }
        case 9: if equals(p, s, e, "x-real-ip") { return "x-real-ip" }
        case 10:
            if equals(p, s, e, "user-agent") { return "user-agent" }
            if equals(p, s, e, "keep-alive") { return "keep-alive" }
        case 12:
            if equals(p, s, e, "content-type") { return "content-type" }
            if equals(p, s, e, "x-request-id") { return "x-request-id" }
        case 13:
            if equals(p, s, e, "authorization") { return "authorization" }
            if equals(p, s, e, "cache-control") { return "cache-control" }
            if equals(p, s, e, "if-none-match") { return "if-none-match" }
        case 14:
            if equals(p, s, e, "http2-settings") { return "http2-settings" }
            if equals(p, s, e, "accept-charset") { return "accept-charset" }
        case 15:
            if equals(p, s, e, "accept-encoding") { return "accept-encoding" }
            if equals(p, s, e, "accept-language") { return "accept-language" }
            if equals(p, s, e, "x-forwarded-for") { return "x-forwarded-for" }
        case 16: if equals(p, s, e, "content-encoding") { return "content-encoding" }
        case 17:
            if equals(p, s, e, "if-modified-since") { return "if-modified-since" }
            if equals(p, s, e, "x-forwarded-proto") { return "x-forwarded-proto" }
        case 19: if equals(p, s, e, "if-unmodified-since") { return "if-unmodified-since" }
        default: break
        }
        return nil
    }

    @inline(__always)
    private static func findLF(_ p: UnsafeBufferPointer<UInt8>, from: Int, to: Int) -> Int? {
        guard from < to, let base = p.baseAddress else { return nil }
        guard let hit = memchr(base + from, 0x0A, to - from) else { return nil }
        return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
    }

    /// tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA.
    @inline(__always)
    private static func isTokenByte(_ b: UInt8) -> Bool {
        b < 64 ? (0x03FF_6CFA_0000_0000 as UInt64) >> b & 1 == 1
            : b < 128 && (0x57FF_FFFF_C7FF_FFFE as UInt64) >> (b & 63) & 1 == 1
    }

    /// uri-host [":" port] characters: unreserved, sub-delims, "%", ":", "[" and "]".
    @inline(__always)
    private static func isHostByte(_ b: UInt8) -> Bool {
        b < 64 ? (0x2FFF_7FF2_0000_0000 as UInt64) >> b & 1 == 1
            : b < 128 && (0x47FF_FFFE_AFFF_FFFE as UInt64) >> (b & 63) & 1 == 1
    }

    /// Visible ASCII except "#": a request-target has no fragment, spaces, controls or non-ASCII.
    @inline(__always)
    private static func isTargetByte(_ b: UInt8) -> Bool {
        b > 0x20 && b < 0x7F && b != 0x23
    }

    /// field-vchar / SP / HTAB: anything but controls (HTAB aside) and DEL; obs-text is accepted.
    @inline(__always)
    private static func isFieldValueByte(_ b: UInt8) -> Bool {
        b >= 0x20 ? b != 0x7F : b == htab
    }

    @inline(__always)
    private static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    @inline(__always)
    private static func hexValue(_ b: UInt8) -> Int? {
        if b &- 0x30 < 10 { return Int(b &- 0x30) }
        let lower = b | 0x20
        if lower &- 0x61 < 6 { return Int(lower &- 0x61) + 10 }
        return nil
    }

    /// ASCII case-insensitive comparison of `s..<e` with a literal of letters, digits, "-", ":" and "/".
    /// Folding with 0x20 only confuses such characters with control bytes, which callers have
    /// already rejected.
    @inline(__always)
    private static func equals(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard e - s == n else { return false }
        let l = UnsafeRawPointer(literal.utf8Start)
        let q = UnsafeRawPointer(p.baseAddress!)
        let fold: UInt64 = 0x2020_2020_2020_2020
        var k = 0
        while k + 8 <= n {
            let a = q.loadUnaligned(fromByteOffset: s + k, as: UInt64.self)
            let b = l.loadUnaligned(fromByteOffset: k, as: UInt64.self)
            if a | fold != b | fold { return false }
            k += 8
        }
        while k < n {
            if p[s + k] | 0x20 != l.load(fromByteOffset: k, as: UInt8.self) | 0x20 { return false }
            k += 1
        }
        return true
    }

    /// Case-sensitive comparison (methods are case-sensitive).
    private static func equalsExactly(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard e - s == n else { return false }
        let l = literal.utf8Start
        for k in 0 ..< n where p[s + k] != l[k] { return false }
        return true
    }

    /// Whether `s..<e` starts with `literal`, compared as in `equals`.
    private static func hasPrefixIgnoringCase(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard e - s >= n else { return false }
        return equals(p, s, s + n, literal)
    }

    /// Calls `body` with the bounds of each non-empty element of a comma-separated list, OWS trimmed.
    @inline(__always)
    private static func forEachElement(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int, _ body: (Int, Int) -> Void) {
        var i = s
        while i < e {
            var elementEnd = i
            while elementEnd < e && p[elementEnd] != 0x2C { elementEnd += 1 }
            var a = i
            var b = elementEnd
            while a < b && (p[a] == sp || p[a] == htab) { a += 1 }
            while b > a && (p[b - 1] == sp || p[b - 1] == htab) { b -= 1 }
            if a < b { body(a, b) }
            i = elementEnd + 1
        }
    }

    @inline(__always)
    private static func string(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: p[s ..< e]), as: UTF8.self)
    }

    /// A field name (token bytes, so ASCII) as a lower-case String.
    private static func lowercasedString(_ p: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> String {
        String(unsafeUninitializedCapacity: e - s) { out in
            for k in 0 ..< e - s {
                let b = p[s + k]
                out[k] = b &- 0x41 < 26 ? b | 0x20 : b
            }
            return e - s
        }
    }
}
