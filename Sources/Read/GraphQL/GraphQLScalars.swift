import Core
import GraphQL

/// The custom scalars ontology types need beyond GraphQL's five. Inputs are checked with the same
/// `ValueValidator` rules the write path applies, so a filter value is refused exactly when the value could
/// never have been stored.
enum GraphQLScalars {
    static let long = scalar("Long", """
        A whole number within ±(2^53 − 1) (ontology types integer and long; GraphQL's Int is only 32 bits).
        """, check: .long)
    static let decimal = scalar("Decimal", "A decimal number, as a JSON number or a numeric string (as stored).", check: .decimal)
    static let dateTime = scalar("DateTime", "An RFC 3339 date-time with an offset, e.g. 2024-05-01T12:30:00Z.", check: .dateTime,
                                 specifiedBy: "https://www.rfc-editor.org/rfc/rfc3339")
    static let date = scalar("Date", "A calendar date YYYY-MM-DD.", check: .date)
    static let time = scalar("Time", "A time of day HH:MM:SS.", check: .time)
    static let money = scalar("Money", #"Money as stored: "12.50 USD" or {"amount": 12.5, "currency": "USD"}."#, check: .money)
    static let json = scalar("JSON", "Any JSON value (objects, arrays, and values of types GraphQL has no scalar for).", check: nil)

    static func type(for kind: GraphQLModel.ScalarKind) -> GraphQLScalarType {
        switch kind {
        case .string: GraphQLString
        case .int: GraphQLInt
        case .long: long
        case .float: GraphQLFloat
        case .decimal: decimal
        case .boolean: GraphQLBoolean
        case .date: date
        case .dateTime: dateTime
        case .time: time
        case .money: money
        case .json: json
        }
    }

    static var custom: [GraphQLScalarType] { [long, decimal, dateTime, date, time, money, json] }

    private enum Check {
        case long, decimal, dateTime, date, time, money

        var propertyType: PropertyType {
            switch self {
            case .long: .long
            case .decimal: .decimal
            case .dateTime: .dateTime
            case .date: .date
            case .time: .time
            case .money: .money
            }
        }
    }

    private static func scalar(_ name: String, _ description: String, check: Check?, specifiedBy: String? = nil) -> GraphQLScalarType {
        let parse: @Sendable (Map) throws -> Map = { value in
            guard let check else { return value }
            guard let json = GraphQLValues.json(value), ValueValidator.typeError(json, type: check.propertyType) == nil else {
                throw GraphQLError(message: "\(name) cannot represent \(value): \(ValueValidator.typeError(GraphQLValues.json(value) ?? .null, type: check.propertyType) ?? "not a value")")
            }
            return GraphQLValues.map(json)
        }
        // The initializer only rejects invalid names; these are fixed and valid.
        return try! GraphQLScalarType(
            name: name, description: description, specifiedByURL: specifiedBy,
            serialize: { value in
                if let map = value as? Map { return map }
                return try GraphQL.map(from: value)
            },
            parseValue: parse,
            parseLiteral: { literal in try parse(try valueFromASTUntyped(valueAST: literal)) })
    }
}
