import Foundation

/// A JSON request with curl, returning the status and the parsed body.
struct HTTPResult {
    let status: Int
    let body: Any?
    let raw: String
    var json: [String: Any] { body as? [String: Any] ?? [:] }
}

enum HTTP {
    static func call(_ method: String, _ url: String, json: Any? = nil, headers: [String: String] = [:],
                     timeout: Int = 30) throws -> HTTPResult {
        var arguments = ["-sS", "--max-time", String(timeout), "-X", method, "-w", "\n%{http_code}"]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        var stdin: Data?
        if let json {
            stdin = try JSONSerialization.data(withJSONObject: json)
            arguments += ["-H", "content-type: application/json", "--data-binary", "@-"]
        }
        let result = try Command.run("curl", arguments + [url], stdin: stdin, timeout: TimeInterval(timeout + 5))
        let output = result.output
        guard let newline = output.lastIndex(of: "\n"), let status = Int(output[output.index(after: newline)...]) else {
            return HTTPResult(status: 0, body: nil, raw: output + result.stderr)
        }
        let body = String(output[..<newline])
        return HTTPResult(status: status, body: try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed]), raw: body)
    }
}
