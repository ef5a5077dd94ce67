/// The object keys of the event store, shared by every adapter (the local directory and S3), so both lay
/// out exactly the same tree:
///
/// ```
/// events/{yyyy}/{mm}/{dd}/{aggregate_type}/{aggregate_id}/{event_id}.json        the envelope (UTC date of occurred_at)
/// indexes/by-event-id/{event_id}.json                                            existence check
/// indexes/by-aggregate/{aggregate_type}/{aggregate_id}/{seq:020}_{event_id}.json only with a sequence_number
/// indexes/by-date/{yyyy}/{mm}/{dd}/{ts_ms:013}_{event_id}.json                   the publisher's log order
/// checkpoints/…                                                                  consumer positions
/// ```
///
/// Index bodies are `{event_id, event_type, aggregate_type, aggregate_id, sequence_number, occurred_at,
/// s3_key, schema_version, kafka_topic}`; `s3_key` is the envelope's key.
///
/// **Segment encoding.** Aggregate types and ids are user-influenced (`db:branch:Class:instance`, and ids
/// may contain `/`), so every name segment is percent-encoded: bytes outside `A–Z a–z 0–9 - _ . ~` become
/// `%XX` (upper-case hex of each UTF-8 byte), `%` included, and a leading `.` becomes `%2E` — so no segment
/// is `.`, `..` or a hidden file name (adapters use dot-names for temporary files). The encoding is
/// reversible (`decodeSegment`) and leaves UUIDs, dates and plain identifiers unchanged. Example:
/// `db1:main:Person/1` → `db1%3Amain%3APerson%2F1`.
public enum EventStoreKeys {
    public static let eventsPrefix = "events/"
    public static let byEventIdPrefix = "indexes/by-event-id/"
    public static let byAggregatePrefix = "indexes/by-aggregate/"
    public static let byDatePrefix = "indexes/by-date/"
    public static let checkpointsPrefix = "checkpoints/"

    // MARK: Keys of one envelope

    public static func eventKey(for envelope: EventEnvelope) -> String {
        eventsPrefix + datePath(milliseconds: envelope.occurredAtMilliseconds) + "/"
            + encodeSegment(envelope.aggregateType) + "/" + encodeSegment(envelope.aggregateId) + "/"
            + envelope.eventId + ".json"
    }

    public static func byEventIdKey(eventId: String) -> String {
        byEventIdPrefix + encodeSegment(eventId) + ".json"
    }

    /// Nil when the envelope has no sequence number.
    public static func byAggregateKey(for envelope: EventEnvelope) -> String? {
        guard let sequence = envelope.sequenceNumber else { return nil }
        return byAggregateDirectory(aggregateType: envelope.aggregateType, aggregateId: envelope.aggregateId)
            + byAggregateName(sequence: sequence, eventId: envelope.eventId)
    }

    public static func byDateKey(for envelope: EventEnvelope) -> String {
        byDateDirectory(milliseconds: envelope.occurredAtMilliseconds)
            + byDateName(milliseconds: envelope.occurredAtMilliseconds, eventId: envelope.eventId)
    }

    /// `indexes/by-aggregate/{type}/{id}/` (with the trailing slash: a listing prefix).
    public static func byAggregateDirectory(aggregateType: String, aggregateId: String) -> String {
        byAggregatePrefix + encodeSegment(aggregateType) + "/" + encodeSegment(aggregateId) + "/"
    }

    /// `indexes/by-date/{yyyy}/{mm}/{dd}/` of the UTC day containing the instant.
    public static func byDateDirectory(milliseconds: Int64) -> String {
        byDatePrefix + datePath(milliseconds: milliseconds) + "/"
    }

    /// `{seq:020}_{event_id}.json`.
    public static func byAggregateName(sequence: Int, eventId: String) -> String {
        EventTimestamp.pad(sequence, 20) + "_" + eventId + ".json"
    }

    /// `{ts_ms:013}_{event_id}.json`.
    public static func byDateName(milliseconds: Int64, eventId: String) -> String {
        EventTimestamp.pad(Int(milliseconds), 13) + "_" + eventId + ".json"
    }

    /// `yyyy/mm/dd` (UTC).
    public static func datePath(milliseconds: Int64) -> String {
        let f = EventTimestamp.fields(milliseconds: milliseconds)
        return EventTimestamp.pad(f.year, 4) + "/" + EventTimestamp.pad(f.month, 2) + "/" + EventTimestamp.pad(f.day, 2)
    }

    /// The body of each of the envelope's index objects.
    public static func indexBody(for envelope: EventEnvelope) -> JSONValue {
        .object([
            "event_id": .string(envelope.eventId),
            "event_type": .string(envelope.eventType),
            "aggregate_type": .string(envelope.aggregateType),
            "aggregate_id": .string(envelope.aggregateId),
            "sequence_number": envelope.sequenceNumber.map { .number(Double($0)) } ?? .null,
            "occurred_at": .string(envelope.occurredAt),
            "s3_key": .string(eventKey(for: envelope)),
            "schema_version": .string(envelope.schemaVersion),
            "kafka_topic": .string(envelope.metadata.kafkaTopic),
        ])
    }

    /// `checkpoints/{name}.json`.
    public static func checkpointKey(name: String) -> String {
        checkpointsPrefix + encodeSegment(name) + ".json"
    }

    /// A position just before every by-date entry at or after `milliseconds`: `tail(after:)` from here
    /// starts at that instant (the look-back of a tailer).
    public static func byDatePosition(before milliseconds: Int64) -> EventStorePosition {
        EventStorePosition(key: byDateDirectory(milliseconds: milliseconds) + EventTimestamp.pad(Int(milliseconds), 13))
    }

    /// The instant of a by-date position (nil when it is not one).
    public static func milliseconds(of position: EventStorePosition) -> Int64? {
        guard let slash = position.key.lastIndex(of: "/") else { return nil }
        let name = position.key[position.key.index(after: slash)...]
        guard name.utf8.count >= 13, let value = Int64(name.prefix(13)) else { return nil }
        return value
    }

    // MARK: Reading names back

    /// Parses `{seq:020}_{event_id}.json`.
    public static func parseByAggregateName(_ name: String) -> (sequence: Int, eventId: String)? {
        guard let (number, eventId) = parseNumberedName(name, digits: 20), let sequence = Int(exactly: number) else { return nil }
        return (sequence, eventId)
    }

    /// Parses `{ts_ms:013}_{event_id}.json`.
    public static func parseByDateName(_ name: String) -> (milliseconds: Int64, eventId: String)? {
        guard let (number, eventId) = parseNumberedName(name, digits: 13) else { return nil }
        return (Int64(number), eventId)
    }

    private static func parseNumberedName(_ name: String, digits: Int) -> (UInt64, String)? {
        let b = Array(name.utf8)
        guard b.count == digits + 1 + 36 + 5, b[digits] == UInt8(ascii: "_"), name.hasSuffix(".json") else { return nil }
        var number: UInt64 = 0
        for c in b[0..<digits] {
            guard c >= 0x30, c <= 0x39 else { return nil }
            let (times, o1) = number.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(c - 0x30))
            guard !o1, !o2 else { return nil }
            number = sum
        }
        let eventId = String(decoding: b[(digits + 1)..<(digits + 37)], as: UTF8.self)
        guard EventID.isCanonical(eventId) else { return nil }
        return (number, eventId)
    }

    /// True when `key` (e.g. an index body's `s3_key`) has the shape of an envelope key: under `events/`,
    /// no empty, `.` or dot-leading segment, ending in `{uuid}.json`. Adapters check this before opening
    /// a key read from stored data, so a corrupt index can never point outside the store.
    public static func isEventKey(_ key: String) -> Bool {
        guard key.hasPrefix(eventsPrefix), key.hasSuffix(".json") else { return false }
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count == 7 else { return false }
        for segment in segments where segment.isEmpty || segment.hasPrefix(".") { return false }
        return EventID.isCanonical(String(segments[6].dropLast(5)))
    }

    // MARK: Segment encoding

    public static func encodeSegment(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for (index, byte) in text.utf8.enumerated() {
            let unreserved = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
                || (byte == UInt8(ascii: ".") && index > 0)
            if unreserved {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The inverse of `encodeSegment`; nil for malformed escapes or bytes that are not UTF-8.
    public static func decodeSegment(_ segment: String) -> String? {
        let b = Array(segment.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        while i < b.count {
            if b[i] == UInt8(ascii: "%") {
                guard i + 2 < b.count, let high = hexValue(b[i + 1]), let low = hexValue(b[i + 2]) else { return nil }
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
