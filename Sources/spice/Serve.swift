import ArgumentParser
import Core
import Gateway
import Read
import Write
import Glibc

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the service. With no configuration everything runs in this process; SPICE_* variables switch parts to their distributed engines.")

    func run() throws {
        let environment = EnvironmentReader(CommandEnvironment.variables())
        let config: GatewayConfig
        let storageConfig: StorageConfig
        let deliveryConfig: DeliveryConfig
        do {
            config = try GatewayConfig.fromEnvironment(environment, processorCount: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
            storageConfig = try StorageConfig(environment)
            deliveryConfig = try DeliveryConfig(environment)
        } catch {
            CommandEnvironment.fail("\(error)")
        }

        // Block the shutdown signals before any thread starts, so only sigwait below receives them.
        let signals = ShutdownSignals.block()

        let storage: Storage
        do {
            storage = try Storage.start(storageConfig, busPartitions: deliveryConfig.partitions) { CommandEnvironment.log($0) }
        } catch {
            CommandEnvironment.fail("\(error)")
        }

        let delivery = DeliveryRuntime(storage: storage, config: deliveryConfig) { CommandEnvironment.log($0) }
        delivery.start()

        let readiness = Readiness()
        let client = storage.client
        readiness.register("postgres") { await client.isReachable() }
        let router = Router()
        SystemRoutes.register(on: router, readiness: readiness)
        if deliveryConfig.roles.contains(.gateway) {
            WriteAPI.register(on: router, write: storage.write, limits: config.limits)
            // The embedded read models share one database, so the graph's hops can bring the documents along.
            let graph = PostgresGraphStore(client: storage.client)
            ReadAPI.register(on: router, graph: graph, documents: PostgresDocumentStore(client: storage.client),
                             hopsWithDocuments: graph, limits: config.limits)
            AdminRoutes.register(on: router, deadLetters: delivery.deadLetters, bus: delivery.bus,
                                 commands: CommandProgressReporter(store: storage.write.statuses))
        }
        if config.diagnosticRoutes {
            DiagnosticRoutes.register(on: router)
        }

        let server: HTTPServer
        do {
            server = try HTTPServer(config: config, router: router, handlerExecutor: storage.client.executor)
        } catch {
            _ = try? runBlocking { await delivery.stop() }
            storage.stop()
            CommandEnvironment.fail("cannot start the gateway: \(error)")
        }
        server.start()
        let scheme = config.tlsCertificatePath == nil ? "http" : "https"
        let host = config.host.contains(":") ? "[\(config.host)]" : config.host
        CommandEnvironment.log("spice listening on \(scheme)://\(host):\(server.port) (\(config.eventLoopCount) event loops)")

        let received = signals.wait()
        CommandEnvironment.log("received \(received == SIGTERM ? "SIGTERM" : "SIGINT"): draining (up to \(config.limits.shutdownGraceMs) ms)")
        readiness.markDraining()
        server.shutdown()
        _ = try? runBlocking { await delivery.stop() }
        storage.stop()
        CommandEnvironment.log("spice stopped")
    }
}
