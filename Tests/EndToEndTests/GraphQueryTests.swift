import Foundation
import XCTest

/// `POST /api/v1/graph-query/{db}` through the real binary, on read models its own workers filled.
final class GraphQueryTests: XCTestCase {
    private var harness: DeliveryHarness!

    override func setUpWithError() throws {
        harness = try DeliveryHarness()
    }

    override func tearDown() {
        harness?.cleanUp()
    }

    /// The original's demo: Customer, Product owned_by Customer, instances.
    private func makeDemo() throws {
        let customer: [String: Any] = [
            "id": "Customer", "label": "Customer",
            "properties": [["name": "customer_id", "type": "string", "label": "ID", "primary_key": true],
                           ["name": "name", "type": "string", "label": "Name", "required": true]],
        ]
        let product: [String: Any] = [
            "id": "Product", "label": "Product",
            "properties": [["name": "product_id", "type": "string", "label": "ID", "primary_key": true],
                           ["name": "name", "type": "string", "label": "Name", "required": true],
                           ["name": "price", "type": "decimal", "label": "Price"]],
            "relationships": [["predicate": "owned_by", "target": "Customer", "label": "owned by", "cardinality": "n:1",
                               "inverse_predicate": "owns"]],
        ]
        XCTAssertEqual(try HTTP.call("POST", harness.api("/database/create?wait=true"), json: ["name": "demo"]).status, 201)
        for definition in [customer, product] {
            let created = try HTTP.call("POST", harness.api("/database/demo/ontology?wait=true"), json: definition)
            XCTAssertEqual(created.status, 201, created.raw)
        }
        for (id, name) in [("c1", "Ann"), ("c2", "Bo")] {
            try create("Customer", ["customer_id": id, "name": name])
        }
        for (id, owner, price) in [("p1", "c1", 10), ("p2", "c1", 20), ("p3", "c2", 30)] {
            try create("Product", ["product_id": id, "name": "Product \(id)", "price": price, "owned_by": "Customer/\(owner)"])
        }
    }

    private func create(_ classId: String, _ data: [String: Any]) throws {
        let response = try HTTP.call("POST", harness.api("/instances/demo/sync/\(classId)/create"), json: ["data": data])
        XCTAssertEqual(response.status, 201, response.raw)
    }

    private func query(_ body: [String: Any], expect status: Int = 200, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let response = try HTTP.call("POST", harness.api("/graph-query/demo"), json: body)
        XCTAssertEqual(response.status, status, response.raw, file: file, line: line)
        return response.json
    }

    private func nodes(_ answer: [String: Any]) -> [[String: Any]] { answer["nodes"] as? [[String: Any]] ?? [] }
    private func node(_ answer: [String: Any], _ id: String) -> [String: Any]? { nodes(answer).first { $0["id"] as? String == id } }

    func testTheOriginalsDemoAnswersOneHopWithFullDocuments() throws {
        try harness.start()
        try makeDemo()
        let answer = try query(["start_class": "Product", "hops": [["predicate": "owned_by", "target_class": "Customer"]],
                                "include_paths": true])
        XCTAssertEqual(nodes(answer).compactMap { $0["id"] as? String }, ["Product/p1", "Product/p2", "Product/p3", "Customer/c1", "Customer/c2"])
        XCTAssertEqual(Set(nodes(answer).compactMap { $0["data_status"] as? String }), ["FULL"])
        XCTAssertEqual((node(answer, "Customer/c1")?["data"] as? [String: Any])?["name"] as? String, "Ann")
        XCTAssertEqual((answer["edges"] as? [Any])?.count, 3)
        XCTAssertEqual((answer["paths"] as? [[String: Any]])?.map { ($0["nodes"] as? [String] ?? []).joined(separator: ">") },
                       ["Product/p1>Customer/c1", "Product/p2>Customer/c1", "Product/p3>Customer/c2"])
        let summary = answer["index_summary"] as? [String: Any]
        XCTAssertEqual(summary?["documents_found"] as? Int, 5)
        XCTAssertEqual(summary?["documents_missing"] as? Int, 0)
        XCTAssertNotNil(answer["as_of"] as? String)

        let owners = try query(["start_class": "Customer", "filters": ["name": "Ann"], "hops": [["predicate": "owns"]]])
        XCTAssertEqual(nodes(owners).compactMap { $0["id"] as? String }, ["Customer/c1", "Product/p1", "Product/p2"],
                       "the inverse predicate walks owned_by backwards")
        let expensive = try query(["start_class": "Product", "filters": ["price": ["gte": 20]]])
        XCTAssertEqual(nodes(expensive).compactMap { $0["id"] as? String }, ["Product/p2", "Product/p3"])

        let badHop = try HTTP.call("POST", harness.api("/graph-query/demo"),
                                   json: ["start_class": "Product", "hops": [["predicate": "made_by"]]])
        XCTAssertEqual(badHop.status, 400)
        XCTAssertEqual(badHop.json["field"] as? String, "body.hops[0].predicate")
        XCTAssertEqual(badHop.json["error"] as? String, "invalid_hop")
        let unknown = try HTTP.call("POST", harness.api("/graph-query/nowhere"), json: ["start_class": "Product"])
        XCTAssertEqual(unknown.status, 404)
        let badName = try HTTP.call("POST", harness.api("/graph-query/No%20Such"), json: ["start_class": "Product"])
        XCTAssertEqual(badName.status, 400)
        let notJSON = try HTTP.call("POST", harness.api("/graph-query/demo"), json: ["start_class"])
        XCTAssertEqual(notJSON.status, 400)
    }

    /// The projection held back by failing attempts: the graph has the node first (MISSING), then an update
    /// reaches the graph before its document (PARTIAL), and both converge to FULL.
    func testDataStatusFollowsTheProjectionToFull() throws {
        try harness.start(["SPICE_CHAOS_FAIL": "projection_worker.3", "SPICE_WORKER_BACKOFF_MS": "500"])
        try makeDemoWithoutWaitingForDocuments()
        let body: [String: Any] = ["start_class": "Product", "filters": ["_id": "p9"]]

        let created = try HTTP.call("POST", harness.api("/instances/demo/async/Product/create"),
                                    json: ["data": ["product_id": "p9", "name": "Lamp", "owned_by": "Customer/c1"]])
        XCTAssertEqual(created.status, 202, created.raw)
        let missing = try waitFor(body) { $0?["data_status"] as? String == "MISSING" }
        XCTAssertEqual((missing?["index_status"] as? [String: Any])?["reason"] as? String, "not_projected")
        try harness.waitForStatus(created.json["command_id"] as? String ?? "", "COMPLETED")
        XCTAssertEqual(node(try query(body), "Product/p9")?["data_status"] as? String, "FULL")

        let updated = try HTTP.call("PUT", harness.api("/instances/demo/async/Product/p9/update?expected_seq=1"),
                                    json: ["data": ["name": "Desk lamp"]])
        XCTAssertEqual(updated.status, 202, updated.raw)
        let partial = try waitFor(body) { $0?["data_status"] as? String == "PARTIAL" }
        XCTAssertEqual((partial?["index_status"] as? [String: Any])?["reason"] as? String, "stale_document")
        XCTAssertEqual((partial?["data"] as? [String: Any])?["name"] as? String, "Lamp", "the older document still answers")
        try harness.waitForStatus(updated.json["command_id"] as? String ?? "", "COMPLETED")
        let full = node(try query(body), "Product/p9")
        XCTAssertEqual(full?["data_status"] as? String, "FULL")
        XCTAssertEqual(full?["version"] as? Int, 2)
        XCTAssertEqual((full?["data"] as? [String: Any])?["name"] as? String, "Desk lamp")
    }

    /// The demo's classes and one customer, waiting only for the graph (the projection is slowed).
    private func makeDemoWithoutWaitingForDocuments() throws {
        XCTAssertEqual(try HTTP.call("POST", harness.api("/database/create?wait=true"), json: ["name": "demo"]).status, 201)
        for definition in [["id": "Customer", "label": "Customer",
                            "properties": [["name": "customer_id", "type": "string", "label": "ID", "primary_key": true]]],
                           ["id": "Product", "label": "Product",
                            "properties": [["name": "product_id", "type": "string", "label": "ID", "primary_key": true],
                                           ["name": "name", "type": "string", "label": "Name", "required": true]],
                            "relationships": [["predicate": "owned_by", "target": "Customer", "label": "owned by", "cardinality": "n:1"]]]] {
            let created = try HTTP.call("POST", harness.api("/database/demo/ontology"), json: definition)
            XCTAssertEqual(created.status, 202, created.raw)
            try harness.waitForSQL("SELECT count(*) FROM graph_classes WHERE class_id = '\(definition["id"] as! String)'", "1")
        }
        let customer = try HTTP.call("POST", harness.api("/instances/demo/async/Customer/create"), json: ["data": ["customer_id": "c1"]])
        XCTAssertEqual(customer.status, 202, customer.raw)
        try harness.waitForSQL("SELECT count(*) FROM graph_nodes WHERE instance_id = 'c1'", "1")
    }

    /// Polls the query until the node `Product/p9` satisfies `condition`; returns it.
    private func waitFor(_ body: [String: Any], timeout: TimeInterval = 20,
                         _ condition: ([String: Any]?) -> Bool) throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any]?
        while Date() < deadline {
            last = node(try query(body), "Product/p9")
            if condition(last) { return last }
            usleep(20_000)
        }
        XCTFail("Product/p9 never reached the expected state; last: \(String(describing: last))")
        return last
    }

    /// Rebuilding the read models from the event store leaves every answer as it was.
    func testReplayLeavesEveryAnswerUnchanged() throws {
        try harness.start()
        try makeDemo()
        let updated = try HTTP.call("PUT", harness.api("/instances/demo/sync/Product/p2/update?expected_seq=1"), json: ["data": ["price": 25]])
        XCTAssertEqual(updated.status, 200, updated.raw)
        XCTAssertEqual(try HTTP.call("DELETE", harness.api("/instances/demo/sync/Product/p3/delete?expected_seq=1")).status, 200)
        let queries: [[String: Any]] = [
            ["start_class": "Product", "hops": [["predicate": "owned_by"]], "include_paths": true],
            ["start_class": "Customer", "hops": [["predicate": "owns"], ["predicate": "owned_by"]], "no_cycles": true],
            ["start_class": "Product", "filters": ["price": ["lt": 30]], "include_provenance": true],
        ]
        try harness.waitForSQL("SELECT count(*) FROM processed_events WHERE status <> 'done'", "0")
        let before = try queries.map(stableAnswer)
        let graphQL = "{ Customer(orderBy: [{field: name}]) { _id name _version _dataStatus owns(limit: 10) { _id name price _version _dataStatus } } }"
        let graphQLBefore = try graphQLData(graphQL)
        XCTAssertTrue(graphQLBefore.contains("\"price\":25"), graphQLBefore)
        harness.stop()

        _ = try harness.sql("DELETE FROM documents; DELETE FROM graph_nodes; DELETE FROM graph_edges; DELETE FROM class_documents; DELETE FROM graph_classes")
        let run = try Command.run(SpiceServer.binaryPath, ["replay"], timeout: 120,
                                  environment: ProcessInfo.processInfo.environment.merging(harness.baseEnvironment) { $1 })
        XCTAssertEqual(run.status, 0, run.stderr)
        try harness.start()
        XCTAssertEqual(try queries.map(stableAnswer), before)
        XCTAssertEqual(try graphQLData(graphQL), graphQLBefore)
    }

    /// A GraphQL answer's `data`, as sorted JSON.
    private func graphQLData(_ query: String) throws -> String {
        let response = try HTTP.call("POST", harness.api("/graphql/demo"), json: ["query": query])
        XCTAssertEqual(response.status, 200, response.raw)
        XCTAssertNil(response.json["errors"], response.raw)
        let data = try JSONSerialization.data(withJSONObject: response.json["data"] ?? [:], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// The answer as sorted JSON without what depends on the clock.
    private func stableAnswer(_ body: [String: Any]) throws -> String {
        var answer = try query(body)
        answer["as_of"] = nil
        var summary = answer["index_summary"] as? [String: Any]
        summary?["max_index_age_seconds"] = nil
        answer["index_summary"] = summary
        answer["nodes"] = nodes(answer).map { node -> [String: Any] in
            var node = node
            var index = node["index_status"] as? [String: Any]
            index?["index_age_seconds"] = nil
            node["index_status"] = index
            return node
        }
        let data = try JSONSerialization.data(withJSONObject: answer, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// The richer graph-query cases through the real binary: a 3-hop walk over a cycle with and without
/// `no_cycles`, reverse and inverse hops, every limit, paging, each filter kind and hop validation errors —
/// on a graph the workers built from commands.
final class GraphQueryWalkTests: XCTestCase {
    private var harness: DeliveryHarness!

    override func setUpWithError() throws {
        harness = try DeliveryHarness()
        try harness.start()
        XCTAssertEqual(try HTTP.call("POST", harness.api("/database/create?wait=true"), json: ["name": "people"]).status, 201)
        let classes: [[String: Any]] = [
            ["id": "Company", "label": "Company",
             "properties": [["name": "company_id", "type": "string", "label": "ID", "primary_key": true]]],
            ["id": "Person", "label": "Person",
             "properties": [["name": "person_id", "type": "string", "label": "ID", "primary_key": true],
                            ["name": "name", "type": "string", "label": "Name", "required": true],
                            ["name": "age", "type": "integer", "label": "Age"]],
             "relationships": [["predicate": "knows", "target": "Person", "label": "knows", "cardinality": "n:m"],
                               ["predicate": "works_at", "target": "Company", "label": "works at", "cardinality": "n:1",
                                "inverse_predicate": "employs"]]],
        ]
        for definition in classes {
            XCTAssertEqual(try HTTP.call("POST", harness.api("/database/people/ontology?wait=true"), json: definition).status, 201)
        }
        try create("Company", ["company_id": "acme"])
        // a → b → c → a, and a → c: a cycle of three and a shortcut.
        try create("Person", ["person_id": "c", "name": "Cid", "age": 50, "works_at": "Company/acme"])
        try create("Person", ["person_id": "b", "name": "Bob", "age": 40, "knows": ["Person/c"]])
        try create("Person", ["person_id": "a", "name": "Ann", "age": 30, "knows": ["Person/b", "Person/c"], "works_at": "Company/acme"])
        let closed = try HTTP.call("PUT", harness.api("/instances/people/sync/Person/c/update?expected_seq=1"),
                                   json: ["data": ["knows": ["Person/a"]]])
        XCTAssertEqual(closed.status, 200, closed.raw)
        for index in 10..<22 { try create("Person", ["person_id": "p\(index)", "name": "P\(index)", "age": index]) }
    }

    override func tearDown() {
        harness?.cleanUp()
    }

    private func create(_ classId: String, _ data: [String: Any]) throws {
        let response = try HTTP.call("POST", harness.api("/instances/people/sync/\(classId)/create"), json: ["data": data])
        XCTAssertEqual(response.status, 201, response.raw)
    }

    private func query(_ body: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let response = try HTTP.call("POST", harness.api("/graph-query/people"), json: body)
        XCTAssertEqual(response.status, 200, response.raw, file: file, line: line)
        return response.json
    }

    private func ids(_ answer: [String: Any]) -> [String] { (answer["nodes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } }
    private func warnings(_ answer: [String: Any]) -> [String] { (answer["warnings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String } }
    private func paths(_ answer: [String: Any]) -> [String] {
        (answer["paths"] as? [[String: Any]] ?? []).map { ($0["nodes"] as? [String] ?? []).joined(separator: ">") }
    }

    func testCyclesLimitsPagesFiltersAndErrors() throws {
        let knows3: [[String: Any]] = [["predicate": "knows"], ["predicate": "knows"], ["predicate": "knows"]]
        let cyclic = try query(["start_class": "Person", "filters": ["_id": "a"], "hops": knows3, "include_paths": true])
        XCTAssertEqual(Set(paths(cyclic)), ["Person/a>Person/b>Person/c>Person/a", "Person/a>Person/c>Person/a>Person/b",
                                            "Person/a>Person/c>Person/a>Person/c"])
        let acyclic = try query(["start_class": "Person", "filters": ["_id": "a"], "hops": knows3, "include_paths": true, "no_cycles": true])
        XCTAssertEqual(paths(acyclic), [])
        XCTAssertTrue(warnings(acyclic).contains("cycle_filtered"))
        XCTAssertFalse((acyclic["edges"] as? [[String: Any]] ?? []).contains { $0["from_node"] as? String == "Person/c" })

        let employees = try query(["start_class": "Company", "hops": [["predicate": "works_at", "target_class": "Person", "reverse": true]]])
        XCTAssertEqual(ids(employees), ["Company/acme", "Person/a", "Person/c"])
        let employed = try query(["start_class": "Company", "hops": [["predicate": "employs"], ["predicate": "knows"]]])
        XCTAssertEqual(ids(employed), ["Company/acme", "Person/a", "Person/c", "Person/b"])

        let hops: [[String: Any]] = [["predicate": "knows"], ["predicate": "works_at"]]
        XCTAssertTrue(warnings(try query(["start_class": "Person", "hops": hops, "max_nodes": 2])).contains("node_limit_reached"))
        XCTAssertTrue(warnings(try query(["start_class": "Person", "hops": hops, "max_edges": 1])).contains("edge_limit_reached"))
        XCTAssertTrue(warnings(try query(["start_class": "Person", "hops": hops, "include_paths": true, "max_paths": 1]))
            .contains("path_limit_reached"))
        XCTAssertTrue(warnings(try query(["start_class": "Person", "hops": hops, "path_depth_limit": 1])).contains("path_depth_limit_reached"))

        var seen: [String] = []
        var offset: Any = 0
        while !(offset is NSNull) {
            let page = try query(["start_class": "Person", "limit": 4, "offset": offset, "include_documents": false])
            seen += ids(page)
            offset = (page["page"] as? [String: Any])?["next_offset"] ?? NSNull()
        }
        XCTAssertEqual(seen.count, 15)
        XCTAssertEqual(Set(seen).count, 15, "no repeats")
        XCTAssertEqual(seen, seen.sorted(), "no gaps: every person once, in id order")

        let filtered: [([String: Any], [String])] = [
            (["name": "Bob"], ["Person/b"]),
            (["name": ["Ann", "Cid"]], ["Person/a", "Person/c"]),
            (["age": ["gte": 40, "lt": 60]], ["Person/b", "Person/c"]),
            (["name": ["contains": "i"]], ["Person/c"]),
            (["works_at": "Company/acme", "age": ["in": [30]]], ["Person/a"]),
        ]
        for (filters, expected) in filtered {
            XCTAssertEqual(ids(try query(["start_class": "Person", "filters": filters])), expected, "\(filters)")
        }

        for (body, field) in [(["start_class": "Person", "hops": [["predicate": "owns"]]], "body.hops[0].predicate"),
                              (["start_class": "Person", "hops": [["predicate": "works_at", "target_class": "Person"]]], "body.hops[0].target_class"),
                              (["start_class": "Person", "filters": ["salary": 1]], "body.filters.salary")] as [([String: Any], String)] {
            let refused = try HTTP.call("POST", harness.api("/graph-query/people"), json: body)
            XCTAssertEqual(refused.status, 400, refused.raw)
            XCTAssertEqual(refused.json["field"] as? String, field)
        }
    }
}
