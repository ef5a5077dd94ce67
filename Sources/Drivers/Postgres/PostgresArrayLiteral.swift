/// PostgreSQL array literals (`{"a","b"}`) sent as one parameter and cast in SQL (`$2::text[]`,
/// `$3::bytea[]`): the driver sends scalars only, so a batch of any size travels as a handful of
/// parameters, and `unnest(...) WITH ORDINALITY` turns them back into rows in input order.
/// Built on UTF-8 bytes because values (message bodies, documents) can be large.
public enum PostgresArrayLiteral {
    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Every element double-quoted, so commas, braces, blanks and the word NULL inside a value need no
    /// thought; inside quotes only `"` and `\` are special, and both are escaped. nil is SQL NULL (unquoted,
    /// the only way to write it).
    public static func text<Elements: Sequence>(_ elements: Elements) -> PostgresValue where Elements.Element == String? {
        literal(elements) { element, out in
            guard let element else { return false }
            for byte in element.utf8 {
                if byte == quote || byte == backslash { out.append(backslash) }
                out.append(byte)
            }
            return true
        }
    }

    public static func text<Elements: Sequence>(_ elements: Elements) -> PostgresValue where Elements.Element == String {
        text(elements.lazy.map { Optional($0) })
    }

    /// For a `bytea[]` parameter: each element in bytea's hex input form (`\x0aff`, its backslash escaped).
    public static func bytes<Elements: Sequence>(_ elements: Elements) -> PostgresValue where Elements.Element == [UInt8] {
        literal(elements) { element, out in
            out.append(contentsOf: [backslash, backslash, UInt8(ascii: "x")])
            for byte in element {
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0f)])
            }
            return true
        }
    }

    /// Numbers need no quoting.
    public static func integers<Elements: Sequence>(_ elements: Elements) -> PostgresValue where Elements.Element: BinaryInteger {
        .text("{" + elements.map { String($0) }.joined(separator: ",") + "}")
    }

    public static func booleans<Elements: Sequence>(_ elements: Elements) -> PostgresValue where Elements.Element == Bool {
        .text("{" + elements.map { $0 ? "t" : "f" }.joined(separator: ",") + "}")
    }

    /// `element` writes one element's quoted content and returns true, or returns false for NULL.
    private static func literal<Elements: Sequence>(_ elements: Elements,
                                                    element: (Elements.Element, inout [UInt8]) -> Bool) -> PostgresValue {
        var out: [UInt8] = [UInt8(ascii: "{")]
        var first = true
        for value in elements {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            let start = out.count
            out.append(quote)
            if element(value, &out) {
                out.append(quote)
            } else {
                out.removeSubrange(start...)
                out.append(contentsOf: Array("NULL".utf8))
            }
        }
        out.append(UInt8(ascii: "}"))
        return .text(String(decoding: out, as: UTF8.self))
    }
}
