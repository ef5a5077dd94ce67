import GraphQL
import Synchronization

/// Documents that parsed and validated against a schema version, by query text: clients send the same
/// queries again and again (with other variables), and validation walks the whole document with every
/// rule — a tenth of a request's time. Bounded; when full it starts over.
final class ValidatedDocuments: Sendable {
    /// A parsed document is immutable once built, so sharing it between requests is safe.
    private struct Entry: @unchecked Sendable {
        let document: Document
    }

    private let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(capacity: Int = 256) { self.capacity = capacity }

    func document(schemaVersion: String, query: String) -> Document? {
        entries.withLock { $0[schemaVersion + "\n" + query]?.document }
    }

    func remember(_ document: Document, schemaVersion: String, query: String) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[schemaVersion + "\n" + query] = Entry(document: document)
        }
    }
}
