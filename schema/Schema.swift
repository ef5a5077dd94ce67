import Foundation

/// The files of `schema/` as the binary sees them: numbered SQL migrations (and the event envelope's JSON
/// Schema), shipped as resources so `spice migrate` needs no source checkout.
public enum Schema {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    /// All migrations, ordered by version. File names are `NNN_name.sql`; a malformed name is a build mistake.
    public static func migrations() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "migrations", withExtension: nil) else {
            throw SchemaError(message: "the migrations resource folder is missing from the build")
        }
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
        return try files.map { file in
            let base = file.deletingPathExtension().lastPathComponent
            guard let underscore = base.firstIndex(of: "_"), let version = Int(base[..<underscore]) else {
                throw SchemaError(message: "migration file \(file.lastPathComponent) is not named NNN_name.sql")
            }
            return Migration(version: version, name: String(base[base.index(after: underscore)...]),
                             sql: try String(contentsOf: file, encoding: .utf8))
        }.sorted { $0.version < $1.version }
    }
}

public struct SchemaError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
