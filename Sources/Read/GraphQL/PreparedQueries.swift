import Core
import GraphQL
import Synchronization

/// What preparing a query produced, remembered for the next time the same text comes: clients send the
/// same queries again and again. Parsed and validated documents by schema version and query text
/// (validation walks the whole document with every rule — a tenth of a request); compiled plans also by
/// operation and variables (they decide the arguments). Bounded; when full, a cache starts over.
final class PreparedQueries: Sendable {
    private let documents = BoundedCache<Document>()
    private let plans = BoundedCache<CompiledQuery>()

    func document(schemaVersion: String, query: String) -> Document? {
        documents[schemaVersion + "\n" + query]
    }

    func remember(_ document: Document, schemaVersion: String, query: String) {
        documents[schemaVersion + "\n" + query] = document
    }

    func plan(schemaVersion: String, _ request: GraphQLRequest) -> CompiledQuery? {
        plans[Self.planKey(schemaVersion, request)]
    }

    func remember(_ plan: CompiledQuery, schemaVersion: String, _ request: GraphQLRequest) {
        plans[Self.planKey(schemaVersion, request)] = plan
    }

    private static func planKey(_ schemaVersion: String, _ request: GraphQLRequest) -> String {
        [schemaVersion, request.operationName ?? "", JSONWriter.string(.object(request.variables)), request.query].joined(separator: "\n")
    }
}

/// A string-keyed cache of at most `capacity` values that starts over when full.
final class BoundedCache<Value>: Sendable {
    /// Values are immutable once stored (a parsed document, a plan), so sharing them between requests is safe.
    private struct Entry: @unchecked Sendable {
        let value: Value
    }

    private let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(capacity: Int = 256) { self.capacity = capacity }

    subscript(key: String) -> Value? {
        get { entries.withLock { $0[key]?.value } }
        set {
            entries.withLock { entries in
                guard let newValue else { entries[key] = nil; return }
                if entries.count >= capacity, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
                entries[key] = Entry(value: newValue)
            }
        }
    }
}
