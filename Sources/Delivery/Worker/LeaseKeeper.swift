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
    /// When the registry last confirmed the claim (the claim itself counts).
    private let confirmed = Mutex(ContinuousClock.now)
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

    /// Like `renew`, but trusts a confirmation younger than a tenth of the lease: a claim taken a moment
    /// ago cannot have expired, and the round trip is the costliest part of a small event's handling.
    func renewIfAging() async -> Bool {
        let fresh = confirmed.withLock { ContinuousClock.now - $0 < .milliseconds(Int(registry.leaseSeconds * 100)) }
        if fresh, !lost.withLock({ $0 }) { return true }
        return await renew()
    }

    /// True while we hold the claim. A registry outage is not a loss: the lease only ends by expiry, and
    /// the next claimer's takeover is what decides it.
    func renew() async -> Bool {
        if lost.withLock({ $0 }) { return false }
        do {
            let held = try await registry.heartbeat(handler: handler, eventId: eventId, owner: owner)
            if held { confirmed.withLock { $0 = ContinuousClock.now } } else { lost.withLock { $0 = true } }
            return held
        } catch {
            return true
        }
    }
}
