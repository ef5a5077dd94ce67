import Core
import GraphQL

/// Serializes a GraphQL response: `errors` first (when any), then `data`, then `extensions`. Data keeps
/// the selection's field order (GraphQL asks for it; `JSONWriter` sorts keys, so it cannot be used for
/// `data`).
enum GraphQLResponseWriter {
    static func body(data: Map?, errors: [GraphQLError], extensions: JSONValue?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        out.append(UInt8(ascii: "{"))
        var first = true
        func member(_ name: String) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONWriter.writeString(name, into: &out)
            out.append(UInt8(ascii: ":"))
        }
        if !errors.isEmpty {
            member("errors")
            out.append(UInt8(ascii: "["))
            for (index, error) in errors.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(error, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        if let data {
            member("data")
            write(data, into: &out)
        }
        if let extensions {
            member("extensions")
            JSONWriter.write(extensions, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func write(_ error: GraphQLError, into out: inout [UInt8]) {
        var object: [(String, Map)] = [("message", .string(error.message))]
        if !error.locations.isEmpty {
            object.append(("locations", .array(error.locations.map { ["line": .int($0.line), "column": .int($0.column)] })))
        }
        if !error.path.elements.isEmpty {
            object.append(("path", .array(error.path.elements.map { element -> Map in
                switch element {
                case .index(let index): .int(index)
                case .key(let key): .string(key)
                }
            })))
        }
        if !error.extensions.isEmpty {
            var extensions: [(String, Map)] = []
            for key in error.extensions.keys.sorted() { extensions.append((key, error.extensions[key]!)) }
            object.append(("extensions", .dictionary(.init(uniqueKeysWithValues: extensions))))
        }
        write(.dictionary(.init(uniqueKeysWithValues: object)), into: &out)
    }

    static func write(_ value: Map, into out: inout [UInt8]) {
        switch value {
        case .undefined, .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number):
            switch number.storageType {
            case .int: JSONWriter.writeInteger(number.intValue, into: &out)
            case .bool: out.append(contentsOf: (number.boolValue ? "true" : "false").utf8)
            case .double, .unknown: JSONWriter.write(.number(number.doubleValue), into: &out)
            }
        case .string(let text): JSONWriter.writeString(text, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let members):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (key, member) in members where !member.isUndefined {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONWriter.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}
