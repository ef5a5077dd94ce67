/// Small helpers shared by the ontology model: bounded descriptions of client input for problem messages,
/// field-path building, and a reader for JSON objects that accepts the original's alternative key spellings.

/// The longest excerpt of client input a problem message may carry.
let excerptLimit = 80

/// `text` cut to at most `limit` characters (an ellipsis marks a cut), so a problem never echoes a huge input.
func excerpt(_ text: String, limit: Int = excerptLimit) -> String {
    var count = 0
    var index = text.startIndex
    while index < text.endIndex {
        if count == limit { return String(text[text.startIndex..<index]) + "…" }
        count += 1
        index = text.index(after: index)
    }
    return text
}

/// A compact, bounded JSON-ish rendering of a value for problem messages.
func describe(_ value: JSONValue, limit: Int = excerptLimit) -> String {
    var out = ""
    var truncated = false
    appendDescription(value, to: &out, limit: limit, truncated: &truncated)
    if truncated || out.count > limit {
        let cut = excerpt(out, limit: limit)
        return cut.hasSuffix("…") ? cut : cut + "…"
    }
    return out
}

private func appendDescription(_ value: JSONValue, to out: inout String, limit: Int, truncated: inout Bool) {
    if out.utf8.count > limit { truncated = true; return }
    switch value {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let n): out += formatNumber(n)
    case .string(let s): out += "\"" + excerpt(s, limit: limit) + "\""
    case .array(let items):
        out += "["
        for (i, item) in items.enumerated() {
            if out.utf8.count > limit { truncated = true; return }
            if i > 0 { out += "," }
            appendDescription(item, to: &out, limit: limit, truncated: &truncated)
        }
        out += "]"
    case .object(let members):
        out += "{"
        for (i, key) in members.keys.sorted().enumerated() {
            if out.utf8.count > limit { truncated = true; return }
            if i > 0 { out += "," }
            out += "\"" + excerpt(key, limit: limit) + "\":"
            appendDescription(members[key]!, to: &out, limit: limit, truncated: &truncated)
        }
        out += "}"
    }
}

/// Whole numbers without a trailing ".0", others as Swift prints them.
func formatNumber(_ n: Double) -> String {
    if n.rounded() == n, abs(n) < 1e15 { return String(Int(n)) }
    return "\(n)"
}

/// `prefix.key`, with an over-long key cut so a client cannot make the `field` member huge.
func fieldPath(_ prefix: String, _ key: String) -> String {
    let shown = key.utf8.count > 100 ? excerpt(key, limit: 100) : key
    return prefix.isEmpty ? shown : prefix + "." + shown
}

/// A short name for a JSON value's kind, for messages ("expected a string, got a number").
func kindName(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
}

/// Reads the members of one JSON object of a request, accepting the original's alternative spellings of a key
/// (`primary_key` / `primaryKey`) and naming the spelling the client used in error paths.
struct ObjectReader {
    let members: [String: JSONValue]
    let prefix: String

    init(_ json: JSONValue, prefix: String, what: String) throws(Problem) {
        guard case .object(let members) = json else {
            throw Problem.badRequest("\(what) must be a JSON object, got \(kindName(json))", field: prefix)
        }
        self.members = members
        self.prefix = prefix
    }

    func field(_ key: String) -> String { fieldPath(prefix, key) }

    /// The first present, non-null member among `keys`; two spellings with different values are a 400.
    func entry(_ keys: [String]) throws(Problem) -> (key: String, value: JSONValue)? {
        var found: (key: String, value: JSONValue)?
        for key in keys {
            guard let value = members[key], value != .null else { continue }
            if let first = found {
                if first.value != value {
                    throw Problem.badRequest("'\(first.key)' and '\(key)' are two spellings of one field with different values",
                                             field: field(key))
                }
            } else {
                found = (key, value)
            }
        }
        return found
    }

    /// Whether any spelling is present, even as an explicit null.
    func isPresent(_ keys: [String]) -> Bool { keys.contains { members[$0] != nil } }

    /// The spelling present (even if null), for error paths about an explicit null.
    func presentKey(_ keys: [String]) -> String? { keys.first { members[$0] != nil } }

    func string(_ keys: [String], required: Bool = false, what: String) throws(Problem) -> String? {
        guard let (key, value) = try entry(keys) else {
            if required { throw Problem.badRequest("\(what) is required", field: field(keys[0])) }
            return nil
        }
        guard case .string(let s) = value else {
            throw Problem.badRequest("\(what) must be a string, got \(kindName(value))", field: field(key))
        }
        return s
    }

    func bool(_ keys: [String], what: String) throws(Problem) -> Bool? {
        guard let (key, value) = try entry(keys) else { return nil }
        guard case .bool(let b) = value else {
            throw Problem.badRequest("\(what) must be true or false, got \(kindName(value))", field: field(key))
        }
        return b
    }
}
