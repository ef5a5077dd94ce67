import Core
import Delivery
import Drivers
import Glibc
import Write

/// The storage the write path runs on, chosen from the environment in this one place:
/// Postgres (`SPICE_DATABASE_URL`, or a private cluster under `SPICE_DATA_DIR`) and the event store
/// (a local directory with the S3 key layout under `SPICE_DATA_DIR/events`).
struct StorageConfig {
    var dataDirectory: String
    var databaseURL: String?
    var poolSize: Int
    var statusTTLSeconds: Int?

    init(_ env: EnvironmentReader) throws(ConfigurationError) {
        dataDirectory = env.string("SPICE_DATA_DIR", default: "./.spice")
        databaseURL = env.optionalString("SPICE_DATABASE_URL")
        poolSize = try env.int("SPICE_DATABASE_POOL_SIZE", default: 16, range: 1...500)
        statusTTLSeconds = env.optionalString("SPICE_COMMAND_STATUS_TTL") == nil
            ? nil : try env.int("SPICE_COMMAND_STATUS_TTL", default: 0, range: 1...31_536_000)
    }
}

final class Storage: Sendable {
    let client: PostgresClient
    let eventStore: FileEventStore
    let notifier = CommandStatusNotifier()
    let write: WritePath
    /// The embedded bus lives in the same Postgres; the intake needs it to redeliver recovered orphans.
    let bus: EmbeddedBus
    /// The delivery side's pool. Its writes (claims, status moves, read models, mark-done, offset commits)
    /// commit without waiting for the WAL flush: a PostgreSQL crash loses the newest of them together (the
    /// WAL is sequential), the offsets included, so the messages are redelivered and redone — nothing
    /// external depends on them being durable. Bus messages and the intake stay synchronous.
    let workerClient: PostgresClient
    let dataDirectory: String
    private let embedded: EmbeddedPostgres?
    private let sweeper: Task<Void, Never>

    /// Starts (or connects to) Postgres, applies migrations, opens the event store.
    static func start(_ config: StorageConfig, busPartitions: Int = 12, log: @escaping @Sendable (String) -> Void) throws -> Storage {
        var config = config
        try mkdirs(config.dataDirectory)
        // Absolute from here on: PostgreSQL resolves relative paths against its own data directory.
        config.dataDirectory = absolutePath(config.dataDirectory)
        var embedded: EmbeddedPostgres?
        let url: String
        if let configured = config.databaseURL {
            url = configured
        } else {
            let cluster = EmbeddedPostgres(dataDirectory: config.dataDirectory + "/postgres")
            log("starting the embedded PostgreSQL cluster in \(config.dataDirectory)/postgres")
            url = try cluster.start()
            embedded = cluster
        }
        let client = PostgresClient(PostgresConfiguration(url: url, poolSize: config.poolSize))
        do {
            let applied = try runBlocking { try await Migrator(client: client).migrate(log: log) }
            if applied.isEmpty { log("database schema is up to date") }
        } catch {
            try? embedded?.stop()
            throw StartupError(message: "cannot prepare PostgreSQL at \(Self.redacted(url)): \(error)")
        }
        let eventStore = try FileEventStore(directory: config.dataDirectory + "/events")
        return Storage(client: client, eventStore: eventStore, embedded: embedded, ttl: config.statusTTLSeconds,
                       dataDirectory: config.dataDirectory, busPartitions: busPartitions, log: log)
    }

    private init(client: PostgresClient, eventStore: FileEventStore, embedded: EmbeddedPostgres?, ttl: Int?,
                 dataDirectory: String, busPartitions: Int, log: @escaping @Sendable (String) -> Void) {
        self.client = client
        self.eventStore = eventStore
        self.embedded = embedded
        self.dataDirectory = dataDirectory
        var workerConfiguration = client.configuration
        workerConfiguration.sessionSettings["synchronous_commit"] = "off"
        workerConfiguration.poolSize = max(4, workerConfiguration.poolSize / 2)
        let workerClient = PostgresClient(workerConfiguration)
        self.workerClient = workerClient
        let bus = EmbeddedBus(client: client, consumerClient: workerClient, partitions: busPartitions)
        self.bus = bus
        write = WritePath(client: client, eventStore: eventStore, notifier: notifier, statusTTLSeconds: ttl,
                          redeliver: { envelope in
                              do {
                                  try await bus.publish([OutgoingMessage(topic: envelope.metadata.kafkaTopic, key: envelope.aggregateId,
                                                                         value: envelope.jsonBytes)])
                              } catch {
                                  log("cannot redeliver recovered command \(envelope.eventId): \(error); the publisher's look-back or a replay will")
                              }
                          })
        notifier.start(client: client)
        let statuses = write.statuses
        sweeper = Task {
            // Expired command rows are deleted a minute at a time; reads already hide them.
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(ttl.map { min(60, max(1, $0)) } ?? 3600))
                _ = try? await statuses.deleteExpired()
            }
        }
    }

    func stop() {
        sweeper.cancel()
        notifier.stop()
        let (client, workerClient) = (self.client, self.workerClient)
        _ = try? runBlocking {
            await workerClient.shutdown()
            await client.shutdown()
        }
        eventStore.close()
        try? embedded?.stop()
    }

    /// Connection URLs may carry passwords: never print them.
    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://") else { return url }
        return String(url[..<scheme.upperBound]) + "…" + String(url[at...])
    }

    private static func absolutePath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(decoding: UnsafeRawBufferPointer(start: resolved, count: strlen(resolved)), as: UTF8.self)
    }

    private static func mkdirs(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0, errno != EEXIST {
                throw StartupError(message: "cannot create \(current): \(SystemError("mkdir").description)")
            }
        }
    }
}

struct StartupError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
