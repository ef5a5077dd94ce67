/// The checks made on the query text before it reaches the parser. The parser and validator recurse once per
/// nesting level, so a document of a hundred thousand `{` would exhaust a task's stack; counting brackets
/// first (outside strings, block strings and comments) costs one pass over the bytes.
enum QueryTextCheck {
    /// The deepest bracket nesting (`{`, `[`, `(`), or nil when it stays within `limit`.
    static func nestingBeyond(_ limit: Int, in text: String) -> Int? {
        let bytes = Array(text.utf8)
        var depth = 0, deepest = 0, i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "#"):
                while i < bytes.count, bytes[i] != 0x0A, bytes[i] != 0x0D { i += 1 }
            case UInt8(ascii: "\""):
                if i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "\""), bytes[i + 2] == UInt8(ascii: "\"") {
                    i += 3
                    while i < bytes.count {
                        if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count, bytes[i + 1...i + 3].allSatisfy({ $0 == UInt8(ascii: "\"") }) {
                            i += 4
                            continue
                        }
                        if i + 2 < bytes.count, bytes[i...i + 2].allSatisfy({ $0 == UInt8(ascii: "\"") }) { i += 2; break }
                        i += 1
                    }
                } else {
                    i += 1
                    while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != 0x0A {
                        i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1
                    }
                }
            case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "("):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ")"):
                depth = max(0, depth - 1)
            default:
                break
            }
            i += 1
        }
        return deepest > limit ? deepest : nil
    }
}
