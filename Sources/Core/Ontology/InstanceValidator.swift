/// A link from an instance through a relationship to another instance.
public struct InstanceLink: Sendable, Hashable {
    public var predicate: String
    /// The referenced instance as `"Class/instance_id"`.
    public var target: String

    public init(predicate: String, target: String) {
        self.predicate = predicate
        self.target = target
    }

    /// The class part of `target`.
    public var targetClass: String { String(target[..<(target.firstIndex(of: "/") ?? target.endIndex)]) }
    /// The instance-id part of `target`.
    public var targetInstanceId: String {
        guard let slash = target.firstIndex(of: "/") else { return "" }
        return String(target[target.index(after: slash)...])
    }
}

/// An instance payload that passed validation.
public struct ValidatedInstance: Sendable, Hashable {
    public var instanceId: String
    /// The instance's data, normalised: defaults applied, explicit nulls of optional fields dropped.
    public var data: JSONValue
    /// Every reference the data holds, in relationship order then element order.
    public var links: [InstanceLink]

    public init(instanceId: String, data: JSONValue, links: [InstanceLink]) {
        self.instanceId = instanceId
        self.data = data
        self.links = links
    }
}

/// Validates instance writes against a database's ontology. Every refusal is a `Problem` whose `field` names the
/// offending member as `body.data.<name>` (or `body.data.<name>[i]` for an element); codes: `unknown_field`,
/// `missing_required_field`, `invalid_value`, `constraint_violation`, `wrong_cardinality`, `invalid_reference`,
/// `immutable_primary_key`, `abstract_class` (field `path.class_id`), and 404 `not_found` for an unknown class.
public struct InstanceValidator: Sendable {
    public let schema: OntologySchema
    public var dataPrefix = "body.data"

    public init(schema: OntologySchema) {
        self.schema = schema
    }

    /// Validates a new instance's data.
    public func validateCreate(classId: String, data: JSONValue) throws(Problem) -> ValidatedInstance {
        let context = try classContext(classId)
        guard case .object(let members) = data else {
            throw Problem.badRequest("data must be a JSON object, got \(kindName(data))", field: dataPrefix)
        }
        try rejectUnknown(members, context)
        return try validate(members, context)
    }

    /// Validates a patch (a merge: present keys replace, `null` removes an optional field) of `current`, the
    /// instance's stored data. Fields of `current` the schema no longer knows are dropped; the merged result must
    /// validate, and the primary key cannot change.
    public func validatePatch(classId: String, current: JSONValue, patch: JSONValue) throws(Problem) -> ValidatedInstance {
        let context = try classContext(classId)
        guard case .object(let changes) = patch else {
            throw Problem.badRequest("data must be a JSON object, got \(kindName(patch))", field: dataPrefix)
        }
        try rejectUnknown(changes, context)
        var merged = (current.objectValue ?? [:]).filter { context.properties[$0.key] != nil || context.relationships[$0.key] != nil }
        for key in changes.keys.sorted() {
            let value = changes[key]!
            let field = fieldPath(dataPrefix, key)
            if key == context.primaryKey.name, let old = merged[key], old != .null, value != .null, value != old {
                throw Problem(status: 400, code: "immutable_primary_key",
                              detail: "the primary key '\(key)' cannot change (it is \(describe(old)))", field: field)
            }
            if value == .null {
                if context.properties[key]?.required == true || context.relationships[key]?.required == true {
                    throw Problem(status: 400, code: "missing_required_field",
                                  detail: "'\(key)' is required and cannot be removed", field: field)
                }
                merged[key] = nil
            } else {
                merged[key] = value
            }
        }
        return try validate(merged, context)
    }

    // MARK: Internals

    private struct ClassContext {
        let id: String
        let orderedProperties: [Property]
        let orderedRelationships: [Relationship]
        let properties: [String: Property]
        let relationships: [String: Relationship]
        let primaryKey: Property
    }

    private func classContext(_ classId: String) throws(Problem) -> ClassContext {
        guard let ontologyClass = schema[classId] else {
            throw Problem(status: 404, code: "not_found", detail: "the class '\(excerpt(classId))' does not exist", field: "path.class_id")
        }
        if ontologyClass.abstract {
            throw Problem(status: 400, code: "abstract_class",
                          detail: "the class '\(classId)' is abstract: create instances of one of its subclasses", field: "path.class_id")
        }
        let properties = schema.properties(of: classId)
        let relationships = schema.relationships(of: classId)
        guard let primaryKey = OntologyClass.primaryKey(among: properties, classId: classId) else {
            throw Problem(status: 400, code: "missing_primary_key",
                          detail: "the class '\(classId)' has no primary key, so its instances cannot be identified",
                          field: "path.class_id", extensions: ["lint_code": "ONT001"])
        }
        var propertiesByName: [String: Property] = [:]
        for property in properties { propertiesByName[property.name] = property }
        var relationshipsByPredicate: [String: Relationship] = [:]
        for relationship in relationships where propertiesByName[relationship.predicate] == nil {
            relationshipsByPredicate[relationship.predicate] = relationship
        }
        return ClassContext(id: classId, orderedProperties: properties,
                            orderedRelationships: relationships.filter { relationshipsByPredicate[$0.predicate] == $0 },
                            properties: propertiesByName, relationships: relationshipsByPredicate, primaryKey: primaryKey)
    }

    private func rejectUnknown(_ members: [String: JSONValue], _ context: ClassContext) throws(Problem) {
        for key in members.keys.sorted() where context.properties[key] == nil && context.relationships[key] == nil {
            throw Problem(status: 400, code: "unknown_field",
                          detail: "'\(excerpt(key))' is neither a property nor a relationship of '\(context.id)'",
                          field: fieldPath(dataPrefix, key))
        }
    }

    private func validate(_ members: [String: JSONValue], _ context: ClassContext) throws(Problem) -> ValidatedInstance {
        var data: [String: JSONValue] = [:]
        for property in context.orderedProperties {
            let field = fieldPath(dataPrefix, property.name)
            var value = members[property.name]
            if value == .null { value = nil }
            if value == nil, let defaultValue = property.defaultValue { value = defaultValue }
            guard let value else {
                if property.required || property.name == context.primaryKey.name {
                    throw Problem(status: 400, code: "missing_required_field", detail: "'\(property.name)' is required", field: field)
                }
                continue
            }
            try ValueValidator.validate(value, property: property, field: field)
            data[property.name] = value
        }
        var links: [InstanceLink] = []
        for relationship in context.orderedRelationships {
            let field = fieldPath(dataPrefix, relationship.predicate)
            guard let value = members[relationship.predicate], value != .null else {
                if relationship.required {
                    throw Problem(status: 400, code: "missing_required_field",
                                  detail: "the relationship '\(relationship.predicate)' is required", field: field)
                }
                continue
            }
            if relationship.cardinality.isToMany {
                guard case .array(let elements) = value else {
                    throw Problem(status: 400, code: "wrong_cardinality",
                                  detail: "'\(relationship.predicate)' is \(relationship.cardinality.rawValue): expected an array of references \"Class/id\", got \(describe(value))",
                                  field: field)
                }
                if relationship.required && elements.isEmpty {
                    throw Problem(status: 400, code: "missing_required_field",
                                  detail: "the relationship '\(relationship.predicate)' needs at least one reference", field: field)
                }
                var seen: Set<String> = []
                for (index, element) in elements.enumerated() {
                    let path = "\(field)[\(index)]"
                    let target = try reference(element, relationship, field: path)
                    guard seen.insert(target).inserted else {
                        throw Problem(status: 400, code: "invalid_reference", detail: "'\(target)' is referenced twice", field: path)
                    }
                    links.append(InstanceLink(predicate: relationship.predicate, target: target))
                }
            } else {
                if case .array = value {
                    throw Problem(status: 400, code: "wrong_cardinality",
                                  detail: "'\(relationship.predicate)' is \(relationship.cardinality.rawValue): expected one reference \"Class/id\", got an array",
                                  field: field)
                }
                let target = try reference(value, relationship, field: field)
                links.append(InstanceLink(predicate: relationship.predicate, target: target))
            }
            data[relationship.predicate] = value
        }

        let primaryKey = context.primaryKey
        let pkField = fieldPath(dataPrefix, primaryKey.name)
        let instanceId: String
        switch data[primaryKey.name] {
        case .string(let s)?:
            instanceId = try Names.instanceId(s, field: pkField)
        case .number(let n)? where n.rounded() == n && abs(n) <= ValueValidator.maxSafeInteger:
            instanceId = formatNumber(n)
            if n < 0 { try Names.instanceId(instanceId, field: pkField) }
        case let other?:
            throw Problem(status: 400, code: "invalid_value",
                          detail: "the primary key must be a string or a whole number, got \(describe(other))", field: pkField)
        case nil:
            throw Problem(status: 400, code: "missing_required_field", detail: "the primary key '\(primaryKey.name)' is required",
                          field: pkField)
        }
        return ValidatedInstance(instanceId: instanceId, data: .object(data), links: links)
    }

    /// Checks one reference `"Class/instance_id"` against the relationship: a well-formed id of an existing,
    /// concrete class that is the target or inherits from it. Returns the reference.
    private func reference(_ value: JSONValue, _ relationship: Relationship, field: String) throws(Problem) -> String {
        guard case .string(let text) = value else {
            let code = value.arrayValue != nil ? "wrong_cardinality" : "invalid_reference"
            throw Problem(status: 400, code: code,
                          detail: "expected a reference \"\(relationship.target)/<instance id>\", got \(describe(value))", field: field)
        }
        guard let slash = text.utf8.firstIndex(of: slashByte) else {
            throw Problem(status: 400, code: "invalid_reference",
                          detail: "a reference is \"Class/instance_id\", got \(describe(value))", field: field)
        }
        let classPart = String(text[..<slash])
        let idPart = String(text[text.utf8.index(after: slash)...])
        guard Names.isValidClassId(classPart), Names.isValidInstanceId(idPart) else {
            throw Problem(status: 400, code: "invalid_reference",
                          detail: "a reference is \"Class/instance_id\" with a valid class id and instance id, got \(describe(value))",
                          field: field)
        }
        guard let referenced = schema[classPart] else {
            throw Problem(status: 400, code: "invalid_reference", detail: "the class '\(classPart)' does not exist", field: field)
        }
        guard schema.isSubclass(classPart, of: relationship.target) else {
            throw Problem(status: 400, code: "invalid_reference",
                          detail: "'\(relationship.predicate)' links to '\(relationship.target)', and '\(classPart)' is not that class or a subclass of it",
                          field: field)
        }
        if referenced.abstract {
            throw Problem(status: 400, code: "invalid_reference",
                          detail: "'\(classPart)' is abstract and has no instances: reference the instance through its concrete class",
                          field: field)
        }
        return text
    }
}

private let slashByte = UInt8(ascii: "/")
