import Core

/// The GraphQL view of one ontology, before any GraphQLSwift type exists: which class becomes which type,
/// which field reads which property or walks which relationship, and which fields filters and orderings may
/// name. The schema builder turns it into types; the resolvers and the plan recorder read it to map
/// GraphQL names back to the ontology's.
struct GraphQLModel: Sendable {
    /// The value kinds a property can have in GraphQL.
    enum ScalarKind: String, Sendable, CaseIterable {
        case string, int, long, float, decimal, boolean, date, dateTime, time, money, json

        /// Kinds whose values the graph keeps as plain strings, numbers or booleans, so it can filter and
        /// order by them. Money (possibly an object) and JSON are left to the documents.
        var isFilterable: Bool { self != .money && self != .json }
    }

    struct PropertyField: Sendable {
        let name: String
        let property: Property
        let kind: ScalarKind
        let isList: Bool
        /// Top-level scalar: the graph stores it, so filters and orderings may use it.
        var isFilterable: Bool { !isList && kind.isFilterable }
    }

    struct RelationshipField: Sendable {
        let name: String
        let predicate: String
        let direction: HopDirection
        /// The class of the nodes reached (exactly this class: see the README on inheritance).
        let targetClass: String
        let isList: Bool
        let description: String
    }

    enum Field: Sendable {
        case property(PropertyField)
        case relationship(RelationshipField)

        var name: String {
            switch self {
            case .property(let field): field.name
            case .relationship(let field): field.name
            }
        }
    }

    struct ClassType: Sendable {
        let classId: String
        let typeName: String
        let rootFieldName: String
        let filterName: String
        let orderFieldName: String
        let orderByName: String
        let description: String
        let fields: [Field]
        /// Filter input field name → the stored field (graph field name).
        let filterFields: [(name: String, field: PropertyField)]
        /// Order enum value → the stored field (`_id` for the instance id).
        let orderValues: [(name: String, storedField: String)]

        func field(named name: String) -> Field? { fields.first { $0.name == name } }
    }

    /// Names the schema itself uses; no class or generated name may take them.
    static let fixedTypeNames: Set<String> = Set([
        "Query", "Node", "IndexStatus", "DataStatus", "SortDirection", "String", "Int", "Float", "Boolean", "ID",
        "Long", "Decimal", "DateTime", "Date", "Time", "Money", "JSON",
    ]).union(GraphQLModel.operatorInputNames)

    static let operatorInputNames: Set<String> = Set(ScalarKind.allCases.filter(\.isFilterable).map(operatorInputName)).union(["IDFilter"])

    static func operatorInputName(_ kind: ScalarKind) -> String {
        switch kind {
        case .string: "StringFilter"
        case .int: "IntFilter"
        case .long: "LongFilter"
        case .float: "FloatFilter"
        case .decimal: "DecimalFilter"
        case .boolean: "BooleanFilter"
        case .date: "DateFilter"
        case .dateTime: "DateTimeFilter"
        case .time: "TimeFilter"
        case .money: "MoneyFilter"
        case .json: "JSONFilter"
        }
    }

    static let metaFieldNames: Set<String> = ["_id", "_class", "_version", "_dataStatus", "_indexStatus"]
    static let nodeFieldName = "node"

    let classes: [ClassType]
    private let byClassId: [String: Int]
    private let byTypeName: [String: Int]
    private let byRootField: [String: Int]

    subscript(classId classId: String) -> ClassType? { byClassId[classId].map { classes[$0] } }
    subscript(typeName typeName: String) -> ClassType? { byTypeName[typeName].map { classes[$0] } }
    subscript(rootField name: String) -> ClassType? { byRootField[name].map { classes[$0] } }

    init(schema: OntologySchema) {
        let classIds = schema.classes.keys.sorted()
        var typeNames = NameRegistry(reserved: Self.fixedTypeNames)
        var rootNames = NameRegistry(reserved: [Self.nodeFieldName])
        var names: [String: String] = [:]
        for id in classIds { names[id] = typeNames.claim(GraphQLNames.sanitize(id)) }

        // Every relationship, inherited ones included, as seen from its source class: the forward fields of
        // the source and the reverse fields of the target.
        var incoming: [String: [(source: String, relationship: Relationship)]] = [:]
        for id in classIds {
            for relationship in schema.relationships(of: id) where names[relationship.target] != nil {
                incoming[relationship.target, default: []].append((id, relationship))
            }
        }

        var built: [ClassType] = []
        for id in classIds {
            let typeName = names[id]!
            let definition = schema[id]!
            var fieldNames = NameRegistry(reserved: Self.metaFieldNames)
            var fields: [Field] = []
            for property in schema.properties(of: id) {
                let (kind, isList) = Self.shape(of: property)
                fields.append(.property(PropertyField(name: fieldNames.claim(GraphQLNames.sanitize(property.name)), property: property,
                                                      kind: kind, isList: isList)))
            }
            for relationship in schema.relationships(of: id) where names[relationship.target] != nil {
                fields.append(.relationship(RelationshipField(
                    name: fieldNames.claim(GraphQLNames.sanitize(relationship.predicate)), predicate: relationship.predicate,
                    direction: .forward, targetClass: relationship.target, isList: relationship.cardinality.isToMany,
                    description: relationship.label.resolve())))
            }
            for (source, relationship) in incoming[id] ?? [] {
                let inverse = relationship.inversePredicate.map(GraphQLNames.sanitize)
                let name = inverse.flatMap { fieldNames.isTaken($0) ? nil : fieldNames.claim($0) }
                    ?? fieldNames.claim("_reverse_\(GraphQLNames.sanitize(relationship.predicate))_from_\(names[source]!)")
                fields.append(.relationship(RelationshipField(
                    name: name, predicate: relationship.predicate, direction: .reverse, targetClass: source, isList: true,
                    description: "The \(source) instances whose '\(relationship.predicate)' links to this one (reverse of \(source).\(relationship.predicate)).")))
            }

            var filterNames = NameRegistry(reserved: ["_id", "and", "or", "not"])
            var orderNames = NameRegistry(reserved: ["true", "false", "null"])
            var orderValues = [(name: orderNames.claim("_id"), storedField: "_id")]
            var filterFields: [(name: String, field: PropertyField)] = []
            for case .property(let field) in fields where field.isFilterable {
                filterFields.append((filterNames.claim(field.name), field))
                orderValues.append((orderNames.claim(field.name), field.property.name))
            }
            built.append(ClassType(classId: id, typeName: typeName, rootFieldName: rootNames.claim(typeName),
                                   filterName: "", orderFieldName: "", orderByName: "",
                                   description: definition.description?.resolve() ?? definition.label.resolve(),
                                   fields: fields, filterFields: filterFields, orderValues: orderValues))
        }
        // Generated input names come after every class name, so a class never loses its own name to them.
        classes = built.map { type in
            ClassType(classId: type.classId, typeName: type.typeName, rootFieldName: type.rootFieldName,
                      filterName: typeNames.claim(type.typeName + "Filter"), orderFieldName: typeNames.claim(type.typeName + "OrderField"),
                      orderByName: typeNames.claim(type.typeName + "OrderBy"), description: type.description, fields: type.fields,
                      filterFields: type.filterFields, orderValues: type.orderValues)
        }
        byClassId = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1.classId, $0) })
        byTypeName = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1.typeName, $0) })
        byRootField = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1.rootFieldName, $0) })
    }

    /// A property's GraphQL value kind, and whether it is a list.
    static func shape(of property: Property) -> (ScalarKind, Bool) {
        if property.type == .array {
            guard let items = property.items, items != .array else { return (.json, true) }
            return (kind(of: items, enumValues: property.enumValues), true)
        }
        return (kind(of: property.type, enumValues: property.enumValues), false)
    }

    private static func kind(of type: PropertyType, enumValues: [JSONValue]?) -> ScalarKind {
        switch type {
        case .string, .anyURI, .email, .url, .uuid, .phone, .ip: .string
        case .int: .int
        case .integer, .long: .long
        case .double, .float: .float
        case .decimal: .decimal
        case .boolean: .boolean
        case .date: .date
        case .dateTime: .dateTime
        case .time: .time
        case .money: .money
        // Enum values may be strings, numbers or booleans: only all-string enums read as String.
        case .enumeration: (enumValues ?? []).allSatisfy { $0.stringValue != nil } ? .string : .json
        case .array, .object, .coordinate, .address, .image, .file: .json
        }
    }
}
