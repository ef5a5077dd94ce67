import Core
import Write

/// What every write route reads from the request besides its body: the expected version, the command id
/// for idempotent retries, and whether (and how long) to wait for the command to finish.
struct WriteRequestOptions {
    static let defaultTimeoutSeconds = 30.0
    static let maxTimeoutSeconds = 300.0

    var context: CommandContext
    var wait: Bool
    var timeoutSeconds: Double

    init(_ request: Request, syncPath: Bool = false) throws(Problem) {
        let query = request.queryParameters
        var commandId: String?
        if let key = request.headers["idempotency-key"] {
            guard UUIDText.isValid(key) else {
                throw Problem.badRequest("Idempotency-Key must be a UUID (it becomes the command id)", field: "header.Idempotency-Key")
            }
            commandId = key.lowercased()
        }
        context = CommandContext(commandId: commandId, actor: request.headers["x-actor"])
        switch query["wait"]?.lowercased() {
        case nil, "false", "0": wait = syncPath
        case "true", "1": wait = true
        default: throw Problem.badRequest("wait must be true or false", field: "query.wait")
        }
        timeoutSeconds = Self.defaultTimeoutSeconds
        if let raw = query["timeout"] {
            guard let value = Double(raw), value > 0, value <= Self.maxTimeoutSeconds else {
                throw Problem.badRequest("timeout must be a number of seconds in (0, \(Int(Self.maxTimeoutSeconds))]", field: "query.timeout")
            }
            timeoutSeconds = value
        }
    }

    /// `expected_seq` from the query, or the version in `If-Match` ("3" or "\"3\""). Required for updates and deletes.
    static func expectedSequence(_ request: Request) throws(Problem) -> Int {
        if let raw = request.queryParameters["expected_seq"] {
            guard let value = Int(raw), value >= 0 else {
                throw Problem.badRequest("expected_seq must be a non-negative integer", field: "query.expected_seq")
            }
            return value
        }
        if let raw = request.headers["if-match"] {
            let trimmed = raw.trimmingCharacters(in: " \"W/")
            guard let value = Int(trimmed), value >= 0 else {
                throw Problem.badRequest("If-Match must carry the aggregate's version, e.g. \"3\"", field: "header.If-Match")
            }
            return value
        }
        throw Problem(status: 428, code: "expected_seq_required",
                      detail: "updates and deletes need the aggregate's current version: ?expected_seq=N or If-Match",
                      field: "query.expected_seq")
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice.removeFirst() }
        while let last = slice.last, characters.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
