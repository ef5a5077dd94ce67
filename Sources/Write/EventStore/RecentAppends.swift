import Core
import Synchronization

/// The by-date entries this store appended since it opened, in key order, with their envelopes — so a
/// tailer that keeps up (the publisher) reads memory instead of listing a day's directory and reading
/// every envelope file back.
///
/// The store is the directory's only writer (it holds the lock), so once a tailer's position is at or past
/// `floor` — the newest key that existed at open, or the newest key evicted from memory — every entry after
/// it is here. Before that the caller reads the directory.
final class RecentAppends: Sendable {
    private struct State {
        var entries: [(key: String, envelope: EventEnvelope)] = []
        var floor: String?
    }

    private let state: Mutex<State>
    private let capacity: Int

    /// `newestAtOpen`: the greatest by-date key on disk when the store opened (nil: none).
    init(newestAtOpen: String?, capacity: Int = 50_000) {
        state = Mutex(State(floor: newestAtOpen))
        self.capacity = capacity
    }

    func record(_ envelope: EventEnvelope) {
        let key = EventStoreKeys.byDateKey(for: envelope)
        state.withLock { state in
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
    }

    /// Entries strictly after `position`, or nil when memory may not hold all of them.
    func entries(after position: EventStorePosition?, limit: Int) -> [(position: EventStorePosition, envelope: EventEnvelope)]? {
        state.withLock { state in
            guard let range = Self.range(in: state, after: position, limit: limit) else { return nil }
            return state.entries[range].map { (EventStorePosition(key: $0.key), $0.envelope) }
        }
    }

    /// Like `entries`, without the envelopes (a look-back compares keys only).
    func positions(after position: EventStorePosition?, limit: Int) -> [EventStorePosition]? {
        state.withLock { state in
            guard let range = Self.range(in: state, after: position, limit: limit) else { return nil }
            return state.entries[range].map { EventStorePosition(key: $0.key) }
        }
    }

    private static func range(in state: State, after position: EventStorePosition?, limit: Int) -> Range<Int>? {
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
        return low..<min(state.entries.count, low + max(0, limit))
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
