/// A class of the ontology: typed properties, typed relationships, optional single inheritance.
public struct OntologyClass: Sendable, Hashable {
    public var id: String
    public var label: LocalizedText
    public var description: LocalizedText?
    public var parentClass: String?
    public var abstract: Bool
    public var properties: [Property]
    public var relationships: [Relationship]
    public var metadata: [String: JSONValue]

    public init(id: String, label: LocalizedText, description: LocalizedText? = nil, parentClass: String? = nil,
                abstract: Bool = false, properties: [Property] = [], relationships: [Relationship] = [],
                metadata: [String: JSONValue] = [:]) {
        self.id = id
        self.label = label
        self.description = description
        self.parentClass = parentClass
        self.abstract = abstract
        self.properties = properties
        self.relationships = relationships
        self.metadata = metadata
    }

    static let knownKeys: Set<String> = [
        "id", "label", "description", "parent_class", "parentClass", "abstract", "properties", "relationships", "metadata",
    ]

    /// Parses the original's class-create body (`OntologyCreateRequest`). Members of `properties` written as links
    /// (`type: "link"`, `linkTarget`) become relationships. Runs the class-level checks (`validate`).
    public init(json: JSONValue, fieldPrefix: String = "body") throws(Problem) {
        let reader = try ObjectReader(json, prefix: fieldPrefix, what: "a class definition")
        let id = try reader.string(["id"], required: true, what: "the class id")!
        try Names.classId(id, field: reader.field("id"))
        guard let (labelKey, labelValue) = try reader.entry(["label"]) else {
            throw Problem.badRequest("the class label is required", field: reader.field("label"))
        }
        let label = try LocalizedText(json: labelValue, field: reader.field(labelKey))
        let parts = try OntologyClass.parseBody(reader: reader)
        self.init(id: id, label: label, description: parts.description ?? nil, parentClass: parts.parentClass ?? nil,
                  abstract: parts.abstract ?? false, properties: parts.properties ?? [], relationships: parts.relationships ?? [],
                  metadata: parts.metadata ?? [:])
        if let parent = parentClass, parent == id {
            throw Problem.badRequest("a class cannot be its own parent", field: reader.field(reader.presentKey(["parent_class", "parentClass"])!))
        }
        try validate(fieldPrefix: fieldPrefix)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id),
            "label": label.json,
            "abstract": .bool(abstract),
            "properties": .array(properties.map(\.json)),
            "relationships": .array(relationships.map(\.json)),
            "metadata": .object(metadata),
        ]
        if let description { object["description"] = description.json }
        if let parentClass { object["parent_class"] = .string(parentClass) }
        return .object(object)
    }

    public func property(named name: String) -> Property? { properties.first { $0.name == name } }
    public func relationship(predicate: String) -> Relationship? { relationships.first { $0.predicate == predicate } }

    /// The property whose value identifies an instance, among this class's own properties (see
    /// `primaryKey(among:classId:)`); `OntologySchema.primaryKey(of:)` also looks at inherited ones.
    public var primaryKey: Property? { OntologyClass.primaryKey(among: properties, classId: id) }

    /// The primary key as the original chose it: the property marked `primary_key`; else `<classid lowercased>_id`;
    /// else the alphabetically first `<something>_id` — each only if its type can form an instance id.
    public static func primaryKey(among properties: [Property], classId: String) -> Property? {
        if let explicit = properties.first(where: \.primaryKey) { return explicit }
        let candidates = properties.filter { isPrimaryKeyCandidateName($0.name) && $0.type.canBePrimaryKey }
        let preferred = classId.lowercased() + "_id"
        if let match = candidates.first(where: { $0.name == preferred }) { return match }
        return candidates.min { $0.name < $1.name }
    }

    /// `<something>_id` with a non-empty something.
    static func isPrimaryKeyCandidateName(_ name: String) -> Bool { name.count > 3 && name.hasSuffix("_id") }

    /// The class-level checks: names, unique property names and predicates, no property named like a predicate, at
    /// most one explicit primary key, and a primary key unless the class is abstract or inherits one (a class with
    /// a parent is checked against its ancestors by `OntologySchema`/the linter, which know them).
    public func validate(fieldPrefix: String = "body") throws(Problem) {
        try Names.classId(id, field: fieldPath(fieldPrefix, "id"))
        if let parentClass {
            try Names.classId(parentClass, field: fieldPath(fieldPrefix, "parent_class"))
            if parentClass == id { throw Problem.badRequest("a class cannot be its own parent", field: fieldPath(fieldPrefix, "parent_class")) }
        }
        var seenProperties: [String: Int] = [:]
        var primaryKeyIndex: Int?
        for (index, property) in properties.enumerated() {
            let path = "\(fieldPrefix).properties[\(index)]"
            try Names.propertyName(property.name, field: path + ".name")
            if let first = seenProperties[property.name] {
                throw Problem.badRequest("duplicate property name '\(property.name)' (also properties[\(first)])", field: path + ".name")
            }
            seenProperties[property.name] = index
            if property.primaryKey {
                if let first = primaryKeyIndex {
                    throw Problem.badRequest("only one property may be the primary key (properties[\(first)] already is)",
                                             field: path + ".primary_key")
                }
                primaryKeyIndex = index
                guard property.type.canBePrimaryKey else {
                    throw Problem.badRequest("a primary key must have the type string, integer, int, long or uuid", field: path + ".type")
                }
            }
        }
        var seenPredicates: [String: Int] = [:]
        for (index, relationship) in relationships.enumerated() {
            let path = "\(fieldPrefix).relationships[\(index)]"
            try Names.predicate(relationship.predicate, field: path + ".predicate")
            try Names.classId(relationship.target, field: path + ".target")
            if let first = seenPredicates[relationship.predicate] {
                throw Problem.badRequest("duplicate predicate '\(relationship.predicate)' (also relationships[\(first)])",
                                         field: path + ".predicate")
            }
            seenPredicates[relationship.predicate] = index
            if let clash = seenProperties[relationship.predicate] {
                throw Problem.badRequest("the predicate '\(relationship.predicate)' is also the name of properties[\(clash)]",
                                         field: path + ".predicate")
            }
        }
        if !abstract && parentClass == nil && primaryKey == nil {
            throw OntologyClass.missingPrimaryKey(id, field: fieldPath(fieldPrefix, "properties"))
        }
    }

    static func missingPrimaryKey(_ id: String, field: String) -> Problem {
        Problem(status: 400, code: "missing_primary_key",
                detail: "the class '\(id)' has no primary key: mark a property primary_key (or name one '<something>_id'), or make the class abstract",
                field: field, extensions: ["lint_code": "ONT001"])
    }

    /// The optional members shared by the create and update bodies. Each `nil` means "absent"; for description
    /// and parent class `.some(nil)` means an explicit null.
    struct BodyParts {
        var description: LocalizedText??
        var parentClass: String??
        var abstract: Bool?
        var properties: [Property]?
        var relationships: [Relationship]?
        var metadata: [String: JSONValue]?
        /// Relationships written as properties (in `properties`), kept apart for updates.
        var linkRelationships: [Relationship] = []
        var explicitRelationships: [Relationship]?
    }

    static func parseBody(reader: ObjectReader) throws(Problem) -> BodyParts {
        var parts = BodyParts()
        if let key = reader.presentKey(["description"]) {
            if let (_, value) = try reader.entry([key]) {
                parts.description = .some(try LocalizedText(json: value, field: reader.field(key), maxLength: LocalizedText.maxDescriptionLength))
            } else {
                parts.description = .some(nil)
            }
        }
        let parentKeys = ["parent_class", "parentClass"]
        if reader.isPresent(parentKeys) {
            if let parent = try reader.string(parentKeys, what: "the parent class") {
                try Names.classId(parent, field: reader.field(reader.presentKey(parentKeys)!))
                parts.parentClass = .some(parent)
            } else {
                parts.parentClass = .some(nil)
            }
        }
        parts.abstract = try reader.bool(["abstract"], what: "abstract")

        // Properties, with links moved to relationships; names are unique across both (first come, first named).
        var seen: [String: String] = [:]   // name → the path that introduced it
        func claim(_ name: String, path: String, what: String) throws(Problem) {
            if let first = seen[name] {
                throw Problem.badRequest("duplicate \(what) '\(name)' (already used at \(first))", field: path)
            }
            seen[name] = path
        }
        if let (key, value) = try reader.entry(["properties"]) {
            guard case .array(let elements) = value else {
                throw Problem.badRequest("properties must be an array, got \(kindName(value))", field: reader.field(key))
            }
            var properties: [Property] = []
            for (index, element) in elements.enumerated() {
                let path = "\(reader.field(key))[\(index)]"
                if Relationship.isLinkProperty(element) {
                    let link = try Relationship(linkProperty: element, fieldPrefix: path)
                    try claim(link.predicate, path: path + ".name", what: "name")
                    parts.linkRelationships.append(link)
                } else {
                    let property = try Property(json: element, fieldPrefix: path)
                    try claim(property.name, path: path + ".name", what: "property name")
                    if property.primaryKey, let other = properties.firstIndex(where: \.primaryKey) {
                        throw Problem.badRequest("only one property may be the primary key (properties[\(other)] already is)",
                                                 field: path + "." + (element["primaryKey"] != nil && element["primary_key"] == nil ? "primaryKey" : "primary_key"))
                    }
                    properties.append(property)
                }
            }
            parts.properties = properties
        }
        if let (key, value) = try reader.entry(["relationships"]) {
            guard case .array(let elements) = value else {
                throw Problem.badRequest("relationships must be an array, got \(kindName(value))", field: reader.field(key))
            }
            var relationships: [Relationship] = []
            for (index, element) in elements.enumerated() {
                let path = "\(reader.field(key))[\(index)]"
                let relationship = try Relationship(json: element, fieldPrefix: path)
                if let first = seen[relationship.predicate], first.contains(".properties[") {
                    throw Problem.badRequest("the predicate '\(relationship.predicate)' is also the name of the property at \(first)",
                                             field: path + ".predicate")
                }
                try claim(relationship.predicate, path: path + ".predicate", what: "predicate")
                relationships.append(relationship)
            }
            parts.explicitRelationships = relationships
        }
        if parts.explicitRelationships != nil || !parts.linkRelationships.isEmpty {
            parts.relationships = (parts.explicitRelationships ?? []) + parts.linkRelationships
        }
        if let (key, value) = try reader.entry(["metadata"]) {
            guard case .object(let members) = value else {
                throw Problem.badRequest("metadata must be an object, got \(kindName(value))", field: reader.field(key))
            }
            parts.metadata = members
        }
        return parts
    }
}

/// A class update (`OntologyUpdateRequest`): every member optional; those present replace the class's (lists are
/// replaced whole). `description: null` and `parent_class: null` remove them.
public struct OntologyClassUpdate: Sendable, Hashable {
    /// If present, must equal the id of the class updated (classes cannot be renamed).
    public var id: String?
    public var label: LocalizedText?
    /// nil: unchanged; `.some(nil)`: removed.
    public var description: LocalizedText??
    /// nil: unchanged; `.some(nil)`: removed.
    public var parentClass: String??
    public var abstract: Bool?
    public var properties: [Property]?
    /// Replaces the relationships (relationships written as links inside `properties` are added to them).
    public var relationships: [Relationship]?
    public var metadata: [String: JSONValue]?
    /// Relationships given in link-property form inside `properties`.
    public var linkRelationships: [Relationship]

    public init(id: String? = nil, label: LocalizedText? = nil, description: LocalizedText?? = nil,
                parentClass: String?? = nil, abstract: Bool? = nil, properties: [Property]? = nil,
                relationships: [Relationship]? = nil, metadata: [String: JSONValue]? = nil,
                linkRelationships: [Relationship] = []) {
        self.id = id
        self.label = label
        self.description = description
        self.parentClass = parentClass
        self.abstract = abstract
        self.properties = properties
        self.relationships = relationships
        self.metadata = metadata
        self.linkRelationships = linkRelationships
    }

    public init(json: JSONValue, fieldPrefix: String = "body") throws(Problem) {
        let reader = try ObjectReader(json, prefix: fieldPrefix, what: "a class update")
        var id: String?
        if let value = try reader.string(["id"], what: "the class id") {
            id = try Names.classId(value, field: reader.field("id"))
        }
        var label: LocalizedText?
        if let (key, value) = try reader.entry(["label"]) { label = try LocalizedText(json: value, field: reader.field(key)) }
        let parts = try OntologyClass.parseBody(reader: reader)
        self.init(id: id, label: label, description: parts.description, parentClass: parts.parentClass,
                  abstract: parts.abstract, properties: parts.properties, relationships: parts.explicitRelationships,
                  metadata: parts.metadata, linkRelationships: parts.linkRelationships)
    }

    /// The class after this update, re-validated. An update that leaves a class that had a primary key without one
    /// is a 400 `primary_key_removed` (lint ONT920).
    public func applied(to existing: OntologyClass, fieldPrefix: String = "body") throws(Problem) -> OntologyClass {
        if let id, id != existing.id {
            throw Problem.badRequest("a class cannot be renamed ('\(existing.id)' → '\(id)')", field: fieldPath(fieldPrefix, "id"))
        }
        var updated = existing
        if let label { updated.label = label }
        if let description { updated.description = description }
        if let parentClass { updated.parentClass = parentClass }
        if let abstract { updated.abstract = abstract }
        if let properties { updated.properties = properties }
        if let relationships { updated.relationships = relationships }
        if !linkRelationships.isEmpty {
            let linked = Set(linkRelationships.map(\.predicate))
            updated.relationships = updated.relationships.filter { !linked.contains($0.predicate) } + linkRelationships
        }
        if let metadata { updated.metadata = metadata }
        if !updated.abstract, existing.primaryKey != nil, updated.primaryKey == nil {
            throw Problem(status: 400, code: "primary_key_removed",
                          detail: "the update removes the primary key of '\(existing.id)' (it was '\(existing.primaryKey!.name)')",
                          field: fieldPath(fieldPrefix, "properties"), extensions: ["lint_code": "ONT920"])
        }
        try updated.validate(fieldPrefix: fieldPrefix)
        return updated
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if let id { object["id"] = .string(id) }
        if let label { object["label"] = label.json }
        if let description { object["description"] = description?.json ?? .null }
        if let parentClass { object["parent_class"] = parentClass.map(JSONValue.string) ?? .null }
        if let abstract { object["abstract"] = .bool(abstract) }
        if properties != nil || !linkRelationships.isEmpty {
            object["properties"] = .array((properties ?? []).map(\.json) + linkRelationships.map(\.linkPropertyJSON))
        }
        if let relationships { object["relationships"] = .array(relationships.map(\.json)) }
        if let metadata { object["metadata"] = .object(metadata) }
        return .object(object)
    }
}
