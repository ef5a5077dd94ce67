import Core
import Drivers

extension BusError {
    /// What a failed statement means to a bus caller. `unavailable` when retrying later can succeed: the
    /// connection failed, or the server is shutting down, overloaded, or rolled the transaction back
    /// (serialization failure, deadlock). Anything else is the request's own fault, or a database the bus
    /// migration has not reached: `refused`.
    static func fromStorage(_ error: any Error) -> BusError {
        if let error = error as? BusError { return error }
        guard let error = error as? PostgresError else { return .unavailable(String(describing: error)) }
        if error.isConnectionFailure { return .unavailable(error.description) }
        let retryableClasses = ["08", "40", "53", "57"]
        if let state = error.sqlState, retryableClasses.contains(String(state.prefix(2))) {
            return .unavailable(error.description)
        }
        return .refused(error.description)
    }
}

/// Runs storage work, turning whatever it throws into a `BusError`.
func withBusErrors<T>(_ body: () async throws -> T) async throws(BusError) -> T {
    do {
        return try await body()
    } catch {
        throw BusError.fromStorage(error)
    }
}
