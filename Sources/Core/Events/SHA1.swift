/// SHA-1 (FIPS 180-4), used for name-based (version 5) event ids and payload digests — not for security:
/// nothing here relies on collision resistance against an attacker, only on a stable, well-known function.
public struct SHA1: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
    private var buffer: [UInt8] = []
    /// Bytes already compressed (whole blocks); the buffer holds the rest.
    private var totalBytes: UInt64 = 0

    public init() { buffer.reserveCapacity(64) }

    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var hasher = SHA1()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public static func hexDigest<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(40)
        for byte in hash(bytes) {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let contiguous: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if contiguous == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    /// Whole blocks are compressed straight from the input; only a partial block is copied.
    public mutating func update(_ input: UnsafeRawBufferPointer) {
        var offset = 0
        if !buffer.isEmpty {
            let taken = min(64 - buffer.count, input.count)
            buffer.append(contentsOf: input[0..<taken])
            offset = taken
            guard buffer.count == 64 else { return }
            buffer.withUnsafeBytes { compress($0) }
            buffer.removeAll(keepingCapacity: true)
        }
        while input.count - offset >= 64 {
            compress(UnsafeRawBufferPointer(rebasing: input[offset..<(offset + 64)]))
            offset += 64
        }
        if offset < input.count { buffer.append(contentsOf: input[offset...]) }
    }

    /// The 20-byte digest. The hasher should not be used afterwards.
    public mutating func finalize() -> [UInt8] {
        let bitLength = (totalBytes &+ UInt64(buffer.count)) &* 8
        buffer.append(0x80)
        if buffer.count > 56 {
            while buffer.count < 64 { buffer.append(0) }
            buffer.withUnsafeBytes { compress($0) }
            buffer.removeAll(keepingCapacity: true)
        }
        while buffer.count < 56 { buffer.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        buffer.withUnsafeBytes { compress($0) }
        buffer.removeAll()
        var digest: [UInt8] = []
        digest.reserveCapacity(20)
        for word in [state.0, state.1, state.2, state.3, state.4] {
            for shift in stride(from: 24, through: 0, by: -8) { digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
        }
        return digest
    }

    /// One 64-byte block. The message schedule lives on the stack: this runs once per 64 bytes hashed.
    private mutating func compress(_ block: UnsafeRawBufferPointer) {
        totalBytes &+= 64
        var (a, b, c, d, e) = state
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { w in
            for i in 0..<16 {
                w[i] = UInt32(block[4 * i]) << 24 | UInt32(block[4 * i + 1]) << 16 | UInt32(block[4 * i + 2]) << 8 | UInt32(block[4 * i + 3])
            }
            for i in 16..<80 { w[i] = rotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1) }
            for i in 0..<20 { round(&a, &b, &c, &d, &e, f: (b & c) | (~b & d), k: 0x5A82_7999, w: w[i]) }
            for i in 20..<40 { round(&a, &b, &c, &d, &e, f: b ^ c ^ d, k: 0x6ED9_EBA1, w: w[i]) }
            for i in 40..<60 { round(&a, &b, &c, &d, &e, f: (b & c) | (b & d) | (c & d), k: 0x8F1B_BCDC, w: w[i]) }
            for i in 60..<80 { round(&a, &b, &c, &d, &e, f: b ^ c ^ d, k: 0xCA62_C1D6, w: w[i]) }
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
    }

    @inline(__always)
    private func round(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32, _ e: inout UInt32,
                       f: UInt32, k: UInt32, w: UInt32) {
        let temp = rotateLeft(a, 5) &+ f &+ e &+ k &+ w
        e = d; d = c; c = rotateLeft(b, 30); b = a; a = temp
    }

    @inline(__always)
    private func rotateLeft(_ x: UInt32, _ n: UInt32) -> UInt32 { (x << n) | (x >> (32 - n)) }
}
