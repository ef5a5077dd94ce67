import Core
import GraphQL
import OrderedCollections

/// Conversions between the project's `JSONValue` and GraphQLSwift's `Map`, and the check that a stored
/// value fits its field's GraphQL kind. Resolvers check values themselves (and throw with the field's path)
/// so the scalars' serializers never see a value they would refuse without a path.
enum GraphQLValues {
    static func map(_ value: JSONValue) -> Map {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .number(let number):
            if number.rounded() == number, abs(number) <= 9_007_199_254_740_991 { return .int(Int(number)) }
            return .double(number)
        case .string(let text): return .string(text)
        case .array(let items): return .array(items.map(map))
        case .object(let members):
            var ordered = OrderedDictionary<String, Map>(minimumCapacity: members.count)
            for key in members.keys.sorted() { ordered[key] = map(members[key]!) }
            return .dictionary(ordered)
        }
    }

    /// nil for `undefined` (an absent input field).
    static func json(_ value: Map) -> JSONValue? {
        switch value {
        case .undefined: return nil
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .number(let number): return .number(number.doubleValue)
        case .string(let text): return .string(text)
        case .array(let items): return .array(items.map { json($0) ?? .null })
        case .dictionary(let members):
            var object: [String: JSONValue] = [:]
            for (key, member) in members { if let converted = json(member) { object[key] = converted } }
            return .object(object)
        }
    }

    /// A stored value as the field's kind, or why it is not one (bad data must not pass as another type).
    static func output(_ value: JSONValue, _ kind: GraphQLModel.ScalarKind) -> Result<Map, ValueMismatch> {
        switch (kind, value) {
        case (_, .null): return .success(.null)
        case (.string, .string), (.date, .string), (.dateTime, .string), (.time, .string), (.boolean, .bool),
             (.decimal, .number), (.decimal, .string), (.money, .string), (.money, .object), (.json, _):
            return .success(map(value))
        case (.float, .number(let number)):
            return .success(.double(number))
        case (.int, .number(let number)) where number.rounded() == number && abs(number) <= 2_147_483_647:
            return .success(.int(Int(number)))
        case (.long, .number(let number)) where number.rounded() == number && abs(number) <= 9_007_199_254_740_991:
            return .success(.int(Int(number)))
        default:
            return .failure(ValueMismatch(kind: kind, value: value))
        }
    }

    struct ValueMismatch: Error {
        let kind: GraphQLModel.ScalarKind
        let value: JSONValue
        var notAList = false
        var message: String {
            notAList ? "the stored value \(JSONWriter.string(value).prefix(80)) is not a list"
                : "the stored value \(JSONWriter.string(value).prefix(80)) is not a \(kind.rawValue)"
        }
    }
}
