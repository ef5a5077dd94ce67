/// One partition of one topic: the unit that has offsets, ordering and a committed position.
struct TopicPartition: Hashable, Comparable, Sendable {
    let topic: String
    let partition: Int

    /// Topic, then partition: the order publishers lock partitions in, so two never wait on each other.
    static func < (left: TopicPartition, right: TopicPartition) -> Bool {
        (left.topic, left.partition) < (right.topic, right.partition)
    }
}
