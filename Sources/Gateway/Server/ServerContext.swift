import Synchronization

/// What all loops share: configuration, the pipeline, TLS, gauges and the shutdown flag.
final class ServerContext: Sendable {
    let config: GatewayConfig
    let pipeline: RequestPipeline
    let tls: TLSContext?
    let gauges = ServerGauges()
    let shuttingDown = Atomic<Bool>(false)

    init(config: GatewayConfig, pipeline: RequestPipeline, tls: TLSContext?) {
        self.config = config
        self.pipeline = pipeline
        self.tls = tls
    }

    /// Reserves a connection slot; false when the limit is reached.
    func admitConnection() -> Bool {
        let open = gauges.openConnections.wrappingAdd(1, ordering: .relaxed).newValue
        if open > config.limits.maxConnections {
            gauges.openConnections.wrappingSubtract(1, ordering: .relaxed)
            gauges.connectionsRejected.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func releaseConnection() {
        gauges.openConnections.wrappingSubtract(1, ordering: .relaxed)
    }
}
