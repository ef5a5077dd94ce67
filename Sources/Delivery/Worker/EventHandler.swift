import Core

/// What a handler's success means for the command behind the event.
public enum HandlerOutcome: Sendable, Equatable {
    /// The command is finished: COMPLETED with this result.
    case completed(JSONValue)
    /// A step is done and another consumer finishes the command (the projection completes instance and
    /// ontology commands once their documents are written).
    case progressed(Int, message: String)
}

/// A failure a handler reports on purpose. Anything else it throws is classified by `FailureKind.of`.
public struct HandlerFailure: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// False for failures another attempt cannot fix (bad input): they go to the dead letters at once.
    public let retryable: Bool
    /// What the command's error records (a problem body, usually).
    public let detail: JSONValue

    public init(_ message: String, retryable: Bool, detail: JSONValue? = nil) {
        self.message = message
        self.retryable = retryable
        self.detail = detail ?? ["message": .string(message)]
    }

    public var description: String { message }
}

/// The points where `SPICE_CHAOS_CRASH_POINT=<handler>.<point>` makes the process exit.
public enum CrashPoint: String, Sendable, CaseIterable {
    case afterClaim = "after_claim"
    case beforeSideEffect = "before_side_effect"
    case afterSideEffect = "after_side_effect"
    case beforeMarkDone = "before_mark_done"
    case beforeCommit = "before_commit"
}

/// What a handler gets besides the envelope.
public struct HandlerContext: Sendable {
    public let handler: String
    public let attempt: Int
    let crashPoints: CrashPoints
    let lease: LeaseKeeper

    /// Exits the process here if chaos testing asked for it.
    public func reach(_ point: CrashPoint) {
        crashPoints.reach(handler: handler, point: point)
    }

    /// Renews the lease now and throws if another owner took the event over: call it right before a side
    /// effect, so a worker that lost its lease stops before writing (contract rule 6). What slips past (the
    /// lease expiring during the write itself) is made harmless by the versioned writes (rule 3).
    public func ensureOwner() async throws {
        guard await lease.renewIfAging() else { throw LeaseLost(handler: handler) }
    }
}

public struct LeaseLost: Error, CustomStringConvertible {
    public let handler: String
    public var description: String { "\(handler) lost its lease: another owner took the event over" }
}

/// A consumer of one kind of envelope on some topics, run by `WorkerRunner`: claim → skip duplicates and
/// stale events → `handle` (side effect, domain event) → report status → mark done → commit the offset.
public protocol EventHandler: Sendable {
    /// The registry's handler name and the crash points' prefix (`instance_worker`).
    var name: String { get }
    /// The bus consumer group (`instance-worker-group`).
    var group: String { get }
    var topics: [String] { get }
    /// Command handlers check the command's standing (orphans, cancellations) before acting.
    var consumes: EventMetadata.Kind { get }
    /// Applies the event. Must be idempotent: it may run again after a crash, with the same envelope.
    func handle(_ envelope: EventEnvelope, context: HandlerContext) async throws -> HandlerOutcome
}
