import XCTest
import Foundation
import Core

/// Checks `schema/event-envelope.schema.json` against what `EventEnvelope` writes and refuses, with
/// Python's `jsonschema` (Draft 2020-12, format checks on).
final class EventEnvelopeSchemaTests: XCTestCase {
    static let schemaPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("schema/event-envelope.schema.json").path

    static let checker = """
    import json, sys
    from jsonschema import Draft202012Validator
    schema = json.load(open(sys.argv[1]))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    failures = 0
    for path, should_pass in ((sys.argv[2], True), (sys.argv[3], False)):
        for number, line in enumerate(open(path), 1):
            errors = list(validator.iter_errors(json.loads(line)))
            if bool(errors) == should_pass:
                failures += 1
                print(f"{'valid' if should_pass else 'invalid'} document {number}: " + ("; ".join(e.message for e in errors) or "accepted"))
    print("checked")
    sys.exit(1 if failures else 0)
    """

    func testSerializedEnvelopesConformToTheSchema() throws {
        let command = EventEnvelope(eventId: EventID.random(), eventType: "CREATE_INSTANCE_REQUESTED", aggregateType: "Instance",
                                    aggregateId: "db1:main:Person:p-1", occurredAtMilliseconds: 1_795_334_139_123, actor: "alice",
                                    data: ["command_id": "c", "payload": ["name": "Ada"], "expected_seq": 0],
                                    metadata: EventMetadata(kind: .command, kafkaTopic: "instance_commands", service: "oms",
                                                            commandId: "c", commandType: "CREATE_INSTANCE",
                                                            extra: ["command_version": 1, "mode": "async", "run_id": "r"]),
                                    sequenceNumber: 1)
        let domain = EventEnvelopeTests.sample()
        let bare = EventEnvelope(eventType: "DATABASE_CREATED", aggregateType: "Database", aggregateId: "db1",
                                 metadata: EventMetadata(kind: .domain, kafkaTopic: "ontology_events", service: "ontology-worker"))
        let valid = [command, domain, EventEnvelopeTests.sample(sequence: nil), bare].map { JSONWriter.string($0.json) }

        var base = domain.json.objectValue!
        var invalid: [JSONValue] = []
        func add(_ change: (inout [String: JSONValue]) -> Void) {
            var copy = base
            change(&copy)
            invalid.append(.object(copy))
        }
        add { $0["event_id"] = "ABC" }
        add { $0["event_id"] = nil }
        add { $0["occurred_at"] = "2026-11-22T07:55:39Z" }   // not the canonical stored form
        add { $0["data"] = [1] }
        add { $0["sequence_number"] = -1 }
        add { $0["extra_member"] = true }
        add { $0["metadata"] = ["kind": "other", "kafka_topic": "t", "service": "s"] }
        add { $0["metadata"] = ["kind": "domain", "service": "s"] }
        add { $0["aggregate_id"] = "" }
        base["actor"] = 5
        invalid.append(.object(base))
        // Whatever the schema refuses (apart from the lenient occurred_at form), the Swift reader refuses too.
        for (index, document) in invalid.enumerated() where index != 2 {
            XCTAssertThrowsError(try EventEnvelope(json: document), JSONWriter.string(document))
        }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("envelope-schema-\(EventID.random())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let validPath = directory.appendingPathComponent("valid.jsonl")
        let invalidPath = directory.appendingPathComponent("invalid.jsonl")
        try (valid.joined(separator: "\n") + "\n").write(to: validPath, atomically: true, encoding: .utf8)
        try (invalid.map(JSONWriter.string).joined(separator: "\n") + "\n").write(to: invalidPath, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.checker, Self.schemaPath, validPath.path, invalidPath.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus == 127 { throw XCTSkip("python3 is not installed") }
        if text.contains("No module named 'jsonschema'") { throw XCTSkip("python3 has no jsonschema module") }
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("checked"), text)
    }
}
