/// One finding of the ontology linter.
public struct ValidationIssue: Sendable, Hashable {
    public enum Severity: String, Sendable, Hashable { case error, warning, info }

    public var severity: Severity
    /// A lint code (`ONT001` …) or, for a definition that does not parse, the problem's code (`invalid_request`, …).
    public var code: String
    /// The request field concerned, e.g. `body.relationships[0].target`.
    public var field: String?
    public var message: String

    public init(severity: Severity, code: String, field: String?, message: String) {
        self.severity = severity
        self.code = code
        self.field = field
        self.message = message
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["severity": .string(severity.rawValue), "code": .string(code), "message": .string(message)]
        if let field { object["field"] = .string(field) }
        return .object(object)
    }
}

/// The result of validating a class definition or update without writing it.
///
/// Codes: ONT001 missing primary key (error); ONT003 several `*_id` properties and no explicit primary key
/// (warning); ONT010 class id not snake_case (warning); ONT020 event-like class name (warning); ONT030 property
/// name / ONT031 predicate not snake_case (warning); ONT040 unknown member ignored (warning); ONT050 unknown parent
/// class (error); ONT051 inheritance cycle (error); ONT052 inherited property redefined with another type (error);
/// ONT060 relationship to an unknown class (error); ONT061 inverse predicate already used by the target (warning);
/// ONT090 class already exists (warning; a create would conflict); ONT404 class to update does not exist (error);
/// ONT901 property removed, ONT902 property type changed, ONT903 `required` changed (warnings: high-risk changes);
/// ONT920 update removes the primary key (error). A definition that does not parse yields one error whose code is
/// the problem's (`invalid_request`, `invalid_pattern`, `reserved_name`, …).
public struct ValidationReport: Sendable, Hashable {
    public var errors: [ValidationIssue]
    public var warnings: [ValidationIssue]
    public var infos: [ValidationIssue]
    /// The class as it would be stored, when the definition parsed.
    public var ontologyClass: OntologyClass?

    public init(errors: [ValidationIssue] = [], warnings: [ValidationIssue] = [], infos: [ValidationIssue] = [],
                ontologyClass: OntologyClass? = nil) {
        self.errors = errors
        self.warnings = warnings
        self.infos = infos
        self.ontologyClass = ontologyClass
    }

    public var isValid: Bool { errors.isEmpty }

    /// 30 per error + 10 per warning + 2 per info, at most 100 (the original's scale).
    public var riskScore: Int { min(100, 30 * errors.count + 10 * warnings.count + 2 * infos.count) }

    /// low < 25 ≤ medium < 50 ≤ high < 75 ≤ critical.
    public var riskLevel: String {
        switch riskScore {
        case 75...: "critical"
        case 50...: "high"
        case 25...: "medium"
        default: "low"
        }
    }

    /// Whether the report contains one of the high-risk change warnings (ONT901–ONT903).
    public var hasHighRiskChanges: Bool { warnings.contains { ["ONT901", "ONT902", "ONT903"].contains($0.code) } }

    mutating func add(_ severity: ValidationIssue.Severity, _ code: String, _ field: String?, _ message: String) {
        let issue = ValidationIssue(severity: severity, code: code, field: field, message: message)
        switch severity {
        case .error: errors.append(issue)
        case .warning: warnings.append(issue)
        case .info: infos.append(issue)
        }
    }

    mutating func add(_ problem: Problem) {
        let code = problem.extensions["lint_code"]?.stringValue ?? problem.code
        add(.error, code, problem.field, problem.detail ?? problem.title)
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "valid": .bool(isValid),
            "errors": .array(errors.map(\.json)),
            "warnings": .array(warnings.map(\.json)),
            "infos": .array(infos.map(\.json)),
            "risk_score": .number(Double(riskScore)),
            "risk_level": .string(riskLevel),
            "high_risk_changes": .bool(hasHighRiskChanges),
        ]
        if let ontologyClass { object["class"] = ontologyClass.json }
        return .object(object)
    }
}

/// Validates a class-create body against the database's existing classes, without writing anything.
public func validateClassDefinition(_ json: JSONValue, existing schema: OntologySchema, fieldPrefix: String = "body") -> ValidationReport {
    var report = ValidationReport()
    let parsed: OntologyClass
    do throws(Problem) {
        parsed = try OntologyClass(json: json, fieldPrefix: fieldPrefix)
    } catch {
        report.add(error)
        return report
    }
    report.ontologyClass = parsed
    if schema[parsed.id] != nil {
        report.add(.warning, "ONT090", fieldPath(fieldPrefix, "id"), "the class '\(parsed.id)' already exists: a create would conflict")
    }
    lintUnknownMembers(json, fieldPrefix: fieldPrefix, into: &report)
    lintClass(parsed, in: schema.upserting(parsed), fieldPrefix: fieldPrefix, into: &report)
    return report
}

/// Validates a class-update body for `classId` against the database's classes, without writing anything: the
/// update's own checks, the resulting class's lint, and the high-risk changes (ONT901–ONT903).
public func validateClassUpdate(_ json: JSONValue, classId: String, existing schema: OntologySchema,
                                fieldPrefix: String = "body") -> ValidationReport {
    var report = ValidationReport()
    guard let existing = schema[classId] else {
        report.add(.error, "ONT404", "path.class_id", "the class '\(excerpt(classId))' does not exist")
        return report
    }
    let updated: OntologyClass
    do throws(Problem) {
        updated = try OntologyClassUpdate(json: json, fieldPrefix: fieldPrefix).applied(to: existing, fieldPrefix: fieldPrefix)
    } catch {
        report.add(error)
        return report
    }
    report.ontologyClass = updated
    lintUnknownMembers(json, fieldPrefix: fieldPrefix, into: &report)
    lintClass(updated, in: schema.upserting(updated), fieldPrefix: fieldPrefix, into: &report)
    for issue in classChangeRisks(from: existing, to: updated, fieldPrefix: fieldPrefix) { report.warnings.append(issue) }
    return report
}

/// The high-risk differences between two versions of a class: ONT901 property removed, ONT902 property type
/// changed (or its element type), ONT903 `required` changed. Protected branches gate these.
public func classChangeRisks(from old: OntologyClass, to new: OntologyClass, fieldPrefix: String = "body") -> [ValidationIssue] {
    var issues: [ValidationIssue] = []
    for property in old.properties {
        guard let index = new.properties.firstIndex(where: { $0.name == property.name }) else {
            issues.append(ValidationIssue(severity: .warning, code: "ONT901", field: fieldPath(fieldPrefix, "properties"),
                                          message: "the property '\(property.name)' is removed"))
            continue
        }
        let replacement = new.properties[index]
        let path = "\(fieldPrefix).properties[\(index)]"
        if replacement.type != property.type || replacement.items != property.items {
            issues.append(ValidationIssue(severity: .warning, code: "ONT902", field: path + ".type",
                                          message: "the type of '\(property.name)' changes from \(property.type.canonicalName) to \(replacement.type.canonicalName)"))
        }
        if replacement.required != property.required {
            issues.append(ValidationIssue(severity: .warning, code: "ONT903", field: path + ".required",
                                          message: "'\(property.name)' becomes \(replacement.required ? "required" : "optional")"))
        }
    }
    return issues
}

private let eventLikeSuffixes = ["Event", "Events", "Created", "Updated", "Deleted", "Changed", "Command"]

/// The linter's checks of one parsed class in the schema it would join.
private func lintClass(_ ontologyClass: OntologyClass, in schema: OntologySchema, fieldPrefix: String, into report: inout ValidationReport) {
    let id = ontologyClass.id
    if !Names.isSnakeCase(id) {
        report.add(.warning, "ONT010", fieldPath(fieldPrefix, "id"), "the class id '\(id)' is not snake_case")
    }
    let lowered = id.lowercased()
    if eventLikeSuffixes.contains(where: { id.hasSuffix($0) || lowered.hasSuffix("_" + $0.lowercased()) }) {
        report.add(.warning, "ONT020", fieldPath(fieldPrefix, "id"),
                   "the class id '\(id)' looks like an event: model things, and let the event store keep their history")
    }
    for (index, property) in ontologyClass.properties.enumerated() where !Names.isSnakeCase(property.name) {
        report.add(.warning, "ONT030", "\(fieldPrefix).properties[\(index)].name", "the property name '\(property.name)' is not snake_case")
    }
    for (index, relationship) in ontologyClass.relationships.enumerated() where !Names.isSnakeCase(relationship.predicate) {
        report.add(.warning, "ONT031", "\(fieldPrefix).relationships[\(index)].predicate",
                   "the predicate '\(relationship.predicate)' is not snake_case")
    }

    // Inheritance.
    var inheritanceSound = true
    if let parent = ontologyClass.parentClass {
        let parentField = fieldPath(fieldPrefix, "parent_class")
        if schema.hasInheritanceCycle(from: id) {
            report.add(.error, "ONT051", parentField, "making '\(parent)' the parent of '\(id)' creates an inheritance cycle")
            inheritanceSound = false
        } else if let missing = schema.missingAncestor(of: id) {
            report.add(.error, "ONT050", parentField,
                       missing == parent ? "the parent class '\(parent)' does not exist" : "the ancestor class '\(missing)' does not exist")
            inheritanceSound = false
        }
    }
    if inheritanceSound, ontologyClass.parentClass != nil {
        let inherited = schema.properties(of: ontologyClass.parentClass!)
        for (index, property) in ontologyClass.properties.enumerated() {
            if let base = inherited.first(where: { $0.name == property.name }), base.type != property.type {
                report.add(.error, "ONT052", "\(fieldPrefix).properties[\(index)].type",
                           "'\(property.name)' is inherited as \(base.type.canonicalName) and cannot be redefined as \(property.type.canonicalName)")
            }
        }
        let inheritedPredicates = Set(schema.relationships(of: ontologyClass.parentClass!).map(\.predicate))
        for (index, property) in ontologyClass.properties.enumerated() where inheritedPredicates.contains(property.name) {
            report.add(.error, "ONT052", "\(fieldPrefix).properties[\(index)].name",
                       "'\(property.name)' is an inherited relationship and cannot be redefined as a property")
        }
    }

    // Primary key.
    let ownPrimaryKeyCandidates = ontologyClass.properties.filter {
        OntologyClass.isPrimaryKeyCandidateName($0.name) && $0.type.canBePrimaryKey
    }
    if !ontologyClass.abstract {
        if inheritanceSound, schema.primaryKey(of: id) == nil {
            report.add(OntologyClass.missingPrimaryKey(id, field: fieldPath(fieldPrefix, "properties")))
        } else if !ontologyClass.properties.contains(where: \.primaryKey), ownPrimaryKeyCandidates.count > 1,
                  let chosen = schema.primaryKey(of: id) {
            report.add(.warning, "ONT003", fieldPath(fieldPrefix, "properties"),
                       "several properties end in '_id' and none is marked primary_key; '\(chosen.name)' is used")
        }
    }

    // Relationships.
    for (index, relationship) in ontologyClass.relationships.enumerated() {
        let path = "\(fieldPrefix).relationships[\(index)]"
        guard schema[relationship.target] != nil else {
            report.add(.error, "ONT060", path + ".target", "the target class '\(relationship.target)' does not exist")
            continue
        }
        if let inverse = relationship.inversePredicate, relationship.target != id || inverse != relationship.predicate {
            let targetNames = schema.properties(of: relationship.target).map(\.name)
                + schema.relationships(of: relationship.target).map(\.predicate)
            if targetNames.contains(inverse) {
                report.add(.warning, "ONT061", path + ".inverse_predicate",
                           "the inverse predicate '\(inverse)' is already a member of '\(relationship.target)'")
            }
        }
    }
}

/// ONT040: members the parser ignores (likely typos).
private func lintUnknownMembers(_ json: JSONValue, fieldPrefix: String, into report: inout ValidationReport) {
    guard case .object(let members) = json else { return }
    for key in members.keys.sorted() where !OntologyClass.knownKeys.contains(key) {
        report.add(.warning, "ONT040", fieldPath(fieldPrefix, key), "the member '\(excerpt(key))' is not part of a class definition and is ignored")
    }
    if case .array(let properties)? = members["properties"] {
        for (index, property) in properties.enumerated() {
            guard case .object(let fields) = property else { continue }
            let known = Relationship.isLinkProperty(property)
                ? Property.knownKeys.union(Relationship.knownKeys).union(["isRelationship", "is_relationship"])
                : Property.knownKeys
            let path = "\(fieldPrefix).properties[\(index)]"
            for key in fields.keys.sorted() where !known.contains(key) {
                report.add(.warning, "ONT040", fieldPath(path, key), "the member '\(excerpt(key))' of a property is ignored")
            }
            if case .object(let constraints)? = fields["constraints"] {
                let knownConstraints = Set(PropertyConstraints.keySpellings.flatMap { $0 })
                for key in constraints.keys.sorted() where !knownConstraints.contains(key) {
                    report.add(.warning, "ONT040", fieldPath(fieldPath(path, "constraints"), key),
                               "the constraint '\(excerpt(key))' is not supported and is ignored")
                }
            }
        }
    }
    if case .array(let relationships)? = members["relationships"] {
        for (index, relationship) in relationships.enumerated() {
            guard case .object(let fields) = relationship else { continue }
            let path = "\(fieldPrefix).relationships[\(index)]"
            for key in fields.keys.sorted() where !Relationship.knownKeys.contains(key) {
                report.add(.warning, "ONT040", fieldPath(path, key), "the member '\(excerpt(key))' of a relationship is ignored")
            }
        }
    }
}
