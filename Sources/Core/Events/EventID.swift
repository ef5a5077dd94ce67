import Glibc

/// Event ids are UUIDs in canonical lower-case text form.
///
/// - Command envelopes get a time-ordered id (version 7: milliseconds since 1970, then 74 random bits); the
///   command id is the event id. Ids made one after another sort together, so PostgreSQL adds each command
///   row at the right edge of the `commands` primary key instead of at a random page of it (a random page
///   per insert means a full-page image in the WAL after every checkpoint, and a cache miss once the
///   index outgrows memory).
/// - Domain events derived from a command get a name-based id (version 5, SHA-1) computed exactly as the
///   Python original did: `uuid5(NAMESPACE_URL, "spice:{command_id}:{EVENT_TYPE}:{aggregate_id}")`. A worker
///   that retries the same command therefore produces the same event id every time, and the event
///   store's idempotent append turns the retry into a no-op; ids also match the original's for the same
///   inputs.
public enum EventID {
    /// RFC 4122 namespace for URLs (6ba7b811-9dad-11d1-80b4-00c04fd430c8), as Python's `uuid.NAMESPACE_URL`.
    public static let namespaceURL: [UInt8] = [0x6B, 0xA7, 0xB8, 0x11, 0x9D, 0xAD, 0x11, 0xD1,
                                               0x80, 0xB4, 0x00, 0xC0, 0x4F, 0xD4, 0x30, 0xC8]

    /// A random (version 4) UUID, lower case.
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: high >> UInt64(8 * i))
            bytes[8 + i] = UInt8(truncatingIfNeeded: low >> UInt64(8 * i))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    /// A time-ordered (version 7, RFC 9562) UUID, lower case.
    public static func timeOrdered() -> String {
        var generator = SystemRandomNumberGenerator()
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return timeOrdered(milliseconds: UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000, using: &generator)
    }

    public static func timeOrdered<G: RandomNumberGenerator>(milliseconds: UInt64, using generator: inout G) -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { bytes[i] = UInt8(truncatingIfNeeded: milliseconds >> UInt64(8 * (5 - i))) }
        let random = generator.next() as UInt64
        let more = generator.next() as UInt64
        for i in 6..<14 { bytes[i] = UInt8(truncatingIfNeeded: random >> UInt64(8 * (i - 6))) }
        bytes[14] = UInt8(truncatingIfNeeded: more)
        bytes[15] = UInt8(truncatingIfNeeded: more >> 8)
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    /// The deterministic id of the domain event `eventType` that command `commandId` produced for
    /// `aggregateId`: uuid5(NAMESPACE_URL, "spice:{commandId}:{eventType}:{aggregateId}").
    public static func derived(commandId: String, eventType: String, aggregateId: String) -> String {
        nameBased(namespace: namespaceURL, name: "spice:\(commandId):\(eventType):\(aggregateId)")
    }

    /// A version 5 (SHA-1, name-based) UUID, RFC 4122 §4.3.
    public static func nameBased(namespace: [UInt8], name: String) -> String {
        precondition(namespace.count == 16, "a UUID namespace is 16 bytes")
        var hasher = SHA1()
        hasher.update(namespace)
        hasher.update(name.utf8)
        var bytes = Array(hasher.finalize().prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return format(bytes)
    }

    /// True for the canonical text form: 8-4-4-4-12 lower-case hex digits.
    public static func isCanonical(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                guard (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) else { return false }
            }
        }
        return true
    }

    /// The canonical form of a UUID written in any letter case; nil when `text` is not a UUID.
    public static func canonicalize(_ text: String) -> String? {
        let lowered = text.lowercased()
        return isCanonical(lowered) ? lowered : nil
    }

    static func format(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
