import Core
import GraphQL
import OrderedCollections

/// Turns a field's coerced arguments (`filter`, `orderBy`, `limit`, `offset`) into the graph port's
/// filters and orderings. GraphQLSwift has already checked their shapes and types; what is left is what
/// the schema cannot say: the limit's range. A `null` operator value adds no condition.
struct QueryArguments {
    let type: GraphQLModel.ClassType
    let limits: GraphQLLimits

    struct Invalid: Error {
        let message: String
        let argument: String
    }

    func limit(_ args: Map) throws(Invalid) -> Int {
        guard case .number(let value) = args["limit"] else { return limits.defaultLimit }
        let limit = value.doubleValue
        guard limit.rounded() == limit, limit >= 0, limit <= Double(limits.maxLimit) else {
            throw Invalid(message: "limit must be between 0 and \(limits.maxLimit) (SPICE_GRAPHQL_MAX_LIMIT), got \(value)", argument: "limit")
        }
        return Int(limit)
    }

    func offset(_ args: Map) throws(Invalid) -> Int {
        guard case .number(let value) = args["offset"] else { return 0 }
        guard value.doubleValue >= 0 else { throw Invalid(message: "offset must not be negative, got \(value)", argument: "offset") }
        return value.intValue
    }

    func filters(_ args: Map) throws(Invalid) -> [GraphFilter] {
        guard let filter = args["filter"].dictionary else { return [] }
        return try conditions(filter)
    }

    func order(_ args: Map) -> [GraphOrder] {
        (args["orderBy"].array ?? []).compactMap { entry in
            // The enum's internal value is the stored field's name.
            guard let field = entry["field"].string else { return nil }
            return GraphOrder(field: field, descending: entry["direction"].string == "DESC")
        }
    }

    private func conditions(_ filter: OrderedDictionaryOfMaps) throws(Invalid) -> [GraphFilter] {
        var result: [GraphFilter] = []
        for (key, value) in filter where !value.isNull && !value.isUndefined {
            switch key {
            case "and":
                var each: [GraphFilter] = []
                for item in value.array ?? [] { each += try conditions(item.dictionary ?? [:]) }
                result.append(.allOf(each))
            case "or":
                var any: [GraphFilter] = []
                for item in value.array ?? [] { any.append(all(try conditions(item.dictionary ?? [:]))) }
                result.append(.anyOf(any))
            case "not":
                result.append(.not(all(try conditions(value.dictionary ?? [:]))))
            case "_id":
                result += operators(value.dictionary ?? [:], field: "_id")
            default:
                guard let field = type.filterFields.first(where: { $0.name == key }) else {
                    throw Invalid(message: "\(type.filterName) has no field \(key)", argument: "filter")
                }
                result += operators(value.dictionary ?? [:], field: field.field.property.name)
            }
        }
        return result
    }

    private func all(_ conditions: [GraphFilter]) -> GraphFilter {
        conditions.count == 1 ? conditions[0] : .allOf(conditions)
    }

    /// Each operator given is one condition (they AND together).
    private func operators(_ operators: OrderedDictionaryOfMaps, field: String) -> [GraphFilter] {
        var result: [GraphFilter] = []
        func value(_ name: String) -> JSONValue? {
            guard let map = operators[name], let json = GraphQLValues.json(map), json != .null else { return nil }
            return json
        }
        if let equal = value("eq") { result.append(.equals(field: field, value: equal)) }
        if case .array(let values)? = value("in") { result.append(.isIn(field: field, values: values)) }
        if case .string(let text)? = value("contains") { result.append(.contains(field: field, text: text)) }
        // Each bound is its own condition; together they AND into the range.
        for (name, inclusive) in [("gt", false), ("gte", true)] {
            if let bound = value(name) { result.append(.range(field: field, lower: bound, lowerInclusive: inclusive, upper: nil, upperInclusive: false)) }
        }
        for (name, inclusive) in [("lt", false), ("lte", true)] {
            if let bound = value(name) { result.append(.range(field: field, lower: nil, lowerInclusive: false, upper: bound, upperInclusive: inclusive)) }
        }
        return result
    }
}

typealias OrderedDictionaryOfMaps = OrderedDictionary<String, Map>
