import Core

/// Ontology classes: create, update (a patch merged onto the current class), delete, validate without
/// writing. The state is the class definition (`OntologyClass.json`).
public struct OntologyCommands: Sendable {
    let write: WritePath

    /// Lint a definition against the database's current ontology; nothing is written.
    public func validate(database: String, definition: JSONValue) async throws -> ValidationReport {
        return validateClassDefinition(definition, existing: try await write.schemaOfLiveDatabase(database))
    }

    public func create(database: String, definition: JSONValue, context: CommandContext) async throws -> CommandAccepted {
        let report = validateClassDefinition(definition, existing: try await write.schemaOfLiveDatabase(database))
        guard report.isValid, let ontologyClass = report.ontologyClass else { throw Self.rejection(report) }
        let state = ontologyClass.json
        return try await write.intake.submit(CommandRequest(
            commandId: context.commandId, commandType: "CREATE_ONTOLOGY_CLASS",
            aggregate: .ontologyClass(database: database, classId: ontologyClass.id), effect: .create,
            expectedSequence: 0, payload: state, actor: context.actor, decide: { _ in state }))
    }

    public func update(database: String, classId: String, patch: JSONValue, expectedSequence: Int,
                       context: CommandContext) async throws -> CommandAccepted {
        _ = try await write.requireDatabase(database)
        let update = try OntologyClassUpdate(json: patch)
        return try await write.intake.submit(CommandRequest(
            commandId: context.commandId, commandType: "UPDATE_ONTOLOGY_CLASS",
            aggregate: .ontologyClass(database: database, classId: classId), effect: .update,
            expectedSequence: expectedSequence, payload: patch, actor: context.actor,
            decide: { current in
                let existing = try OntologyClass(json: current?.state ?? [:])
                return try update.applied(to: existing).json
            }))
    }

    public func delete(database: String, classId: String, expectedSequence: Int, context: CommandContext) async throws -> CommandAccepted {
        _ = try await write.requireDatabase(database)
        return try await write.intake.submit(CommandRequest(
            commandId: context.commandId, commandType: "DELETE_ONTOLOGY_CLASS",
            aggregate: .ontologyClass(database: database, classId: classId), effect: .delete,
            expectedSequence: expectedSequence, payload: ["class_id": .string(classId)], actor: context.actor,
            decide: { current in current?.state ?? [:] }))
    }

    public func get(database: String, classId: String) async throws -> AggregateSnapshot {
        _ = try await write.requireDatabase(database)
        guard let snapshot = try await write.aggregates.snapshot(.ontologyClass(database: database, classId: classId)),
              !snapshot.deleted else {
            throw Problem(status: 404, code: "class_not_found", detail: "class \(classId) does not exist in \(database)",
                          field: "path.class_id")
        }
        return snapshot
    }

    public func list(database: String, limit: Int, offset: Int) async throws -> [(id: String, snapshot: AggregateSnapshot)] {
        _ = try await write.requireDatabase(database)
        return try await write.aggregates.list(.ontologyClass, database: database, limit: limit, offset: offset)
    }

    static func rejection(_ report: ValidationReport) -> Problem {
        let first = report.errors.first
        return Problem(status: 400, code: "invalid_ontology", detail: first?.message ?? "the class definition is invalid",
                       field: first?.field, extensions: ["lint_report": report.json])
    }
}
