/// A JSON object kept as its text, with its top-level members located but not parsed.
///
/// Documents pass through the read path far more often than anything looks inside them: a graph-query
/// answer copies each one whole, and only a few members are read (the required fields' presence, the
/// display name, the fields a GraphQL query selects). Locating members is one pass over the bytes with no
/// allocation per value; a full parse builds a dictionary per object and a string per value, and was the
/// largest cost of a query's answer.
///
/// The text is trusted to be JSON: it comes from our own writer or from PostgreSQL's `jsonb` output. The scan
/// checks the top level (keys, separators, literals, matching brackets) and throws when that is broken; inside
/// nested values it only counts brackets, so a member whose nested text is malformed reads as absent.
public struct JSONObjectText: Sendable, CustomStringConvertible {
    /// The JSON text, verbatim.
    public let text: String
    /// Top-level members in text order, with their values' byte ranges; empty when the text is not an object.
    private let members: [(key: String, value: Range<Int>)]
    /// Whether the text is an object (a document's data should be; anything else has no members).
    public let isObject: Bool

    /// Locates the members of `text`; throws when it is not well-formed JSON.
    public init(_ text: String) throws(Problem) {
        var text = text
        switch text.withUTF8({ JSONMemberScanner.scan($0) }) {
        case .success(let (isObject, members)):
            self.text = text
            self.isObject = isObject
            self.members = members
        case .failure(let problem):
            throw problem
        }
    }

    /// The text of a value built here (written with sorted keys, so equal values have equal texts).
    public init(_ value: JSONValue) {
        // Our own writer's output always scans.
        try! self.init(JSONWriter.string(value))
    }

    public var description: String { text }

    /// The whole value, parsed (`null` when nested text is malformed).
    public var value: JSONValue {
        (try? JSONParser.parse(text, limits: .init(maxDepth: 256))) ?? .null
    }

    /// Whether the member is present with a value other than `null`.
    public func hasValue(_ key: String) -> Bool {
        guard let range = range(of: key) else { return false }
        return bytes(range) != Array("null".utf8)
    }

    /// The member's value, parsed; nil when absent (or its nested text is malformed).
    public subscript(key: String) -> JSONValue? {
        guard let range = range(of: key) else { return nil }
        // Scalars, what reads ask for, are read in place; containers go through the parser.
        let scalar = text.utf8.withContiguousStorageIfAvailable { whole -> JSONValue? in
            let value = UnsafeBufferPointer(rebasing: whole[range])
            switch value.first {
            case UInt8(ascii: "\""):
                guard !value.contains(UInt8(ascii: "\\")) else { return nil }
                return .string(String(decoding: UnsafeBufferPointer(rebasing: value.dropFirst().dropLast()), as: UTF8.self))
            case UInt8(ascii: "t"): return .bool(true)
            case UInt8(ascii: "f"): return .bool(false)
            case UInt8(ascii: "n"): return .null
            default: return nil
            }
        }
        if let scalar, let scalar { return scalar }
        return try? JSONParser.parse(bytes(range), limits: .init(maxDepth: 256))
    }

    public var keys: [String] { members.map(\.key) }

    private func bytes(_ range: Range<Int>) -> [UInt8] {
        let utf8 = text.utf8
        return Array(utf8[utf8.index(utf8.startIndex, offsetBy: range.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: range.upperBound)])
    }

    private func range(of key: String) -> Range<Int>? {
        // Documents have a handful of members: a linear search beats building a dictionary.
        for member in members where member.key == key { return member.value }
        return nil
    }
}

extension JSONObjectText: Equatable {
    /// Equal values, whatever the member order or spacing of their texts.
    public static func == (lhs: JSONObjectText, rhs: JSONObjectText) -> Bool {
        lhs.text == rhs.text || lhs.value == rhs.value
    }
}

/// One pass over a JSON text: the top-level members' keys and value ranges, with the value syntax checked
/// only as far as finding where each value ends (strings, brackets, literals).
enum JSONMemberScanner {
    typealias Members = [(key: String, value: Range<Int>)]

    static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<(isObject: Bool, members: Members), Problem> {
        var scanner = Cursor(bytes: bytes)
        scanner.skipWhitespace()
        guard scanner.peek == UInt8(ascii: "{") else {
            // Not an object: check it is one well-formed value and report no members.
            guard let end = scanner.valueEnd(), Cursor(bytes: bytes, index: end).atEndAfterWhitespace else {
                return .failure(scanner.problem("malformed JSON"))
            }
            return .success((false, []))
        }
        scanner.index += 1
        var members: Members = []
        scanner.skipWhitespace()
        if scanner.peek == UInt8(ascii: "}") {
            scanner.index += 1
            return scanner.atEndAfterWhitespace ? .success((true, [])) : .failure(scanner.problem("data after the object"))
        }
        while true {
            scanner.skipWhitespace()
            guard scanner.peek == UInt8(ascii: "\""), let keyEnd = scanner.stringEnd() else { return .failure(scanner.problem("expected a key")) }
            guard let key = scanner.key(upTo: keyEnd) else { return .failure(scanner.problem("unreadable key")) }
            scanner.index = keyEnd
            scanner.skipWhitespace()
            guard scanner.peek == UInt8(ascii: ":") else { return .failure(scanner.problem("expected ':'")) }
            scanner.index += 1
            scanner.skipWhitespace()
            let start = scanner.index
            guard let end = scanner.valueEnd() else { return .failure(scanner.problem("malformed value")) }
            members.append((key, start..<end))
            scanner.index = end
            scanner.skipWhitespace()
            switch scanner.peek {
            case UInt8(ascii: ","): scanner.index += 1
            case UInt8(ascii: "}"):
                scanner.index += 1
                return scanner.atEndAfterWhitespace ? .success((true, members)) : .failure(scanner.problem("data after the object"))
            default: return .failure(scanner.problem("expected ',' or '}'"))
            }
        }
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        var atEndAfterWhitespace: Bool {
            var copy = self
            copy.skipWhitespace()
            return copy.index == bytes.count
        }

        func problem(_ message: String) -> Problem {
            Problem(status: 502, code: "invalid_json", detail: "\(message) at byte \(index)")
        }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        /// The index just past the string starting at `index` (on its opening quote).
        func stringEnd() -> Int? {
            var at = index + 1
            while at < bytes.count {
                switch bytes[at] {
                case UInt8(ascii: "\""): return at + 1
                case UInt8(ascii: "\\"): at += 2
                default: at += 1
                }
            }
            return nil
        }

        /// The key whose quoted text runs from `index` to `end`; escapes go through the full parser.
        func key(upTo end: Int) -> String? {
            let quoted = UnsafeBufferPointer(rebasing: bytes[index..<end])
            if !quoted.contains(UInt8(ascii: "\\")) {
                return String(decoding: UnsafeBufferPointer(rebasing: quoted.dropFirst().dropLast()), as: UTF8.self)
            }
            return (try? JSONParser.parse(Array(quoted)))?.stringValue
        }

        /// The index just past the value starting at `index`.
        func valueEnd() -> Int? {
            guard let first = peek else { return nil }
            switch first {
            case UInt8(ascii: "\""):
                return stringEnd()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                return containerEnd()
            case UInt8(ascii: "t"): return literalEnd("true")
            case UInt8(ascii: "f"): return literalEnd("false")
            case UInt8(ascii: "n"): return literalEnd("null")
            default: return numberEnd()
            }
        }

        private func literalEnd(_ literal: StaticString) -> Int? {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { return nil }
            let matches = literal.withUTF8Buffer { expected in (0..<count).allSatisfy { bytes[index + $0] == expected[$0] } }
            return matches ? index + count : nil
        }

        /// A number's characters (its grammar is left to the parser that reads it).
        private func numberEnd() -> Int? {
            var at = index
            while at < bytes.count {
                switch bytes[at] {
                case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"),
                     UInt8(ascii: "0")...UInt8(ascii: "9"):
                    at += 1
                default:
                    return at > index ? at : nil
                }
            }
            return at > index ? at : nil
        }

        /// The index just past the object or array starting at `index`: brackets outside strings, each closed by
        /// its own kind (a bit per level for the first 64 levels, a list past them).
        private func containerEnd() -> Int? {
            var depth = 0
            var objectBits: UInt64 = 0
            var deeper: [Bool] = []
            var at = index
            while at < bytes.count {
                switch bytes[at] {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    let isObject = bytes[at] == UInt8(ascii: "{")
                    if depth < 64 {
                        objectBits = isObject ? objectBits | (1 << UInt64(depth)) : objectBits & ~(1 << UInt64(depth))
                    } else {
                        deeper.append(isObject)
                    }
                    depth += 1
                    at += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    let opened = depth < 64 ? objectBits & (1 << UInt64(depth)) != 0 : deeper.removeLast()
                    guard opened == (bytes[at] == UInt8(ascii: "}")) else { return nil }
                    at += 1
                    if depth == 0 { return at }
                case UInt8(ascii: "\""):
                    guard let end = Cursor(bytes: bytes, index: at).stringEnd() else { return nil }
                    at = end
                default:
                    at += 1
                }
            }
            return nil
        }
    }
}
