import Core

/// Instances: create, update (merge patch), delete, bulk create with per-item results. Every write is
/// validated against the database's accepted ontology. The state is `{class_id, instance_id, data, links}`.
public struct InstanceCommands: Sendable {
    let write: WritePath

    /// At most this many items in one bulk request.
    public static let maxBulkItems = 1000

    public func create(database: String, classId: String, data: JSONValue, context: CommandContext) async throws -> CommandAccepted {
        try await write.submit(validatedAgainst: database) { schema in
            try requireClass(classId, in: schema, database: database)
            let instance = try InstanceValidator(schema: schema).validateCreate(classId: classId, data: data)
            return createRequest(database: database, classId: classId, instance: instance, context: context)
        }
    }

    public func update(database: String, classId: String, instanceId: String, patch: JSONValue, expectedSequence: Int,
                       context: CommandContext) async throws -> CommandAccepted {
        try await write.submit(validatedAgainst: database) { schema in
            let validator = InstanceValidator(schema: schema)
            try requireClass(classId, in: schema, database: database)
            return CommandRequest(
            commandId: context.commandId, commandType: "UPDATE_INSTANCE",
            aggregate: .instance(database: database, classId: classId, instanceId: instanceId), effect: .update,
            expectedSequence: expectedSequence, payload: ["class_id": .string(classId), "instance_id": .string(instanceId), "patch": patch],
            actor: context.actor,
            decide: { current in
                let validated = try validator.validatePatch(classId: classId, current: current?.state["data"] ?? [:], patch: patch)
                guard validated.instanceId == instanceId else {
                    throw Problem.badRequest("the primary key cannot change (\(instanceId) → \(validated.instanceId))",
                                             field: "body.data")
                }
                return Self.state(classId: classId, instance: validated)
            })
        }
    }

    public func delete(database: String, classId: String, instanceId: String, expectedSequence: Int,
                       context: CommandContext) async throws -> CommandAccepted {
        _ = try await write.requireDatabase(database)
        return try await write.intake.submit(CommandRequest(
            commandId: context.commandId, commandType: "DELETE_INSTANCE",
            aggregate: .instance(database: database, classId: classId, instanceId: instanceId), effect: .delete,
            expectedSequence: expectedSequence, payload: ["class_id": .string(classId), "instance_id": .string(instanceId)],
            actor: context.actor, decide: { current in current?.state ?? [:] }))
    }

    public enum BulkItemResult: Sendable {
        case accepted(CommandAccepted)
        case rejected(Problem)
    }

    /// Each item is its own command (own id, own version): one bad item does not fail the others.
    public func bulkCreate(database: String, classId: String, items: [JSONValue], context: CommandContext) async throws -> [BulkItemResult] {
        guard items.count <= Self.maxBulkItems else {
            throw Problem(status: 413, code: "too_many_items", detail: "at most \(Self.maxBulkItems) instances per request",
                          field: "body.instances")
        }
        // The class must exist for the request as a whole; each item is then checked like a single create.
        try requireClass(classId, in: try await write.schemaOfLiveDatabase(database), database: database)
        var results: [BulkItemResult] = []
        for (index, data) in items.enumerated() {
            let itemContext = CommandContext(commandId: EventID.derived(commandId: context.commandId,
                                                                        eventType: "BULK_ITEM_\(index)", aggregateId: classId),
                                             actor: context.actor)
            do {
                results.append(.accepted(try await write.submit(validatedAgainst: database) { schema in
                    var validator = InstanceValidator(schema: schema)
                    validator.dataPrefix = "body.instances[\(index)]"
                    let instance = try validator.validateCreate(classId: classId, data: data)
                    return createRequest(database: database, classId: classId, instance: instance, context: itemContext)
                }))
            } catch let problem as Problem where problem.status != 503 {
                results.append(.rejected(problem))
            }
        }
        return results
    }

    public func get(database: String, classId: String, instanceId: String) async throws -> AggregateSnapshot {
        _ = try await write.requireDatabase(database)
        guard let snapshot = try await write.aggregates.snapshot(.instance(database: database, classId: classId, instanceId: instanceId)),
              !snapshot.deleted else {
            throw Problem(status: 404, code: "instance_not_found", detail: "\(classId)/\(instanceId) does not exist in \(database)",
                          field: "path.instance_id")
        }
        return snapshot
    }

    private func createRequest(database: String, classId: String, instance: ValidatedInstance,
                               context: CommandContext) -> CommandRequest {
        let state = Self.state(classId: classId, instance: instance)
        return CommandRequest(
            commandId: context.commandId, commandType: "CREATE_INSTANCE",
            aggregate: .instance(database: database, classId: classId, instanceId: instance.instanceId), effect: .create,
            expectedSequence: 0, payload: state, actor: context.actor, decide: { _ in state })
    }

    private func requireClass(_ classId: String, in schema: OntologySchema, database: String) throws {
        guard schema[classId] != nil else {
            throw Problem(status: 404, code: "class_not_found", detail: "class \(classId) does not exist in \(database)",
                          field: "path.class_id")
        }
    }

    static func state(classId: String, instance: ValidatedInstance) -> JSONValue {
        [
            "class_id": .string(classId), "instance_id": .string(instance.instanceId), "data": instance.data,
            "links": .array(instance.links.map { ["predicate": .string($0.predicate), "target": .string($0.target)] }),
        ]
    }
}
