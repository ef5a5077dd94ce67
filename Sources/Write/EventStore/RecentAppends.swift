import Core
import Synchronization

/// The by-date entries this store appended since it opened, in key order, with their envelopes — so a
/// tailer that keeps up (the publisher) reads memory instead of listing a day's directory and reading
/// every envelope file back.
///
/// The store is the directory's only writer (it holds the lock), so once a tailer's position is at or past
/// `floor` — the newest key that existed at open, or the newest key evicted from memory — every entry after
/// it is here. Before that the caller reads the directory.
///
/// **The in-flight fence.** By-date keys start with the envelope's timestamp, taken before the append, and
/// concurrent appends finish in any order: a tailer that read a finished entry while an earlier-keyed one
/// was still being written would pass it, and deliver it late — after newer events of the same aggregate.
/// So entries are handed out only below the smallest key still being appended, and only from past
/// milliseconds: an append stamped in the current millisecond may begin a moment from now with a smaller
/// event id, hence a smaller key.
final class RecentAppends: Sendable {
    private struct State {
        var entries: [(key: String, envelope: EventEnvelope)] = []
        var floor: String?
        /// Keys of appends under way (with a count: a retried append may repeat one).
        var inFlight: [String: Int] = [:]
    }

    private let state: Mutex<State>
    private let capacity: Int
    private let enabled: Bool

    /// `newestAtOpen`: the greatest by-date key on disk when the store opened (nil: none). A disabled
    /// instance holds nothing and sends every read to the files.
    init(newestAtOpen: String?, capacity: Int = 50_000, enabled: Bool = true) {
        state = Mutex(State(floor: newestAtOpen))
        self.capacity = capacity
        self.enabled = enabled
    }

    /// How far a read from the files may go (nil: no limit): up to the floor, past which memory answers.
    var diskReadLimit: String? { enabled ? state.withLock { $0.floor } : nil }

    /// Called before an append starts.
    func begin(_ envelope: EventEnvelope) {
        guard enabled else { return }
        let key = EventStoreKeys.byDateKey(for: envelope)
        state.withLock { $0.inFlight[key, default: 0] += 1 }
    }

    /// Called when it ended: `stored` when it appended something new.
    func finish(_ envelope: EventEnvelope, stored: Bool) {
        guard enabled else { return }
        let key = EventStoreKeys.byDateKey(for: envelope)
        state.withLock { state in
            if let count = state.inFlight[key] { state.inFlight[key] = count > 1 ? count - 1 : nil }
            if stored { Self.insert(key, envelope, into: &state, capacity: capacity) }
        }
    }

    private static func insert(_ key: String, _ envelope: EventEnvelope, into state: inout State, capacity: Int) {
        // Nearly always the newest: search from the end.
        var index = state.entries.count
        while index > 0, key.utf8.lexicographicallyPrecedes(state.entries[index - 1].key.utf8) { index -= 1 }
        if index > 0, state.entries[index - 1].key == key { return }
        state.entries.insert((key, envelope), at: index)
        if state.entries.count > capacity {
            let evicted = state.entries.count - capacity / 2
            let newest = state.entries[evicted - 1].key
            state.entries.removeFirst(evicted)
            if state.floor.map({ $0.utf8.lexicographicallyPrecedes(newest.utf8) }) ?? true { state.floor = newest }
        }
    }

    /// Entries strictly after `position`, or nil when memory may not hold all of them.
    func entries(after position: EventStorePosition?, limit: Int) -> [(position: EventStorePosition, envelope: EventEnvelope)]? {
        state.withLock { state in
            guard let range = range(in: state, after: position, limit: limit) else { return nil }
            return state.entries[range].map { (EventStorePosition(key: $0.key), $0.envelope) }
        }
    }

    /// Like `entries`, without the envelopes (a look-back compares keys only).
    func positions(after position: EventStorePosition?, limit: Int) -> [EventStorePosition]? {
        state.withLock { state in
            guard let range = range(in: state, after: position, limit: limit) else { return nil }
            return state.entries[range].map { EventStorePosition(key: $0.key) }
        }
    }

    private func range(in state: State, after position: EventStorePosition?, limit: Int) -> Range<Int>? {
        guard enabled else { return nil }
        if let floor = state.floor {
            guard let after = position?.key, !after.utf8.lexicographicallyPrecedes(floor.utf8) else { return nil }
        }
        var low = 0, high = state.entries.count
        if let after = position?.key {
            while low < high {
                let middle = (low + high) / 2
                if after.utf8.lexicographicallyPrecedes(state.entries[middle].key.utf8) { high = middle } else { low = middle + 1 }
            }
        }
        // Below the fence only (see the type's comment).
        var end = state.entries.count
        let now = EventStoreKeys.byDatePosition(before: EventTimestamp.nowMilliseconds()).key
        var fence = now
        if let inFlight = state.inFlight.keys.min(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }),
           inFlight.utf8.lexicographicallyPrecedes(now.utf8) {
            fence = inFlight
        }
        do {
            var (lowEnd, highEnd) = (low, end)
            while lowEnd < highEnd {
                let middle = (lowEnd + highEnd) / 2
                if state.entries[middle].key.utf8.lexicographicallyPrecedes(fence.utf8) { lowEnd = middle + 1 } else { highEnd = middle }
            }
            end = lowEnd
        }
        return low..<min(end, low + max(0, limit))
    }

    func envelope(at position: EventStorePosition) -> EventEnvelope? {
        state.withLock { state in
            var low = 0, high = state.entries.count
            while low < high {
                let middle = (low + high) / 2
                if state.entries[middle].key.utf8.lexicographicallyPrecedes(position.key.utf8) { low = middle + 1 } else { high = middle }
            }
            return low < state.entries.count && state.entries[low].key == position.key ? state.entries[low].envelope : nil
        }
    }
}
