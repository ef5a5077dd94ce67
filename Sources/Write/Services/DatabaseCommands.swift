import Core

/// Database create and delete. The state is `{name, description}`.
public struct DatabaseCommands: Sendable {
    let write: WritePath

    public func create(name rawName: String, description: String?, context: CommandContext) async throws -> CommandAccepted {
        let name = try Names.databaseName(rawName)
        if let description, description.count > 500 {
            throw Problem.badRequest("description is longer than 500 characters", field: "body.description")
        }
        var state: [String: JSONValue] = ["name": .string(name)]
        if let description { state["description"] = .string(description) }
        let payload = JSONValue.object(state)
        return try await write.intake.submit(CommandRequest(
            commandId: context.commandId, commandType: "CREATE_DATABASE", aggregate: .database(name), effect: .create,
            expectedSequence: 0, payload: payload, actor: context.actor, decide: { _ in payload }))
    }

    public func delete(name: String, expectedSequence: Int, context: CommandContext) async throws -> CommandAccepted {
        let name = try Names.databaseName(name, field: "path.db")
        return try await write.intake.submit(CommandRequest(
            commandId: context.commandId, commandType: "DELETE_DATABASE", aggregate: .database(name), effect: .delete,
            expectedSequence: expectedSequence, payload: ["name": .string(name)], actor: context.actor,
            decide: { current in current?.state ?? [:] }))
    }

    public func get(name: String) async throws -> AggregateSnapshot {
        try await write.requireDatabase(name)
    }

    public func list(limit: Int, offset: Int) async throws -> [(id: String, snapshot: AggregateSnapshot)] {
        // Databases are their own "database": list by kind across all of them.
        try await write.aggregates.listAll(.database, limit: limit, offset: offset)
    }
}
