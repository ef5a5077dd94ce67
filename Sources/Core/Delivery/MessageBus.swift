/// A message as the bus delivers it: where it sits (topic, partition, offset) and what it carries.
public struct BusMessage: Sendable, Equatable {
    public let topic: String
    public let partition: Int
    /// Position inside the partition; offsets only grow, and a partition delivers in offset order.
    public let offset: Int64
    /// The partitioning key (the aggregate id): one key always lands in one partition, so it keeps its order.
    public let key: String
    public let value: [UInt8]

    public init(topic: String, partition: Int, offset: Int64, key: String, value: [UInt8]) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
    }
}

/// What a publisher hands the bus.
public struct OutgoingMessage: Sendable, Equatable {
    public let topic: String
    public let key: String
    public let value: [UInt8]

    public init(topic: String, key: String, value: [UInt8]) {
        self.topic = topic
        self.key = key
        self.value = value
    }
}

public enum BusError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bus (or the store behind it) is unreachable; the call may be retried.
    case unavailable(String)
    /// A request the bus refuses (unknown topic, a message too large, a closed consumer).
    case refused(String)

    public var description: String {
        switch self {
        case .unavailable(let why): "message bus unavailable: \(why)"
        case .refused(let why): "message bus refused the request: \(why)"
        }
    }

    /// The API's answer when a request needed the bus.
    public var problem: Problem {
        switch self {
        case .unavailable: Problem(status: 503, code: "bus_unavailable", detail: description)
        case .refused: Problem(status: 500, code: "bus_refused", detail: description)
        }
    }
}

/// The bus port, with Kafka's semantics: topics split into partitions by key, consumer groups with
/// committed offsets, and at-least-once delivery — a consumer that restarts is given again everything its
/// group has not committed. Adapters: the embedded bus (Postgres-backed, in-process) and Kafka.
public protocol MessageBus: Sendable {
    /// Stores the messages durably; when this returns every one of them will be delivered to every group.
    /// Messages with one key keep their order.
    func publish(_ messages: [OutgoingMessage]) async throws(BusError)
    /// Stores the messages without waiting for them to be durable (a Kafka producer's buffered send):
    /// they are delivered like any others, but a crash of the bus may lose them until `flush()` returns.
    /// For callers that record their own progress only after a flush (the publisher's checkpoint).
    func publishBuffered(_ messages: [OutgoingMessage]) async throws(BusError)
    /// Makes every message published so far durable.
    func flush() async throws(BusError)
    /// A consumer in `group` reading `topics` from the group's committed offsets.
    func consumer(group: String, topics: [String]) async throws(BusError) -> any BusConsumer
}

public protocol BusConsumer: Sendable {
    /// The next messages after the ones already returned (each partition in offset order), waiting up to
    /// `timeoutMilliseconds` for at least one. An empty array means nothing arrived in time.
    func poll(maxMessages: Int, timeoutMilliseconds: Int) async throws(BusError) -> [BusMessage]
    /// Records that the group is done with `message` and everything before it in its partition.
    func commit(_ message: BusMessage) async throws(BusError)
    /// Stops the consumer; an uncommitted message will be delivered again to the group's next consumer.
    func close() async
}

extension MessageBus {
    public func publishBuffered(_ messages: [OutgoingMessage]) async throws(BusError) { try await publish(messages) }
    public func flush() async throws(BusError) {}
}

public enum BusPartitioner {
    /// The partition of `key` among `count`: FNV-1a of its UTF-8 bytes, so it is stable across processes
    /// and releases (Swift's `hashValue` is seeded per process).
    public static func partition(forKey key: String, count: Int) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in key.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int(hash % UInt32(max(1, count)))
    }
}
