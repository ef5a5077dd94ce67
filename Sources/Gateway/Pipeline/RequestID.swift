/// Request ids: the client's `X-Request-Id` when it is a sane token, else one we generate.
struct RequestID {
    private var bytes: [UInt8]
    private var counter: UInt64 = 0
    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A random per-loop prefix plus a counter ("3f2a…-0000001c"): unique across loops and restarts
    /// without a random draw per request, formatted in place.
    init() {
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() as UInt64
        bytes = [UInt8](repeating: UInt8(ascii: "0"), count: 25)
        bytes[16] = UInt8(ascii: "-")
        Self.writeHex(random, into: &bytes, at: 0, digits: 16)
    }

    mutating func next() -> String {
        counter &+= 1
        Self.writeHex(counter, into: &bytes, at: 17, digits: 8)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func writeHex(_ value: UInt64, into bytes: inout [UInt8], at offset: Int, digits: Int) {
        var remaining = value
        for index in stride(from: offset + digits - 1, through: offset, by: -1) {
            bytes[index] = hexDigits[Int(remaining & 0xF)]
            remaining >>= 4
        }
    }

    /// Accepts 1–128 visible ASCII characters; anything else could break log lines or headers.
    static func accept(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128 else { return nil }
        guard value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else {
            return nil
        }
        return value
    }
}

/// W3C Trace Context: `version-traceid-parentid-flags`, lower-case hex.
enum TraceContext {
    static func isValid(_ value: String) -> Bool {
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4 else { return false }
        let expected = [2, 32, 16, 2]
        for (part, length) in zip(parts.prefix(4), expected) {
            guard part.utf8.count == length, part.utf8.allSatisfy(Self.isLowerHex) else { return false }
        }
        return parts[0] != "ff" && parts[1] != "00000000000000000000000000000000" && parts[2] != "0000000000000000"
    }

    private static func isLowerHex(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
