/// The result of an append that did not fail.
public enum AppendOutcome: Sendable, Equatable {
    /// The envelope is new and is now durable.
    case appended
    /// An envelope with this id and the same payload (`EventEnvelope.payloadCanonicalBytes`) was already
    /// stored: nothing was appended (missing index entries were re-written). Retries land here.
    case alreadyPresent
}

/// A place in the event store's by-date log: the by-date index key of an entry. Positions order as their
/// keys do (byte order), which is time order, then event id. A consumer stores the last position it has
/// handled and resumes with `tail(after:)`.
public struct EventStorePosition: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let key: String

    public init(key: String) { self.key = key }

    public static func < (lhs: EventStorePosition, rhs: EventStorePosition) -> Bool {
        lhs.key.utf8.lexicographicallyPrecedes(rhs.key.utf8)
    }

    public var description: String { key }
}

public enum EventStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The id is stored with a different payload (contract rule 5); the API answers 409 `event_id_reused`.
    case eventIdReused(eventId: String)
    /// The envelope breaks `EventEnvelope.validate()` (a 400 problem naming the field).
    case invalidEnvelope(Problem)
    /// The storage failed (the append's outcome is unknown: retrying it is safe).
    case io(String)
    /// A stored object is unreadable or inconsistent; `key` names it.
    case corrupt(key: String, reason: String)

    public var description: String {
        switch self {
        case .eventIdReused(let id): "event id \(id) is already stored with a different payload"
        case .invalidEnvelope(let problem): "invalid event envelope: \(problem.detail ?? problem.title)"
        case .io(let message): "event store I/O failure: \(message)"
        case .corrupt(let key, let reason): "event store object \(key) is corrupt: \(reason)"
        }
    }

    /// The API's answer for this error.
    public var problem: Problem {
        switch self {
        case .eventIdReused(let id):
            Problem(status: 409, code: "event_id_reused", detail: "event \(id) was already appended with a different payload",
                    extensions: ["event_id": .string(id)])
        case .invalidEnvelope(let problem): problem
        case .io: Problem(status: 503, code: "event_store_unavailable", detail: description)
        case .corrupt(let key, _): Problem(status: 500, code: "event_store_corrupt", detail: description,
                                           extensions: ["key": .string(key)])
        }
    }
}

/// The port of the single source of truth. Adapters: the local directory (`Write.FileEventStore`) and S3.
/// Objects are written once; every adapter lays them out with `EventStoreKeys`.
public protocol EventStore: Sendable {
    /// Appends an envelope; when this returns, the envelope and its indexes are durable. Re-appending an id
    /// with the same payload is `.alreadyPresent`; with a different payload it throws `.eventIdReused`.
    func append(_ envelope: EventEnvelope) async throws(EventStoreError) -> AppendOutcome
    func event(id: String) async throws(EventStoreError) -> EventEnvelope?
    /// The aggregate's envelopes with `sequence_number >= fromSequence`, ordered by sequence number
    /// (from the by-aggregate index; envelopes without a sequence number are not listed).
    func events(aggregateType: String, aggregateId: String, fromSequence: Int) async throws(EventStoreError) -> [EventEnvelope]
    /// Up to `limit` entries of the by-date index strictly after `position` (nil: from the beginning of
    /// the log), in key order (occurred_at, then event id), each with its envelope.
    func tail(after position: EventStorePosition?, limit: Int) async throws(EventStoreError)
        -> [(position: EventStorePosition, envelope: EventEnvelope)]

    /// Up to `limit` by-date positions strictly after `position`, without reading the envelopes (cheap:
    /// a tailer's look-back lists a window of them to find entries that landed late).
    func positions(after position: EventStorePosition?, limit: Int) async throws(EventStoreError) -> [EventStorePosition]
    /// The envelope at a by-date position.
    func envelope(at position: EventStorePosition) async throws(EventStoreError) -> EventEnvelope

    /// A consumer's durable position (`checkpoints/{name}.json`); nil before the first save. Unlike events,
    /// checkpoints are overwritten, atomically.
    func checkpoint(_ name: String) async throws(EventStoreError) -> JSONValue?
    func saveCheckpoint(_ name: String, _ value: JSONValue) async throws(EventStoreError)

    /// Notified after every append that stored something new, so tailers wake without polling (in-process
    /// only; other processes poll).
    var appended: ChangeSignal { get }
}

extension EventStore {
    public func events(aggregateType: String, aggregateId: String) async throws(EventStoreError) -> [EventEnvelope] {
        try await events(aggregateType: aggregateType, aggregateId: aggregateId, fromSequence: 0)
    }
}
