import Core
import Synchronization

/// What `/readyz` reports: named checks of the dependencies the process needs. Later modules register
/// theirs (Postgres, the event store, …); the server itself is ready until it starts draining.
public final class Readiness: Sendable {
    public typealias Check = @Sendable () async -> Bool
    private let checks = Mutex<[(name: String, check: Check)]>([])
    private let draining = Atomic<Bool>(false)

    public init() {}

    public func register(_ name: String, _ check: @escaping Check) {
        checks.withLock { $0.append((name, check)) }
    }

    public func markDraining() { draining.store(true, ordering: .relaxed) }
    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    func evaluate() async -> (ready: Bool, results: [String: JSONValue]) {
        var results: [String: JSONValue] = ["server": .string(isDraining ? "draining" : "ok")]
        var ready = !isDraining
        for (name, check) in checks.withLock({ $0 }) {
            let ok = await check()
            results[name] = .string(ok ? "ok" : "unavailable")
            ready = ready && ok
        }
        return (ready, results)
    }
}

/// `/healthz` (the process is up and serving) and `/readyz` (its dependencies are reachable).
public enum SystemRoutes {
    private static let healthBody: [UInt8] = JSONWriter.bytes(["status": "ok"])

    public static func register(on router: Router, readiness: Readiness) {
        router.get("/healthz", .inline { _ in
            Response(status: 200, contentType: "application/json", bytes: healthBody)
        })
        router.get("/readyz", .async { _ in
            let (ready, results) = await readiness.evaluate()
            return .json(["status": .string(ready ? "ready" : "unavailable"), "checks": .object(results)],
                         status: ready ? 200 : 503)
        })
    }
}
