import Core
import Synchronization

/// Group commit for command intake: commands that arrive while intake transactions are running wait here
/// and go into the next transaction together, so under load PostgreSQL sees one transaction (two round
/// trips, one commit) for many commands instead of one each. A command arriving at an idle queue starts
/// at once, alone: batching never adds waiting, it only uses the waiting that happens anyway.
///
/// At most `lanes` transactions run at a time, each on its own connection. A batch holds at most one
/// command per aggregate and per command id; a second one waits for a later batch (it would only wait for
/// the first one's locks, holding up the rest of its batch meanwhile). Commands keep their arrival order
/// per aggregate.
final class IntakeQueue: Sendable {
    typealias Run = @Sendable ([IntakeTransaction.Item]) async -> [IntakeTransaction.Outcome]

    private struct Waiter {
        let item: IntakeTransaction.Item
        let continuation: CheckedContinuation<IntakeTransaction.Outcome, Never>
    }

    private struct State {
        var waiting: [Waiter] = []
        var lanesRunning = 0
        /// Aggregates and command ids of the batches running now.
        var busyAggregates: Set<AggregateRef> = []
        var busyCommands: Set<String> = []
    }

    private let state = Mutex(State())
    private let lanes: Int
    private let maximumBatch: Int
    private let run: Run

    /// `run` executes one batch and returns an outcome per item, in order.
    init(lanes: Int, maximumBatch: Int, run: @escaping Run) {
        precondition(lanes > 0 && maximumBatch > 0)
        self.lanes = lanes
        self.maximumBatch = maximumBatch
        self.run = run
    }

    /// Commands queued and not yet in a batch.
    var commandsWaiting: Int { state.withLock { $0.waiting.count } }

    func submit(_ item: IntakeTransaction.Item) async -> IntakeTransaction.Outcome {
        // Nothing waiting and a lane free: run it alone, in the caller's task (no hop to a lane's task).
        let runsAlone = state.withLock { state -> Bool in
            guard state.waiting.isEmpty, state.lanesRunning < lanes, Self.canJoin(item, state) else { return false }
            state.lanesRunning += 1
            Self.markBusy(item, &state)
            return true
        }
        if runsAlone {
            let outcome = await run([item]).first ?? .failure(Problem(status: 500, code: "intake_lost", detail: "no outcome"))
            finished([item])
            if let next = nextBatch() { Task { await self.drain(startingWith: next) } }
            return outcome
        }
        return await withCheckedContinuation { continuation in
            let startsLane = state.withLock { state -> Bool in
                state.waiting.append(Waiter(item: item, continuation: continuation))
                guard state.lanesRunning < lanes else { return false }
                state.lanesRunning += 1
                return true
            }
            if startsLane { Task { if let batch = self.nextBatch() { await self.drain(startingWith: batch) } } }
        }
    }

    /// One lane: runs batches until nothing it may take is waiting. A command held back because its
    /// aggregate or id is busy is taken by the lane running that batch, which looks again when it ends.
    private func drain(startingWith first: [Waiter]) async {
        var batch = first
        while true {
            let outcomes = await run(batch.map(\.item))
            finished(batch.map(\.item))
            for (waiter, outcome) in zip(batch, outcomes) { waiter.continuation.resume(returning: outcome) }
            guard let next = nextBatch() else { return }
            batch = next
        }
    }

    private static func canJoin(_ item: IntakeTransaction.Item, _ state: State) -> Bool {
        !state.busyAggregates.contains(item.request.aggregate) && !state.busyCommands.contains(item.request.commandId)
    }

    private static func markBusy(_ item: IntakeTransaction.Item, _ state: inout State) {
        state.busyAggregates.insert(item.request.aggregate)
        state.busyCommands.insert(item.request.commandId)
    }

    private func finished(_ items: [IntakeTransaction.Item]) {
        state.withLock { state in
            for item in items {
                state.busyAggregates.remove(item.request.aggregate)
                state.busyCommands.remove(item.request.commandId)
            }
        }
    }

    private func nextBatch() -> [Waiter]? {
        state.withLock { state -> [Waiter]? in
            var batch: [Waiter] = []
            var held: [Waiter] = []
            for waiter in state.waiting {
                if batch.count < maximumBatch, Self.canJoin(waiter.item, state) {
                    Self.markBusy(waiter.item, &state)
                    batch.append(waiter)
                } else {
                    held.append(waiter)
                }
            }
            state.waiting = held
            guard !batch.isEmpty else {
                state.lanesRunning -= 1
                return nil
            }
            return batch
        }
    }
}
