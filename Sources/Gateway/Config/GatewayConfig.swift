import Core
import Read

/// Everything a client can make the gateway spend is bounded by one of these, each set by an
/// environment variable (see the README's configuration table).
public struct GatewayLimits: Sendable {
    public var maxHeaderBytes = 16 * 1024
    public var maxHeaderCount = 100
    public var maxBodyBytes = 16 * 1024 * 1024
    public var maxJSONDepth = 64
    public var maxConcurrentStreams = 100
    public var maxConnections = 10_000
    /// A connection with no request in progress is closed after this long.
    public var idleTimeoutMs: UInt64 = 60_000
    /// A request's head (and an HTTP/2 connection's first frames) must arrive within this long.
    public var headerReadTimeoutMs: UInt64 = 10_000
    /// A handler that has not answered by then gets its request answered with 504.
    public var requestTimeoutMs: UInt64 = 60_000
    /// In-flight requests get this long to finish on SIGTERM before connections are cut.
    public var shutdownGraceMs: UInt64 = 10_000
    /// HTTP/2 control-frame budget per connection per second (RST_STREAM, SETTINGS, PING, empty DATA,
    /// PRIORITY, WINDOW_UPDATE); above it the connection gets GOAWAY(ENHANCE_YOUR_CALM).
    public var http2ControlFramesPerSecond = 200
    /// CONTINUATION frames allowed for one header block. Below the system nghttp2's own cut-off (8), so
    /// ours fires first and the peer gets a GOAWAY saying why.
    public var http2MaxContinuationFrames = 4
    /// Depth, cost, page-size and query-size limits of GraphQL requests (`SPICE_GRAPHQL_*`).
    public var graphQL = GraphQLLimits()

    public init() {}
}

public struct GatewayConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var eventLoopCount = 1
    public var tlsCertificatePath: String?
    public var tlsPrivateKeyPath: String?
    public var accessLog = true
    public var corsAllowedOrigins: [String] = []
    /// Registers the `/_diagnostics/*` routes (echo, sleep, event stream) used by end-to-end tests.
    public var diagnosticRoutes = false
    public var limits = GatewayLimits()

    public init() {}

    public static func fromEnvironment(_ env: EnvironmentReader, processorCount: Int) throws(ConfigurationError) -> GatewayConfig {
        var config = GatewayConfig()
        config.host = env.string("SPICE_HOST", default: "127.0.0.1")
        config.port = try env.int("SPICE_PORT", default: 8080, range: 0...65535)
        config.eventLoopCount = try env.int("SPICE_EVENT_LOOPS", default: max(1, processorCount), range: 1...256)
        config.tlsCertificatePath = env.optionalString("SPICE_TLS_CERT")
        config.tlsPrivateKeyPath = env.optionalString("SPICE_TLS_KEY")
        if (config.tlsCertificatePath == nil) != (config.tlsPrivateKeyPath == nil) {
            throw ConfigurationError(variable: config.tlsCertificatePath == nil ? "SPICE_TLS_CERT" : "SPICE_TLS_KEY",
                                     message: "must be set together with \(config.tlsCertificatePath == nil ? "SPICE_TLS_KEY" : "SPICE_TLS_CERT")")
        }
        config.accessLog = try env.bool("SPICE_ACCESS_LOG", default: true)
        config.corsAllowedOrigins = env.list("SPICE_CORS_ORIGINS")
        config.diagnosticRoutes = try env.bool("SPICE_DIAGNOSTIC_ROUTES", default: false)

        var limits = GatewayLimits()
        limits.maxHeaderBytes = try env.int("SPICE_MAX_HEADER_BYTES", default: limits.maxHeaderBytes, range: 1024...1_048_576)
        limits.maxHeaderCount = try env.int("SPICE_MAX_HEADER_COUNT", default: limits.maxHeaderCount, range: 8...10_000)
        limits.maxBodyBytes = try env.int("SPICE_MAX_BODY_BYTES", default: limits.maxBodyBytes, range: 0...1_073_741_824)
        limits.maxJSONDepth = try env.int("SPICE_MAX_JSON_DEPTH", default: limits.maxJSONDepth, range: 2...1000)
        limits.maxConcurrentStreams = try env.int("SPICE_MAX_CONCURRENT_STREAMS", default: limits.maxConcurrentStreams, range: 1...10_000)
        limits.maxConnections = try env.int("SPICE_MAX_CONNECTIONS", default: limits.maxConnections, range: 1...1_000_000)
        limits.idleTimeoutMs = try milliseconds(env, "SPICE_IDLE_TIMEOUT", limits.idleTimeoutMs)
        limits.headerReadTimeoutMs = try milliseconds(env, "SPICE_HEADER_TIMEOUT", limits.headerReadTimeoutMs)
        limits.requestTimeoutMs = try milliseconds(env, "SPICE_REQUEST_TIMEOUT", limits.requestTimeoutMs)
        limits.shutdownGraceMs = try milliseconds(env, "SPICE_SHUTDOWN_GRACE", limits.shutdownGraceMs)
        limits.http2ControlFramesPerSecond = try env.int("SPICE_H2_CONTROL_FRAMES_PER_SECOND",
                                                         default: limits.http2ControlFramesPerSecond, range: 10...100_000)
        limits.http2MaxContinuationFrames = try env.int("SPICE_H2_MAX_CONTINUATIONS",
                                                        default: limits.http2MaxContinuationFrames, range: 1...8)
        limits.graphQL = try GraphQLLimits(env)
        config.limits = limits
        return config
    }

    private static func milliseconds(_ env: EnvironmentReader, _ name: String, _ fallback: UInt64) throws(ConfigurationError) -> UInt64 {
        UInt64(try env.seconds(name, default: Double(fallback) / 1000, range: 0.1...86_400) * 1000)
    }
}
