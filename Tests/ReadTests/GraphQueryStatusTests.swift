import XCTest
import Core
import TestSupport
@testable import Read

/// data_status against the documents, what failing backends do, and calls that grow by level, not by node.
final class GraphQueryStatusTests: GraphQueryTestCase {
    func testDataStatusComparesTheDocumentWithTheGraph() async throws {
        try await put("Person/stale", ["name": "Old"], version: 3, documentVersion: 2)
        try await put("Person/ahead", ["name": "New"], version: 2, documentVersion: 3)
        try await put("Person/unprojected", ["name": "Nobody"], version: 1, documentVersion: 0)
        try await write(node("Person/nameless", 1, ["person_id": "nameless"]))
        _ = try await documents.put(db, [InstanceDocument(ref: ref("Person/nameless"), version: 1, data: ["person_id": "nameless"],
                                                          eventId: "e", createdAt: "2026-11-22T10:00:00Z", updatedAt: "2026-11-22T10:00:00Z")])
        // A required field present as null is as missing as an absent one (the document is read as text).
        try await write(node("Person/nulled", 1, ["person_id": "nulled"]))
        _ = try await documents.put(db, [InstanceDocument(ref: ref("Person/nulled"), version: 1, data: ["person_id": "nulled", "name": .null],
                                                          eventId: "e", createdAt: "2026-11-22T10:00:00Z", updatedAt: "2026-11-22T10:00:00Z")])

        let answer = try await query(["start_class": "Person"])
        XCTAssertEqual(answer.node("Person/a")?["data_status"], "FULL")
        XCTAssertEqual(answer.node("Person/ahead")?["data_status"], "FULL", "a document ahead of the graph is complete data")
        XCTAssertEqual(answer.node("Person/stale")?["data_status"], "PARTIAL")
        XCTAssertEqual(answer.node("Person/stale")?["index_status"]?["reason"], "stale_document")
        XCTAssertEqual(answer.node("Person/stale")?["index_status"]?["document_version"], 2)
        XCTAssertEqual(answer.node("Person/stale")?["index_status"]?["graph_version"], 3)
        XCTAssertEqual(answer.node("Person/stale")?["data"]?["name"], "Old", "the older data is still returned")
        XCTAssertEqual(answer.node("Person/nameless")?["data_status"], "PARTIAL")
        XCTAssertEqual(answer.node("Person/nameless")?["index_status"]?["missing_fields"], ["name"])
        XCTAssertEqual(answer.node("Person/nulled")?["data_status"], "PARTIAL")
        XCTAssertEqual(answer.node("Person/nulled")?["index_status"]?["missing_fields"], ["name"])
        XCTAssertEqual(answer.node("Person/nulled")?["data"], ["person_id": "nulled", "name": nil], "the document is copied as stored")
        XCTAssertEqual(answer.node("Person/unprojected")?["data_status"], "MISSING")
        XCTAssertEqual(answer.node("Person/unprojected")?["data"], .null)
        XCTAssertEqual(answer["index_summary"]?["documents_found"], 7)
        XCTAssertEqual(answer["index_summary"]?["documents_missing"], 1)
        XCTAssertEqual(answer["index_summary"]?["documents_stale"], 1)
        XCTAssertEqual(answer["index_summary"]?["max_version_lag"], 1)

        let withoutDocuments = try await query(["start_class": "Person", "include_documents": false])
        XCTAssertEqual(Set(withoutDocuments["nodes"]!.arrayValue!.map { $0["data_status"]! }), ["PARTIAL"])
        XCTAssertNil(withoutDocuments.node("Person/a")?["data"], "no data member when documents are not requested")
        XCTAssertEqual(withoutDocuments["calls"]?["documents"], 0)
    }

    func testFailingDocumentsLeaveNodesMissingWithAWarning() async throws {
        let failing = InstrumentedDocumentStore(documents, failure: .unavailable("the index is down (test)"))
        let degraded = GraphQueryEngine(snapshots: OntologySnapshots(graph: graph), executor: TraversalExecutor(graph: graph, documents: failing))
        let answer = try await query(["start_class": "Person", "hops": [["predicate": "works_at"]]], engine: degraded)
        XCTAssertEqual(answer.nodeIds, ["Person/a", "Person/b", "Person/c", "Company/acme"], "the graph still answers")
        XCTAssertEqual(Set(answer["nodes"]!.arrayValue!.map { $0["data_status"]! }), ["MISSING"])
        XCTAssertEqual(answer.node("Person/a")?["index_status"]?["reason"], "documents_unavailable")
        XCTAssertTrue(answer.warningCodes.contains("documents_unavailable"))
        XCTAssertEqual(failing.documentCalls, 2)
    }

    func testFailingGraphIsAnErrorNeverAnEmptyAnswer() async throws {
        let failingHops = InstrumentedGraphStore(graph, failHops: true)
        let broken = GraphQueryEngine(snapshots: OntologySnapshots(graph: failingHops), executor: TraversalExecutor(graph: failingHops, documents: documents))
        let hopFailure = await problem(["start_class": "Person", "hops": [["predicate": "knows"]]], engine: broken)
        XCTAssertEqual(hopFailure?.status, 503)
        XCTAssertEqual(hopFailure?.code, "graph_unavailable")

        let closed = PostgresGraphStore(client: UnreachablePostgres.client())
        let down = GraphQueryEngine(snapshots: OntologySnapshots(graph: closed), executor: TraversalExecutor(graph: closed, documents: documents))
        let outage = await problem(["start_class": "Person"], engine: down)
        XCTAssertEqual(outage?.status, 503)

        do throws(Problem) {
            _ = try await engine.run("nowhere", GraphQueryRequest(json: ["start_class": "Person"], branchParameter: nil))
            XCTFail("an unknown database must be refused")
        } catch {
            XCTAssertEqual(error.status, 404)
            XCTAssertEqual(error.code, "database_not_found")
        }
    }

    func testThreeHopsOverAThousandNodesCostFourGraphCallsAndFourDocumentCalls() async throws {
        // 10 people, each working at one of 100 companies… each company in a city: 1,000+ nodes over 3 levels.
        var writes: [GraphNodeWrite] = []
        var documentsToPut: [InstanceDocument] = []
        func add(_ link: String, _ edges: [(String, String)]) {
            let data: [String: JSONValue] = ["name": .string(link), ref(link).classId.lowercased() + "_id": .string(ref(link).instanceId)]
            writes.append(node(link, 1, data, edges: edges))
            documentsToPut.append(InstanceDocument(ref: ref(link), version: 1, data: .object(data), eventId: "e",
                                                   createdAt: "2026-11-22T10:00:00Z", updatedAt: "2026-11-22T10:00:00Z"))
        }
        for city in 0..<100 { add("City/city\(city)", []) }
        for company in 0..<400 { add("Company/co\(company)", [("located_in", "City/city\(company % 100)")]) }
        for person in 0..<500 {
            add("Person/p\(person)", [("works_at", "Company/co\(person % 400)"), ("knows", "Person/p\((person + 1) % 500)")])
        }
        _ = try await graph.upsertNodes(db, writes)
        _ = try await documents.put(db, documentsToPut)

        let counting = InstrumentedGraphStore(graph)
        let countingDocuments = InstrumentedDocumentStore(documents)
        let engine = GraphQueryEngine(snapshots: OntologySnapshots(graph: counting), executor: TraversalExecutor(graph: counting, documents: countingDocuments))
        let answer = try await query(["start_class": "Person", "limit": 1000, "max_nodes": 10_000, "max_edges": 10_000,
                                      "hops": [["predicate": "knows"], ["predicate": "works_at"], ["predicate": "located_in"]]],
                                     engine: engine)
        XCTAssertEqual(answer.nodeIds.count, 503 + 401 + 101, "all people, companies and cities (the fixture's too)")
        XCTAssertEqual(answer.warningCodes, [])
        XCTAssertEqual(counting.calls["findNodes"], 1)
        XCTAssertEqual(counting.calls["expand"], 3, "one per hop")
        XCTAssertEqual(countingDocuments.documentCalls, 3, "one per level that added nodes: the knows level added none")
        XCTAssertEqual(answer["calls"]?["graph"], 4)
        XCTAssertEqual(answer["calls"]?["documents"], 3)
    }

    func testTheOntologyIsReadOnceAndAgainAfterEveryChange() async throws {
        let counting = InstrumentedGraphStore(graph)
        let engine = GraphQueryEngine(snapshots: OntologySnapshots(graph: counting), executor: TraversalExecutor(graph: counting, documents: documents))
        let first = try await query(["start_class": "City"], engine: engine)
        let second = try await query(["start_class": "City"], engine: engine)
        XCTAssertEqual(first["calls"]?["schema"], 2)
        XCTAssertEqual(second["calls"]?["schema"], 1, "the cached ontology is only checked")
        XCTAssertEqual(counting.calls["classes"], 1)

        let refused = await problem(["start_class": "City", "filters": ["country": "KR"]], engine: engine)
        XCTAssertEqual(refused?.field, "body.filters.country")
        let city = OntologyClass(id: "City", label: "City", properties: [
            Property(name: "city_id", type: .string, label: "Id", required: true, primaryKey: true),
            Property(name: "name", type: .string, label: "Name"),
            Property(name: "country", type: .string, label: "Country"),
        ])
        _ = try await graph.putClass(db, city, version: 2)
        let afterChange = try await query(["start_class": "City", "filters": ["country": "KR"]], engine: engine)
        XCTAssertEqual(afterChange.nodeIds, [], "the new property is filterable at once")
        XCTAssertEqual(afterChange["calls"]?["schema"], 2)
    }

    func testACachedOntologyIsCheckedAlongsideTheTraversal() async throws {
        let counting = InstrumentedGraphStore(graph, fingerprintDelay: .milliseconds(100))
        let engine = GraphQueryEngine(snapshots: OntologySnapshots(graph: counting), executor: TraversalExecutor(graph: counting, documents: documents))
        _ = try await query(["start_class": "City"], engine: engine)
        XCTAssertEqual(counting.findNodesWhileCheckingTheOntology, 0, "nothing cached yet: check first, then traverse")
        let cached = try await query(["start_class": "City"], engine: engine)
        XCTAssertEqual(counting.findNodesWhileCheckingTheOntology, 1, "the start nodes are read while the check runs")
        XCTAssertEqual(cached["calls"]?["schema"], 1)

        // A check that fails fails the request, although the speculative traversal answered.
        counting.failFingerprint.store(true, ordering: .relaxed)
        let failed = await problem(["start_class": "City"], engine: engine)
        XCTAssertEqual(failed?.status, 503)
    }
}
