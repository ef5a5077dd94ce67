import Core

/// Serializes HTTP/1.1 response heads. Header names go out lower-case, as received from handlers
/// (legal in HTTP/1.1, and the same bytes we give HTTP/2).
enum HTTP1ResponseWriter {
    enum Framing {
        case contentLength(Int)
        case chunked
        /// HTTP/1.0 streaming: the body ends when the connection closes.
        case closeDelimited
        case none
    }

    static func head(status: Int, headers: HTTPHeaders, framing: Framing, keepAlive: Bool, date: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + headers.count * 32)
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        out.append(contentsOf: String(status).utf8)
        out.append(0x20)
        out.append(contentsOf: HTTPStatus.reasonPhrase(status).utf8)
        out.append(contentsOf: "\r\ndate: ".utf8)
        out.append(contentsOf: date.utf8)
        switch framing {
        case .contentLength(let length):
            out.append(contentsOf: "\r\ncontent-length: ".utf8)
            out.append(contentsOf: String(length).utf8)
        case .chunked:
            out.append(contentsOf: "\r\ntransfer-encoding: chunked".utf8)
        case .closeDelimited, .none:
            break
        }
        if !keepAlive { out.append(contentsOf: "\r\nconnection: close".utf8) }
        for field in headers where !isHopByHop(field.name) {
            out.append(contentsOf: "\r\n".utf8)
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
        }
        out.append(contentsOf: "\r\n\r\n".utf8)
        return out
    }

    /// The server owns framing and connection management; a handler cannot set these.
    static func isHopByHop(_ name: String) -> Bool {
        switch name {
        case "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "date": true
        default: false
        }
    }

    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        var out = Array(String(bytes.count, radix: 16).utf8)
        out.append(contentsOf: [0x0D, 0x0A])
        out.append(contentsOf: bytes)
        out.append(contentsOf: [0x0D, 0x0A])
        return out
    }

    static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)
    static let continueResponse: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    static let switchingToH2C: [UInt8] = Array("HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n".utf8)

    /// Status codes that never carry a body.
    static func forbidsBody(_ status: Int) -> Bool { status < 200 || status == 204 || status == 304 }
}
