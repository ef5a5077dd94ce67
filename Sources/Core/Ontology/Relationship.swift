/// How many instances a relationship links on each side. `1:n` and `n:m` hold many targets (their instance values
/// are arrays of references), `1:1` and `n:1` one (a single reference).
public enum Cardinality: String, Sendable, Hashable, CaseIterable {
    case oneToOne = "1:1"
    case oneToMany = "1:n"
    case manyToOne = "n:1"
    case manyToMany = "n:m"

    /// Whether an instance holds several targets through this relationship.
    public var isToMany: Bool { self == .oneToMany || self == .manyToMany }

    /// The cardinality seen from the target's side.
    public var inverse: Cardinality {
        switch self {
        case .oneToOne: .oneToOne
        case .oneToMany: .manyToOne
        case .manyToOne: .oneToMany
        case .manyToMany: .manyToMany
        }
    }

    /// `1:1 1:n n:1 n:m`, any case, with `m`/`n` interchangeable on the many side (`n:n`, `m:n` → `n:m`), and the
    /// words `one_to_one`, `one-to-many`, `many_to_one`, `many_to_many`.
    public init?(spelling: String) {
        let s = spelling.ontologyTrimmed.lowercased().replacingDashes
        switch s {
        case "1:1", "one_to_one", "onetoone": self = .oneToOne
        case "1:n", "1:m", "1:*", "one_to_many", "onetomany": self = .oneToMany
        case "n:1", "m:1", "*:1", "many_to_one", "manytoone": self = .manyToOne
        case "n:m", "n:n", "m:n", "m:m", "*:*", "many_to_many", "manytomany": self = .manyToMany
        default: return nil
        }
    }
}

/// A typed link from instances of one class to instances of a target class.
public struct Relationship: Sendable, Hashable {
    public var predicate: String
    /// The target class id.
    public var target: String
    public var label: LocalizedText
    public var cardinality: Cardinality
    public var description: LocalizedText?
    public var inversePredicate: String?
    public var inverseLabel: LocalizedText?
    /// Whether every instance must hold at least one reference through this relationship.
    public var required: Bool

    public init(predicate: String, target: String, label: LocalizedText, cardinality: Cardinality = .oneToMany,
                description: LocalizedText? = nil, inversePredicate: String? = nil, inverseLabel: LocalizedText? = nil,
                required: Bool = false) {
        self.predicate = predicate
        self.target = target
        self.label = label
        self.cardinality = cardinality
        self.description = description
        self.inversePredicate = inversePredicate
        self.inverseLabel = inverseLabel
        self.required = required
    }

    static let knownKeys: Set<String> = [
        "predicate", "target", "linkTarget", "target_class", "targetClass", "label", "cardinality", "description",
        "inverse_predicate", "inversePredicate", "inverse_label", "inverseLabel", "required",
    ]

    /// Parses the original's relationship shape; `fieldPrefix` is e.g. `body.relationships[0]`.
    public init(json: JSONValue, fieldPrefix: String) throws(Problem) {
        let reader = try ObjectReader(json, prefix: fieldPrefix, what: "a relationship")
        let predicate = try reader.string(["predicate"], required: true, what: "the predicate")!
        try Names.predicate(predicate, field: reader.field("predicate"))
        try self.init(reader: reader, predicate: predicate,
                      targetKeys: ["target", "linkTarget", "target_class", "targetClass"], defaultCardinality: .oneToMany)
    }

    /// Whether a member of a class's `properties` is really a relationship in the original's property form:
    /// `{"name", "type": "link", "linkTarget": "Team"}` (or with `target`, or `isRelationship: true`), or an array
    /// whose `items` are such a link.
    public static func isLinkProperty(_ json: JSONValue) -> Bool {
        guard case .object(let members) = json else { return false }
        if members["linkTarget"].map({ $0 != .null }) == true || members["target"].map({ $0 != .null }) == true { return true }
        if members["isRelationship"] == .bool(true) || members["is_relationship"] == .bool(true) { return true }
        if case .string(let type)? = members["type"], isLinkTypeName(type) { return true }
        if case .object(let items)? = members["items"] {
            if case .string(let type)? = items["type"], isLinkTypeName(type) { return true }
            if items["linkTarget"] != nil || items["target"] != nil { return true }
        }
        return false
    }

    /// Reads a relationship written as a property (see `isLinkProperty`): the predicate is its `name`; a single link
    /// defaults to `n:1`, an array of links to `n:m`.
    public init(linkProperty json: JSONValue, fieldPrefix: String) throws(Problem) {
        let reader = try ObjectReader(json, prefix: fieldPrefix, what: "a property")
        let name = try reader.string(["name"], required: true, what: "the property name")!
        try Names.predicate(name, field: reader.field("name"))
        var isArray = false
        if case .string(let type)? = reader.members["type"], let parsed = PropertyType(spelling: type), parsed == .array {
            isArray = true
        }
        var itemsTarget: String?
        if case .object(let items)? = reader.members["items"] {
            isArray = true
            for key in ["linkTarget", "target"] {
                if case .string(let t)? = items[key] { itemsTarget = t; break }
            }
        }
        var linkReader = reader
        if itemsTarget != nil, try reader.entry(["linkTarget", "target"]) == nil {
            var members = reader.members
            members["linkTarget"] = .string(itemsTarget!)
            linkReader = ObjectReaderBox.make(members: members, prefix: reader.prefix)
        }
        try self.init(reader: linkReader, predicate: name, targetKeys: ["linkTarget", "target"],
                      defaultCardinality: isArray ? .manyToMany : .manyToOne)
    }

    private init(reader: ObjectReader, predicate: String, targetKeys: [String], defaultCardinality: Cardinality) throws(Problem) {
        guard let target = try reader.string(targetKeys, what: "the target class") else {
            throw Problem.badRequest("the target class is required", field: reader.field(targetKeys[0]))
        }
        try Names.classId(target, field: reader.field(reader.presentKey(targetKeys)!))
        guard let (labelKey, labelValue) = try reader.entry(["label"]) else {
            throw Problem.badRequest("the relationship label is required", field: reader.field("label"))
        }
        let label = try LocalizedText(json: labelValue, field: reader.field(labelKey))
        var cardinality = defaultCardinality
        if let spelling = try reader.string(["cardinality"], what: "the cardinality") {
            guard let parsed = Cardinality(spelling: spelling) else {
                throw Problem.badRequest("unknown cardinality '\(excerpt(spelling))' (expected 1:1, 1:n, n:1 or n:m)",
                                         field: reader.field("cardinality"))
            }
            cardinality = parsed
        }
        var description: LocalizedText?
        if let (key, value) = try reader.entry(["description"]) {
            description = try LocalizedText(json: value, field: reader.field(key), maxLength: LocalizedText.maxDescriptionLength)
        }
        let inverseKeys = ["inverse_predicate", "inversePredicate"]
        let inversePredicate = try reader.string(inverseKeys, what: "the inverse predicate")
        if let inversePredicate { try Names.predicate(inversePredicate, field: reader.field(reader.presentKey(inverseKeys)!)) }
        var inverseLabel: LocalizedText?
        if let (key, value) = try reader.entry(["inverse_label", "inverseLabel"]) {
            inverseLabel = try LocalizedText(json: value, field: reader.field(key))
        }
        let required = try reader.bool(["required"], what: "required") ?? false
        self.init(predicate: predicate, target: target, label: label, cardinality: cardinality, description: description,
                  inversePredicate: inversePredicate, inverseLabel: inverseLabel, required: required)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "predicate": .string(predicate),
            "target": .string(target),
            "label": label.json,
            "cardinality": .string(cardinality.rawValue),
            "required": .bool(required),
        ]
        if let description { object["description"] = description.json }
        if let inversePredicate { object["inverse_predicate"] = .string(inversePredicate) }
        if let inverseLabel { object["inverse_label"] = inverseLabel.json }
        return .object(object)
    }

    /// The relationship in the original's link-property form (`{"name", "type": "link", "linkTarget", …}`).
    public var linkPropertyJSON: JSONValue {
        guard case .object(var object) = json else { return json }
        object["predicate"] = nil
        object["target"] = nil
        object["name"] = .string(predicate)
        object["type"] = "link"
        object["linkTarget"] = .string(target)
        return .object(object)
    }

    static func isLinkTypeName(_ type: String) -> Bool {
        var name = type.ontologyTrimmed.lowercased()
        for prefix in ["xsd:", "custom:", "sys:"] where name.hasPrefix(prefix) { name.removeFirst(prefix.count); break }
        return name == "link" || name == "relationship" || name == "reference"
    }
}

enum ObjectReaderBox {
    static func make(members: [String: JSONValue], prefix: String) -> ObjectReader {
        // Members already known to form an object: construction cannot fail.
        (try? ObjectReader(.object(members), prefix: prefix, what: "a property"))!
    }
}

extension String {
    /// `-` → `_`, so `one-to-many` and `one_to_many` read alike.
    var replacingDashes: String { String(decoding: utf8.map { $0 == dash ? underscore : $0 }, as: UTF8.self) }
}
