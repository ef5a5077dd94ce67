import XCTest
import Core
@testable import Read

/// The graph-query engine on the Postgres read models: hops, cycles, paths, limits, paging and filters.
final class GraphQueryTests: GraphQueryTestCase {
    func testOneHopWithDocumentsIsFullAndCountsCallsByLevel() async throws {
        let answer = try await query(["start_class": "Person", "hops": [["predicate": "works_at", "target_class": "Company"]]])
        XCTAssertEqual(answer.nodeIds, ["Person/a", "Person/b", "Person/c", "Company/acme"])
        XCTAssertEqual(answer.edgeTexts, ["Person/a -works_at-> Company/acme", "Person/c -works_at-> Company/acme"])
        for node in answer["nodes"]!.arrayValue! {
            XCTAssertEqual(node["data_status"], "FULL", "\(node)")
            XCTAssertEqual(node["version"], 1)
        }
        XCTAssertEqual(answer.node("Person/a")?["data"]?["name"], "Ann")
        XCTAssertEqual(answer.node("Company/acme")?["depth"], 1)
        XCTAssertEqual(answer.node("Company/acme")?["display"]?["name"], "Acme")
        XCTAssertEqual(answer["index_summary"]?["documents_found"], 4)
        XCTAssertEqual(answer["index_summary"]?["documents_missing"], 0)
        XCTAssertEqual(answer["calls"]?["graph"], 2, "one for the start nodes, one for the hop")
        XCTAssertEqual(answer["calls"]?["documents"], 2, "one per level")
        XCTAssertNotNil(answer["as_of"]?.stringValue.flatMap(EventTimestamp.parse))
        XCTAssertEqual(answer["page"]?["next_offset"], .null)
        XCTAssertEqual(answer.warningCodes, [])
    }

    func testCyclesAreWalkedUnlessNoCyclesIsSet() async throws {
        let hops: JSONValue = [["predicate": "knows"], ["predicate": "knows"], ["predicate": "knows"]]
        let walked = try await query(["start_class": "Person", "filters": ["_id": "a"], "hops": hops, "include_paths": true])
        XCTAssertEqual(Set(walked.pathTexts), [
            "Person/a > Person/b > Person/c > Person/a",
            "Person/a > Person/c > Person/a > Person/b",
            "Person/a > Person/c > Person/a > Person/c",
        ])
        XCTAssertTrue(walked.edgeTexts.contains("Person/c -knows-> Person/a"))

        let acyclic = try await query(["start_class": "Person", "filters": ["_id": "a"], "hops": hops, "include_paths": true, "no_cycles": true])
        XCTAssertEqual(acyclic.pathTexts, [], "every three-step walk from a revisits a node")
        XCTAssertFalse(acyclic.edgeTexts.contains("Person/c -knows-> Person/a"), "the edge back to a only closes cycles")
        XCTAssertEqual(acyclic.edgeTexts, ["Person/a -knows-> Person/b", "Person/a -knows-> Person/c", "Person/b -knows-> Person/c"])
        XCTAssertTrue(acyclic.warningCodes.contains("cycle_filtered"))

        let twoHops = try await query(["start_class": "Person", "filters": ["_id": "a"], "hops": [["predicate": "knows"], ["predicate": "knows"]],
                                       "include_paths": true, "no_cycles": true])
        XCTAssertEqual(twoHops.pathTexts, ["Person/a > Person/b > Person/c"])
    }

    func testReverseAndInverseHops() async throws {
        let employees = try await query(["start_class": "Company", "hops": [["predicate": "works_at", "target_class": "Person", "reverse": true]]])
        XCTAssertEqual(employees.nodeIds, ["Company/acme", "Person/a", "Person/c"])
        XCTAssertEqual(employees.edgeTexts, ["Person/a -works_at-> Company/acme", "Person/c -works_at-> Company/acme"],
                       "edges are reported as stored")

        let hosted = try await query(["start_class": "City", "hops": [["predicate": "hosts"], ["predicate": "works_at", "target_class": "Person",
                                                                                               "reverse": true]]])
        XCTAssertEqual(hosted.nodeIds, ["City/seoul", "Company/acme", "Person/a", "Person/c"], "hosts walks located_in backwards")
    }

    func testEveryLimitIsEnforcedAndReported() async throws {
        let hops: JSONValue = [["predicate": "knows"], ["predicate": "works_at"]]
        let fewNodes = try await query(["start_class": "Person", "hops": hops, "max_nodes": 3])
        XCTAssertEqual(fewNodes.nodeIds.count, 3)
        XCTAssertTrue(fewNodes.warningCodes.contains("node_limit_reached"))

        let fewEdges = try await query(["start_class": "Person", "hops": hops, "max_edges": 2])
        XCTAssertEqual(fewEdges["edges"]?.arrayValue?.count, 2)
        XCTAssertTrue(fewEdges.warningCodes.contains("edge_limit_reached"))

        let fewPaths = try await query(["start_class": "Person", "hops": hops, "include_paths": true, "max_paths": 1])
        XCTAssertEqual(fewPaths.pathTexts.count, 1)
        XCTAssertTrue(fewPaths.warningCodes.contains("path_limit_reached"))

        let shallow = try await query(["start_class": "Person", "filters": ["_id": "a"], "hops": hops, "path_depth_limit": 1, "include_paths": true])
        XCTAssertEqual(shallow.nodeIds, ["Person/a", "Person/b", "Person/c"], "the second hop is not walked")
        XCTAssertEqual(shallow.pathTexts, ["Person/a > Person/b", "Person/a > Person/c"])
        XCTAssertTrue(shallow.warningCodes.contains("path_depth_limit_reached"))

        let noCut = try await query(["start_class": "Person", "hops": hops])
        XCTAssertEqual(noCut.warningCodes, [])
    }

    func testPagesCoverEveryStartNodeOnceAndTheLastSaysSo() async throws {
        for index in 10..<33 { try await put("Person/p\(index)", ["name": .string("P\(index)"), "age": .number(Double(index))]) }
        var seen: [String] = []
        var offset: JSONValue = 0
        var pages = 0
        while offset != .null {
            let page = try await query(["start_class": "Person", "filters": ["age": ["lt": 100]], "limit": 5, "offset": offset])
            seen += page.nodeIds
            offset = page["page"]?["next_offset"] ?? .null
            pages += 1
        }
        XCTAssertEqual(seen.count, 26)
        XCTAssertEqual(Set(seen).count, 26, "no repeats")
        XCTAssertEqual(seen, seen.sorted(), "id order across pages")
        XCTAssertEqual(pages, 6)

        let cutByNodes = try await query(["start_class": "Person", "limit": 10, "max_nodes": 4])
        XCTAssertEqual(cutByNodes.nodeIds.count, 4)
        XCTAssertEqual(cutByNodes["page"]?["next_offset"], 4, "the next page starts at the first start node left out")
    }

    func testFiltersOfEachKind() async throws {
        func ids(_ filters: JSONValue) async throws -> [String] {
            try await query(["start_class": "Person", "filters": filters]).nodeIds
        }
        var found = try await ids(["name": "Bob"])
        XCTAssertEqual(found, ["Person/b"])
        found = try await ids(["name": ["Ann", "Cid"]])
        XCTAssertEqual(found, ["Person/a", "Person/c"])
        found = try await ids(["age": ["in": [30, 50]]])
        XCTAssertEqual(found, ["Person/a", "Person/c"])
        found = try await ids(["age": ["gt": 30, "lte": 50]])
        XCTAssertEqual(found, ["Person/b", "Person/c"])
        found = try await ids(["name": ["contains": "o"]])
        XCTAssertEqual(found, ["Person/b"])
        found = try await ids(["_id": ["in": ["a", "b"]], "age": ["gte": 40]])
        XCTAssertEqual(found, ["Person/b"])
        found = try await ids(["works_at": "Company/acme"])
        XCTAssertEqual(found, ["Person/a", "Person/c"], "a to-one link is filterable")

        let hopFiltered = try await query(["start_class": "Person", "filters": ["_id": "a"],
                                           "hops": [["predicate": "knows", "filters": ["age": ["gte": 50]]]]])
        XCTAssertEqual(hopFiltered.nodeIds, ["Person/a", "Person/c"])

        let unknown = await problem(["start_class": "Person", "filters": ["salary": 1]])
        XCTAssertEqual(unknown?.status, 400)
        XCTAssertEqual(unknown?.field, "body.filters.salary")
        let nested = await problem(["start_class": "Person", "filters": ["tags": "x"]])
        XCTAssertEqual(nested?.field, "body.filters.tags", "arrays are not in the graph")
        let badOperator = await problem(["start_class": "Person", "filters": ["age": ["between": [1, 2]]]])
        XCTAssertEqual(badOperator?.field, "body.filters.age.between")
        let badBound = await problem(["start_class": "Person", "filters": ["age": ["gt": true]]])
        XCTAssertEqual(badBound?.field, "body.filters.age.gt")
    }

    func testHopsAreCheckedAgainstTheOntology() async throws {
        let cases: [(JSONValue, String, String)] = [
            (["start_class": "Nobody"], "body.start_class", "unknown_class"),
            (["start_class": "Person", "hops": [["predicate": "owns"]]], "body.hops[0].predicate", "invalid_hop"),
            (["start_class": "Person", "hops": [["predicate": "works_at", "target_class": "City"]]], "body.hops[0].target_class", "invalid_hop"),
            (["start_class": "Person", "hops": [["predicate": "works_at", "target_class": "Planet"]]], "body.hops[0].target_class", "invalid_hop"),
            (["start_class": "Person", "hops": [["predicate": "works_at"], ["predicate": "knows"]]], "body.hops[1].predicate", "invalid_hop"),
            (["start_class": "Person", "hops": [["predicate": "located_in", "reverse": true]]], "body.hops[0].target_class", "invalid_hop"),
            (["start_class": "Person", "hops": [["predicate": "located_in", "target_class": "Company", "reverse": true]]],
             "body.hops[0].predicate", "invalid_hop"),
        ]
        for (body, field, code) in cases {
            let refused = await problem(body)
            XCTAssertEqual(refused?.status, 400, "\(body)")
            XCTAssertEqual(refused?.field, field, "\(body)")
            XCTAssertEqual(refused?.code, code, "\(body)")
        }
    }

    func testRequestBoundsAreRefusedNotClamped() throws {
        let bad: [(JSONValue, String)] = [
            (["hops": []], "body.start_class"),
            (["start_class": "Person", "limit": 0], "body.limit"),
            (["start_class": "Person", "limit": 1001], "body.limit"),
            (["start_class": "Person", "max_nodes": 10_001], "body.max_nodes"),
            (["start_class": "Person", "max_paths": 0], "body.max_paths"),
            (["start_class": "Person", "offset": -1], "body.offset"),
            (["start_class": "Person", "path_depth_limit": 11], "body.path_depth_limit"),
            (["start_class": "Person", "no_cycles": "yes"], "body.no_cycles"),
            (["start_class": "Person", "hops": .array(Array(repeating: ["predicate": "knows"], count: 11))], "body.hops"),
            (["start_class": "Person", "hops": [["predicate": "knows", "via": "x"]]], "body.hops[0].via"),
            (["start_class": "Person", "colour": "red"], "body.colour"),
            (["start_class": "Person", "branch": "dev"], "body.branch"),
            (["start_class": "Person", "include_audit": true], "body.include_audit"),
        ]
        for (body, field) in bad {
            XCTAssertThrowsError(try GraphQueryRequest(json: body.objectValue!, branchParameter: nil), "\(body)") { error in
                XCTAssertEqual((error as? Problem)?.field, field, "\(body)")
                XCTAssertEqual((error as? Problem)?.status, 400)
            }
        }
        XCTAssertThrowsError(try GraphQueryRequest(json: ["start_class": "Person"], branchParameter: "feature")) { error in
            XCTAssertEqual((error as? Problem)?.code, "branch_not_supported")
        }
    }
}

