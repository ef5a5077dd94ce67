import Synchronization

/// Request counters and latency histograms for one event loop. Only its loop writes, so the lock is
/// uncontended except while `/metrics` reads it.
final class LoopMetrics: Sendable {
    struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
        let version: String
    }

    /// Upper bounds, in seconds, of the latency histogram's buckets.
    static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Histogram {
        var bucketCounts = [UInt64](repeating: 0, count: LoopMetrics.latencyBuckets.count)
        var count: UInt64 = 0
        var sum: Double = 0

        mutating func observe(_ seconds: Double) {
            count += 1
            sum += seconds
            if let bucket = LoopMetrics.latencyBuckets.firstIndex(where: { seconds <= $0 }) {
                bucketCounts[bucket] += 1
            }
        }
    }

    struct State {
        var requests: [RequestKey: UInt64] = [:]
        var latency: [String: Histogram] = [:]
        var http2FloodsStopped: [String: UInt64] = [:]
    }

    let state = Mutex(State())

    func record(route: String, method: String, status: Int, version: HTTPVersion, seconds: Double) {
        state.withLock { state in
            state.requests[RequestKey(route: route, method: method, status: status, version: version.label), default: 0] += 1
            // Mutated in place: copying the histogram out and back would copy its bucket array per request.
            state.latency[route, default: Histogram()].observe(seconds)
        }
    }

    func recordFloodStopped(kind: String) {
        state.withLock { $0.http2FloodsStopped[kind, default: 0] += 1 }
    }
}

/// Gauges that every loop updates (open connections, open HTTP/2 streams).
final class ServerGauges: Sendable {
    let openConnections = Atomic<Int>(0)
    let openStreams = Atomic<Int>(0)
    let connectionsRejected = Atomic<Int>(0)
}

/// Renders all loops' metrics in the Prometheus text exposition format.
enum PrometheusRenderer {
    static func render(loops: [LoopMetrics], gauges: ServerGauges) -> String {
        var requests: [LoopMetrics.RequestKey: UInt64] = [:]
        var latency: [String: LoopMetrics.Histogram] = [:]
        var floods: [String: UInt64] = [:]
        for loop in loops {
            loop.state.withLock { state in
                requests.merge(state.requests, uniquingKeysWith: +)
                floods.merge(state.http2FloodsStopped, uniquingKeysWith: +)
                for (route, histogram) in state.latency {
                    var merged = latency[route] ?? LoopMetrics.Histogram()
                    merged.count += histogram.count
                    merged.sum += histogram.sum
                    for i in merged.bucketCounts.indices { merged.bucketCounts[i] += histogram.bucketCounts[i] }
                    latency[route] = merged
                }
            }
        }

        var out = ""
        out += "# HELP spice_http_requests_total HTTP requests answered, by route pattern, method, status and protocol.\n"
        out += "# TYPE spice_http_requests_total counter\n"
        for key in requests.keys.sorted(by: { ($0.route, $0.method, $0.status, $0.version) < ($1.route, $1.method, $1.status, $1.version) }) {
            out += "spice_http_requests_total{route=\"\(escape(key.route))\",method=\"\(escape(key.method))\",status=\"\(key.status)\",protocol=\"\(key.version)\"} \(requests[key]!)\n"
        }
        out += "# HELP spice_http_request_duration_seconds Time from a complete request to its response, by route.\n"
        out += "# TYPE spice_http_request_duration_seconds histogram\n"
        for route in latency.keys.sorted() {
            let histogram = latency[route]!
            var cumulative: UInt64 = 0
            for (i, bound) in LoopMetrics.latencyBuckets.enumerated() {
                cumulative += histogram.bucketCounts[i]
                out += "spice_http_request_duration_seconds_bucket{route=\"\(escape(route))\",le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "spice_http_request_duration_seconds_bucket{route=\"\(escape(route))\",le=\"+Inf\"} \(histogram.count)\n"
            out += "spice_http_request_duration_seconds_sum{route=\"\(escape(route))\"} \(histogram.sum)\n"
            out += "spice_http_request_duration_seconds_count{route=\"\(escape(route))\"} \(histogram.count)\n"
        }
        out += "# HELP spice_http_open_connections Client connections currently open.\n"
        out += "# TYPE spice_http_open_connections gauge\n"
        out += "spice_http_open_connections \(gauges.openConnections.load(ordering: .relaxed))\n"
        out += "# HELP spice_http2_open_streams HTTP/2 streams currently open.\n"
        out += "# TYPE spice_http2_open_streams gauge\n"
        out += "spice_http2_open_streams \(gauges.openStreams.load(ordering: .relaxed))\n"
        out += "# HELP spice_http_connections_rejected_total Connections refused because the connection limit was reached.\n"
        out += "# TYPE spice_http_connections_rejected_total counter\n"
        out += "spice_http_connections_rejected_total \(gauges.connectionsRejected.load(ordering: .relaxed))\n"
        out += "# HELP spice_http2_floods_stopped_total HTTP/2 connections closed with ENHANCE_YOUR_CALM, by kind of abuse.\n"
        out += "# TYPE spice_http2_floods_stopped_total counter\n"
        for kind in floods.keys.sorted() {
            out += "spice_http2_floods_stopped_total{kind=\"\(kind)\"} \(floods[kind]!)\n"
        }
        return out
    }

    private static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
