import Synchronization

/// The consumers of one bus that may be waiting for messages, by the topics they read. Publishes in this
/// process and NOTIFYs from other processes both end here, so a waiting poll wakes as soon as there is
/// something to read.
final class BusWakeups: Sendable {
    private struct Registration {
        let topics: Set<String>
        let signal: WakeSignal
    }

    private let registrations = Mutex<(next: Int, byToken: [Int: Registration])>((0, [:]))

    /// Returns the token to `remove` the registration with.
    func register(topics: Set<String>, signal: WakeSignal) -> Int {
        registrations.withLock { registrations in
            registrations.next += 1
            registrations.byToken[registrations.next] = Registration(topics: topics, signal: signal)
            return registrations.next
        }
    }

    func remove(_ token: Int) {
        _ = registrations.withLock { $0.byToken.removeValue(forKey: token) }
    }

    func wake(topics: Set<String>) {
        let signals = registrations.withLock { registrations in
            registrations.byToken.values.filter { !$0.topics.isDisjoint(with: topics) }.map(\.signal)
        }
        for signal in signals { signal.signal() }
    }

    /// After the notification connection was lost: anything may have been published meanwhile.
    func wakeAll() {
        for signal in registrations.withLock({ $0.byToken.values.map(\.signal) }) { signal.signal() }
    }
}
