import Core
import Drivers
import Synchronization

/// A consumer of the embedded bus for one group. It remembers, per partition, the offset after the last
/// message it returned (starting at the group's committed offset), so each `poll` continues where the
/// previous one stopped; `commit` only moves the group's stored offset, which is where the group's next
/// consumer starts — after a restart, everything uncommitted is delivered again.
///
/// Like Kafka's consumer it is meant for one task: a `poll` while another is in progress is refused.
public final class EmbeddedBusConsumer: BusConsumer {
    private struct State {
        /// The next offset to return, per partition read.
        var positions: [TopicPartition: Int64]
        var polling = false
        var closed = false
    }

    public let group: String
    public let topics: [String]
    private let bus: EmbeddedBus
    private let state: Mutex<State>
    private let wakeSignal = WakeSignal()
    private let wakeupToken: Int

    init(bus: EmbeddedBus, group: String, topics: [String], positions: [TopicPartition: Int64]) {
        self.bus = bus
        self.group = group
        self.topics = topics
        self.state = Mutex(State(positions: positions))
        self.wakeupToken = bus.wakeups.register(topics: Set(topics), signal: wakeSignal)
    }

    deinit {
        bus.wakeups.remove(wakeupToken)
    }

    public func poll(maxMessages: Int, timeoutMilliseconds: Int) async throws(BusError) -> [BusMessage] {
        guard maxMessages > 0 else { throw .refused("maxMessages must be positive") }
        try beginPoll()
        defer { state.withLock { $0.polling = false } }
        let deadline = ContinuousClock.now + .milliseconds(max(0, timeoutMilliseconds))
        while true {
            let messages = try await fetch(after: state.withLock { $0.positions }, limit: maxMessages)
            if !messages.isEmpty {
                state.withLock { state in
                    for message in messages {
                        let place = TopicPartition(topic: message.topic, partition: message.partition)
                        state.positions[place] = max(state.positions[place] ?? 0, message.offset + 1)
                    }
                }
                return messages
            }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero || Task.isCancelled || state.withLock({ $0.closed }) { return [] }
            await wakeSignal.wait(timeout: min(remaining, bus.fallbackPoll))
        }
    }

    private func beginPoll() throws(BusError) {
        try state.withLock { state throws(BusError) in
            if state.closed { throw .refused("the consumer of group \(group) is closed") }
            if state.polling { throw .refused("a poll of group \(group) is already in progress on this consumer") }
            state.polling = true
        }
    }

    /// The next messages of every partition, in one query. Each partition contributes its messages in offset
    /// order; partitions are interleaved (every partition's first, then every partition's second, …) so a
    /// busy partition cannot starve the others when `limit` cuts the batch short.
    private func fetch(after positions: [TopicPartition: Int64], limit: Int) async throws(BusError) -> [BusMessage] {
        let places = positions.sorted { $0.key < $1.key }
        let rows = try await withBusErrors {
            try await bus.consumerClient.query("""
                SELECT m.topic, m.partition, m."offset", m.key, m.value
                FROM unnest($1::text[], $2::int[], $3::bigint[]) AS place(topic, partition, next_offset)
                CROSS JOIN LATERAL (
                    SELECT stored.topic, stored.partition, stored."offset", stored.key, stored.value,
                           row_number() OVER (ORDER BY stored."offset") AS rank
                    FROM bus_messages AS stored
                    WHERE stored.topic = place.topic AND stored.partition = place.partition
                      AND stored."offset" >= place.next_offset
                    ORDER BY stored."offset"
                    LIMIT $4) AS m
                ORDER BY m.rank, m.topic, m.partition
                LIMIT $4
                """, [PostgresArrayLiteral.text(places.map(\.key.topic)),
                      PostgresArrayLiteral.integers(places.map(\.key.partition)),
                      PostgresArrayLiteral.integers(places.map(\.value)),
                      .int(Int64(limit))]).rows
        }
        return try rows.map { row throws(BusError) in
            guard let topic = row.string("topic"), let partition = row.int("partition"), let offset = row.int("offset"),
                  let key = row.string("key"), let value = row.bytes("value") else {
                throw .refused("unreadable bus message row \(row.columns)")
            }
            return BusMessage(topic: topic, partition: partition, offset: Int64(offset), key: key, value: value)
        }
    }

    /// Stores `message.offset + 1` as the group's position in its partition, unless the group is already
    /// further (commits may arrive out of order; the stored offset only moves forward).
    public func commit(_ message: BusMessage) async throws(BusError) {
        if state.withLock({ $0.closed }) { throw .refused("the consumer of group \(group) is closed") }
        guard topics.contains(message.topic) else {
            throw .refused("group \(group) does not read topic \(message.topic) on this consumer")
        }
        _ = try await withBusErrors {
            try await bus.consumerClient.query("""
                INSERT INTO bus_offsets (group_id, topic, partition, committed) VALUES ($1, $2, $3::int, $4::bigint)
                ON CONFLICT (group_id, topic, partition)
                DO UPDATE SET committed = GREATEST(bus_offsets.committed, EXCLUDED.committed), updated_at = now()
                """, [.text(group), .text(message.topic), .int(Int64(message.partition)), .int(message.offset + 1)])
        }
    }

    /// Stops the consumer and wakes a poll that is waiting, which then returns what it has (nothing).
    public func close() async {
        state.withLock { $0.closed = true }
        bus.wakeups.remove(wakeupToken)
        wakeSignal.signal()
    }
}
