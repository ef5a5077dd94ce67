import Drivers
import Synchronization

/// Keeps one claim's lease alive while its handler runs: a heartbeat every third of the lease, and an
/// explicit renewal before side effects. Once a renewal finds the claim gone, the lease stays lost.
final class LeaseKeeper: Sendable {
    private let registry: ProcessedEventRegistry
    private let handler: String
    private let eventId: String
    private let owner: String
    private let lost = Mutex(false)
    private let beat = Mutex<Task<Void, Never>?>(nil)

    init(registry: ProcessedEventRegistry, handler: String, eventId: String, owner: String) {
        self.registry = registry
        self.handler = handler
        self.eventId = eventId
        self.owner = owner
    }

    func start() {
        let interval = UInt64(max(0.05, registry.leaseSeconds / 3) * 1_000_000_000)
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: interval)
                guard !Task.isCancelled, let self else { return }
                if await self.renew() == false { return }
            }
        }
        beat.withLock { $0 = task }
    }

    func stop() {
        beat.withLock { $0?.cancel() }
    }

    /// True while we hold the claim. A registry outage is not a loss: the lease only ends by expiry, and
    /// the next claimer's takeover is what decides it.
    func renew() async -> Bool {
        if lost.withLock({ $0 }) { return false }
        do {
            let held = try await registry.heartbeat(handler: handler, eventId: eventId, owner: owner)
            if !held { lost.withLock { $0 = true } }
            return held
        } catch {
            return true
        }
    }
}
