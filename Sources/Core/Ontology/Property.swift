/// A `min` / `max` constraint: a number (a value bound for numeric types, a length or count bound for strings and
/// arrays) or, for `date` / `dateTime`, a date string (a chronological bound).
public enum ConstraintBound: Sendable, Hashable {
    case number(Double)
    case text(String)

    public var json: JSONValue {
        switch self {
        case .number(let n): .number(n)
        case .text(let s): .string(s)
        }
    }
}

/// The constraints of a property. Read from `constraints: {min, max, min_length, max_length, pattern}` (also the
/// spellings `minimum`, `maximum`, `minLength`, `maxLength`); checked against the property's type when the class
/// is defined, so a constraint that cannot apply is a 400 then rather than a surprise at write time.
public struct PropertyConstraints: Sendable, Hashable {
    public var min: ConstraintBound?
    public var max: ConstraintBound?
    public var minLength: Int?
    public var maxLength: Int?
    public var pattern: SafePattern?

    public init(min: ConstraintBound? = nil, max: ConstraintBound? = nil, minLength: Int? = nil, maxLength: Int? = nil,
                pattern: SafePattern? = nil) {
        self.min = min
        self.max = max
        self.minLength = minLength
        self.maxLength = maxLength
        self.pattern = pattern
    }

    public static let none = PropertyConstraints()

    public var isEmpty: Bool { self == .none }

    /// The spellings of each constraint key accepted in requests.
    static let keySpellings: [[String]] = [
        ["min", "minimum"], ["max", "maximum"], ["min_length", "minLength"], ["max_length", "maxLength"], ["pattern"],
        ["enum"],
    ]

    /// Parses `json` (an object) for a property of `type` (with element type `items` for arrays). Unknown keys are
    /// ignored (the linter warns about them); `enum` is read by `Property`.
    public init(json: JSONValue, type: PropertyType, items: PropertyType?, fieldPrefix: String) throws(Problem) {
        let reader = try ObjectReader(json, prefix: fieldPrefix, what: "constraints")
        let lengthApplies = type.admitsStrings || type == .array
        let elementType = type == .array ? items : type
        var minLength: Int?, maxLength: Int?
        for (index, keys) in [["min_length", "minLength"], ["max_length", "maxLength"]].enumerated() {
            guard let (key, value) = try reader.entry(keys) else { continue }
            guard let n = value.intValue, n >= 0 else {
                throw Problem.badRequest("\(key) must be a non-negative integer, got \(describe(value))", field: reader.field(key))
            }
            guard lengthApplies else {
                throw Problem.badRequest("\(key) does not apply to the type \(type.rawValue)", field: reader.field(key))
            }
            if index == 0 { minLength = n } else { maxLength = n }
        }
        if let minLength, let maxLength, minLength > maxLength {
            throw Problem.badRequest("min_length must not exceed max_length", field: reader.field(reader.presentKey(["min_length", "minLength"])!))
        }
        var bounds: [ConstraintBound?] = [nil, nil]
        for (index, keys) in [["min", "minimum"], ["max", "maximum"]].enumerated() {
            guard let (key, value) = try reader.entry(keys) else { continue }
            let field = reader.field(key)
            if type.isNumeric {
                guard case .number(let n) = value else {
                    throw Problem.badRequest("\(key) must be a number for the type \(type.rawValue)", field: field)
                }
                bounds[index] = .number(n)
            } else if type == .date || type == .dateTime {
                guard case .string(let s) = value, ValueValidator.temporalValue(s, type: type) != nil else {
                    throw Problem.badRequest("\(key) must be a \(type == .date ? "date YYYY-MM-DD" : "date or date-time") for the type \(type.rawValue)",
                                             field: field)
                }
                bounds[index] = .text(s)
            } else if type.isTextual || type == .array {
                guard let n = value.intValue, n >= 0 else {
                    throw Problem.badRequest("\(key) must be a non-negative integer (a \(type == .array ? "count" : "length") bound) for the type \(type.rawValue)",
                                             field: field)
                }
                bounds[index] = .number(Double(n))
            } else {
                throw Problem.badRequest("\(key) does not apply to the type \(type.rawValue)", field: field)
            }
        }
        if let low = bounds[0], let high = bounds[1] {
            let ordered: Bool
            switch (low, high) {
            case (.number(let a), .number(let b)): ordered = a <= b
            case (.text(let a), .text(let b)):
                ordered = ValueValidator.temporalValue(a, type: type)! <= ValueValidator.temporalValue(b, type: type)!
            default: ordered = true
            }
            if !ordered {
                throw Problem.badRequest("min must not exceed max", field: reader.field(reader.presentKey(["min", "minimum"])!))
            }
        }
        var pattern: SafePattern?
        if let (key, value) = try reader.entry(["pattern"]) {
            let field = reader.field(key)
            guard case .string(let source) = value else {
                throw Problem.badRequest("pattern must be a string, got \(kindName(value))", field: field)
            }
            guard elementType?.admitsStrings ?? true else {
                throw Problem.badRequest("pattern does not apply to the type \(type.rawValue)", field: field)
            }
            do throws(SafePattern.Error) {
                pattern = try SafePattern(source)
            } catch {
                throw Problem(status: 400, code: "invalid_pattern",
                              detail: "unsupported or invalid pattern: \(error.message) (at character \(error.offset))",
                              field: field)
            }
        }
        self.init(min: bounds[0], max: bounds[1], minLength: minLength, maxLength: maxLength, pattern: pattern)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if let min { object["min"] = min.json }
        if let max { object["max"] = max.json }
        if let minLength { object["min_length"] = .number(Double(minLength)) }
        if let maxLength { object["max_length"] = .number(Double(maxLength)) }
        if let pattern { object["pattern"] = .string(pattern.source) }
        return .object(object)
    }
}

/// A typed attribute of an ontology class.
public struct Property: Sendable, Hashable {
    public var name: String
    public var type: PropertyType
    public var label: LocalizedText
    public var required: Bool
    public var primaryKey: Bool
    public var defaultValue: JSONValue?
    public var description: LocalizedText?
    public var constraints: PropertyConstraints
    /// The element type of an `array` property (nil: elements of any type).
    public var items: PropertyType?
    /// The allowed values: required for `enum` properties (and `array` of `enum`), optional for others.
    public var enumValues: [JSONValue]?

    public init(name: String, type: PropertyType, label: LocalizedText, required: Bool = false, primaryKey: Bool = false,
                defaultValue: JSONValue? = nil, description: LocalizedText? = nil, constraints: PropertyConstraints = .none,
                items: PropertyType? = nil, enumValues: [JSONValue]? = nil) {
        self.name = name
        self.type = type
        self.label = label
        self.required = required || primaryKey
        self.primaryKey = primaryKey
        self.defaultValue = defaultValue
        self.description = description
        self.constraints = constraints
        self.items = items
        self.enumValues = enumValues
    }

    /// The keys a property object may carry (others are ignored; the linter warns about them).
    static let knownKeys: Set<String> = [
        "name", "type", "label", "required", "primary_key", "primaryKey", "default", "default_value", "defaultValue",
        "description", "constraints", "items", "enum", "enum_values", "enumValues",
    ]

    /// Parses the original's property shape. `fieldPrefix` is the property's path, e.g. `body.properties[2]`.
    public init(json: JSONValue, fieldPrefix: String) throws(Problem) {
        let reader = try ObjectReader(json, prefix: fieldPrefix, what: "a property")
        let name = try reader.string(["name"], required: true, what: "the property name")!
        try Names.propertyName(name, field: reader.field("name"))

        let typeSpelling = try reader.string(["type"], required: true, what: "the property type")!
        let typeField = reader.field("type")
        var type: PropertyType
        var items: PropertyType?
        if let inner = Property.genericArgument(typeSpelling) {
            type = .array
            items = try PropertyType.parse(inner, field: typeField)
        } else {
            type = try PropertyType.parse(typeSpelling, field: typeField)
        }

        if let (key, value) = try reader.entry(["items"]) {
            let field = reader.field(key)
            guard type == .array else { throw Problem.badRequest("items applies only to the type array", field: field) }
            let spelling: String
            switch value {
            case .string(let s): spelling = s
            case .object(let members):
                guard case .string(let s)? = members["type"] else {
                    throw Problem.badRequest("items must be a type name or an object with a string 'type'", field: fieldPath(field, "type"))
                }
                spelling = s
            default:
                throw Problem.badRequest("items must be a type name or an object with a 'type'", field: field)
            }
            let parsed = try PropertyType.parse(spelling, field: value.stringValue != nil ? field : fieldPath(field, "type"))
            if let items, items != parsed {
                throw Problem.badRequest("items contradicts the element type given in '\(excerpt(typeSpelling))'", field: field)
            }
            items = parsed
        }

        guard let (labelKey, labelValue) = try reader.entry(["label"]) else {
            throw Problem.badRequest("the property label is required", field: reader.field("label"))
        }
        let label = try LocalizedText(json: labelValue, field: reader.field(labelKey))
        var description: LocalizedText?
        if let (key, value) = try reader.entry(["description"]) {
            description = try LocalizedText(json: value, field: reader.field(key), maxLength: LocalizedText.maxDescriptionLength)
        }
        var required = try reader.bool(["required"], what: "required") ?? false
        let primaryKey = try reader.bool(["primary_key", "primaryKey"], what: "primary_key") ?? false
        if primaryKey {
            required = true
            guard type.canBePrimaryKey else {
                throw Problem.badRequest("a primary key must have the type string, integer, int, long or uuid, not \(type.rawValue)",
                                         field: typeField)
            }
        }

        var constraintsJSON: (key: String, value: JSONValue)? = nil
        var constraints = PropertyConstraints.none
        if let entry = try reader.entry(["constraints"]) {
            constraintsJSON = entry
            constraints = try PropertyConstraints(json: entry.value, type: type, items: items, fieldPrefix: reader.field(entry.key))
        }

        var enumEntry = try reader.entry(["enum", "enum_values", "enumValues"]).map { (field: reader.field($0.key), value: $0.value) }
        if enumEntry == nil, let constraintsJSON, case .object(let members) = constraintsJSON.value, let value = members["enum"], value != .null {
            enumEntry = (fieldPath(reader.field(constraintsJSON.key), "enum"), value)
        }
        var enumValues: [JSONValue]?
        if let (field, value) = enumEntry {
            enumValues = try Property.parseEnum(value, field: field, type: type, items: items)
        }
        if (type == .enumeration || items == .enumeration), enumValues == nil {
            throw Problem.badRequest("an enum property needs its list of allowed values in 'enum'", field: reader.field("enum"))
        }

        self.init(name: name, type: type, label: label, required: required, primaryKey: primaryKey, defaultValue: nil,
                  description: description, constraints: constraints, items: items, enumValues: enumValues)

        if let (key, value) = try reader.entry(["default", "default_value", "defaultValue"]) {
            let field = reader.field(key)
            if primaryKey {
                throw Problem.badRequest("a primary key cannot have a default value", field: field)
            }
            do throws(Problem) {
                try ValueValidator.validate(value, property: self, field: field)
            } catch {
                throw Problem.badRequest("the default value is not valid: \(error.detail ?? error.title)", field: error.field ?? field)
            }
            self.defaultValue = value
        }
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(name),
            "type": .string(type.canonicalName),
            "label": label.json,
            "required": .bool(required),
            "primary_key": .bool(primaryKey),
        ]
        if let defaultValue { object["default"] = defaultValue }
        if let description { object["description"] = description.json }
        if !constraints.isEmpty { object["constraints"] = constraints.json }
        if let items { object["items"] = .string(items.canonicalName) }
        if let enumValues { object["enum"] = .array(enumValues) }
        return .object(object)
    }

    /// `array<T>` / `list<T>` → `T`.
    static func genericArgument(_ spelling: String) -> String? {
        let lower = spelling.ontologyTrimmed.lowercased()
        for prefix in ["array<", "list<"] where lower.hasPrefix(prefix) && lower.hasSuffix(">") {
            let trimmed = spelling.ontologyTrimmed
            return String(trimmed.dropFirst(prefix.count).dropLast())
        }
        return nil
    }

    private static func parseEnum(_ value: JSONValue, field: String, type: PropertyType, items: PropertyType?) throws(Problem) -> [JSONValue] {
        guard case .array(let values) = value, !values.isEmpty else {
            throw Problem.badRequest("enum must be a non-empty array of allowed values", field: field)
        }
        guard values.count <= 1000 else { throw Problem.badRequest("enum may list at most 1000 values", field: field) }
        let checkType: PropertyType? = type == .array ? items : type
        for (index, element) in values.enumerated() {
            let path = "\(field)[\(index)]"
            switch element {
            case .string, .number, .bool: break
            default: throw Problem.badRequest("enum values must be strings, numbers or booleans", field: path)
            }
            if values[..<index].contains(element) {
                throw Problem.badRequest("the enum value \(describe(element)) is listed twice", field: path)
            }
            if let checkType, checkType != .enumeration, let reason = ValueValidator.typeError(element, type: checkType) {
                throw Problem.badRequest("the enum value does not fit the type \(checkType.rawValue): \(reason)", field: path)
            }
        }
        return values
    }
}
