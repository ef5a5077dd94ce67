/// An ordered header list. Names are stored lower-case (HTTP/2 requires it, and it makes lookups
/// a plain comparison); values keep their bytes as received.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = []
        self.fields.reserveCapacity(fields.count)
        for field in fields { add(field.name, field.value) }
    }

    public var count: Int { fields.count }

    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: Self.lowercased(name), value: value))
    }

    public mutating func reserveCapacity(_ count: Int) {
        fields.reserveCapacity(count)
    }

    /// For parsers that have already lower-cased the name (HTTP/1.1 parser, HTTP/2's HPACK output).
    mutating func appendLowercased(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces every field of that name with one.
    public mutating func set(_ name: String, _ value: String) {
        let key = Self.lowercased(name)
        fields.removeAll { $0.name == key }
        fields.append((name: key, value: value))
    }

    public mutating func remove(_ name: String) {
        let key = Self.lowercased(name)
        fields.removeAll { $0.name == key }
    }

    public subscript(_ name: String) -> String? {
        let key = Self.lowercased(name)
        let length = key.utf8.count
        // Comparing lengths first skips most fields without a string comparison.
        for field in fields where field.name.utf8.count == length && field.name == key { return field.value }
        return nil
    }

    public func values(_ name: String) -> [String] {
        let key = Self.lowercased(name)
        return fields.filter { $0.name == key }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }

    /// ASCII-only lower-casing: header names are tokens, and this avoids Unicode tables on the hot path.
    @inline(__always)
    static func lowercased(_ name: String) -> String {
        var needsWork = false
        for byte in name.utf8 where byte >= 0x41 && byte <= 0x5A { needsWork = true; break }
        if !needsWork { return name }
        return String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
