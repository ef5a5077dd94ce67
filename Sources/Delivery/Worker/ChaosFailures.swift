import Core

/// Chaos testing of the failure path: `SPICE_CHAOS_FAIL=<handler>.<n>` makes the handler's first `n` attempts
/// at every event fail with a retryable error (attempts as the registry counts them), so tests can watch
/// RETRYING, recovery, exhaustion into a dead letter and its replay. Off unless set.
public struct ChaosFailingHandler: EventHandler {
    private let inner: any EventHandler
    private let failingAttempts: Int

    /// Wraps `handler` when `setting` names it; otherwise returns it unchanged.
    public static func wrap(_ handler: any EventHandler, setting: String?) -> any EventHandler {
        guard let setting, let dot = setting.lastIndex(of: "."), String(setting[..<dot]) == handler.name,
              let count = Int(setting[setting.index(after: dot)...]), count > 0 else { return handler }
        return ChaosFailingHandler(inner: handler, failingAttempts: count)
    }

    /// Nil when `setting` is empty or valid; otherwise why it is not.
    public static func problem(with setting: String?) -> String? {
        guard let setting, !setting.isEmpty else { return nil }
        guard let dot = setting.lastIndex(of: "."), dot != setting.startIndex,
              let count = Int(setting[setting.index(after: dot)...]), count > 0 else {
            return "SPICE_CHAOS_FAIL=\(setting) is not <handler>.<attempts that fail>, e.g. instance_worker.2"
        }
        return nil
    }

    public var name: String { inner.name }
    public var group: String { inner.group }
    public var topics: [String] { inner.topics }
    public var consumes: EventMetadata.Kind { inner.consumes }

    public func handle(_ envelope: EventEnvelope, context: HandlerContext) async throws -> HandlerOutcome {
        if context.attempt <= failingAttempts {
            throw HandlerFailure("chaos: attempt \(context.attempt) of \(envelope.eventId) fails on purpose (SPICE_CHAOS_FAIL)",
                                 retryable: true)
        }
        return try await inner.handle(envelope, context: context)
    }
}
