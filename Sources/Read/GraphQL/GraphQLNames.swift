/// GraphQL names are `[_A-Za-z][_0-9A-Za-z]*`, and names starting with `__` belong to introspection. Class
/// ids may also hold `:` and `-`, and property names may start with `__`, so every ontology name passes
/// through here: other characters become `_`, a leading `__` loses underscores until one is left, and a
/// name already taken (by a generated name or an earlier class or field) gets `_2`, `_3`, … Claims are
/// made in a fixed order (classes by id, fields in definition order), so the same ontology always gives
/// the same schema.
enum GraphQLNames {
    static func sanitize(_ raw: String) -> String {
        var characters = raw.unicodeScalars.map { scalar -> Character in
            let isAllowed = scalar.isASCII && (scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                                               || ("0"..."9").contains(scalar))
            return isAllowed ? Character(scalar) : "_"
        }
        if characters.isEmpty { return "_" }
        if let first = characters.first, first.isNumber { characters.insert("_", at: 0) }
        var name = String(characters)
        while name.hasPrefix("__") { name.removeFirst() }
        return name
    }
}

/// Hands out names unique within one namespace (the schema's types, one type's fields, one enum's values).
struct NameRegistry {
    private var taken: Set<String>

    init(reserved: Set<String> = []) { taken = reserved }

    func isTaken(_ name: String) -> Bool { taken.contains(name) }

    /// `base` if free, else the first free `base_2`, `base_3`, …
    mutating func claim(_ base: String) -> String {
        var candidate = base
        var suffix = 2
        while taken.contains(candidate) {
            candidate = "\(base)_\(suffix)"
            suffix += 1
        }
        taken.insert(candidate)
        return candidate
    }
}
