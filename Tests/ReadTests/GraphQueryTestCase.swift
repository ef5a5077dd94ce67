import XCTest
import Core
import Drivers
@testable import Read

/// A people graph for the graph-query engine, written straight into the read models:
/// Person -knows-> Person (n:m), Person -works_at-> Company (n:1), Company -located_in-> City (n:1, inverse
/// "hosts"). `knows` has a cycle a → b → c → a, and a → c.
class GraphQueryTestCase: ReadModelTestCase {
    /// Documents by a call to the document store per level.
    var engine: GraphQueryEngine!
    /// Documents brought by the hops, as `spice serve` reads the embedded read models: every default query
    /// runs on both, and the two answers must agree.
    var joinedEngine: GraphQueryEngine!

    override func setUp() async throws {
        try await super.setUp()
        engine = GraphQueryEngine(snapshots: OntologySnapshots(graph: graph), executor: TraversalExecutor(graph: graph, documents: documents))
        joinedEngine = GraphQueryEngine(snapshots: OntologySnapshots(graph: graph),
                                        executor: TraversalExecutor(graph: graph, documents: documents, hopsWithDocuments: graph))
        let person = OntologyClass(id: "Person", label: "Person", properties: [
            Property(name: "person_id", type: .string, label: "Id", required: true, primaryKey: true),
            Property(name: "name", type: .string, label: "Name", required: true),
            Property(name: "age", type: .integer, label: "Age"),
            Property(name: "tags", type: .array, label: "Tags"),
        ], relationships: [
            Relationship(predicate: "knows", target: "Person", label: "knows", cardinality: .manyToMany),
            Relationship(predicate: "works_at", target: "Company", label: "works at", cardinality: .manyToOne),
        ])
        let company = OntologyClass(id: "Company", label: "Company", properties: [
            Property(name: "company_id", type: .string, label: "Id", required: true, primaryKey: true),
            Property(name: "name", type: .string, label: "Name", required: true),
        ], relationships: [
            Relationship(predicate: "located_in", target: "City", label: "located in", cardinality: .manyToOne, inversePredicate: "hosts"),
        ])
        let city = OntologyClass(id: "City", label: "City", properties: [
            Property(name: "city_id", type: .string, label: "Id", required: true, primaryKey: true),
            Property(name: "name", type: .string, label: "Name"),
        ])
        for definition in [person, company, city] { _ = try await graph.putClass(db, definition, version: 1) }

        try await put("City/seoul", ["name": "Seoul"])
        try await put("Company/acme", ["name": "Acme", "located_in": "City/seoul"], edges: [("located_in", "City/seoul")])
        try await put("Person/a", ["name": "Ann", "age": 30, "works_at": "Company/acme"],
                      edges: [("knows", "Person/b"), ("knows", "Person/c"), ("works_at", "Company/acme")])
        try await put("Person/b", ["name": "Bob", "age": 40], edges: [("knows", "Person/c")])
        try await put("Person/c", ["name": "Cid", "age": 50, "works_at": "Company/acme"],
                      edges: [("knows", "Person/a"), ("works_at", "Company/acme")])
    }

    /// A graph node and its document, both at `version` unless `documentVersion` says otherwise (0: no document).
    func put(_ link: String, _ data: [String: JSONValue], version: Int = 1, edges: [(String, String)] = [],
             documentVersion: Int? = nil) async throws {
        var data = data
        data[ref(link).classId.lowercased() + "_id"] = .string(ref(link).instanceId)
        try await write(node(link, version, ReadModelChange.graphFields(of: .object(data)), edges: edges))
        let documentVersion = documentVersion ?? version
        if documentVersion > 0 {
            _ = try await documents.put(db, [InstanceDocument(ref: ref(link), version: documentVersion, data: .object(data), eventId: "e-\(link)",
                                                              createdAt: "2026-11-22T10:00:00.000Z", updatedAt: "2026-11-22T10:00:00.000Z")])
        }
    }

    func query(_ body: JSONValue, engine: GraphQueryEngine? = nil, file: StaticString = #filePath, line: UInt = #line) async throws -> JSONValue {
        let request = try GraphQueryRequest(json: body.objectValue!, branchParameter: nil)
        let answer = try JSONParser.parse(try await (engine ?? self.engine).run(db, request))
        if engine == nil {
            let joined = try JSONParser.parse(try await joinedEngine.run(db, request))
            XCTAssertEqual(Self.comparable(joined), Self.comparable(answer), "documents brought by the hops answer the same", file: file, line: line)
        }
        return answer
    }

    /// An answer without what legitimately differs between runs and engines: the clock and the calls made.
    private static func comparable(_ answer: JSONValue) -> JSONValue {
        guard var object = answer.objectValue else { return answer }
        object["as_of"] = nil
        object["calls"] = nil
        object["index_summary"] = object["index_summary"].map { summary -> JSONValue in
            var summary = summary.objectValue ?? [:]
            summary["max_index_age_seconds"] = nil
            return .object(summary)
        }
        object["nodes"] = object["nodes"]?.arrayValue.map { nodes in
            .array(nodes.map { node -> JSONValue in
                var node = node.objectValue ?? [:]
                var index = node["index_status"]?.objectValue ?? [:]
                index["index_age_seconds"] = nil
                node["index_status"] = .object(index)
                return .object(node)
            })
        }
        return .object(object)
    }

    /// The problem a query is refused with.
    func problem(_ body: JSONValue, engine: GraphQueryEngine? = nil, file: StaticString = #filePath, line: UInt = #line) async -> Problem? {
        do {
            _ = try await query(body, engine: engine)
            XCTFail("expected a problem", file: file, line: line)
            return nil
        } catch let problem as Problem {
            return problem
        } catch {
            XCTFail("expected a problem, got \(error)", file: file, line: line)
            return nil
        }
    }
}

extension JSONValue {
    var nodeIds: [String] { (self["nodes"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } }
    var edgeTexts: Set<String> {
        Set((self["edges"]?.arrayValue ?? []).map { "\($0["from_node"]!.stringValue!) -\($0["predicate"]!.stringValue!)-> \($0["to_node"]!.stringValue!)" })
    }
    var warningCodes: [String] { (self["warnings"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue } }
    func node(_ id: String) -> JSONValue? { self["nodes"]?.arrayValue?.first { $0["id"]?.stringValue == id } }
    var pathTexts: [String] {
        (self["paths"]?.arrayValue ?? []).map { ($0["nodes"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " > ") }
    }
}
