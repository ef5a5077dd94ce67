import Core

/// Workers' view of command status (Core's `CommandProgressReporting`), on the status store. Every call is
/// a guarded transition, so a redelivery or a late worker never moves a finished command.
public struct CommandProgressReporter: CommandProgressReporting {
    private let store: CommandStatusStore

    public init(store: CommandStatusStore) { self.store = store }

    public func standing(of commandId: String) async throws -> CommandStanding {
        try await store.standing(of: commandId)
    }

    public func start(_ commandId: String, attempt: Int, message: String) async throws -> CommandStanding {
        if try await store.transition(commandId, to: .processing, message: message, countsAsAttempt: true) { return .open }
        // Not moved: already PROCESSING (a redelivery), finished, cancelled — or its intake transaction has
        // not committed yet (the envelope is durable before the status row is). `standing` waits that out.
        let standing = try await store.standing(of: commandId)
        if standing == .open {
            try await store.transition(commandId, to: .processing, message: message, countsAsAttempt: true)
        }
        return standing
    }

    public func processing(_ commandId: String, attempt: Int, message: String) async throws {
        try await store.transition(commandId, to: .processing, message: message, countsAsAttempt: true)
    }

    public func progressed(_ commandId: String, progress: Int, message: String) async throws {
        try await store.progress(commandId, progress: progress, message: message)
    }

    public func completed(_ commandId: String, result: JSONValue, message: String) async throws {
        try await store.transition(commandId, to: .completed, result: result, message: message)
    }

    public func retrying(_ commandId: String, attempt: Int, error: JSONValue) async throws {
        try await store.transition(commandId, to: .retrying, error: error, message: "attempt \(attempt) failed; retrying")
    }

    public func failed(_ commandId: String, error: JSONValue) async throws {
        try await store.transition(commandId, to: .failed, error: error, message: "gave up: recorded as a dead letter")
    }

    public func reopened(_ commandId: String, message: String) async throws {
        try await store.transition(commandId, to: .retrying, message: message, reopening: true)
    }
}
