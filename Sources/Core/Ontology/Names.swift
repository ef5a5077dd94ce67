/// Validators for the names the API accepts: databases, classes, properties and predicates, instances, branches.
/// Each returns the name unchanged or throws a `Problem` naming the request field (400; 403 for reserved names).
public enum Names {
    /// Database names no client may create or delete.
    public static let reservedDatabaseNames: Set<String> = ["_system", "_meta"]

    /// `^[a-z][a-z0-9_-]*$`, 3–50 characters, no trailing `_`/`-`, no `__`/`--`; `_system`/`_meta` → 403.
    @discardableResult
    public static func databaseName(_ name: String, field: String = "body.name") throws(Problem) -> String {
        if reservedDatabaseNames.contains(name) {
            throw Problem(status: 403, code: "reserved_name",
                          detail: "the database name '\(name)' is reserved for the system", field: field)
        }
        let bytes = Array(name.utf8)
        guard (3...50).contains(bytes.count) else {
            throw invalid("a database name must be 3 to 50 characters long", name, field)
        }
        guard isLower(bytes[0]) else { throw invalid("a database name must start with a lowercase letter", name, field) }
        for b in bytes where !(isLower(b) || isDigit(b) || b == underscore || b == dash) {
            throw invalid("a database name may contain only lowercase letters, digits, '_' and '-'", name, field)
        }
        if bytes.last == underscore || bytes.last == dash {
            throw invalid("a database name must not end with '_' or '-'", name, field)
        }
        for i in 1..<bytes.count where bytes[i] == bytes[i - 1] && (bytes[i] == underscore || bytes[i] == dash) {
            throw invalid("a database name must not contain '__' or '--'", name, field)
        }
        return name
    }

    /// `^[a-zA-Z][a-zA-Z0-9_:-]*$`, at most 100 characters.
    @discardableResult
    public static func classId(_ id: String, field: String = "body.id") throws(Problem) -> String {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty else { throw Problem.badRequest("a class id must not be empty", field: field) }
        guard bytes.count <= 100 else { throw invalid("a class id must be at most 100 characters long", id, field) }
        guard isLetter(bytes[0]) else { throw invalid("a class id must start with a letter", id, field) }
        for b in bytes where !(isLetter(b) || isDigit(b) || b == underscore || b == colon || b == dash) {
            throw invalid("a class id may contain only letters, digits, '_', ':' and '-'", id, field)
        }
        return id
    }

    /// Property names and relationship predicates: `^[a-zA-Z_][a-zA-Z0-9_]*$`, at most 100 characters.
    @discardableResult
    public static func propertyName(_ name: String, field: String = "body.name", what: String = "a property name") throws(Problem) -> String {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw Problem.badRequest("\(what) must not be empty", field: field) }
        guard bytes.count <= 100 else { throw invalid("\(what) must be at most 100 characters long", name, field) }
        guard isLetter(bytes[0]) || bytes[0] == underscore else {
            throw invalid("\(what) must start with a letter or '_'", name, field)
        }
        for b in bytes where !(isLetter(b) || isDigit(b) || b == underscore) {
            throw invalid("\(what) may contain only letters, digits and '_'", name, field)
        }
        return name
    }

    /// Relationship predicates follow the property-name rule.
    @discardableResult
    public static func predicate(_ name: String, field: String = "body.predicate") throws(Problem) -> String {
        try propertyName(name, field: field, what: "a predicate")
    }

    /// `^[a-zA-Z0-9_:-]+$`, at most 255 characters.
    @discardableResult
    public static func instanceId(_ id: String, field: String = "path.instance_id") throws(Problem) -> String {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty else { throw Problem.badRequest("an instance id must not be empty", field: field) }
        guard bytes.count <= 255 else { throw invalid("an instance id must be at most 255 characters long", id, field) }
        for b in bytes where !(isLetter(b) || isDigit(b) || b == underscore || b == colon || b == dash) {
            throw invalid("an instance id may contain only letters, digits, '_', ':' and '-'", id, field)
        }
        return id
    }

    /// `^[a-zA-Z0-9_/-]+$`, at most 100 characters, not `HEAD`, not starting with `refs`, and (like git) no
    /// leading or trailing `/` and no `//`.
    @discardableResult
    public static func branchName(_ name: String, field: String = "query.branch") throws(Problem) -> String {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { throw Problem.badRequest("a branch name must not be empty", field: field) }
        guard bytes.count <= 100 else { throw invalid("a branch name must be at most 100 characters long", name, field) }
        for b in bytes where !(isLetter(b) || isDigit(b) || b == underscore || b == slash || b == dash) {
            throw invalid("a branch name may contain only letters, digits, '_', '/' and '-'", name, field)
        }
        if name == "HEAD" { throw invalid("'HEAD' is not a branch name", name, field) }
        if name.hasPrefix("refs") { throw invalid("a branch name must not start with 'refs'", name, field) }
        if bytes.first == slash || bytes.last == slash {
            throw invalid("a branch name must not start or end with '/'", name, field)
        }
        for i in 1..<bytes.count where bytes[i] == slash && bytes[i - 1] == slash {
            throw invalid("a branch name must not contain '//'", name, field)
        }
        return name
    }

    public static func isValidDatabaseName(_ name: String) -> Bool { (try? databaseName(name)) != nil }
    public static func isValidClassId(_ id: String) -> Bool { (try? classId(id)) != nil }
    public static func isValidPropertyName(_ name: String) -> Bool { (try? propertyName(name)) != nil }
    public static func isValidInstanceId(_ id: String) -> Bool { (try? instanceId(id)) != nil }
    public static func isValidBranchName(_ name: String) -> Bool { (try? branchName(name)) != nil }

    /// `^[a-z][a-z0-9_]*$` — the style the linter recommends (it only warns).
    public static func isSnakeCase(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, isLower(first) else { return false }
        return bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == underscore }
    }

    private static func invalid(_ message: String, _ value: String, _ field: String) -> Problem {
        Problem.badRequest("\(message): '\(excerpt(value))'", field: field)
    }
}

let underscore = UInt8(ascii: "_")
let dash = UInt8(ascii: "-")
let colon = UInt8(ascii: ":")
let slash = UInt8(ascii: "/")

@inline(__always) func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
@inline(__always) func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
@inline(__always) func isLetter(_ b: UInt8) -> Bool { isLower(b) || isUpper(b) }
@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
@inline(__always) func isHexDigit(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46) }
