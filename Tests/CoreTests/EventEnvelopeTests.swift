import XCTest
import Core

final class EventEnvelopeTests: XCTestCase {
    static let instanceId = "0b0e4f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

    static func sample(sequence: Int? = 3, topic: String = "instance_events", data: JSONValue = ["name": "Ada", "age": 36]) -> EventEnvelope {
        EventEnvelope(eventId: "966b5393-6c11-5b20-a88a-3a30e5e9acba", eventType: "INSTANCE_CREATED", aggregateType: "Instance",
                      aggregateId: "db1:main:Person:p-1", occurredAtMilliseconds: 1_795_334_139_123, actor: "alice", data: data,
                      metadata: EventMetadata(kind: .domain, kafkaTopic: topic, service: "instance-worker",
                                              commandId: instanceId, commandType: "CREATE_INSTANCE",
                                              extra: ["ontology": ["ref": "main", "commit": "c1"]]),
                      sequenceNumber: sequence)
    }

    // MARK: SHA-1 and ids

    func testSHA1KnownVectors() {
        XCTAssertEqual(SHA1.hexDigest([UInt8]()), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        XCTAssertEqual(SHA1.hexDigest(Array("abc".utf8)), "a9993e364706816aba3e25717850c26c9cd0d89d")
        XCTAssertEqual(SHA1.hexDigest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        XCTAssertEqual(SHA1.hexDigest(Array(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                                             + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8)),
                       "a49b2446a02c645bf419f995b67091253a04a259")
        // A sequence without contiguous storage hashes like the same bytes in an array.
        XCTAssertEqual(SHA1.hexDigest((0..<200).lazy.map { UInt8($0 % 251) }), SHA1.hexDigest((0..<200).map { UInt8($0 % 251) }))
        XCTAssertEqual(SHA1.hexDigest("abc".utf8.lazy.map { $0 }), "a9993e364706816aba3e25717850c26c9cd0d89d")
        // Padding edges: 55, 56 and 64 bytes.
        XCTAssertEqual(SHA1.hexDigest([UInt8](repeating: 0x61, count: 55)), "c1c8bbdc22796e28c0e15163d20899b65621d65a")
        XCTAssertEqual(SHA1.hexDigest([UInt8](repeating: 0x61, count: 56)), "c2db330f6083854c99d4b5bfb6e8f29f201be699")
        XCTAssertEqual(SHA1.hexDigest([UInt8](repeating: 0x61, count: 64)), "0098ba824b5c16427bd7a1122a5a442a25ec644d")
        // A million 'a', fed in uneven pieces.
        var hasher = SHA1()
        var remaining = 1_000_000
        var piece = 1
        while remaining > 0 {
            let n = min(piece, remaining)
            hasher.update([UInt8](repeating: 0x61, count: n))
            remaining -= n
            piece = piece * 3 % 1000 + 1
        }
        XCTAssertEqual(hasher.finalize().map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(),
                       "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    func testDerivedIdsMatchPythonUUID5AndAreDeterministic() {
        // Expected values from Python: uuid.uuid5(uuid.NAMESPACE_URL, f"spice:{command_id}:{event_type}:{aggregate_id}").
        XCTAssertEqual(EventID.derived(commandId: Self.instanceId, eventType: "INSTANCE_CREATED", aggregateId: "db1:main:Person:p-1"),
                       "966b5393-6c11-5b20-a88a-3a30e5e9acba")
        XCTAssertEqual(EventID.derived(commandId: "cmd-1", eventType: "ONTOLOGY_CLASS_CREATED", aggregateId: "db:main:Person"),
                       "4e475861-b0c2-5c8a-a95a-430e3221369f")
        XCTAssertEqual(EventID.derived(commandId: "é", eventType: "X", aggregateId: "y"), "e691dbac-46bc-5da3-b27c-ef6d3b0c3283")
        let a = EventID.derived(commandId: "c", eventType: "INSTANCE_CREATED", aggregateId: "db:main:P:1")
        XCTAssertEqual(a, EventID.derived(commandId: "c", eventType: "INSTANCE_CREATED", aggregateId: "db:main:P:1"))
        let others = [EventID.derived(commandId: "d", eventType: "INSTANCE_CREATED", aggregateId: "db:main:P:1"),
                      EventID.derived(commandId: "c", eventType: "INSTANCE_UPDATED", aggregateId: "db:main:P:1"),
                      EventID.derived(commandId: "c", eventType: "INSTANCE_CREATED", aggregateId: "db:main:P:2")]
        XCTAssertEqual(Set(others + [a]).count, 4)
        for id in others + [a] {
            XCTAssertTrue(EventID.isCanonical(id), id)
            XCTAssertEqual(Array(id.utf8)[14], UInt8(ascii: "5"), id)
        }
    }

    func testTimeOrderedIdsAreCanonicalVersion7CarryTheirMillisecondAndSortByIt() {
        // The RFC 9562 example timestamp: 2022-02-22T19:22:22Z = 0x017F22E279B0.
        var generator = SystemRandomNumberGenerator()
        let example = EventID.timeOrdered(milliseconds: 0x017F_22E2_79B0, using: &generator)
        XCTAssertTrue(example.hasPrefix("017f22e2-79b0-7"), example)
        XCTAssertTrue("89ab".utf8.contains(Array(example.utf8)[19]), example)
        var previous = ""
        var seen = Set<String>()
        for step in 0..<2000 {
            let id = EventID.timeOrdered(milliseconds: 1_795_334_139_123 + UInt64(step / 10), using: &generator)
            XCTAssertTrue(EventID.isCanonical(id), id)
            XCTAssertEqual(Array(id.utf8)[14], UInt8(ascii: "7"), id)
            if step % 10 == 0 { XCTAssertGreaterThan(id, previous, "a later millisecond sorts after every earlier id") }
            if step % 10 == 9 { previous = id }
            seen.insert(id)
        }
        XCTAssertEqual(seen.count, 2000, "ids within one millisecond differ by their random bits")
        XCTAssertTrue(EventID.isCanonical(EventID.timeOrdered()))
    }

    func testRandomIdsAreCanonicalVersion4AndDistinct() {
        var seen = Set<String>()
        for _ in 0..<2000 {
            let id = EventID.random()
            XCTAssertTrue(EventID.isCanonical(id), id)
            let bytes = Array(id.utf8)
            XCTAssertEqual(bytes[14], UInt8(ascii: "4"))
            XCTAssertTrue("89ab".utf8.contains(bytes[19]))
            seen.insert(id)
        }
        XCTAssertEqual(seen.count, 2000)
        XCTAssertEqual(EventID.canonicalize("966B5393-6C11-5B20-A88A-3A30E5E9ACBA"), "966b5393-6c11-5b20-a88a-3a30e5e9acba")
        XCTAssertNil(EventID.canonicalize("966b5393-6c11-5b20-a88a-3a30e5e9acb"))
        XCTAssertNil(EventID.canonicalize("../../../../etc/passwd-0000-0000-00000"))
    }

    // MARK: Timestamps

    func testTimestampsFormatAndParse() {
        XCTAssertEqual(EventTimestamp.format(milliseconds: 1_795_334_139_123), "2026-11-22T07:55:39.123Z")
        XCTAssertEqual(EventTimestamp.format(milliseconds: 0), "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(EventTimestamp.format(milliseconds: 1_709_251_199_999), "2024-02-29T23:59:59.999Z")
        XCTAssertEqual(EventTimestamp.format(milliseconds: 951_868_800_000), "2000-03-01T00:00:00.000Z")
        XCTAssertEqual(EventTimestamp.format(milliseconds: 9_999_999_999_999), "2286-11-20T17:46:39.999Z")
        let cases: [(String, Int64)] = [
            ("2026-11-22T07:55:39.123Z", 1_795_334_139_123),
            ("2026-11-22T09:55:39.123456+02:00", 1_795_334_139_123),
            ("2026-11-22t07:55:39.1239z", 1_795_334_139_123),
            ("2026-11-22 07:55:39.123+00:00", 1_795_334_139_123),
            ("2026-11-22T07:55:39Z", 1_795_334_139_000),
            ("2026-11-22T07:55:39.1Z", 1_795_334_139_100),
            ("2026-11-22T02:25:39.123-05:30", 1_795_334_139_123),
            ("2024-02-29T23:59:59.999Z", 1_709_251_199_999),
            ("1970-01-01T00:00:00Z", 0),
        ]
        for (text, expected) in cases { XCTAssertEqual(EventTimestamp.parse(text), expected, text) }
        for bad in ["", "2026-11-22", "2026-11-22T07:55:39", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
                    "2026-04-31T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T07:60:00Z", "2016-12-31T23:59:60Z",
                    "2026-11-22T07:55:39.Z", "2026-11-22T07:55:39+0100", "1969-12-31T23:59:59.999Z",
                    "2286-11-20T17:46:40Z", "2026-11-22T07:55:39Z ", "２026-11-22T07:55:39Z"] {
            XCTAssertNil(EventTimestamp.parse(bad), bad)
        }
        // Every day of a few years round-trips.
        var ms: Int64 = 1_700_000_000_000
        while ms < 1_800_000_000_000 {
            XCTAssertEqual(EventTimestamp.parse(EventTimestamp.format(milliseconds: ms)), ms)
            ms += 86_400_000 + 12_345
        }
    }

    // MARK: Envelope JSON

    func testEnvelopeSerializesWithTheOriginalsKeys() throws {
        let envelope = Self.sample()
        XCTAssertEqual(JSONWriter.string(envelope.json),
                       #"{"actor":"alice","aggregate_id":"db1:main:Person:p-1","aggregate_type":"Instance","data":{"age":36,"name":"Ada"},"#
                       + #""event_id":"966b5393-6c11-5b20-a88a-3a30e5e9acba","event_type":"INSTANCE_CREATED","#
                       + #""metadata":{"command_id":"0b0e4f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b","command_type":"CREATE_INSTANCE","#
                       + #""kafka_topic":"instance_events","kind":"domain","ontology":{"commit":"c1","ref":"main"},"service":"instance-worker"},"#
                       + #""occurred_at":"2026-11-22T07:55:39.123Z","schema_version":"1","sequence_number":3}"#)
        XCTAssertEqual(envelope.occurredAt, "2026-11-22T07:55:39.123Z")
        let minimal = EventEnvelope(eventId: EventID.random(), eventType: "DATABASE_CREATED", aggregateType: "Database",
                                    aggregateId: "db1", occurredAtMilliseconds: 5,
                                    metadata: EventMetadata(kind: .command, kafkaTopic: "database_commands", service: "oms"))
        XCTAssertEqual(minimal.json["actor"], .null)
        XCTAssertEqual(minimal.json["sequence_number"], .null)
        XCTAssertEqual(minimal.json["metadata"], ["kind": "command", "kafka_topic": "database_commands", "service": "oms"])
        XCTAssertEqual(minimal.json["data"], .object([:]))
    }

    func testEnvelopeRoundTrips() throws {
        for envelope in [Self.sample(), Self.sample(sequence: nil), Self.sample(data: ["nested": [1, 2.5, ["x": nil]], "u": "é😀\n"])] {
            XCTAssertEqual(try EventEnvelope(json: envelope.json), envelope)
            XCTAssertEqual(try EventEnvelope(bytes: envelope.jsonBytes), envelope)
            XCTAssertEqual(try EventEnvelope(bytes: envelope.jsonBytes).jsonBytes, envelope.jsonBytes)
        }
    }

    func testParsingNormalizesOtherwiseValidForms() throws {
        let text = #"{"event_id":"966B5393-6C11-5B20-A88A-3A30E5E9ACBA","event_type":"X_REQUESTED","aggregate_type":"Database","#
            + #""aggregate_id":"db1","occurred_at":"2026-11-22T09:55:39.123456+02:00","data":{},"#
            + #""metadata":{"kind":"command","kafka_topic":"database_commands","service":"oms","command_id":null,"mode":"sync"}}"#
        let envelope = try EventEnvelope(bytes: Array(text.utf8))
        XCTAssertEqual(envelope.eventId, "966b5393-6c11-5b20-a88a-3a30e5e9acba")
        XCTAssertEqual(envelope.occurredAt, "2026-11-22T07:55:39.123Z")
        XCTAssertEqual(envelope.schemaVersion, "1")
        XCTAssertNil(envelope.actor)
        XCTAssertNil(envelope.sequenceNumber)
        XCTAssertNil(envelope.metadata.commandId)
        XCTAssertEqual(envelope.metadata.extra, ["mode": "sync"])
    }

    func testParsingRejectsInvalidEnvelopesNamingTheField() {
        let good = Self.sample().json.objectValue!
        func mutated(_ change: (inout [String: JSONValue]) -> Void) -> JSONValue {
            var copy = good
            change(&copy)
            return .object(copy)
        }
        var meta = good["metadata"]!.objectValue!
        let cases: [(JSONValue, String)] = [
            (mutated { $0["surprise"] = 1 }, "event.surprise"),
            (mutated { $0["event_id"] = "not-a-uuid" }, "event.event_id"),
            (mutated { $0["event_id"] = nil }, "event.event_id"),
            (mutated { $0["event_type"] = "" }, "event.event_type"),
            (mutated { $0["aggregate_id"] = 7 }, "event.aggregate_id"),
            (mutated { $0["aggregate_id"] = .string(String(repeating: "/", count: 80)) }, "event.aggregate_id"),
            (mutated { $0["occurred_at"] = "yesterday" }, "event.occurred_at"),
            (mutated { $0["sequence_number"] = -1 }, "event.sequence_number"),
            (mutated { $0["sequence_number"] = 1.5 }, "event.sequence_number"),
            (mutated { $0["data"] = [1, 2] }, "event.data"),
            (mutated { $0["data"] = nil }, "event.data"),
            (mutated { $0["actor"] = 3 }, "event.actor"),
            (mutated { $0["schema_version"] = 1 }, "event.schema_version"),
            (mutated { $0["metadata"] = "x" }, "event.metadata"),
            (mutated { meta["kind"] = "query"; $0["metadata"] = .object(meta) }, "event.metadata.kind"),
            (mutated { meta = good["metadata"]!.objectValue!; meta["kafka_topic"] = nil; $0["metadata"] = .object(meta) }, "event.metadata.kafka_topic"),
            (mutated { meta = good["metadata"]!.objectValue!; meta["service"] = ""; $0["metadata"] = .object(meta) }, "event.metadata.service"),
            (.array([]), "event"),
        ]
        for (json, field) in cases {
            XCTAssertThrowsError(try EventEnvelope(json: json), field) { error in
                let problem = error as? Problem
                XCTAssertEqual(problem?.status, 400, field)
                XCTAssertEqual(problem?.code, "invalid_event_envelope", field)
                XCTAssertEqual(problem?.field, field, "\(problem?.detail ?? "")")
            }
        }
        var shadowing = Self.sample()
        shadowing.metadata.extra["kafka_topic"] = "other"
        XCTAssertThrowsError(try shadowing.validate()) { XCTAssertEqual(($0 as? Problem)?.field, "event.metadata.kafka_topic") }
    }

    func testPayloadDigestIgnoresOnlySequenceAndTopic() {
        let base = Self.sample()
        XCTAssertEqual(base.payloadDigest.count, 40)
        XCTAssertEqual(base.payloadDigest, Self.sample(sequence: 9, topic: "elsewhere").payloadDigest)
        XCTAssertEqual(base.payloadDigest, Self.sample(sequence: nil).payloadDigest)
        XCTAssertTrue(base.hasSamePayload(as: Self.sample(sequence: 4)))
        XCTAssertNotEqual(base.payloadDigest, Self.sample(data: ["name": "Ada", "age": 37]).payloadDigest)
        var other = base
        other.actor = "bob"
        XCTAssertNotEqual(base.payloadDigest, other.payloadDigest)
        other = base
        other.metadata.service = "oms"
        XCTAssertFalse(base.hasSamePayload(as: other))
        other = base
        other.occurredAtMilliseconds += 1
        XCTAssertFalse(base.hasSamePayload(as: other))
        XCTAssertFalse(String(decoding: base.payloadCanonicalBytes, as: UTF8.self).contains("sequence_number"))
        XCTAssertFalse(String(decoding: base.payloadCanonicalBytes, as: UTF8.self).contains("kafka_topic"))
    }

    func testEventIdReuseMapsToA409Problem() {
        let problem = EventStoreError.eventIdReused(eventId: "e1").problem
        XCTAssertEqual(problem.status, 409)
        XCTAssertEqual(problem.code, "event_id_reused")
        XCTAssertEqual(problem.extensions["event_id"], "e1")
        XCTAssertEqual(EventStoreError.io("disk").problem.status, 503)
        XCTAssertEqual(EventStoreError.corrupt(key: "k", reason: "r").problem.status, 500)
    }

    // MARK: Keys

    func testKeysFollowTheS3Layout() {
        let envelope = Self.sample()
        let id = envelope.eventId
        XCTAssertEqual(EventStoreKeys.eventKey(for: envelope), "events/2026/11/22/Instance/db1%3Amain%3APerson%3Ap-1/\(id).json")
        XCTAssertEqual(EventStoreKeys.byEventIdKey(eventId: id), "indexes/by-event-id/\(id).json")
        XCTAssertEqual(EventStoreKeys.byAggregateKey(for: envelope),
                       "indexes/by-aggregate/Instance/db1%3Amain%3APerson%3Ap-1/00000000000000000003_\(id).json")
        XCTAssertNil(EventStoreKeys.byAggregateKey(for: Self.sample(sequence: nil)))
        XCTAssertEqual(EventStoreKeys.byDateKey(for: envelope), "indexes/by-date/2026/11/22/1795334139123_\(id).json")
        XCTAssertEqual(EventStoreKeys.indexBody(for: envelope), [
            "event_id": .string(id), "event_type": "INSTANCE_CREATED", "aggregate_type": "Instance",
            "aggregate_id": "db1:main:Person:p-1", "sequence_number": 3, "occurred_at": "2026-11-22T07:55:39.123Z",
            "s3_key": .string(EventStoreKeys.eventKey(for: envelope)), "schema_version": "1", "kafka_topic": "instance_events",
        ])
        XCTAssertEqual(EventStoreKeys.parseByAggregateName("00000000000000000003_\(id).json")?.sequence, 3)
        XCTAssertEqual(EventStoreKeys.parseByDateName("1795334139123_\(id).json")?.milliseconds, 1_795_334_139_123)
        XCTAssertEqual(EventStoreKeys.parseByDateName("1795334139123_\(id).json")?.eventId, id)
        XCTAssertNil(EventStoreKeys.parseByDateName("179533413912_\(id).json"))
        XCTAssertNil(EventStoreKeys.parseByDateName(".tmp-1234"))
        XCTAssertTrue(EventStoreKeys.isEventKey(EventStoreKeys.eventKey(for: envelope)))
        for bad in ["events/../../etc/passwd", "events/2026/11/22/../x/\(id).json", "/events/2026/11/22/a/b/\(id).json",
                    "indexes/2026/11/22/a/b/\(id).json", "events/2026/11/22/a//\(id).json", "events/2026/11/22/a/b/c.json"] {
            XCTAssertFalse(EventStoreKeys.isEventKey(bad), bad)
        }
    }

    func testSegmentEncodingIsSafeAndReversible() {
        XCTAssertEqual(EventStoreKeys.encodeSegment("db1:main:Person/1"), "db1%3Amain%3APerson%2F1")
        XCTAssertEqual(EventStoreKeys.encodeSegment("plain-Name_1.v2~"), "plain-Name_1.v2~")
        XCTAssertEqual(EventStoreKeys.encodeSegment(".."), "%2E.")
        XCTAssertEqual(EventStoreKeys.encodeSegment(".hidden"), "%2Ehidden")
        XCTAssertEqual(EventStoreKeys.encodeSegment("50% é"), "50%25%20%C3%A9")
        for text in ["db1:main:Person/1", "..", ".", "a%2Fb", "é😀 \\ \"?#*", "x\u{0}y", "-"] {
            let encoded = EventStoreKeys.encodeSegment(text)
            XCTAssertFalse(encoded.contains("/"), text)
            XCTAssertFalse(encoded.hasPrefix("."), text)
            XCTAssertEqual(EventStoreKeys.decodeSegment(encoded), text)
        }
        XCTAssertNil(EventStoreKeys.decodeSegment("%G1"))
        XCTAssertNil(EventStoreKeys.decodeSegment("%4"))
        XCTAssertNil(EventStoreKeys.decodeSegment("%FF"))
    }

    func testPositionsOrderByKey() {
        let a = EventStorePosition(key: "indexes/by-date/2026/11/21/1795247739123_x.json")
        let b = EventStorePosition(key: "indexes/by-date/2026/11/22/0795334139123_x.json")
        let c = EventStorePosition(key: "indexes/by-date/2026/11/22/1795334139123_a.json")
        let d = EventStorePosition(key: "indexes/by-date/2026/11/22/1795334139123_b.json")
        XCTAssertEqual([d, b, c, a].sorted(), [a, b, c, d])
        XCTAssertFalse(c < c)
    }
}
