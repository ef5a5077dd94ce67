import Drivers

/// Arrays sent as one parameter: PostgreSQL's array literal text (`{"a","b"}`), cast in SQL
/// (`$2::text[]`, `$3::jsonb[]`). A batch then travels as a handful of parameters whatever its size, and
/// `unnest(...) WITH ORDINALITY` turns them back into rows in input order.
enum PostgresArray {
    /// Every element double-quoted, so commas, braces, blanks and the word NULL inside a value need no
    /// thought; inside quotes only `"` and `\` are special, and both are escaped with a backslash. nil is
    /// SQL NULL (unquoted, which is the only way to write it).
    static func text<Elements: Sequence>(_ elements: Elements) -> PostgresValue where Elements.Element == String? {
        var literal = "{"
        var first = true
        for element in elements {
            if !first { literal.append(",") }
            first = false
            guard let element else {
                literal.append("NULL")
                continue
            }
            literal.append("\"")
            for scalar in element.unicodeScalars {
                if scalar == "\"" || scalar == "\\" { literal.append("\\") }
                literal.unicodeScalars.append(scalar)
            }
            literal.append("\"")
        }
        literal.append("}")
        return .text(literal)
    }

    static func text<Elements: Sequence>(_ elements: Elements) -> PostgresValue where Elements.Element == String {
        text(elements.lazy.map { Optional($0) })
    }

    /// Numbers need no quoting.
    static func integers<Elements: Sequence>(_ elements: Elements) -> PostgresValue where Elements.Element == Int {
        .text("{" + elements.map(String.init).joined(separator: ",") + "}")
    }

    static func booleans<Elements: Sequence>(_ elements: Elements) -> PostgresValue where Elements.Element == Bool {
        .text("{" + elements.map { $0 ? "t" : "f" }.joined(separator: ",") + "}")
    }
}
