/// The value type of a property: XSD primitives and the original's complex types.
///
/// Accepted spellings are case-insensitive, with or without an `xsd:` / `custom:` prefix (`xsd:integer`,
/// `integer`, `INTEGER`, `custom:money`), plus a few aliases (`datetime`, `bool`, `number`, `text`, `uri`, `json`,
/// `list`, `sys:JSON`). The canonical spelling — what `canonicalName` and every serialised class use — is
/// `xsd:<name>` for primitives and the bare name for complex types (`xsd:dateTime`, `money`).
public enum PropertyType: String, Sendable, Hashable, CaseIterable {
    // XSD primitives
    case string, integer, int, long, decimal, double, float, boolean, date, dateTime, time, anyURI
    // complex types
    case array, object, enumeration = "enum", money, phone, email, coordinate, address, url, uuid, image, file, ip

    public var isPrimitive: Bool {
        switch self {
        case .string, .integer, .int, .long, .decimal, .double, .float, .boolean, .date, .dateTime, .time, .anyURI: true
        default: false
        }
    }

    public var canonicalName: String { isPrimitive ? "xsd:" + rawValue : rawValue }

    /// Numeric types: `min`/`max` bound the value (for money: the amount).
    public var isNumeric: Bool {
        switch self {
        case .integer, .int, .long, .decimal, .double, .float, .money: true
        default: false
        }
    }

    /// Whole-number types.
    public var isIntegral: Bool { self == .integer || self == .int || self == .long }

    /// Types whose values are (or may be) strings: `pattern` applies to those string values.
    public var admitsStrings: Bool {
        switch self {
        case .string, .date, .dateTime, .time, .anyURI, .email, .url, .uuid, .phone, .ip, .enumeration, .decimal,
             .money, .image, .file: true
        default: false
        }
    }

    /// Types whose values are always strings: `min`/`max` bound their length.
    public var isTextual: Bool {
        switch self {
        case .string, .anyURI, .email, .url, .uuid, .phone, .ip: true
        default: false
        }
    }

    /// Types a primary key may have: their values are strings or whole numbers that can form an instance id.
    public var canBePrimaryKey: Bool {
        switch self {
        case .string, .integer, .int, .long, .uuid: true
        default: false
        }
    }

    /// Parses a type spelling (see the type's documentation); nil if unknown.
    public init?(spelling: String) {
        var name = spelling.ontologyTrimmed.lowercased()
        for prefix in ["xsd:", "custom:", "sys:"] where name.hasPrefix(prefix) {
            name.removeFirst(prefix.count)
            break
        }
        switch name {
        case "string", "text", "str": self = .string
        case "integer": self = .integer
        case "int": self = .int
        case "long": self = .long
        case "decimal", "number": self = .decimal
        case "double": self = .double
        case "float": self = .float
        case "boolean", "bool": self = .boolean
        case "date": self = .date
        case "datetime", "date-time": self = .dateTime
        case "time": self = .time
        case "anyuri", "uri": self = .anyURI
        case "array", "list": self = .array
        case "object", "json": self = .object
        case "enum": self = .enumeration
        case "money": self = .money
        case "phone": self = .phone
        case "email": self = .email
        case "coordinate": self = .coordinate
        case "address": self = .address
        case "url": self = .url
        case "uuid": self = .uuid
        case "image": self = .image
        case "file": self = .file
        case "ip": self = .ip
        default: return nil
        }
    }

    /// Parses a type spelling or throws a 400 naming `field`.
    public static func parse(_ spelling: String, field: String) throws(Problem) -> PropertyType {
        guard let type = PropertyType(spelling: spelling) else {
            throw Problem.badRequest("unknown type '\(excerpt(spelling))' (expected one of: "
                                     + PropertyType.allCases.map(\.rawValue).joined(separator: ", ") + ")", field: field)
        }
        return type
    }
}
