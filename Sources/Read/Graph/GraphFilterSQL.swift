import Core
import Drivers

/// Filters as SQL over a `graph_nodes` row (findNodes' rows, or a hop's reached nodes under an alias) with
/// every field name and value a parameter: the text depends only on the filters' kinds, so each shape is
/// prepared once per connection.
enum GraphFilterSQL {
    /// The filter that names the instance id rather than a stored field.
    static let idField = "_id"

    /// The row's two columns a filter reads, qualified by `table` (`reached` in a hop; nil in findNodes).
    struct Columns {
        let fields: String
        let id: String

        init(table: String? = nil) {
            let qualifier = table.map { $0 + "." } ?? ""
            fields = qualifier + "fields"
            id = qualifier + "instance_id"
        }
    }

    static func condition(_ filter: GraphFilter, _ parameters: inout SQLParameters, columns: Columns = Columns()) -> String {
        let (fields, id) = (columns.fields, columns.id)
        switch filter {
        case .not(let inner):
            return "NOT coalesce((\(condition(inner, &parameters, columns: columns))), false)"
        case .allOf(let conditions):
            guard !conditions.isEmpty else { return "true" }
            return "(" + conditions.map { condition($0, &parameters, columns: columns) }.joined(separator: " AND ") + ")"
        case .anyOf(let conditions):
            guard !conditions.isEmpty else { return "false" }
            return "(" + conditions.map { condition($0, &parameters, columns: columns) }.joined(separator: " OR ") + ")"
        case .contains(let field, let text) where field == idField:
            return "strpos(\(id), \(parameters.bind(.text(text)))::text) > 0"
        case .contains(let field, let text):
            let key = parameters.bind(.text(field))
            return "coalesce(strpos(CASE WHEN jsonb_typeof(\(fields) -> \(key)::text) = 'string' THEN \(fields) ->> \(key)::text END, "
                + "\(parameters.bind(.text(text)))::text) > 0, false)"
        case .equals(let field, let value) where field == idField:
            guard let text = idText(value) else { return "false" }
            return "\(id) = \(parameters.bind(.text(text)))"
        case .equals(let field, let value):
            // Containment finds candidates through the GIN index; the comparison makes it exact (containment
            // would also accept an array holding the value).
            let probe = parameters.bind(.text(JSONWriter.string(.object([field: value]))))
            let key = parameters.bind(.text(field))
            return "\(fields) @> \(probe)::jsonb AND \(fields) -> \(key)::text = \(parameters.bind(.text(JSONWriter.string(value))))::jsonb"
        case .isIn(let field, let values) where field == idField:
            let ids = parameters.bind(PostgresArrayLiteral.text(values.compactMap(idText)))
            return "\(id) = ANY(\(ids)::text[])"
        case .isIn(let field, let values):
            let probes = parameters.bind(PostgresArrayLiteral.text(values.map { JSONWriter.string(.object([field: $0])) }))
            let key = parameters.bind(.text(field))
            let candidates = parameters.bind(PostgresArrayLiteral.text(values.map { JSONWriter.string($0) }))
            return "\(fields) @> ANY(\(probes)::jsonb[]) AND \(fields) -> \(key)::text = ANY(\(candidates)::jsonb[])"
        case .range(let field, let lower, let lowerInclusive, let upper, let upperInclusive):
            var bounds: [String] = []
            if let lower {
                bounds.append(bound(field, lower, lowerInclusive ? ">=" : ">", &parameters, columns))
            }
            if let upper {
                bounds.append(bound(field, upper, upperInclusive ? "<=" : "<", &parameters, columns))
            }
            return bounds.isEmpty ? "true" : "(" + bounds.joined(separator: " AND ") + ")"
        }
    }

    /// The sort key of an ordering: the instance id for `_id`, else the stored field's jsonb value.
    static func orderKey(_ order: GraphOrder, _ parameters: inout SQLParameters) -> String {
        let direction = order.descending ? "DESC" : "ASC"
        guard order.field != idField else { return "instance_id \(direction)" }
        return "fields -> \(parameters.bind(.text(order.field)))::text \(direction) NULLS LAST"
    }

    /// Numbers compare as numbers, strings (dates included) as text in byte order; a value of another kind
    /// than the bound's never matches, and neither does a bound that is neither a number nor a string.
    private static func bound(_ field: String, _ limit: JSONValue, _ comparison: String,
                              _ parameters: inout SQLParameters, _ columns: Columns) -> String {
        let fields = columns.fields
        if field == idField {
            guard let id = idText(limit) else { return "false" }
            return "\(columns.id) \(comparison) \(parameters.bind(.text(id)))::text"
        }
        switch limit {
        case .number(let number) where number.isFinite:
            let key = parameters.bind(.text(field))
            let value = parameters.bind(.text(JSONWriter.string(limit)))
            return "(CASE WHEN jsonb_typeof(\(fields) -> \(key)::text) = 'number' THEN (\(fields) -> \(key)::text)::numeric END) "
                + "\(comparison) \(value)::numeric"
        case .string(let text):
            let key = parameters.bind(.text(field))
            let value = parameters.bind(.text(text))
            return "(CASE WHEN jsonb_typeof(\(fields) -> \(key)::text) = 'string' THEN \(fields) ->> \(key)::text END) COLLATE \"C\" "
                + "\(comparison) \(value)::text"
        default:
            return "false"
        }
    }

    /// An instance id as a filter value: a string, or a whole number written as digits.
    private static func idText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let id): id
        case .number: value.intValue.map(String.init)
        default: nil
        }
    }
}
