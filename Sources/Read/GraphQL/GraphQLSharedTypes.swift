import Core
import GraphQL

/// The types every generated schema has: the `Node` interface and its meta fields, `DataStatus`,
/// `IndexStatus`, `SortDirection` and the per-scalar filter operator inputs.
struct SharedTypes {
    let node: GraphQLInterfaceType
    let dataStatus: GraphQLEnumType
    let indexStatus: GraphQLObjectType
    let sortDirection: GraphQLEnumType
    let idFilter: GraphQLInputObjectType
    let operatorInputs: [GraphQLModel.ScalarKind: GraphQLInputObjectType]

    init(model: GraphQLModel) throws {
        var statuses: GraphQLEnumValueMap = [:]
        for status in DataStatus.allCases {
            statuses[status.rawValue] = GraphQLEnumValue(value: .string(status.rawValue), description: Self.describe(status))
        }
        dataStatus = try GraphQLEnumType(name: "DataStatus", description: "How complete a node's data is compared with the graph.",
                                         values: statuses)
        sortDirection = try GraphQLEnumType(name: "SortDirection", values: [
            "ASC": GraphQLEnumValue(value: "ASC", description: "Smallest first; nodes without the field last."),
            "DESC": GraphQLEnumValue(value: "DESC", description: "Largest first; nodes without the field last."),
        ])
        let field = { (name: String) in GraphQLResolvers.indexStatusField { GraphQLIndexStatusFields.output(name, of: $0) } }
        indexStatus = try GraphQLObjectType(name: "IndexStatus", description: "Why a node is not FULL, and how fresh its document is.", fields: [
            "graphVersion": GraphQLField(type: GraphQLNonNull(GraphQLInt), resolve: field("graphVersion")),
            "documentVersion": GraphQLField(type: GraphQLInt, resolve: field("documentVersion")),
            "lastIndexedAt": GraphQLField(type: GraphQLScalars.dateTime, resolve: field("lastIndexedAt")),
            "indexAgeSeconds": GraphQLField(type: GraphQLFloat, resolve: field("indexAgeSeconds")),
            "eventId": GraphQLField(type: GraphQLString, resolve: field("eventId")),
            "reason": GraphQLField(type: GraphQLString, description: "stale_document, missing_required_fields, not_projected, documents_unavailable; null when FULL.",
                                   resolve: field("reason")),
            "missingFields": GraphQLField(type: GraphQLNonNull(GraphQLList(GraphQLNonNull(GraphQLString))),
                                          // Lists must be Swift arrays for GraphQLSwift, not `Map.array`.
                                          resolve: { source, _, _, _ in (source as? IndexStatus)?.missingFields.map { Map.string($0) } as [(any Sendable)?]? }),
        ])
        let meta = Self.metaFields(dataStatus: dataStatus, indexStatus: indexStatus)
        node = try GraphQLInterfaceType(
            name: "Node", description: "Every instance: its identity, version and data status.", fields: meta,
            resolveType: { value, _ in
                guard let node = value as? NodeValue, let type = model[classId: node.ref.classId] else {
                    throw GraphQLError(message: "no type for \(value)")
                }
                return type.typeName
            })
        idFilter = try Self.operatorInput(name: "IDFilter", type: GraphQLID, contains: true)
        var inputs: [GraphQLModel.ScalarKind: GraphQLInputObjectType] = [:]
        for kind in GraphQLModel.ScalarKind.allCases where kind.isFilterable {
            inputs[kind] = try Self.operatorInput(name: GraphQLModel.operatorInputName(kind), type: GraphQLScalars.type(for: kind),
                                                  contains: kind == .string, ordered: kind != .boolean)
        }
        operatorInputs = inputs
    }

    func metaFields() -> GraphQLFieldMap { Self.metaFields(dataStatus: dataStatus, indexStatus: indexStatus) }

    private static func metaFields(dataStatus: GraphQLEnumType, indexStatus: GraphQLObjectType) -> GraphQLFieldMap {
        [
            "_id": GraphQLField(type: GraphQLNonNull(GraphQLID), description: "The instance id (without the class).",
                                resolve: GraphQLResolvers.id),
            "_class": GraphQLField(type: GraphQLNonNull(GraphQLString), description: "The class id.", resolve: GraphQLResolvers.classId),
            "_version": GraphQLField(type: GraphQLNonNull(GraphQLInt), description: "The version the graph holds (the instance's sequence number).",
                                     resolve: GraphQLResolvers.version),
            "_dataStatus": GraphQLField(type: GraphQLNonNull(dataStatus), resolve: GraphQLResolvers.dataStatus),
            "_indexStatus": GraphQLField(type: GraphQLNonNull(indexStatus), resolve: GraphQLResolvers.indexStatus),
        ]
    }

    /// `{eq, in, lt, lte, gt, gte, contains}` for one scalar (bounds only where values order, contains only
    /// for text). Numbers compare as numbers, text (dates included) in byte order.
    private static func operatorInput(name: String, type: GraphQLScalarType, contains: Bool, ordered: Bool = true) throws -> GraphQLInputObjectType {
        var fields: InputObjectFieldMap = [
            "eq": InputObjectField(type: type, description: "Equal to."),
            "in": InputObjectField(type: GraphQLList(GraphQLNonNull(type)), description: "Equal to one of."),
        ]
        if ordered {
            fields["lt"] = InputObjectField(type: type, description: "Less than.")
            fields["lte"] = InputObjectField(type: type, description: "Less than or equal to.")
            fields["gt"] = InputObjectField(type: type, description: "Greater than.")
            fields["gte"] = InputObjectField(type: type, description: "Greater than or equal to.")
        }
        if contains { fields["contains"] = InputObjectField(type: GraphQLString, description: "Holds this text (case-sensitive).") }
        return try GraphQLInputObjectType(name: name, fields: fields)
    }

    private static func describe(_ status: DataStatus) -> String {
        switch status {
        case .full: "The document is present at the graph's version with every required field."
        case .partial: "The document is older than the graph, or lacks required fields (projection lag)."
        case .missing: "No document: not projected yet, or the document store could not be read."
        }
    }
}

/// `IndexStatus`'s fields as GraphQL values, one table for the schema's resolvers and the fast answering pass.
enum GraphQLIndexStatusFields {
    /// The value for a resolver: nil when absent (GraphQLSwift refuses `Map.null` from a scalar serializer).
    static func output(_ name: String, of status: IndexStatus) -> Map? {
        switch name {
        case "graphVersion": .int(status.graphVersion)
        case "documentVersion": status.documentVersion.map(Map.int)
        case "lastIndexedAt": status.lastIndexedAt.map(Map.string)
        case "indexAgeSeconds": status.indexAgeSeconds.map(Map.double)
        case "eventId": status.eventId.map(Map.string)
        case "reason": status.reason.map { .string($0.rawValue) }
        case "missingFields": .array(status.missingFields.map(Map.string))
        default: nil
        }
    }

    static func value(_ name: String, of status: IndexStatus) -> Map { output(name, of: status) ?? .null }
}
