import Drivers

/// PostgreSQL array literals (`{"a","b"}`) for parameters: the driver sends scalars only, and a batch goes
/// to the server as a handful of arrays that `unnest` turns back into rows, so one statement carries it.
/// Built on UTF-8 bytes because message values can be large and per-Character appends are slow.
enum PostgresArrayLiteral {
    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Every element quoted, so empty strings, commas, braces and the word NULL stay plain text.
    static func text(_ elements: [String]) -> PostgresValue {
        literal(elements.count) { position, out in
            for byte in elements[position].utf8 {
                if byte == quote || byte == backslash { out.append(backslash) }
                out.append(byte)
            }
        }
    }

    /// For a `bytea[]` parameter: each element in bytea's hex input form (`\x0aff`, its backslash escaped).
    static func bytes(_ elements: [[UInt8]]) -> PostgresValue {
        literal(elements.count) { position, out in
            out.append(contentsOf: [backslash, backslash, UInt8(ascii: "x")])
            for byte in elements[position] {
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0f)])
            }
        }
    }

    static func integers<Integer: BinaryInteger>(_ elements: [Integer]) -> PostgresValue {
        .text("{" + elements.map { String($0) }.joined(separator: ",") + "}")
    }

    private static func literal(_ count: Int, element: (Int, inout [UInt8]) -> Void) -> PostgresValue {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for position in 0..<count {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            out.append(quote)
            element(position, &out)
            out.append(quote)
        }
        out.append(UInt8(ascii: "}"))
        return .text(String(decoding: out, as: UTF8.self))
    }
}
