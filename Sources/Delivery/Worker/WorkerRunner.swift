import Core
import Drivers
import Synchronization

/// Runs one `EventHandler` against the bus with the correctness contract's steps for every message:
///
/// 1. claim `(handler, event_id)` in the registry — duplicates and stale events are skipped, a live foreign
///    claim is waited out (never skipped: its owner may be dead);
/// 2. for commands, check the command's standing (orphans and cancellations are not acted on);
/// 3. run the handler under a heartbeated lease;
/// 4. report the command's status, then mark done (which advances the ordering guard);
/// 5. commit the offset.
///
/// A crash anywhere redelivers the message, and the steps above make the second run converge on one
/// effect. Failures retry with backoff; outages of a dependency pause the partition without spending
/// attempts; an exhausted or permanent failure becomes a dead letter and FAILED (rule 8).
public final class WorkerRunner: Sendable {
    public struct Dependencies: Sendable {
        public let bus: any MessageBus
        public let registry: ProcessedEventRegistry
        public let deadLetters: DeadLetterStore
        public let commands: any CommandProgressReporting
        public let crashPoints: CrashPoints
        public let retry: RetryPolicy
        /// Unique per process: a restarted process is a new owner, so its old claims expire and are taken over.
        public let owner: String
        public let log: @Sendable (String) -> Void
        /// Where the runner's tasks run (nil: the global pool); the registry's database client's I/O thread
        /// saves a thread wake-up per statement.
        public let executor: (any TaskExecutor)?

        public init(bus: any MessageBus, registry: ProcessedEventRegistry, deadLetters: DeadLetterStore,
                    commands: any CommandProgressReporting, crashPoints: CrashPoints, retry: RetryPolicy, owner: String,
                    executor: (any TaskExecutor)? = nil, log: @escaping @Sendable (String) -> Void) {
            self.bus = bus
            self.registry = registry
            self.deadLetters = deadLetters
            self.commands = commands
            self.crashPoints = crashPoints
            self.retry = retry
            self.owner = owner
            self.executor = executor
            self.log = log
        }
    }

    private let handler: any EventHandler
    private let deps: Dependencies
    private let loop = Mutex<Task<Void, Never>?>(nil)
    private let processedCount = Atomic<Int>(0)

    public init(handler: any EventHandler, dependencies: Dependencies) {
        self.handler = handler
        self.deps = dependencies
    }

    /// Messages handled (including skipped duplicates) since start.
    public var processed: Int { processedCount.load(ordering: .relaxed) }

    public func start() {
        let task = Task(executorPreference: deps.executor) { [self] in await run() }
        loop.withLock { $0 = task }
    }

    /// Stops polling and waits for the message in hand to finish; what is not committed is redelivered later.
    public func stop() async {
        let task = loop.withLock { $0 }
        task?.cancel()
        await task?.value
    }

    private func run() async {
        var consumer: (any BusConsumer)?
        while !Task.isCancelled {
            do {
                if consumer == nil {
                    consumer = try await deps.bus.consumer(group: handler.group, topics: handler.topics)
                }
                guard let consumer else { continue }
                let batch = try await consumer.poll(maxMessages: 256, timeoutMilliseconds: 500)
                guard !batch.isEmpty else { continue }
                try await handleBatch(batch, consumer: consumer)
            } catch is CancellationError {
                break
            } catch {
                deps.log("\(handler.name): bus unavailable (\(error)); retrying")
                await pause(milliseconds: 500)
            }
        }
        await consumer?.close()
    }

    /// Partitions run concurrently; inside one, messages run in offset order (which keeps each aggregate's order).
    private func handleBatch(_ batch: [BusMessage], consumer: any BusConsumer) async throws {
        var byPartition: [String: [BusMessage]] = [:]
        for message in batch { byPartition[message.topic + "#" + String(message.partition), default: []].append(message) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for messages in byPartition.values {
                group.addTask { [self] in
                    for message in messages {
                        try Task.checkCancellation()
                        await process(message)
                        // Stopped in the middle of it: the message is not settled, so its offset must not be committed.
                        try Task.checkCancellation()
                        processedCount.add(1, ordering: .relaxed)
                    }
                    deps.crashPoints.reach(handler: handler.name, point: .beforeCommit)
                    try await commit(messages[messages.count - 1], on: consumer)
                }
            }
            try await group.waitForAll()
        }
    }

    private func commit(_ message: BusMessage, on consumer: any BusConsumer) async throws {
        while true {
            do {
                try await consumer.commit(message)
                return
            } catch {
                // Not committing only means a redelivery later; keep trying while we run.
                deps.log("\(handler.name): offset commit failed (\(error)); retrying")
                await pause(milliseconds: 500)
                try Task.checkCancellation()
            }
        }
    }

    /// Returns once the message is settled: done, skipped, or dead-lettered. Never throws: every failure is
    /// either retried here or recorded.
    private func process(_ message: BusMessage) async {
        let envelope: EventEnvelope
        do {
            envelope = try EventEnvelope(bytes: message.value)
        } catch {
            await deadLetter(message, eventId: nil, commandId: nil, error: "not an event envelope: \(error.detail ?? error.title)", attempts: 0)
            return
        }
        guard envelope.metadata.kind == handler.consumes else {
            deps.log("\(handler.name): ignoring \(envelope.metadata.kind.rawValue) event \(envelope.eventId) on \(message.topic)")
            return
        }
        var countedFailures = 0
        while !Task.isCancelled {
            let outcome: ClaimOutcome
            do {
                outcome = try await deps.registry.claim(handler: handler.name, eventId: envelope.eventId,
                                                        aggregateId: envelope.aggregateId,
                                                        sequence: envelope.sequenceNumber, owner: deps.owner)
            } catch {
                deps.log("\(handler.name): registry unavailable (\(error)); pausing")
                await pause(milliseconds: 500)
                continue
            }
            switch outcome {
            case .duplicateDone:
                return
            case .stale:
                await reportSuperseded(envelope)
                return
            case .inProgress:
                await pause(milliseconds: Int(min(1000, deps.registry.leaseSeconds * 250)))
                continue
            case .claimed(let attempt):
                deps.crashPoints.reach(handler: handler.name, point: .afterClaim)
                switch await attemptClaimed(envelope, attempt: attempt) {
                case .settled:
                    return
                case .outage:
                    await pause(milliseconds: 500)
                case .failed(let error, let kind):
                    countedFailures += 1
                    let exhausted = kind == .permanent || countedFailures >= deps.retry.maxAttempts
                    if exhausted {
                        await deadLetter(message, eventId: envelope.eventId, commandId: envelope.metadata.commandId,
                                         error: error.message, detail: error.detail, attempts: attempt)
                        return
                    }
                    if let commandId = envelope.metadata.commandId {
                        try? await deps.commands.retrying(commandId, attempt: attempt, error: error.detail)
                    }
                    await pause(milliseconds: deps.retry.backoffMilliseconds(afterFailures: countedFailures))
                }
            }
        }
    }

    private enum AttemptResult {
        case settled
        case outage
        case failed(HandlerFailure, FailureKind)
    }

    private func attemptClaimed(_ envelope: EventEnvelope, attempt: Int) async -> AttemptResult {
        let commandId = envelope.metadata.commandId
        let lease = LeaseKeeper(registry: deps.registry, handler: handler.name, eventId: envelope.eventId, owner: deps.owner)
        lease.start()
        defer { lease.stop() }
        do {
            if handler.consumes == .command, let commandId {
                // A domain event's command is already PROCESSING; a command handler starts its command.
                switch try await deps.commands.start(commandId, attempt: attempt, message: "\(handler.name) attempt \(attempt)") {
                case .orphan:
                    deps.log("\(handler.name): command \(commandId) has no status row (its intake transaction did not commit); not applied")
                    _ = try await deps.registry.markFailed(handler: handler.name, eventId: envelope.eventId, owner: deps.owner,
                                                           error: "orphan: no command status row")
                    return .settled
                case .cancelled:
                    _ = try await deps.registry.markDone(handler: handler.name, eventId: envelope.eventId, owner: deps.owner)
                    return .settled
                case .open, .finished:
                    break
                }
            }
            let context = HandlerContext(handler: handler.name, attempt: attempt, crashPoints: deps.crashPoints, lease: lease)
            let outcome = try await handler.handle(envelope, context: context)
            if let commandId {
                switch outcome {
                case .completed(let result):
                    try await deps.commands.completed(commandId, result: result, message: "completed by \(handler.name)")
                case .progressed(let progress, let message):
                    try await deps.commands.progressed(commandId, progress: progress, message: message)
                }
            }
            deps.crashPoints.reach(handler: handler.name, point: .beforeMarkDone)
            if try await !deps.registry.markDone(handler: handler.name, eventId: envelope.eventId, owner: deps.owner) {
                deps.log("\(handler.name): lost the claim on \(envelope.eventId) before mark-done; its new owner finishes it")
            }
            return .settled
        } catch is LeaseLost {
            deps.log("\(handler.name): lost the lease on \(envelope.eventId); leaving it to the new owner")
            return .settled
        } catch {
            let kind = FailureKind.of(error)
            if kind == .outage {
                deps.log("\(handler.name): dependency unavailable while handling \(envelope.eventId) (\(error)); pausing")
                return .outage
            }
            let failure = error as? HandlerFailure
                ?? HandlerFailure(String(describing: error), retryable: kind != .permanent,
                                  detail: (error as? Problem)?.json)
            _ = try? await deps.registry.markFailed(handler: handler.name, eventId: envelope.eventId, owner: deps.owner,
                                                   error: failure.message)
            deps.log("\(handler.name): attempt \(attempt) on \(envelope.eventId) failed: \(failure.message)")
            return .failed(failure, kind)
        }
    }

    /// A stale event's command was overtaken: a newer version of its aggregate is already applied, and as
    /// every version carries the complete state, it includes this one. Its command is finished, not stuck.
    private func reportSuperseded(_ envelope: EventEnvelope) async {
        guard let commandId = envelope.metadata.commandId else { return }
        deps.log("\(handler.name): \(envelope.eventId) (version \(envelope.sequenceNumber ?? 0)) is stale: a newer version was applied first")
        let result: JSONValue = ["aggregate_id": .string(envelope.aggregateId), "superseded": true,
                                 "sequence_number": .number(Double(envelope.sequenceNumber ?? 0))]
        try? await deps.commands.processing(commandId, attempt: 1, message: "\(handler.name): superseded by a newer version")
        try? await deps.commands.completed(commandId, result: result, message: "superseded by a newer version")
    }

    private func deadLetter(_ message: BusMessage, eventId: String?, commandId: String?, error: String,
                            detail: JSONValue? = nil, attempts: Int) async {
        while !Task.isCancelled {
            do {
                let id = try await deps.deadLetters.record(handler: handler.name, eventId: eventId, message: message,
                                                           error: error, attempts: attempts)
                deps.log("\(handler.name): dead letter \(id) for \(eventId ?? "offset \(message.offset)"): \(error)")
                if let commandId {
                    try await deps.commands.failed(commandId, error: detail ?? ["message": .string(error)])
                }
                return
            } catch {
                deps.log("\(handler.name): cannot record a dead letter (\(error)); retrying")
                await pause(milliseconds: 500)
            }
        }
    }

    private func pause(milliseconds: Int) async {
        try? await Task.sleep(nanoseconds: UInt64(max(1, milliseconds)) * 1_000_000)
    }
}
