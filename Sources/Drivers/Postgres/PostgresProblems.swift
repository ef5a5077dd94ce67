import Core

extension Problem {
    /// Postgres holds the sequence allocator, command status and idempotency registry: without it no write
    /// can be accepted safely, so an outage is a 503 the client may retry (correctness contract, rule 9).
    public static func storageUnavailable(_ error: PostgresError) -> Problem {
        Problem(status: 503, code: "registry_unavailable",
                detail: "the command registry (PostgreSQL) is unreachable; retry later")
    }
}

/// Maps storage failures to problems: connection loss → 503, anything else is a bug → rethrown as is
/// (the gateway answers 500 and logs it). Problems pass through.
public func mapStorageErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PostgresError where error.isConnectionFailure {
        throw Problem.storageUnavailable(error)
    }
}
