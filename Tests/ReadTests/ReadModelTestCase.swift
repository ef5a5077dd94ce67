import XCTest
import Core
import Drivers
import TestSupport
@testable import Read

/// A fresh, migrated database per test with both read models on it, and a database space `db` created.
class ReadModelTestCase: XCTestCase {
    var client: PostgresClient!
    var graph: PostgresGraphStore!
    var documents: PostgresDocumentStore!
    let db = "shop"

    override func setUp() async throws {
        client = try await FreshDatabase.client(prefix: "read")
        graph = PostgresGraphStore(client: client)
        documents = PostgresDocumentStore(client: client)
        try await graph.createDatabase(db)
        try await documents.createDatabase(db)
    }

    override func tearDown() async throws {
        await client?.shutdown()
    }

    func ref(_ link: String) -> NodeRef { NodeRef(link: link)! }

    func node(_ link: String, _ version: Int, _ fields: [String: JSONValue] = [:], edges: [(String, String)] = []) -> GraphNodeWrite {
        let from = ref(link)
        return GraphNodeWrite(node: GraphNode(ref: from, version: version, fields: fields),
                              edges: edges.map { GraphEdge(from: from, predicate: $0.0, to: ref($0.1)) })
    }

    /// Writes nodes and fails unless every write applied.
    func write(_ writes: GraphNodeWrite..., file: StaticString = #filePath, line: UInt = #line) async throws {
        let outcomes = try await graph.upsertNodes(db, writes)
        XCTAssertEqual(outcomes, Array(repeating: .applied, count: writes.count), file: file, line: line)
    }

    func edgeSet(_ hop: GraphHop) -> Set<String> {
        Set(hop.edges.map { "\($0.from) -\($0.predicate)-> \($0.to)" })
    }
}

func assertNotFound<T>(_ body: () async throws(ReadModelError) -> T, file: StaticString = #filePath, line: UInt = #line) async {
    do throws(ReadModelError) {
        _ = try await body()
        XCTFail("expected notFound", file: file, line: line)
    } catch {
        guard case .notFound = error else { return XCTFail("expected notFound, got \(error)", file: file, line: line) }
    }
}
