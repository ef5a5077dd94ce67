import Core
import Write

/// Command status: read (with history), wait, a live server-sent event stream, cancel.
enum CommandRoutes {
    static func register(on router: RouteGroup, write: WritePath, responses: CommandResponses) {
        router.get("/api/v1/commands/{id}/status", .async { request in
            guard let record = try await write.statuses.record(request.parameter("id")) else {
                throw Problem(status: 404, code: "command_not_found", detail: "no command \(request.parameter("id")) (or it expired)",
                              field: "path.id")
            }
            return .json(record.json)
        })
        router.get("/api/v1/commands/{id}/wait", .async { request in
            let options = try WriteRequestOptions(request)
            return try await responses.waitResponse(request.parameter("id"), timeoutSeconds: options.timeoutSeconds)
        })
        router.post("/api/v1/commands/{id}/cancel", .async { request in
            let id = request.parameter("id")
            let (cancelled, record) = try await write.statuses.cancel(id)
            guard let record else { throw Problem(status: 404, code: "command_not_found", detail: "no command \(id)", field: "path.id") }
            guard cancelled else {
                throw Problem(status: 409, code: "not_cancellable",
                              detail: "command \(id) is \(record.status.rawValue); only PENDING commands can be cancelled",
                              extensions: ["command": record.json])
            }
            return .json(record.json)
        })
        // Each transition as one `data:` event (the command's JSON) until it is terminal or `timeout` passes.
        router.get("/api/v1/commands/{id}/events", .async { request in
            let id = request.parameter("id")
            let options = try WriteRequestOptions(request)
            guard try await write.statuses.record(id) != nil else {
                throw Problem(status: 404, code: "command_not_found", detail: "no command \(id)", field: "path.id")
            }
            let changes = write.waiter.notifier.changes(of: id, timeoutSeconds: options.timeoutSeconds)
            let events = AsyncStream<String> { continuation in
                let task = Task {
                    var lastSent = -1
                    for await _ in changes {
                        guard let record = try? await write.statuses.record(id) else { break }
                        if record.history.count != lastSent {
                            lastSent = record.history.count
                            continuation.yield(JSONWriter.string(record.json))
                        }
                        if record.status.isTerminal { break }
                    }
                    continuation.finish()
                }
                continuation.onTermination = { _ in task.cancel() }
            }
            return .eventStream(events)
        })
    }
}
