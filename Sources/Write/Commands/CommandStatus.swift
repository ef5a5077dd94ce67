import Core

/// A command's lifecycle. PENDING → PROCESSING → (RETRYING → PROCESSING)* → COMPLETED | FAILED;
/// PENDING → CANCELLED on request.
public enum CommandStatus: String, Sendable, CaseIterable {
    case pending = "PENDING"
    case processing = "PROCESSING"
    case retrying = "RETRYING"
    case completed = "COMPLETED"
    case failed = "FAILED"
    case cancelled = "CANCELLED"

    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }

    /// The transitions a worker or the API may make; anything else is refused, so a late or duplicate
    /// delivery can never move a finished command.
    public func canMove(to next: CommandStatus) -> Bool {
        switch (self, next) {
        case (.pending, .processing), (.pending, .cancelled), (.pending, .failed): true
        case (.processing, .retrying), (.processing, .completed), (.processing, .failed): true
        case (.retrying, .processing), (.retrying, .completed), (.retrying, .failed): true
        default: false
        }
    }
}

public struct CommandHistoryEntry: Sendable, Equatable {
    public let status: CommandStatus
    public let progress: Int
    public let message: String?
    public let error: JSONValue?
    public let at: String

    public var json: JSONValue {
        var object: [String: JSONValue] = ["status": .string(status.rawValue), "progress": .number(Double(progress)),
                                           "at": .string(at)]
        if let message { object["message"] = .string(message) }
        if let error { object["error"] = error }
        return .object(object)
    }
}

public struct CommandRecord: Sendable, Equatable {
    public let commandId: String
    public let commandType: String
    public let aggregateType: String
    public let aggregateId: String
    public let sequenceNumber: Int
    public let payloadDigest: String
    public let status: CommandStatus
    public let progress: Int
    public let result: JSONValue?
    public let error: JSONValue?
    public let attempt: Int
    public let createdAt: String
    public let updatedAt: String
    public let expiresAt: String?
    public var history: [CommandHistoryEntry]

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "command_id": .string(commandId), "command_type": .string(commandType),
            "aggregate_type": .string(aggregateType), "aggregate_id": .string(aggregateId),
            "sequence_number": .number(Double(sequenceNumber)), "status": .string(status.rawValue),
            "progress": .number(Double(progress)), "retry_count": .number(Double(max(0, attempt - 1))),
            "created_at": .string(createdAt), "updated_at": .string(updatedAt),
            "history": .array(history.map(\.json)),
        ]
        if let result { object["result"] = result }
        if let error { object["error"] = error }
        if let expiresAt { object["expires_at"] = .string(expiresAt) }
        if status.isTerminal { object["completed_at"] = .string(updatedAt) }
        return .object(object)
    }
}
