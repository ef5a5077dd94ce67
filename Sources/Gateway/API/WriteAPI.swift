import Core
import Write

/// Registers every write-path route (and the reads of accepted state) on the router.
public enum WriteAPI {
    /// Write routes may wait for their command (up to 300 s) and stream status: their deadline is above that.
    static let routeTimeoutMs: UInt64 = UInt64(WriteRequestOptions.maxTimeoutSeconds * 1000) + 5_000

    public static func register(on router: Router, write: WritePath, limits: GatewayLimits) {
        let responses = CommandResponses(waiter: write.waiter)
        let router = RouteGroup(router: router, timeoutMs: routeTimeoutMs)
        DatabaseRoutes.register(on: router, write: write, responses: responses, limits: limits)
        OntologyRoutes.register(on: router, write: write, responses: responses, limits: limits)
        InstanceRoutes.register(on: router, write: write, responses: responses, limits: limits)
        CommandRoutes.register(on: router, write: write, responses: responses)
    }
}

/// Registers routes on a router with shared options (today: their deadline).
struct RouteGroup {
    let router: Router
    let timeoutMs: UInt64?

    func get(_ pattern: String, _ handler: Handler) { router.get(pattern, handler, timeoutMs: timeoutMs) }
    func post(_ pattern: String, _ handler: Handler) { router.post(pattern, handler, timeoutMs: timeoutMs) }
    func put(_ pattern: String, _ handler: Handler) { router.put(pattern, handler, timeoutMs: timeoutMs) }
    func delete(_ pattern: String, _ handler: Handler) { router.delete(pattern, handler, timeoutMs: timeoutMs) }
}
