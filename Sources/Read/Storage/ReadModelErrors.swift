import Core
import Drivers

/// How the Postgres read models report failures through the ports' one error type.
enum ReadModelErrors {
    /// Driver errors become `.unavailable`: a lost or unreachable server is the retryable case the port
    /// names, and a statement the server refused (deadlock, cancel, a bug) is the backend failing — the
    /// message says which. Errors already in the port's terms pass through.
    static func map(_ error: any Error) -> ReadModelError {
        switch error {
        case let error as ReadModelError:
            return error
        case let error as PostgresError where error.isConnectionFailure:
            return .unavailable("PostgreSQL is unreachable: \(error.message)")
        case let error as PostgresError:
            return .unavailable(error.description)
        default:
            return .unavailable(String(describing: error))
        }
    }

    static func missingSpace(_ kind: String, _ database: String) -> ReadModelError {
        .notFound("the \(kind) space of database '\(database)'")
    }
}

/// Reading the columns the stores select; a value that does not parse means the table holds something
/// the adapter never wrote.
extension PostgresRow {
    func required(_ column: String) throws(ReadModelError) -> String {
        guard let text = string(column) else { throw .invalidResponse("column \(column) is NULL or missing") }
        return text
    }

    func requiredInt(_ column: String) throws(ReadModelError) -> Int {
        guard let value = int(column) else { throw .invalidResponse("column \(column) is not an integer") }
        return value
    }

    func requiredBool(_ column: String) throws(ReadModelError) -> Bool {
        guard let value = bool(column) else { throw .invalidResponse("column \(column) is not a boolean") }
        return value
    }

    /// A jsonb column selected as text.
    func json(_ column: String) throws(ReadModelError) -> JSONValue {
        let text = try required(column)
        do {
            return try JSONParser.parse(text, limits: .init(maxDepth: 256))
        } catch {
            throw .invalidResponse("column \(column) holds unreadable JSON: \(error)")
        }
    }

    /// A jsonb column selected as text, kept as text (its members located, not parsed).
    func jsonText(_ column: String) throws(ReadModelError) -> JSONObjectText {
        let text = try required(column)
        do {
            return try JSONObjectText(text)
        } catch {
            throw .invalidResponse("column \(column) holds unreadable JSON: \(error)")
        }
    }

    func jsonObject(_ column: String) throws(ReadModelError) -> [String: JSONValue] {
        // A hop that brings documents sends `{}` for the graph fields of every node that has one.
        if string(column) == "{}" { return [:] }
        guard case .object(let members) = try json(column) else {
            throw .invalidResponse("column \(column) is not a JSON object")
        }
        return members
    }

    func nodeRef(classColumn: String, idColumn: String) throws(ReadModelError) -> NodeRef {
        NodeRef(classId: try required(classColumn), instanceId: try required(idColumn))
    }
}
