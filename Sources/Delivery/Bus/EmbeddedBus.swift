import Core
import Drivers
import Synchronization

/// The message bus kept in PostgreSQL (tables of migration 003), with Kafka's semantics so workers cannot
/// tell it from Kafka: topics split into `partitions` partitions by key, consumer groups with committed
/// offsets, and at-least-once delivery. Messages and offsets survive a restart of every process.
///
/// Every process sharing a database must use the same partition count (with Kafka it belongs to the
/// topic; here it is this bus's configuration).
///
/// Consumers wait without polling the database: a publish wakes this process's consumers directly, and
/// its `pg_notify('spice_bus', topic)` wakes consumers in other processes. A consumer also re-reads every
/// `fallbackPollMilliseconds` in case a notification was missed.
///
/// One consumer per group at a time is the supported setup: the embedded bus does not balance partitions
/// between a group's consumers, so two consumers of one group would each receive every message (still
/// at-least-once, just wasteful).
public final class EmbeddedBus: MessageBus {
    /// The NOTIFY channel; the payload is the topic that received messages.
    public static let channel = "spice_bus"

    let client: PostgresClient
    /// Where consumers poll and commit offsets. A lost offset commit only means a redelivery, so this may
    /// be a pool whose commits do not wait for the WAL flush.
    let consumerClient: PostgresClient
    public let partitions: Int
    let fallbackPoll: Duration
    let wakeups = BusWakeups()
    private let listener = Mutex<Task<Void, Never>?>(nil)

    public init(client: PostgresClient, consumerClient: PostgresClient? = nil, partitions: Int = 3,
                fallbackPollMilliseconds: Int = 500) {
        precondition(partitions > 0, "a topic needs at least one partition")
        self.client = client
        self.consumerClient = consumerClient ?? client
        self.partitions = partitions
        self.fallbackPoll = .milliseconds(max(1, fallbackPollMilliseconds))
    }

    deinit {
        listener.withLock { $0?.cancel() }
    }

    /// One transaction: offsets are allocated and every message is stored, or nothing is.
    public func publish(_ messages: [OutgoingMessage]) async throws(BusError) {
        try await publish(messages, durable: true, beforeCommit: nil)
    }

    /// On the consumer pool, whose commits do not wait for the WAL flush (`flush()` waits for them).
    public func publishBuffered(_ messages: [OutgoingMessage]) async throws(BusError) {
        try await publish(messages, durable: false, beforeCommit: nil)
    }

    /// A transaction that takes a transaction id commits with a WAL record, and a synchronous commit
    /// waits until the WAL up to that record — so every buffered publish before it — is flushed.
    public func flush() async throws(BusError) {
        try await withBusErrors {
            try await client.transaction { connection in
                _ = try await connection.query("SELECT txid_current()")
            }
        }
    }

    /// One statement: offsets are reserved in every partition the batch touches and every message is
    /// stored, or nothing is. The reserved `bus_partitions` rows stay locked until the statement commits, so
    /// the next publisher to a partition continues after this one's range only once these messages are
    /// visible (or rolled back with the reservation); rows are locked in (topic, partition) order, so
    /// concurrent publishers never deadlock. `beforeCommit` (tests) runs the statement inside a transaction
    /// held open until it returns, to show what others can see and do meanwhile.
    func publish(_ messages: [OutgoingMessage], durable: Bool = true,
                 beforeCommit: (() async throws -> Void)?) async throws(BusError) {
        guard !messages.isEmpty else { return }
        if messages.contains(where: { $0.topic.isEmpty }) { throw .refused("a message has an empty topic") }
        let placements = messages.map { TopicPartition(topic: $0.topic, partition: BusPartitioner.partition(forKey: $0.key, count: partitions)) }
        let parameters: [PostgresValue] = [
            PostgresArrayLiteral.text(placements.map(\.topic)), PostgresArrayLiteral.integers(placements.map(\.partition)),
            PostgresArrayLiteral.text(messages.map(\.key)), PostgresArrayLiteral.bytes(messages.map(\.value)), .text(Self.channel),
        ]
        try await withBusErrors {
            if let beforeCommit {
                try await client.transaction { connection in
                    _ = try await connection.query(Self.publishStatement, parameters)
                    try await beforeCommit()
                }
            } else {
                _ = try await (durable ? client : consumerClient).query(Self.publishStatement, parameters)
            }
        }
        // The NOTIFY reaches other processes; consumers here need not wait for its round trip.
        wakeups.wake(topics: Set(placements.map(\.topic)))
    }

    private static let publishStatement = """
        WITH batch AS (
            SELECT topic, partition, key, value, position
            FROM unnest($1::text[], $2::int[], $3::text[], $4::bytea[]) WITH ORDINALITY AS m(topic, partition, key, value, position)),
        counts AS (
            SELECT topic, partition, count(*) AS n FROM batch GROUP BY topic, partition),
        reserved AS (
            INSERT INTO bus_partitions AS current (topic, partition, next_offset)
            SELECT topic, partition, n FROM counts ORDER BY topic, partition
            ON CONFLICT (topic, partition) DO UPDATE SET next_offset = current.next_offset + EXCLUDED.next_offset
            RETURNING topic, partition, next_offset),
        stored AS (
            INSERT INTO bus_messages (topic, partition, "offset", key, value)
            SELECT b.topic, b.partition,
                   r.next_offset - c.n + row_number() OVER (PARTITION BY b.topic, b.partition ORDER BY b.position) - 1,
                   b.key, b.value
            FROM batch b
            JOIN reserved r ON r.topic = b.topic AND r.partition = b.partition
            JOIN counts c ON c.topic = b.topic AND c.partition = b.partition
            RETURNING topic)
        SELECT pg_notify($5, topic) FROM (SELECT DISTINCT topic FROM stored) AS topics
        """

    /// A consumer reading `topics` from `group`'s committed offsets (see the type's note on one consumer
    /// per group).
    public func consumer(group: String, topics: [String]) async throws(BusError) -> any BusConsumer {
        try await makeConsumer(group: group, topics: topics)
    }

    /// `consumer(group:topics:)` with its concrete type.
    public func makeConsumer(group: String, topics: [String]) async throws(BusError) -> EmbeddedBusConsumer {
        guard !group.isEmpty else { throw .refused("a consumer group needs a name") }
        let topics = Array(Set(topics)).sorted()
        guard !topics.isEmpty, !topics.contains(where: \.isEmpty) else { throw .refused("a consumer needs non-empty topic names") }
        // Listen before reading offsets: a message published from now on wakes this consumer.
        try await startListening()
        let positions = try await committedOffsets(group: group, topics: topics)
        return EmbeddedBusConsumer(bus: self, group: group, topics: topics, positions: positions)
    }

    /// Where `group` resumes in each partition of `topics`: its committed offset, or 0 if it never committed.
    private func committedOffsets(group: String, topics: [String]) async throws(BusError) -> [TopicPartition: Int64] {
        let rows = try await withBusErrors {
            try await client.query("SELECT topic, partition, committed FROM bus_offsets WHERE group_id = $1 AND topic = ANY($2::text[])",
                                   [.text(group), PostgresArrayLiteral.text(topics)]).rows
        }
        var positions: [TopicPartition: Int64] = [:]
        for topic in topics {
            for partition in 0..<partitions { positions[TopicPartition(topic: topic, partition: partition)] = 0 }
        }
        for row in rows {
            guard let topic = row.string("topic"), let partition = row.int("partition"), let committed = row.int("committed") else { continue }
            let place = TopicPartition(topic: topic, partition: partition)
            if positions[place] != nil { positions[place] = Int64(committed) }
        }
        return positions
    }

    /// One LISTEN per bus, shared by its consumers; started by the first consumer, so a bus that only
    /// publishes holds no listening connection. The driver re-LISTENs after a reconnect and reports it, and
    /// then every consumer re-reads, since notifications may have been missed meanwhile.
    private func startListening() async throws(BusError) {
        guard listener.withLock({ $0 == nil }) else { return }
        let notifications = try await withBusErrors { try await client.subscribe(Self.channel) }
        listener.withLock { task in
            // A consumer created concurrently may have won; the unused stream unlistens when dropped.
            guard task == nil else { return }
            task = Task(executorPreference: client.executor) { [wakeups] in
                for await notification in notifications {
                    switch notification {
                    case .message(_, let topic): wakeups.wake(topics: [topic])
                    case .reconnected: wakeups.wakeAll()
                    }
                }
            }
        }
    }
}
