import XCTest
import Core
import Drivers
@testable import Read

/// The Postgres document index: versioned puts with tombstones, bulk reads, counts, class documents, spaces.
final class DocumentStoreTests: ReadModelTestCase {
    private func document(_ link: String, _ version: Int, _ data: JSONValue = [:], deleted: Bool = false) -> InstanceDocument {
        InstanceDocument(ref: ref(link), version: version, data: data, deleted: deleted, eventId: "event-\(link)-\(version)",
                         createdAt: "2026-01-02T03:04:05.123456Z", updatedAt: "2026-01-0\(min(version, 9))T00:00:00Z")
    }

    func testPutGetAndTheVersionRule() async throws {
        let first = document("Customer/c1", 2, ["name": "Ann", "tags": ["a", "b"], "score": 1.5, "vip": true, "note": nil])
        let put = try await documents.put(db, [first, document("Customer/c2", 1, ["name": "Bob"])])
        XCTAssertEqual(put, [.applied, .applied])
        var read = try await documents.documents(db, [ref("Customer/c1"), ref("Customer/c2"), ref("Customer/c9")])
        XCTAssertEqual(read[ref("Customer/c1")], first, "the document comes back exactly as written")
        XCTAssertEqual(read.count, 2, "missing documents are absent")

        let same = try await documents.put(db, [document("Customer/c1", 2, ["name": "again"])])
        XCTAssertEqual(same, [.stale(currentVersion: 2)])
        let older = try await documents.put(db, [document("Customer/c1", 1, ["name": "late"])])
        XCTAssertEqual(older, [.stale(currentVersion: 2)])
        let newer = try await documents.put(db, [document("Customer/c1", 3, ["name": "Anna"])])
        XCTAssertEqual(newer, [.applied])
        read = try await documents.documents(db, [ref("Customer/c1")])
        XCTAssertEqual(read[ref("Customer/c1")]?.data, ["name": "Anna"])
        XCTAssertEqual(read[ref("Customer/c1")]?.eventId, "event-Customer/c1-3")
    }

    func testTombstonesHideDocumentsAndBlockOlderVersions() async throws {
        _ = try await documents.put(db, [document("Customer/c1", 1, ["name": "Ann"]), document("Customer/c2", 1)])
        var count = try await documents.count(db)
        XCTAssertEqual(count, 2)

        let deleted = try await documents.put(db, [document("Customer/c1", 2, deleted: true)])
        XCTAssertEqual(deleted, [.applied])
        let read = try await documents.documents(db, [ref("Customer/c1"), ref("Customer/c2")])
        XCTAssertEqual(Set(read.keys), [ref("Customer/c2")])
        count = try await documents.count(db)
        XCTAssertEqual(count, 1, "tombstones are not counted")

        let late = try await documents.put(db, [document("Customer/c1", 1, ["name": "Ann"])])
        XCTAssertEqual(late, [.stale(currentVersion: 2)])
        let stillHidden = try await documents.documents(db, [ref("Customer/c1")])
        XCTAssertTrue(stillHidden.isEmpty, "a late event must not resurrect the document")

        // A tombstone that arrives first blocks the create it follows.
        _ = try await documents.put(db, [document("Customer/c3", 5, deleted: true)])
        let create = try await documents.put(db, [document("Customer/c3", 1)])
        XCTAssertEqual(create, [.stale(currentVersion: 5)])
    }

    func testBulkWritesAndReadsAThousandDocuments() async throws {
        let batch = (0..<1000).map { document("Item/i\($0)", 1, ["n": .number(Double($0))]) }
        let outcomes = try await documents.put(db, batch + [document("Item/i7", 2, ["n": "seven"])])
        XCTAssertEqual(outcomes.filter { $0 == .applied }.count, 1000)
        XCTAssertEqual(outcomes[7], .stale(currentVersion: 2), "the later version of i7 in the same batch wins")
        let read = try await documents.documents(db, batch.map(\.ref) + [ref("Item/missing")])
        XCTAssertEqual(read.count, 1000)
        XCTAssertEqual(read[ref("Item/i999")]?.data, ["n": 999])
        XCTAssertEqual(read[ref("Item/i7")]?.data, ["n": "seven"])
        let count = try await documents.count(db)
        XCTAssertEqual(count, 1000)
    }

    func testAwkwardIdsRoundTrip() async throws {
        let ids = ["q\"uote", "back\\slash", "a,b", "{x}", "NULL", "", "日本語 🚀", "\\\""]
        let written = ids.map { InstanceDocument(ref: NodeRef(classId: "C,\"{", instanceId: $0), version: 1, data: ["id": .string($0)],
                                                 eventId: "e\"\\", createdAt: "t", updatedAt: "t") }
        _ = try await documents.put(db, written)
        let read = try await documents.documents(db, written.map(\.ref))
        XCTAssertEqual(read.count, ids.count)
        for document in written { XCTAssertEqual(read[document.ref], document) }
    }

    func testClassDocumentsAreVersionedAndTombstoned() async throws {
        let customer: JSONValue = ["id": "Customer", "label": ["en": "Customer", "ko": "고객"]]
        let put = try await documents.putClassDocument(db, classId: "Customer", definition: customer, version: 2)
        XCTAssertEqual(put, .applied)
        _ = try await documents.putClassDocument(db, classId: "Order", definition: ["id": "Order"], version: 1)
        let older = try await documents.putClassDocument(db, classId: "Customer", definition: ["id": "old"], version: 1)
        XCTAssertEqual(older, .stale(currentVersion: 2))
        var classes = try await documents.classDocuments(db)
        XCTAssertEqual(classes, ["Customer": customer, "Order": ["id": "Order"]])

        let deleted = try await documents.putClassDocument(db, classId: "Customer", definition: nil, version: 3)
        XCTAssertEqual(deleted, .applied)
        let resurrect = try await documents.putClassDocument(db, classId: "Customer", definition: customer, version: 2)
        XCTAssertEqual(resurrect, .stale(currentVersion: 3))
        classes = try await documents.classDocuments(db)
        XCTAssertEqual(Array(classes.keys), ["Order"])
    }

    func testSpacesDropEverythingAndMissingSpacesRefuseWrites() async throws {
        try await documents.createDatabase("other")
        try await documents.createDatabase("other")
        for database in [db, "other"] {
            _ = try await documents.put(database, [document("Customer/c1", 1), document("Customer/c2", 2, deleted: true)])
            _ = try await documents.putClassDocument(database, classId: "Customer", definition: ["id": "Customer"], version: 1)
        }
        try await documents.dropDatabase("other")
        try await documents.dropDatabase("other")
        let leftovers = try await client.query("""
            SELECT (SELECT count(*) FROM documents WHERE database_name = 'other')
                 + (SELECT count(*) FROM class_documents WHERE database_name = 'other') AS n
            """).rows
        XCTAssertEqual(leftovers.first?.int("n"), 0)
        let kept = try await documents.count(db)
        XCTAssertEqual(kept, 1)

        await assertNotFound { () async throws(ReadModelError) in try await self.documents.put("other", [self.document("Customer/c1", 1)]) }
        await assertNotFound { () async throws(ReadModelError) in
            try await self.documents.putClassDocument("other", classId: "Customer", definition: nil, version: 1)
        }
        let nothing = try await documents.documents("other", [ref("Customer/c1")])
        XCTAssertTrue(nothing.isEmpty)
        let none = try await documents.count("other")
        XCTAssertEqual(none, 0)

        // The graph's spaces are its own: dropping documents leaves the graph space alone.
        let graphSpace = try await graph.databaseExists(db)
        XCTAssertTrue(graphSpace)
    }
}
