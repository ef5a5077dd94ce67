import Core
import Glibc

/// One JSON line per request on stdout. Lines are buffered per loop and written once per loop
/// iteration, so logging costs one write() per batch rather than per request.
final class AccessLog {
    private var buffer: [UInt8] = []
    private var flushScheduled = false
    private let loop: EventLoop

    init(loop: EventLoop) {
        self.loop = loop
        buffer.reserveCapacity(64 * 1024)
    }

    func record(request: Request, route: String, status: Int, bytesOut: Int, nanoseconds: UInt64) {
        var line: [String: JSONValue] = [
            "ts": .string(WallClock.iso8601Now()),
            "msg": "request",
            "request_id": .string(request.requestID),
            "method": .string(request.method),
            "path": .string(request.path),
            "route": .string(route),
            "status": .number(Double(status)),
            "protocol": .string(request.version.label),
            "duration_ms": .number((Double(nanoseconds) / 1e4).rounded() / 100),
            "bytes_in": .number(Double(request.body.count)),
            "bytes_out": .number(Double(bytesOut)),
            "remote": .string(request.remoteAddress),
        ]
        if let traceparent = request.headers["traceparent"], TraceContext.isValid(traceparent) {
            line["traceparent"] = .string(traceparent)
        }
        JSONWriter.write(.object(line), into: &buffer)
        buffer.append(0x0A)
        if buffer.count > 256 * 1024 { flush() }
        if !flushScheduled {
            flushScheduled = true
            loop.afterIteration { [self] in
                flushScheduled = false
                flush()
            }
        }
    }

    func flush() {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { if errno == EINTR { continue }; break }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Wall-clock timestamps for logs and the HTTP Date header.
enum WallClock {
    static func iso8601Now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(ts.tv_nsec / 1_000_000)
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(millis, 3))Z"
    }

    /// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
    static func httpDate(seconds: Int) -> String {
        var time = seconds
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(days[Int(parts.tm_wday)]), \(pad(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) \(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)) GMT"
    }

    static func unixSeconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts.tv_sec
    }

    private static func pad(_ value: some BinaryInteger, _ width: Int = 2) -> String {
        String(value).leftPadded(to: width)
    }
}

/// Error lines on stderr, as JSON like the access log (rare, so written directly).
public enum ErrorLog {
    public static func write(_ fields: [String: JSONValue]) {
        var line = fields
        line["ts"] = .string(WallClock.iso8601Now())
        line["level"] = "error"
        var bytes = JSONWriter.bytes(.object(line))
        bytes.append(0x0A)
        bytes.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
