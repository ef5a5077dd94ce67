import COpenSSL

/// TLS for one connection over memory BIOs: the connection moves ciphertext between the socket and the
/// BIOs, so TLS composes with the same non-blocking read/write code as cleartext.
final class TLSSession {
    enum ReceiveResult {
        case ok(plaintext: [UInt8])
        case failed
    }

    private let ssl: OpaquePointer
    private let networkIn: OpaquePointer   // ciphertext from the peer → OpenSSL
    private let networkOut: OpaquePointer  // OpenSSL → ciphertext for the peer
    private(set) var handshakeComplete = false
    private(set) var negotiatedProtocol: String?
    private var pendingPlaintext: [UInt8] = []

    init?(context: TLSContext) {
        guard let ssl = SSL_new(context.raw) else { return nil }
        guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            return nil
        }
        self.ssl = ssl
        networkIn = rbio
        networkOut = wbio
        SSL_set_bio(ssl, rbio, wbio)
        SSL_set_accept_state(ssl)
    }

    deinit { SSL_free(ssl) }  // frees both BIOs

    func receive(_ ciphertext: UnsafeRawBufferPointer) -> ReceiveResult {
        var offset = 0
        while offset < ciphertext.count {
            let written = BIO_write(networkIn, ciphertext.baseAddress! + offset, Int32(ciphertext.count - offset))
            guard written > 0 else { return .failed }
            offset += Int(written)
        }
        if !handshakeComplete {
            let result = SSL_do_handshake(ssl)
            if result != 1 {
                let error = SSL_get_error(ssl, result)
                return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE ? .ok(plaintext: []) : .failed
            }
            handshakeComplete = true
            var name: UnsafePointer<UInt8>?
            var length: UInt32 = 0
            SSL_get0_alpn_selected(ssl, &name, &length)
            if let name, length > 0 {
                negotiatedProtocol = String(decoding: UnsafeBufferPointer(start: name, count: Int(length)), as: UTF8.self)
            }
            if !pendingPlaintext.isEmpty {
                let queued = pendingPlaintext
                pendingPlaintext = []
                queued.withUnsafeBytes { encrypt($0) }
            }
        }
        var plaintext: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if count > 0 {
                plaintext.append(contentsOf: chunk[0..<Int(count)])
                continue
            }
            let error = SSL_get_error(ssl, count)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { break }
            if error == SSL_ERROR_ZERO_RETURN { break }  // close_notify: the socket EOF follows
            return plaintext.isEmpty ? .failed : .ok(plaintext: plaintext)
        }
        return .ok(plaintext: plaintext)
    }

    func encrypt(_ plaintext: UnsafeRawBufferPointer) {
        guard handshakeComplete else {
            pendingPlaintext.append(contentsOf: plaintext)
            return
        }
        var offset = 0
        while offset < plaintext.count {
            let written = SSL_write(ssl, plaintext.baseAddress! + offset, Int32(plaintext.count - offset))
            guard written > 0 else { return }
            offset += Int(written)
        }
    }

    func drainCiphertext(into buffer: inout [UInt8]) {
        let pending = Int(BIO_ctrl_pending(networkOut))
        guard pending > 0 else { return }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: pending))
        let read = buffer.withUnsafeMutableBytes { BIO_read(networkOut, $0.baseAddress! + start, Int32(pending)) }
        buffer.removeLast(pending - max(0, Int(read)))
    }
}
