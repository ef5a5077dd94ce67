/// A binary min-heap of deadlines for one event loop. Timers cannot be cancelled: their task checks
/// whether it is still relevant, which keeps the heap simple and cancellation free.
struct TimerHeap {
    private struct Entry {
        let deadline: UInt64
        let sequence: UInt64
        let task: () -> Void
    }

    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    mutating func push(deadline: UInt64, _ task: @escaping () -> Void) {
        entries.append(Entry(deadline: deadline, sequence: nextSequence, task: task))
        nextSequence &+= 1
        siftUp(entries.count - 1)
    }

    /// epoll_wait's timeout: -1 (forever) when there is no timer, capped so the loop's clock stays fresh.
    func millisecondsUntilNext(now: UInt64) -> Int32 {
        guard let first = entries.first else { return 1000 }
        return first.deadline <= now ? 0 : Int32(min(first.deadline - now, 1000))
    }

    /// The next due task, removed from the heap. The caller runs it outside this mutation, since
    /// tasks often schedule new timers.
    mutating func popExpired(now: UInt64) -> (() -> Void)? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        return popFirst().task
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        (entries[a].deadline, entries[a].sequence) < (entries[b].deadline, entries[b].sequence)
    }

    private mutating func popFirst() -> Entry {
        let first = entries[0]
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return first
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count, less(left, smallest) { smallest = left }
            if right < entries.count, less(right, smallest) { smallest = right }
            guard smallest != parent else { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
