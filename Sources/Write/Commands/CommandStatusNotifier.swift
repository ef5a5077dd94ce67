import Core
import Drivers
import Synchronization

/// Fans the single `LISTEN spice_command_status` connection out to everyone waiting on a command: sync
/// routes, `/wait`, the SSE stream. Waiting is pushed by NOTIFY; after the listener reconnects every waiter
/// is woken to re-read, since notifications may have been missed meanwhile.
public final class CommandStatusNotifier: Sendable {
    private struct Subscriber {
        let commandId: String
        let continuation: AsyncStream<CommandStatus?>.Continuation
    }

    private let subscribers = Mutex<[Int: Subscriber]>([:])
    private let nextToken = Mutex(0)
    private let listener = Mutex<Task<Void, Never>?>(nil)

    public init() {}

    /// Starts consuming notifications from `client` (idempotent).
    public func start(client: PostgresClient) {
        listener.withLock { task in
            guard task == nil else { return }
            task = Task(executorPreference: client.executor) { [self] in
                for await notification in client.listen(CommandStatusStore.channel) {
                    switch notification {
                    case .message(_, let payload):
                        // `{command_id}:{STATUS}`; a bare id (older senders) means "something changed".
                        let parts = payload.split(separator: ":", maxSplits: 1)
                        wake(commandId: String(parts.first ?? ""), status: parts.count == 2 ? CommandStatus(rawValue: String(parts[1])) : nil)
                    case .reconnected: wakeAll()
                    }
                }
            }
        }
    }

    public func stop() {
        listener.withLock { $0?.cancel(); $0 = nil }
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.continuation.finish() }
    }

    /// A stream that yields once per change of `commandId` — the new status when the notification carried
    /// it, nil when it did not (changes between reads coalesce into the newest) — and ends at `deadline`
    /// (seconds from now). The first element is an immediate nil, so callers read the current state first:
    /// a change between subscribing and reading is never lost.
    public func changes(of commandId: String, timeoutSeconds: Double) -> AsyncStream<CommandStatus?> {
        let token = nextToken.withLock { value in
            value += 1
            return value
        }
        let (stream, continuation) = AsyncStream<CommandStatus?>.makeStream(bufferingPolicy: .bufferingNewest(1))
        subscribers.withLock { $0[token] = Subscriber(commandId: commandId, continuation: continuation) }
        continuation.yield(nil)
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(Int(timeoutSeconds * 1000)))
            continuation.finish()
        }
        continuation.onTermination = { [weak self] _ in
            timer.cancel()
            _ = self?.subscribers.withLock { $0.removeValue(forKey: token) }
        }
        return stream
    }

    private func wake(commandId: String, status: CommandStatus?) {
        let matching = subscribers.withLock { $0.values.filter { $0.commandId == commandId } }
        for subscriber in matching { subscriber.continuation.yield(status) }
    }

    private func wakeAll() {
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.continuation.yield(nil) }
    }
}

/// Waiting for a command to finish, on top of the store and the notifier.
public struct CommandWaiter: Sendable {
    public let store: CommandStatusStore
    public let notifier: CommandStatusNotifier

    public init(store: CommandStatusStore, notifier: CommandStatusNotifier) {
        self.store = store
        self.notifier = notifier
    }

    public enum Outcome: Sendable {
        case finished(CommandRecord)
        case timedOut(CommandRecord)
        case unknown
    }

    public func waitForTerminal(_ commandId: String, timeoutSeconds: Double) async throws -> Outcome {
        var last: CommandRecord?
        for await status in notifier.changes(of: commandId, timeoutSeconds: timeoutSeconds) {
            // A move to a status that is not final needs no read: only the last one is answered.
            if let status, !status.isTerminal { continue }
            guard let record = try await store.record(commandId) else { return .unknown }
            if record.status.isTerminal { return .finished(record) }
            last = record
        }
        if let record = try await store.record(commandId) {
            return record.status.isTerminal ? .finished(record) : .timedOut(record)
        }
        return last.map { .timedOut($0) } ?? .unknown
    }
}
