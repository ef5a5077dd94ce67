import Core
import Delivery
import Drivers

/// Operator routes: dead letters (list, read, replay one or all).
public enum AdminRoutes {
    public static func register(on router: Router, deadLetters: DeadLetterStore, bus: any MessageBus,
                                commands: any CommandProgressReporting) {
        router.get("/api/v1/admin/dead-letters", .async { request in
            let (limit, offset) = try request.paging()
            let query = request.queryParameters
            let pendingOnly = query["pending"] == "true"
            let letters = try await mapStorageErrors {
                try await deadLetters.list(handler: query["handler"], pendingOnly: pendingOnly, limit: limit, offset: offset)
            }
            return .json(["dead_letters": .array(letters.map(\.json)), "count": .number(Double(letters.count)),
                          "limit": .number(Double(limit)), "offset": .number(Double(offset))])
        })
        router.get("/api/v1/admin/dead-letters/{id}", .async { request in
            let id = try deadLetterId(request)
            guard let letter = try await mapStorageErrors({ try await deadLetters.get(id: id) }) else {
                throw Problem(status: 404, code: "dead_letter_not_found", detail: "no dead letter \(id)", field: "path.id")
            }
            return .json(letter.json)
        })
        router.post("/api/v1/admin/dead-letters/{id}/replay", .async { request in
            let id = try deadLetterId(request)
            let replayed = try await replaying { try await deadLetters.replay(id: id, on: bus, commands: commands) }
            guard let letter = replayed.first else {
                throw Problem(status: 404, code: "dead_letter_not_found", detail: "no dead letter \(id)", field: "path.id")
            }
            return .json(["replayed": .array([letter.json])], status: 202)
        })
        router.post("/api/v1/admin/dead-letters/replay", .async { request in
            let handler = request.queryParameters["handler"]
            let replayed = try await replaying { try await deadLetters.replay(handler: handler, on: bus, commands: commands) }
            return .json(["replayed": .array(replayed.map(\.json)), "count": .number(Double(replayed.count))], status: 202)
        })
    }

    private static func deadLetterId(_ request: Request) throws(Problem) -> Int {
        guard let id = Int(request.parameter("id")), id > 0 else {
            throw Problem.badRequest("the dead letter id must be a positive integer", field: "path.id")
        }
        return id
    }

    private static func replaying(_ body: () async throws -> [DeadLetter]) async throws -> [DeadLetter] {
        do {
            return try await mapStorageErrors(body)
        } catch let error as BusError {
            throw error.problem
        }
    }
}
