import Drivers

/// Parameters of a statement assembled piece by piece: `bind` appends a value and returns its placeholder.
struct SQLParameters {
    private(set) var values: [PostgresValue] = []

    init(_ initial: [PostgresValue] = []) { values = initial }

    mutating func bind(_ value: PostgresValue) -> String {
        values.append(value)
        return "$\(values.count)"
    }
}
