import Core

/// The graph-query route's filter syntax, read into graph filters: `{field: value}` is equality (the
/// original's form), `{field: [v1, v2]}` is membership, and `{field: {eq|in|gt|gte|lt|lte|contains: …}}`
/// combines operators. Fields are `_id` and what the graph stores of the class: its scalar properties and
/// its to-one relationships (a link "Class/id"). Anything else is a 400 naming the field.
public enum FieldConditions {
    public static let operators = ["eq", "in", "gt", "gte", "lt", "lte", "contains"]
    /// Values a single `in` may list.
    public static let maxValues = 1000

    /// The fields of `classId` a filter may name (inherited ones included), sorted.
    public static func filterableFields(of classId: String, in schema: OntologySchema) -> [String] {
        let properties = schema.properties(of: classId).filter { $0.type != .array && $0.type != .object }.map(\.name)
        let links = schema.relationships(of: classId).filter { !$0.cardinality.isToMany }.map(\.predicate)
        return ["_id"] + (properties + links).sorted()
    }

    public static func filters(_ conditions: [String: JSONValue], classId: String, schema: OntologySchema,
                               field prefix: String) throws(Problem) -> [GraphFilter] {
        guard !conditions.isEmpty else { return [] }
        let allowed = Set(filterableFields(of: classId, in: schema))
        var filters: [GraphFilter] = []
        for name in conditions.keys.sorted() {
            let field = "\(prefix).\(name)"
            guard allowed.contains(name) else {
                throw .badRequest("\(classId) has no filterable field '\(name)' (filterable: \(allowed.sorted().joined(separator: ", ")))",
                                  field: field)
            }
            filters += try conditionsOn(name, conditions[name]!, field: field)
        }
        return filters
    }

    private static func conditionsOn(_ name: String, _ value: JSONValue, field: String) throws(Problem) -> [GraphFilter] {
        switch value {
        case .string, .number, .bool:
            return [.equals(field: name, value: value)]
        case .array(let values):
            return [try membership(name, values, field: field)]
        case .object(let operations):
            guard !operations.isEmpty else { throw .badRequest("an empty condition", field: field) }
            var filters: [GraphFilter] = []
            var range: (lower: JSONValue?, lowerInclusive: Bool, upper: JSONValue?, upperInclusive: Bool) = (nil, false, nil, false)
            for operation in operations.keys.sorted() {
                let operand = operations[operation]!, at = "\(field).\(operation)"
                switch operation {
                case "eq": filters.append(.equals(field: name, value: try scalar(operand, field: at)))
                case "in": filters.append(try membership(name, operand.arrayValue ?? [], field: at, given: operand))
                case "gt": range.lower = try bound(operand, field: at); range.lowerInclusive = false
                case "gte": range.lower = try bound(operand, field: at); range.lowerInclusive = true
                case "lt": range.upper = try bound(operand, field: at); range.upperInclusive = false
                case "lte": range.upper = try bound(operand, field: at); range.upperInclusive = true
                case "contains":
                    guard let text = operand.stringValue else { throw .badRequest("contains takes a string", field: at) }
                    filters.append(.contains(field: name, text: text))
                default:
                    throw .badRequest("unknown operator '\(operation)' (operators: \(operators.joined(separator: ", ")))", field: at)
                }
            }
            if operations["gt"] != nil && operations["gte"] != nil || operations["lt"] != nil && operations["lte"] != nil {
                throw .badRequest("give one lower and one upper bound at most", field: field)
            }
            if range.lower != nil || range.upper != nil {
                filters.append(.range(field: name, lower: range.lower, lowerInclusive: range.lowerInclusive,
                                      upper: range.upper, upperInclusive: range.upperInclusive))
            }
            return filters
        case .null:
            throw .badRequest("null matches nothing: the graph does not store absent fields", field: field)
        }
    }

    private static func membership(_ name: String, _ values: [JSONValue], field: String, given: JSONValue? = nil) throws(Problem) -> GraphFilter {
        if let given, given.arrayValue == nil { throw .badRequest("in takes an array", field: field) }
        guard !values.isEmpty, values.count <= maxValues else {
            throw .badRequest("in takes 1 to \(maxValues) values", field: field)
        }
        var checked: [JSONValue] = []
        for (index, value) in values.enumerated() { checked.append(try scalar(value, field: "\(field)[\(index)]")) }
        return .isIn(field: name, values: checked)
    }

    private static func scalar(_ value: JSONValue, field: String) throws(Problem) -> JSONValue {
        switch value {
        case .string, .number, .bool: return value
        default: throw .badRequest("must be a string, number or boolean", field: field)
        }
    }

    private static func bound(_ value: JSONValue, field: String) throws(Problem) -> JSONValue {
        switch value {
        case .string, .number: return value
        default: throw .badRequest("a bound is a number or a string (dates compare as text)", field: field)
        }
    }
}
