import Core
import Write

/// How accepted commands are answered: 202 with links (async), or — for sync routes and `?wait=true` —
/// the finished command (200/201), the failure's own status, or 408 while it keeps running.
struct CommandResponses: Sendable {
    let waiter: CommandWaiter

    static func links(_ commandId: String) -> JSONValue {
        ["status": .string("/api/v1/commands/\(commandId)/status"), "wait": .string("/api/v1/commands/\(commandId)/wait"),
         "events": .string("/api/v1/commands/\(commandId)/events")]
    }

    func respond(to accepted: CommandAccepted, options: WriteRequestOptions, createdStatus: Int = 200) async throws -> Response {
        guard options.wait else { return Self.accepted(accepted) }
        return try await waitResponse(accepted.commandId, timeoutSeconds: options.timeoutSeconds,
                                      sequenceNumber: accepted.sequenceNumber, successStatus: createdStatus)
    }

    static func accepted(_ accepted: CommandAccepted) -> Response {
        var response = Response.json([
            "command_id": .string(accepted.commandId), "status": "PENDING", "command_type": .string(accepted.commandType),
            "aggregate_type": .string(accepted.aggregateType), "aggregate_id": .string(accepted.aggregateId),
            "sequence_number": .number(Double(accepted.sequenceNumber)), "replayed": .bool(accepted.replayed),
            "links": links(accepted.commandId),
        ], status: 202)
        response.headers.add("location", "/api/v1/commands/\(accepted.commandId)/status")
        response.headers.add("etag", "\"\(accepted.sequenceNumber)\"")
        return response
    }

    func waitResponse(_ commandId: String, timeoutSeconds: Double, sequenceNumber: Int? = nil,
                      successStatus: Int = 200) async throws -> Response {
        switch try await waiter.waitForTerminal(commandId, timeoutSeconds: timeoutSeconds) {
        case .unknown:
            throw Problem(status: 404, code: "command_not_found", detail: "no command \(commandId) (or it expired)")
        case .timedOut:
            var body: [String: JSONValue] = [
                "message": .string("the command did not finish within \(timeoutSeconds) s; it keeps running"),
                "command_id": .string(commandId), "hint": .string("/api/v1/commands/\(commandId)/status"),
                "links": Self.links(commandId),
            ]
            if let sequenceNumber { body["sequence_number"] = .number(Double(sequenceNumber)) }
            return .json(.object(body), status: 408)
        case .finished(let record):
            switch record.status {
            case .completed:
                return .json(record.json, status: successStatus)
            case .cancelled:
                return .problem(Problem(status: 409, code: "command_cancelled", detail: "command \(commandId) was cancelled",
                                        extensions: ["command": record.json]))
            default:
                let status = record.error?["status"]?.intValue.flatMap { (400...599).contains($0) ? $0 : nil } ?? 500
                let detail = record.error?["detail"]?.stringValue ?? record.error?["message"]?.stringValue ?? "the command failed"
                return .problem(Problem(status: status, code: "command_failed", detail: detail,
                                        extensions: ["command": record.json]))
            }
        }
    }
}
