import Foundation
import XCTest
import Core
import Drivers
@testable import Write

/// Instance writes validate against a cached ontology and the intake checks its version under its locks.
/// Two write paths on one database stand for two gateway processes: each has its own cache.
final class OntologyPreconditionTests: XCTestCase {
    private var client: PostgresClient!
    private var directories: [String] = []
    private var stores: [FileEventStore] = []

    override func setUp() async throws {
        client = try await makeTestDatabaseClient(prefix: "ontology_")
        try await Migrator(client: client).migrate()
    }

    override func tearDown() async throws {
        for store in stores { store.close() }
        for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
        await client?.shutdown()
    }

    private func makeWritePath() throws -> WritePath {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("spice-ontology-\(UUID().uuidString)").path
        directories.append(directory)
        let store = try FileEventStore(directory: directory)
        stores.append(store)
        return WritePath(client: client, eventStore: store, notifier: CommandStatusNotifier(), statusTTLSeconds: nil)
    }

    private func item(_ properties: JSONValue) -> JSONValue {
        ["id": "Item", "label": "Item", "properties": properties]
    }

    private let idProperty: JSONValue = ["name": "item_id", "type": "string", "label": "ID", "primary_key": true]

    private func expectProblem(_ status: Int, field: String? = nil, _ body: () async throws -> Void,
                               file: StaticString = #filePath, line: UInt = #line) async {
        do {
            try await body()
            XCTFail("expected a \(status) problem", file: file, line: line)
        } catch let problem as Problem {
            XCTAssertEqual(problem.status, status, "\(problem)", file: file, line: line)
            if let field { XCTAssertEqual(problem.field, field, "\(problem)", file: file, line: line) }
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    func testAnOntologyChangedElsewhereIsSeenBeforeACommandIsAcceptedOrRefused() async throws {
        let first = try makeWritePath()
        let second = try makeWritePath()
        _ = try await first.databases.create(name: "shop", description: nil, context: CommandContext())
        _ = try await first.ontology.create(database: "shop", definition: item([idProperty]), context: CommandContext())
        // The first path caches the ontology with one property.
        _ = try await first.instances.create(database: "shop", classId: "Item", data: ["item_id": "a"], context: CommandContext())

        // Elsewhere, a property is added: the first path's cached ontology would refuse it as unknown.
        let colour: JSONValue = ["name": "colour", "type": "string", "label": "Colour"]
        _ = try await second.ontology.update(database: "shop", classId: "Item", patch: ["properties": [idProperty, colour]],
                                             expectedSequence: 1, context: CommandContext())
        let withColour = try await first.instances.create(database: "shop", classId: "Item",
                                                          data: ["item_id": "b", "colour": "red"], context: CommandContext())
        XCTAssertEqual(withColour.sequenceNumber, 1)

        // Elsewhere again, the property becomes required: the cached ontology would accept an instance
        // without it, the intake sees the version move and the command is validated again, and refused.
        let requiredColour: JSONValue = ["name": "colour", "type": "string", "label": "Colour", "required": true]
        _ = try await second.ontology.update(database: "shop", classId: "Item", patch: ["properties": [idProperty, requiredColour]],
                                             expectedSequence: 2, context: CommandContext())
        await expectProblem(400, field: "body.data.colour") {
            _ = try await first.instances.create(database: "shop", classId: "Item", data: ["item_id": "c"], context: CommandContext())
        }
        let absent = try await first.aggregates.snapshot(.instance(database: "shop", classId: "Item", instanceId: "c"))
        XCTAssertNil(absent, "nothing was written for the refused command")

        // A class that exists only in the newer ontology, and a database deleted elsewhere.
        _ = try await second.ontology.create(database: "shop", definition: ["id": "Tag", "label": "Tag", "properties": [idProperty]],
                                             context: CommandContext())
        let tag = try await first.instances.create(database: "shop", classId: "Tag", data: ["item_id": "t"], context: CommandContext())
        XCTAssertEqual(tag.aggregateId, "shop:main:Tag:t")
        _ = try await second.databases.delete(name: "shop", expectedSequence: 1, context: CommandContext())
        await expectProblem(404, field: "path.db") {
            _ = try await first.instances.create(database: "shop", classId: "Item", data: ["item_id": "d", "colour": "blue"],
                                                 context: CommandContext())
        }
    }
}
