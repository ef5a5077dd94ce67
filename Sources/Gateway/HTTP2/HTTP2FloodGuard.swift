/// Watches the raw HTTP/2 frame stream of one connection, before nghttp2 parses it, and says when the
/// peer is abusing it: floods of cheap frames that cost the server work but produce no requests (rapid
/// reset, SETTINGS/PING/PRIORITY floods, empty DATA frames) and endless CONTINUATION sequences.
/// Seeing frame headers ourselves keeps the defence independent of what the system's nghttp2 enforces.
struct HTTP2FloodGuard {
    enum Abuse: String {
        case rapidReset = "rapid_reset"
        case settingsFlood = "settings_flood"
        case pingFlood = "ping_flood"
        case priorityFlood = "priority_flood"
        case emptyFrameFlood = "empty_frame_flood"
        case continuationFlood = "continuation_flood"
        /// nghttp2's own flood detection (e.g. unread SETTINGS/PING acknowledgements piling up).
        case libraryDetected = "nghttp2_flood"
    }

    private let controlFramesPerSecond: Int
    private let maxContinuations: Int
    private var prefaceRemaining: Int
    private var header: [UInt8] = []
    private var payloadRemaining = 0
    private var windowStart: UInt64 = 0
    private var counts: [Abuse: Int] = [:]
    private var continuationsInBlock = 0
    private var inHeaderBlock = false

    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    init(controlFramesPerSecond: Int, maxContinuations: Int, expectsPreface: Bool = true) {
        self.controlFramesPerSecond = controlFramesPerSecond
        self.maxContinuations = maxContinuations
        prefaceRemaining = expectsPreface ? Self.preface.count : 0
    }

    /// Feeds received bytes; returns the abuse detected, if any.
    mutating func inspect(_ bytes: UnsafeRawBufferPointer, now: UInt64) -> Abuse? {
        var index = 0
        let count = bytes.count
        if prefaceRemaining > 0 {
            let skip = min(prefaceRemaining, count)
            prefaceRemaining -= skip
            index = skip
        }
        while index < count {
            if payloadRemaining > 0 {
                let skip = min(payloadRemaining, count - index)
                payloadRemaining -= skip
                index += skip
                continue
            }
            let needed = 9 - header.count
            let take = min(needed, count - index)
            header.append(contentsOf: bytes[index..<(index + take)])
            index += take
            guard header.count == 9 else { break }
            let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
            let abuse = frame(type: header[3], flags: header[4], length: length, now: now)
            header.removeAll(keepingCapacity: true)
            payloadRemaining = length
            if let abuse { return abuse }
        }
        return nil
    }

    private mutating func frame(type: UInt8, flags: UInt8, length: Int, now: UInt64) -> Abuse? {
        let endStream: UInt8 = 0x1, ack: UInt8 = 0x1, endHeaders: UInt8 = 0x4
        switch type {
        case 0x0 where length == 0 && flags & endStream == 0:  // DATA carrying nothing
            return count(.emptyFrameFlood, now: now)
        case 0x1, 0x5:  // HEADERS, PUSH_PROMISE
            inHeaderBlock = flags & endHeaders == 0
            continuationsInBlock = 0
        case 0x9:  // CONTINUATION
            continuationsInBlock += 1
            if flags & endHeaders != 0 { inHeaderBlock = false }
            if continuationsInBlock > maxContinuations { return .continuationFlood }
        case 0x2:
            return count(.priorityFlood, now: now)
        case 0x3:
            return count(.rapidReset, now: now)
        case 0x4 where flags & ack == 0:
            return count(.settingsFlood, now: now)
        case 0x6 where flags & ack == 0:
            return count(.pingFlood, now: now)
        default:
            break
        }
        return nil
    }

    private mutating func count(_ kind: Abuse, now: UInt64) -> Abuse? {
        if now - windowStart >= 1000 {
            windowStart = now
            counts.removeAll(keepingCapacity: true)
        }
        let seen = (counts[kind] ?? 0) + 1
        counts[kind] = seen
        return seen > controlFramesPerSecond ? kind : nil
    }
}
