/// Where an envelope came from and where it is delivered.
public struct EventMetadata: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// A command accepted by the API (`{COMMAND_TYPE}_REQUESTED`), consumed by command workers.
        case command
        /// A fact a worker produced from a command (`INSTANCE_CREATED`, …), consumed by projections.
        case domain
    }

    /// Keys with a field of their own; `extra` may not use them.
    public static let reservedKeys: Set<String> = ["kind", "kafka_topic", "service", "command_id", "command_type"]

    public var kind: Kind
    /// The bus topic the publisher delivers the envelope to (keyed by aggregate id).
    public var kafkaTopic: String
    /// The service that appended it ("oms", "instance-worker", …).
    public var service: String
    public var commandId: String?
    public var commandType: String?
    /// Every other member (`command_version`, `run_id`, `ontology: {ref, commit}`, `mode`, …), kept as is.
    public var extra: [String: JSONValue]

    public init(kind: Kind, kafkaTopic: String, service: String, commandId: String? = nil, commandType: String? = nil,
                extra: [String: JSONValue] = [:]) {
        self.kind = kind
        self.kafkaTopic = kafkaTopic
        self.service = service
        self.commandId = commandId
        self.commandType = commandType
        self.extra = extra
    }

    public var json: JSONValue {
        var object = extra
        object["kind"] = .string(kind.rawValue)
        object["kafka_topic"] = .string(kafkaTopic)
        object["service"] = .string(service)
        if let commandId { object["command_id"] = .string(commandId) }
        if let commandType { object["command_type"] = .string(commandType) }
        return .object(object)
    }

    public init(json: JSONValue) throws(Problem) {
        guard let object = json.objectValue else { throw EventEnvelope.invalid("metadata", "must be an object") }
        guard let kindText = object["kind"]?.stringValue, let kind = Kind(rawValue: kindText) else {
            throw EventEnvelope.invalid("metadata.kind", "must be \"command\" or \"domain\"")
        }
        guard let topic = object["kafka_topic"]?.stringValue else {
            throw EventEnvelope.invalid("metadata.kafka_topic", "must be a string")
        }
        guard let service = object["service"]?.stringValue else {
            throw EventEnvelope.invalid("metadata.service", "must be a string")
        }
        self.kind = kind
        self.kafkaTopic = topic
        self.service = service
        self.commandId = try EventEnvelope.optionalString(object["command_id"], field: "metadata.command_id")
        self.commandType = try EventEnvelope.optionalString(object["command_type"], field: "metadata.command_type")
        self.extra = object.filter { !EventMetadata.reservedKeys.contains($0.key) }
    }
}

/// The unit of the event store: one immutable fact (a command accepted, or a domain event), serialized as
/// JSON with the snake_case keys of the Python original:
///
/// `{event_id, event_type, aggregate_type, aggregate_id, occurred_at, actor, data,
///   metadata{kind, kafka_topic, service, command_id?, command_type?, …}, schema_version, sequence_number}`
///
/// The schema is `schema/event-envelope.schema.json`. `json` always writes every top-level key (`actor` and
/// `sequence_number` as null when absent) and `occurred_at` in the canonical millisecond form, so the stored
/// bytes of an envelope are a function of its value.
public struct EventEnvelope: Sendable, Equatable {
    public static let currentSchemaVersion = "1"
    /// Longest event type / aggregate type / aggregate id in UTF-8 bytes after key encoding, so every key
    /// segment stays a legal file name (255 bytes) and every key a legal S3 key (1024 bytes).
    public static let maximumSegmentBytes = 200

    public var eventId: String
    public var eventType: String
    public var aggregateType: String
    public var aggregateId: String
    /// The event time in milliseconds since the epoch; `occurredAt` is its text form.
    public var occurredAtMilliseconds: Int64
    public var actor: String?
    public var data: JSONValue
    public var metadata: EventMetadata
    public var schemaVersion: String
    /// The aggregate's version this event belongs to (allocated before the append); nil for envelopes
    /// outside any aggregate stream, which then get no by-aggregate index entry.
    public var sequenceNumber: Int?

    /// "2026-11-22T07:55:39.123Z".
    public var occurredAt: String { EventTimestamp.format(milliseconds: occurredAtMilliseconds) }

    public init(eventId: String = EventID.random(), eventType: String, aggregateType: String, aggregateId: String,
                occurredAtMilliseconds: Int64 = EventTimestamp.nowMilliseconds(), actor: String? = nil,
                data: JSONValue = .object([:]), metadata: EventMetadata,
                schemaVersion: String = EventEnvelope.currentSchemaVersion, sequenceNumber: Int? = nil) {
        self.eventId = eventId
        self.eventType = eventType
        self.aggregateType = aggregateType
        self.aggregateId = aggregateId
        self.occurredAtMilliseconds = occurredAtMilliseconds
        self.actor = actor
        self.data = data
        self.metadata = metadata
        self.schemaVersion = schemaVersion
        self.sequenceNumber = sequenceNumber
    }

    static let topLevelKeys: Set<String> = ["event_id", "event_type", "aggregate_type", "aggregate_id", "occurred_at",
                                            "actor", "data", "metadata", "schema_version", "sequence_number"]

    /// Reads an envelope and validates it (`validate()`). `event_id` is accepted in any letter case and
    /// stored lower case; `occurred_at` may be any RFC 3339 date-time (see `EventTimestamp.parse`);
    /// a missing `schema_version` means "1". Unknown top-level keys are refused rather than dropped.
    public init(json: JSONValue) throws(Problem) {
        guard let object = json.objectValue else { throw EventEnvelope.invalid("", "must be a JSON object") }
        if let unknown = object.keys.sorted().first(where: { !EventEnvelope.topLevelKeys.contains($0) }) {
            throw EventEnvelope.invalid(unknown, "is not an event envelope member")
        }
        func string(_ key: String) throws(Problem) -> String {
            guard let value = object[key]?.stringValue else { throw EventEnvelope.invalid(key, "must be a string") }
            return value
        }
        let idText = try string("event_id")
        guard let eventId = EventID.canonicalize(idText) else { throw EventEnvelope.invalid("event_id", "must be a UUID") }
        let occurredText = try string("occurred_at")
        guard let occurred = EventTimestamp.parse(occurredText) else {
            throw EventEnvelope.invalid("occurred_at", "must be an RFC 3339 date-time between 1970 and 2286")
        }
        var sequence: Int?
        switch object["sequence_number"] {
        case nil, .null?: sequence = nil
        case let value?:
            guard let number = value.intValue else { throw EventEnvelope.invalid("sequence_number", "must be an integer") }
            sequence = number
        }
        var schemaVersion = EventEnvelope.currentSchemaVersion
        if let value = object["schema_version"] {
            guard let text = value.stringValue else { throw EventEnvelope.invalid("schema_version", "must be a string") }
            schemaVersion = text
        }
        guard let data = object["data"] else { throw EventEnvelope.invalid("data", "is required") }
        guard let metadata = object["metadata"] else { throw EventEnvelope.invalid("metadata", "is required") }
        self.init(eventId: eventId, eventType: try string("event_type"), aggregateType: try string("aggregate_type"),
                  aggregateId: try string("aggregate_id"), occurredAtMilliseconds: occurred,
                  actor: try EventEnvelope.optionalString(object["actor"], field: "actor"), data: data,
                  metadata: try EventMetadata(json: metadata), schemaVersion: schemaVersion, sequenceNumber: sequence)
        try validate()
    }

    /// Parses JSON text (as stored) into an envelope.
    public init(bytes: [UInt8]) throws(Problem) {
        try self.init(json: try JSONParser.parse(bytes))
    }

    public var json: JSONValue {
        .object([
            "event_id": .string(eventId),
            "event_type": .string(eventType),
            "aggregate_type": .string(aggregateType),
            "aggregate_id": .string(aggregateId),
            "occurred_at": .string(occurredAt),
            "actor": actor.map(JSONValue.string) ?? .null,
            "data": data,
            "metadata": metadata.json,
            "schema_version": .string(schemaVersion),
            "sequence_number": sequenceNumber.map { .number(Double($0)) } ?? .null,
        ])
    }

    /// The stored form: deterministic JSON (sorted keys, no whitespace).
    public var jsonBytes: [UInt8] { JSONWriter.bytes(json) }

    /// The bytes that decide "same event?": the canonical JSON of the envelope without `sequence_number`
    /// and `metadata.kafka_topic` (routing and the allocated version may legitimately differ between two
    /// attempts to append the same event; everything else may not).
    public var payloadCanonicalBytes: [UInt8] {
        guard case .object(var object) = json else { return [] }
        object["sequence_number"] = nil
        if case .object(var meta)? = object["metadata"] {
            meta["kafka_topic"] = nil
            object["metadata"] = .object(meta)
        }
        return JSONWriter.bytes(.object(object))
    }

    /// SHA-1 (hex) of `payloadCanonicalBytes`: equal digests ⇔ the same event for idempotency purposes.
    public var payloadDigest: String { SHA1.hexDigest(payloadCanonicalBytes) }

    public func hasSamePayload(as other: EventEnvelope) -> Bool {
        payloadCanonicalBytes == other.payloadCanonicalBytes
    }

    /// Checks what the store relies on: a canonical UUID id, non-empty names whose key segments fit a
    /// file name, an occurred_at inside the key range, a non-negative sequence number, object `data`,
    /// a topic and a service, and no `metadata.extra` key that shadows a named field.
    public func validate() throws(Problem) {
        guard EventID.isCanonical(eventId) else { throw EventEnvelope.invalid("event_id", "must be a lower-case UUID") }
        for (field, value) in [("event_type", eventType), ("aggregate_type", aggregateType), ("aggregate_id", aggregateId)] {
            guard !value.isEmpty else { throw EventEnvelope.invalid(field, "must not be empty") }
            guard EventStoreKeys.encodeSegment(value).utf8.count <= EventEnvelope.maximumSegmentBytes else {
                throw EventEnvelope.invalid(field, "is too long (at most \(EventEnvelope.maximumSegmentBytes) bytes once percent-encoded)")
            }
        }
        guard EventTimestamp.isInRange(occurredAtMilliseconds) else {
            throw EventEnvelope.invalid("occurred_at", "must be between 1970-01-01 and 2286-11-20")
        }
        if let sequenceNumber, sequenceNumber < 0 {
            throw EventEnvelope.invalid("sequence_number", "must not be negative")
        }
        guard !schemaVersion.isEmpty else { throw EventEnvelope.invalid("schema_version", "must not be empty") }
        guard data.objectValue != nil else { throw EventEnvelope.invalid("data", "must be a JSON object") }
        guard !metadata.kafkaTopic.isEmpty else { throw EventEnvelope.invalid("metadata.kafka_topic", "must not be empty") }
        guard !metadata.service.isEmpty else { throw EventEnvelope.invalid("metadata.service", "must not be empty") }
        if let key = metadata.extra.keys.sorted().first(where: { EventMetadata.reservedKeys.contains($0) }) {
            throw EventEnvelope.invalid("metadata.\(key)", "is a named metadata field and cannot be an extra member")
        }
    }

    static func invalid(_ field: String, _ message: String) -> Problem {
        let path = field.isEmpty ? "event" : "event.\(field)"
        return Problem(status: 400, code: "invalid_event_envelope", detail: "\(path) \(message)", field: path)
    }

    static func optionalString(_ value: JSONValue?, field: String) throws(Problem) -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw invalid(field, "must be a string or null")
        }
    }
}
