import Core
import Delivery
import Drivers
import Glibc
import Read
import Synchronization
import Write

/// What one process runs. `SPICE_ROLES` (default all three) splits them over processes: gateways and
/// workers scale out independently, and a gateway-only process accepts commands that others deliver.
enum Role: String, CaseIterable {
    case gateway, publisher, workers
}

/// Delivery settings, read once at start (every value validated, with the variable named on error).
struct DeliveryConfig {
    var roles: Set<Role>
    var partitions: Int
    var retentionHours: Int
    var leaseSeconds: Double
    var retry: RetryPolicy
    var publisher: EventPublisher.Options
    var crashPoint: String?
    var chaosFail: String?

    init(_ env: EnvironmentReader) throws(ConfigurationError) {
        let names = env.list("SPICE_ROLES")
        roles = names.isEmpty ? Set(Role.allCases) : []
        for name in names {
            guard let role = Role(rawValue: name) else {
                throw ConfigurationError(variable: "SPICE_ROLES", message: "names \(name); the roles are gateway, publisher, workers")
            }
            roles.insert(role)
        }
        partitions = try env.int("SPICE_BUS_PARTITIONS", default: 12, range: 1...256)
        retentionHours = try env.int("SPICE_BUS_RETENTION_HOURS", default: 168, range: 1...87_600)
        leaseSeconds = try env.seconds("SPICE_WORKER_LEASE_SECONDS", default: 30, range: 0.5...3600)
        retry = RetryPolicy(maxAttempts: try env.int("SPICE_WORKER_MAX_ATTEMPTS", default: 5, range: 1...100),
                            initialBackoffMilliseconds: try env.int("SPICE_WORKER_BACKOFF_MS", default: 200, range: 1...60_000))
        publisher = EventPublisher.Options()
        publisher.start = try PublisherStart(setting: env.optionalString("SPICE_PUBLISHER_START"))
        publisher.lookbackMilliseconds = Int64(try env.int("SPICE_PUBLISHER_LOOKBACK_MS", default: 10_000, range: 0...86_400_000))
        crashPoint = env.optionalString("SPICE_CHAOS_CRASH_POINT")
        if let problem = CrashPoints.problem(with: crashPoint) {
            throw ConfigurationError(variable: "SPICE_CHAOS_CRASH_POINT", message: problem)
        }
        chaosFail = env.optionalString("SPICE_CHAOS_FAIL")
        if let problem = ChaosFailingHandler.problem(with: chaosFail) {
            throw ConfigurationError(variable: "SPICE_CHAOS_FAIL", message: problem)
        }
    }
}

/// The delivery side of one process: the bus, the read models, the publisher and the four workers.
final class DeliveryRuntime: Sendable {
    let bus: EmbeddedBus
    let graph: PostgresGraphStore
    let documents: PostgresDocumentStore
    let deadLetters: DeadLetterStore
    let registry: ProcessedEventRegistry
    private let publisher: EventPublisher?
    private let runners: [WorkerRunner]
    private let retentionHours: Int
    private let log: @Sendable (String) -> Void
    private let pruner = Mutex<Task<Void, Never>?>(nil)

    init(storage: Storage, config: DeliveryConfig, log: @escaping @Sendable (String) -> Void) {
        let client = storage.workerClient
        bus = storage.bus
        retentionHours = config.retentionHours
        self.log = log
        graph = PostgresGraphStore(client: client)
        documents = PostgresDocumentStore(client: client)
        deadLetters = DeadLetterStore(client: client)
        registry = ProcessedEventRegistry(client: client, leaseSeconds: config.leaseSeconds)
        var publisherOptions = config.publisher
        publisherOptions.executor = storage.client.executor
        publisher = config.roles.contains(.publisher)
            ? EventPublisher(store: storage.eventStore, bus: bus, options: publisherOptions, log: log) : nil
        let dependencies = WorkerRunner.Dependencies(
            bus: bus, registry: registry, deadLetters: deadLetters,
            commands: CommandProgressReporter(store: CommandStatusStore(client: client, ttlSeconds: nil)),
            crashPoints: CrashPoints(setting: config.crashPoint, dataDirectory: storage.dataDirectory),
            retry: config.retry, owner: Self.ownerName(), executor: client.executor, log: log)
        let (graph, documents) = (self.graph, self.documents)
        let handlers: [any EventHandler] = CommandWorker.Kind.allCases.map {
            CommandWorker($0, graph: graph, documents: documents, store: storage.eventStore)
        } + [ProjectionWorker(documents: documents)]
        runners = !config.roles.contains(.workers) ? [] : handlers.map {
            WorkerRunner(handler: ChaosFailingHandler.wrap($0, setting: config.chaosFail), dependencies: dependencies)
        }
    }

    func start() {
        publisher?.start()
        for runner in runners { runner.start() }
        guard publisher != nil else { return }
        let (bus, seconds, log) = (self.bus, retentionHours * 3600, self.log)
        // Delivered messages older than the retention go; the event store keeps every event regardless.
        pruner.withLock {
            $0 = Task {
                while !Task.isCancelled {
                    if let pruned = try? await bus.prune(retentionSeconds: seconds), pruned > 0 {
                        log("bus: pruned \(pruned) delivered messages older than \(seconds / 3600) h")
                    }
                    try? await Task.sleep(for: .seconds(600))
                }
            }
        }
    }

    func stop() async {
        pruner.withLock { $0?.cancel() }
        await publisher?.stop()
        for runner in runners { await runner.stop() }
    }

    /// Unique per process start, readable in the registry: `host:pid:random`.
    private static func ownerName() -> String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        let name = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(name):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }
}
