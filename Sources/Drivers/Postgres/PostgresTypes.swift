// Public value types of the PostgreSQL driver: configuration, parameters, rows, results, errors.
// Nothing here touches libpq; the C side lives in PostgresIOLoop.swift and PostgresConnection.swift.

public struct PostgresConfiguration: Sendable {
    /// A libpq connection string: `postgresql://user@host:port/db?...` or `host=... port=... dbname=...`.
    public var url: String
    /// Connections the pool may open (the LISTEN connection is extra).
    public var poolSize: Int
    /// Bound on one connection attempt (TCP connect, TLS, authentication, startup).
    public var connectTimeoutSeconds: Int
    /// Server settings for every session (`-c name=value` in libpq's `options`); `options` in the URL wins.
    public var sessionSettings: [String: String]

    public init(url: String, poolSize: Int = 8, connectTimeoutSeconds: Int = 5, sessionSettings: [String: String] = [:]) {
        self.url = url
        self.poolSize = poolSize
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.sessionSettings = sessionSettings
    }

    /// libpq's `options` value for `sessionSettings`.
    var optionsKeyword: String {
        sessionSettings.sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

/// A query parameter. Sent in text format with type OID 0, so the SQL decides the type
/// (`$1::jsonb`, `$2::bigint`, or the column it is compared with / inserted into).
public enum PostgresValue: Sendable, Equatable {
    case null
    case text(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// Sent as bytea hex text (`\x0102...`).
    case bytes([UInt8])
}

extension PostgresValue {
    /// The text form sent to the server (without terminator), or nil for SQL NULL.
    var textBytes: [UInt8]? {
        switch self {
        case .null:
            return nil
        case .text(let string):
            return Array(string.utf8)
        case .int(let value):
            return Array(String(value).utf8)
        case .double(let value):
            if value.isNaN { return Array("NaN".utf8) }
            if value == .infinity { return Array("Infinity".utf8) }
            if value == -.infinity { return Array("-Infinity".utf8) }
            return Array("\(value)".utf8)
        case .bool(let value):
            return Array((value ? "true" : "false").utf8)
        case .bytes(let bytes):
            let digits: [UInt8] = Array("0123456789abcdef".utf8)
            var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
            out.reserveCapacity(2 + bytes.count * 2)
            for byte in bytes {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
            }
            return out
        }
    }
}

/// Column names of one result, shared by all its rows.
final class PostgresColumnLayout: Sendable {
    let names: [String]
    /// Only for wide results: a row of a dozen columns finds a name faster by comparing (column names are
    /// short, and short strings compare as two words) than by hashing it.
    private let index: [String: Int]?

    init(names: [String]) {
        self.names = names
        guard names.count > 16 else {
            index = nil
            return
        }
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated() where index[name] == nil {
            index[name] = position
        }
        self.index = index
    }

    /// The first column with this name.
    func position(of name: String) -> Int? {
        if let index { return index[name] }
        return names.firstIndex(of: name)
    }
}

/// One row, with every value in PostgreSQL's text format. Accessors return nil for NULL, for a
/// column the row does not have, and for a value that does not parse as the requested type.
public struct PostgresRow: Sendable {
    let layout: PostgresColumnLayout
    let values: [String?]

    /// For tests and fakes: a row from column names and text values (nil = NULL).
    public init(columns: [String], values: [String?]) {
        precondition(columns.count == values.count, "PostgresRow: \(columns.count) columns but \(values.count) values")
        self.layout = PostgresColumnLayout(names: columns)
        self.values = values
    }

    init(layout: PostgresColumnLayout, values: [String?]) {
        self.layout = layout
        self.values = values
    }

    public var columns: [String] { layout.names }

    /// The raw text value, or nil for NULL / a missing column.
    public func string(_ column: String) -> String? {
        guard let position = layout.position(of: column) else { return nil }
        return values[position]
    }

    /// int2/int4/int8, or numeric text holding a whole number.
    public func int(_ column: String) -> Int? {
        guard let text = string(column) else { return nil }
        if let value = Int(text) { return value }
        if let value = Double(text), value.rounded() == value, abs(value) < 9.2e18 { return Int(value) }
        return nil
    }

    /// float4/float8/numeric (also NaN, Infinity, -Infinity).
    public func double(_ column: String) -> Double? {
        guard let text = string(column) else { return nil }
        return Double(text)
    }

    /// PostgreSQL's `t` / `f` (also accepts `true` / `false`).
    public func bool(_ column: String) -> Bool? {
        switch string(column) {
        case "t", "true": return true
        case "f", "false": return false
        default: return nil
        }
    }

    /// bytea in hex (`\x...`, the default output) or escape format.
    public func bytes(_ column: String) -> [UInt8]? {
        guard let text = string(column) else { return nil }
        return PostgresRow.decodeBytea(text)
    }

    public func isNull(_ column: String) -> Bool {
        guard let position = layout.position(of: column) else { return true }
        return values[position] == nil
    }

    static func decodeBytea(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        if utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x") {
            guard utf8.count % 2 == 0 else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity((utf8.count - 2) / 2)
            var position = 2
            while position < utf8.count {
                guard let high = hexValue(utf8[position]), let low = hexValue(utf8[position + 1]) else { return nil }
                out.append(high << 4 | low)
                position += 2
            }
            return out
        }
        // Escape format: `\\` is a backslash, `\ooo` an octal byte, anything else literal.
        var out: [UInt8] = []
        var position = 0
        while position < utf8.count {
            let byte = utf8[position]
            if byte != UInt8(ascii: "\\") {
                out.append(byte)
                position += 1
            } else if position + 1 < utf8.count, utf8[position + 1] == UInt8(ascii: "\\") {
                out.append(byte)
                position += 2
            } else if position + 3 < utf8.count {
                var value: UInt8 = 0
                for offset in 1...3 {
                    let digit = utf8[position + offset]
                    guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
                    value = value &* 8 &+ (digit - UInt8(ascii: "0"))
                }
                out.append(value)
                position += 4
            } else {
                return nil
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

public struct PostgresResult: Sendable {
    public let rows: [PostgresRow]
    /// Rows inserted/updated/deleted (or returned, for SELECT), from the command tag.
    public let affectedRows: Int
    /// The command tag of the (last) statement, e.g. `INSERT 0 1`, `COMMIT`, `ROLLBACK`.
    public let commandTag: String

    public init(rows: [PostgresRow], affectedRows: Int, commandTag: String = "") {
        self.rows = rows
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }
}

public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// The five-character SQLSTATE, e.g. "23505" unique_violation, "40001" serialization_failure.
    public let sqlState: String?
    /// The server's primary message (or libpq's, for connection failures).
    public let message: String
    /// The server was unreachable or the connection was lost: the caller may retry (the API answers 503).
    public let isConnectionFailure: Bool
    /// The server's DETAIL line, if any.
    public let detail: String?
    /// The constraint a violation concerns, if any (e.g. the unique index's name).
    public let constraint: String?

    public init(sqlState: String? = nil, message: String, isConnectionFailure: Bool = false,
                detail: String? = nil, constraint: String? = nil) {
        self.sqlState = sqlState
        self.message = message
        self.isConnectionFailure = isConnectionFailure
        self.detail = detail
        self.constraint = constraint
    }

    public var description: String {
        var text = isConnectionFailure ? "PostgreSQL connection failure" : "PostgreSQL error"
        if let sqlState { text += " \(sqlState)" }
        text += ": \(message)"
        if let detail { text += " (\(detail))" }
        return text
    }

    public static let uniqueViolation = "23505"
    public static let serializationFailure = "40001"
    public static let deadlockDetected = "40P01"
    public static let queryCanceled = "57014"

    static let shutDown = PostgresError(message: "the PostgreSQL client has been shut down", isConnectionFailure: true)
}

public protocol PostgresQuerying: Sendable {
    func query(_ sql: String, _ parameters: [PostgresValue]) async throws(PostgresError) -> PostgresResult
}

extension PostgresQuerying {
    public func query(_ sql: String) async throws(PostgresError) -> PostgresResult {
        try await query(sql, [])
    }
}

public enum PostgresNotification: Sendable, Equatable {
    case message(channel: String, payload: String)
    /// The LISTEN connection was lost and re-established: notifications may have been missed.
    case reconnected
}

/// A snapshot of the pool, for metrics and tests.
public struct PostgresPoolStatistics: Sendable, Equatable {
    /// Pool connections established (idle or in use).
    public let open: Int
    /// Established pool connections with nothing to do.
    public let idle: Int
    /// Pool connections being established.
    public let connecting: Int
    /// Queries and `withConnection` calls waiting for a connection.
    public let waiting: Int
    /// Whether the LISTEN connection is established.
    public let listenerConnected: Bool
}
