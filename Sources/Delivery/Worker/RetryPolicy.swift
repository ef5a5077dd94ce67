import Core
import Drivers

/// How often and how patiently a handler retries a failing event before it becomes a dead letter.
public struct RetryPolicy: Sendable {
    /// Failed attempts (of the kind that count) before the event is dead-lettered.
    public var maxAttempts: Int
    public var initialBackoffMilliseconds: Int
    public var maxBackoffMilliseconds: Int

    public init(maxAttempts: Int = 5, initialBackoffMilliseconds: Int = 200, maxBackoffMilliseconds: Int = 10_000) {
        self.maxAttempts = maxAttempts
        self.initialBackoffMilliseconds = initialBackoffMilliseconds
        self.maxBackoffMilliseconds = maxBackoffMilliseconds
    }

    /// Exponential: initial · 2^(failures−1), capped.
    public func backoffMilliseconds(afterFailures failures: Int) -> Int {
        let exponent = min(max(failures - 1, 0), 20)
        return min(maxBackoffMilliseconds, initialBackoffMilliseconds << exponent)
    }
}

/// How a thrown error is treated.
enum FailureKind: Equatable {
    /// A dependency is down (Postgres, the bus, a read model, the event store): pause and retry without
    /// limit — the event is fine, and dead-lettering it would drop work because of an outage (rule 9).
    case outage
    /// Might work next time: retry up to the policy's limit.
    case retryable
    /// Will never work (bad input): dead-letter at once.
    case permanent

    static func of(_ error: any Error) -> FailureKind {
        switch error {
        case let failure as HandlerFailure: return failure.retryable ? .retryable : .permanent
        case let error as PostgresError: return error.isConnectionFailure ? .outage : .retryable
        case let error as ReadModelError: if case .unavailable = error { return .outage } else { return .retryable }
        case let error as BusError: if case .unavailable = error { return .outage } else { return .retryable }
        case let error as EventStoreError:
            switch error {
            case .io: return .outage
            case .invalidEnvelope, .eventIdReused: return .permanent
            case .corrupt: return .retryable
            }
        case let problem as Problem: return problem.status == 503 ? .outage : (problem.status >= 500 ? .retryable : .permanent)
        default: return .retryable
        }
    }
}
