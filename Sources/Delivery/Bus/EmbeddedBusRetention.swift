import Core
import Drivers

extension EmbeddedBus {
    /// Deletes messages published more than `retentionSeconds` ago that every group which has committed on
    /// their topic has already committed past; returns how many were deleted.
    ///
    /// Age alone (Kafka's retention) is not enough here: a worker that was down longer than the retention
    /// would lose the events it never processed, and this bus promises at-least-once delivery to every
    /// known group. So a message stays while any group that reads its topic still needs it — in a partition
    /// where such a group has no committed offset yet, it needs everything. Groups that never committed on a
    /// topic are unknown to the bus and hold nothing back. Offsets are never reused after a prune: they come
    /// from `bus_partitions`, which a prune does not touch.
    @discardableResult
    public func prune(retentionSeconds: Int) async throws(BusError) -> Int {
        try await withBusErrors {
            try await client.query("""
                DELETE FROM bus_messages AS message
                WHERE message.published_at < now() - make_interval(secs => $1::int)
                  AND NOT EXISTS (
                      SELECT 1
                      FROM (SELECT DISTINCT group_id FROM bus_offsets WHERE topic = message.topic) AS reader
                      LEFT JOIN bus_offsets AS progress
                        ON progress.group_id = reader.group_id AND progress.topic = message.topic
                       AND progress.partition = message.partition
                      WHERE COALESCE(progress.committed, 0) <= message."offset")
                """, [.int(Int64(max(0, retentionSeconds)))]).affectedRows
        }
    }
}
