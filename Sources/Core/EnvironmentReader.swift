/// Reads `SPICE_*` settings and validates them at start, so a bad value stops the process with a message
/// naming the variable instead of surfacing later as odd behaviour.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let variable: String
    public let message: String

    public init(variable: String, message: String) {
        self.variable = variable
        self.message = message
    }

    public var description: String { "invalid configuration: \(variable) \(message)" }
}

public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String]) { self.values = values }

    public func string(_ name: String, default fallback: String) -> String {
        guard let value = values[name], !value.isEmpty else { return fallback }
        return value
    }

    public func optionalString(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    public func int(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let raw = optionalString(name) else { return fallback }
        guard let value = Int(raw.trimmingSpaces()) else {
            throw ConfigurationError(variable: name, message: "must be an integer, got \"\(raw)\"")
        }
        guard range.contains(value) else {
            throw ConfigurationError(variable: name, message: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    /// A duration in seconds; fractions allowed ("0.5").
    public func seconds(_ name: String, default fallback: Double, range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        guard let raw = optionalString(name) else { return fallback }
        guard let value = Double(raw.trimmingSpaces()), value.isFinite else {
            throw ConfigurationError(variable: name, message: "must be a number of seconds, got \"\(raw)\"")
        }
        guard range.contains(value) else {
            throw ConfigurationError(variable: name, message: "must be between \(range.lowerBound) and \(range.upperBound) seconds, got \(value)")
        }
        return value
    }

    public func bool(_ name: String, default fallback: Bool) throws(ConfigurationError) -> Bool {
        guard let raw = optionalString(name) else { return fallback }
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError(variable: name, message: "must be on/off (or true/false, 1/0), got \"\(raw)\"")
        }
    }

    public func list(_ name: String) -> [String] {
        guard let raw = optionalString(name) else { return [] }
        return raw.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
