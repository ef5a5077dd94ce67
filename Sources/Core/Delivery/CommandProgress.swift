/// Where a command stands, as workers need to know it before they act on it.
public enum CommandStanding: Sendable, Equatable {
    /// The command is accepted and not finished: act on it.
    case open
    /// Cancelled before any worker picked it up: skip it.
    case cancelled
    /// Already COMPLETED or FAILED (a redelivery): act idempotently, report nothing new.
    case finished
    /// No status row after the intake transaction settled: the envelope was appended by a transaction that
    /// did not commit (an orphan). Never act on it.
    case orphan
}

/// The command-status port workers report through (implemented by the write path's status store), so the
/// projection in Read can complete commands without importing Write. Every call is idempotent: a move that
/// is not allowed from the current status (a duplicate, a late delivery) changes nothing.
public protocol CommandProgressReporting: Sendable {
    func standing(of commandId: String) async throws -> CommandStanding
    /// Moves an open command to PROCESSING and says where it stands — one round trip when it was open.
    func start(_ commandId: String, attempt: Int, message: String) async throws -> CommandStanding
    func processing(_ commandId: String, attempt: Int, message: String) async throws
    func progressed(_ commandId: String, progress: Int, message: String) async throws
    func completed(_ commandId: String, result: JSONValue, message: String) async throws
    func retrying(_ commandId: String, attempt: Int, error: JSONValue) async throws
    func failed(_ commandId: String, error: JSONValue) async throws
    /// FAILED → RETRYING, when an operator replays the command's dead letter (the one way out of FAILED).
    func reopened(_ commandId: String, message: String) async throws
}
