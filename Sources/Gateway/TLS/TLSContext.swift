import COpenSSL
import Drivers

public struct TLSError: Error, CustomStringConvertible {
    public let description: String

    static func fromOpenSSL(_ what: String) -> TLSError {
        var messages: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [UInt8](repeating: 0, count: 256)
            buffer.withUnsafeMutableBufferPointer { raw in
                raw.withMemoryRebound(to: CChar.self) { ERR_error_string_n(code, $0.baseAddress, $0.count) }
            }
            messages.append(String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self))
        }
        return TLSError(description: "\(what): \(messages.isEmpty ? "unknown OpenSSL error" : messages.joined(separator: "; "))")
    }
}

/// The server's TLS configuration: certificate chain, key, TLS ≥ 1.2, and ALPN choosing h2 over http/1.1.
final class TLSContext: @unchecked Sendable {
    // SSL_CTX is reference counted and safe to share across threads once configured.
    let raw: OpaquePointer

    init(certificatePath: String, privateKeyPath: String) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError.fromOpenSSL("SSL_CTX_new") }
        raw = ctx
        _ = spice_ssl_ctx_set_min_tls12(ctx)
        _ = spice_ssl_ctx_set_mode_release_buffers(ctx)
        guard SSL_CTX_use_certificate_chain_file(ctx, certificatePath) == 1 else {
            throw TLSError.fromOpenSSL("loading SPICE_TLS_CERT \(certificatePath)")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.fromOpenSSL("loading SPICE_TLS_KEY \(privateKeyPath)")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError.fromOpenSSL("SPICE_TLS_KEY does not match SPICE_TLS_CERT")
        }
        SSL_CTX_set_alpn_select_cb(ctx, { _, out, outLength, input, inputLength, _ in
            guard let input, let out, let outLength else { return SSL_TLSEXT_ERR_NOACK }
            return TLSContext.selectALPN(input, Int(inputLength), out, outLength)
        }, nil)
    }

    deinit { SSL_CTX_free(raw) }

    /// ALPN protocol list: length-prefixed names. Prefer h2, then http/1.1; no overlap → no ALPN (HTTP/1.1).
    private static func selectALPN(_ input: UnsafePointer<UInt8>, _ length: Int,
                                   _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>,
                                   _ outLength: UnsafeMutablePointer<UInt8>) -> Int32 {
        for wanted in ["h2", "http/1.1"] {
            var offset = 0
            while offset < length {
                let nameLength = Int(input[offset])
                let start = offset + 1
                guard start + nameLength <= length else { break }
                let name = String(decoding: UnsafeBufferPointer(start: input + start, count: nameLength), as: UTF8.self)
                if name == wanted {
                    out.pointee = input + start
                    outLength.pointee = UInt8(nameLength)
                    return SSL_TLSEXT_ERR_OK
                }
                offset = start + nameLength
            }
        }
        return SSL_TLSEXT_ERR_NOACK
    }
}
