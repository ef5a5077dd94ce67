import Core
import GraphQL
import OrderedCollections

/// Builds the GraphQL schema of one database from its `GraphQLModel`: an object type per class (typed
/// scalar fields, relationship and reverse relationship fields, the `Node` meta fields), a root field per
/// class with `filter`/`orderBy`/`limit`/`offset`, and `node(id:)`. Types refer to each other through
/// thunks, since relationships make the graph of types cyclic.
struct GraphQLSchemaBuilder {
    let model: GraphQLModel
    let limits: GraphQLLimits

    /// Types filled in while building; the thunks read them once the schema asks for fields.
    private final class Types {
        var objects: [String: GraphQLObjectType] = [:]
        var filters: [String: GraphQLInputObjectType] = [:]
        var orderBys: [String: GraphQLInputObjectType] = [:]
    }

    func build() throws -> GraphQLSchema {
        let types = Types()
        let shared = try SharedTypes(model: model)
        for type in model.classes {
            types.filters[type.classId] = try filterInput(type, shared, types)
            types.orderBys[type.classId] = try orderByInput(type, shared)
        }
        for type in model.classes {
            types.objects[type.classId] = try GraphQLObjectType(
                name: type.typeName, description: type.description,
                fields: { try objectFields(type, shared, types) }, interfaces: { [shared.node] })
        }
        var rootFields: GraphQLFieldMap = [
            GraphQLModel.nodeFieldName: GraphQLField(
                type: shared.node, description: "The node with this id, in the form \"Class/instance_id\" (`_class` + \"/\" + `_id`); null if there is none.",
                args: ["id": GraphQLArgument(type: GraphQLNonNull(GraphQLID))], resolve: GraphQLResolvers.nodeField(model)),
        ]
        for type in model.classes {
            rootFields[type.rootFieldName] = GraphQLField(
                type: GraphQLList(GraphQLNonNull(types.objects[type.classId]!)),
                description: "Instances of \(type.classId), filtered and ordered by the fields the graph stores (top-level scalar properties and _id), one page at a time. Null with an error when the graph cannot be read.",
                args: listArguments(type, types, includeOrder: true), resolve: GraphQLResolvers.rootField(type, limits: limits))
        }
        let query = try GraphQLObjectType(name: "Query", fields: rootFields)
        let schema = try GraphQLSchema(query: query, types: Array(types.objects.values).sorted { $0.name < $1.name } + GraphQLScalars.custom)
        let problems = validateSchema(schema: schema)
        guard problems.isEmpty else { throw SchemaBuildError(messages: problems.map(\.message)) }
        return schema
    }

    private func listArguments(_ type: GraphQLModel.ClassType, _ types: Types, includeOrder: Bool) -> GraphQLArgumentConfigMap {
        var arguments: GraphQLArgumentConfigMap = [
            "filter": GraphQLArgument(type: types.filters[type.classId]!, description: "Conditions on graph-stored fields; all must hold."),
        ]
        if includeOrder {
            arguments["orderBy"] = GraphQLArgument(type: GraphQLList(GraphQLNonNull(types.orderBys[type.classId]!)),
                                                   description: "Sort keys, first first; ties are broken by _id.")
        }
        arguments["limit"] = GraphQLArgument(type: GraphQLInt, description: "At most this many (default \(limits.defaultLimit), at most \(limits.maxLimit)).")
        if includeOrder {
            arguments["offset"] = GraphQLArgument(type: GraphQLInt, description: "Skip this many first (default 0).")
        }
        return arguments
    }

    private func objectFields(_ type: GraphQLModel.ClassType, _ shared: SharedTypes, _ types: Types) throws -> GraphQLFieldMap {
        var fields = shared.metaFields()
        for field in type.fields {
            switch field {
            case .property(let property):
                let scalar = GraphQLScalars.type(for: property.kind)
                var description = property.property.description?.resolve() ?? property.property.label.resolve()
                if property.isFilterable { description += " (filterable)" }
                fields[property.name] = GraphQLField(type: property.isList ? GraphQLList(scalar) : scalar, description: description,
                                                     resolve: GraphQLResolvers.property(property))
            case .relationship(let relationship):
                guard let target = model[classId: relationship.targetClass], let object = types.objects[target.classId] else { continue }
                // Nullable, lists included: a failed hop answers null with an error, the rest of the query still answers.
                fields[relationship.name] = GraphQLField(
                    type: relationship.isList ? GraphQLList(GraphQLNonNull(object)) : object,
                    description: relationship.description,
                    args: relationship.isList ? listArguments(target, types, includeOrder: false)
                        : ["filter": GraphQLArgument(type: types.filters[target.classId]!, description: "Null unless the target matches.")],
                    resolve: GraphQLResolvers.relationship(relationship, target: target, limits: limits))
            }
        }
        return fields
    }

    private func filterInput(_ type: GraphQLModel.ClassType, _ shared: SharedTypes, _ types: Types) throws -> GraphQLInputObjectType {
        try GraphQLInputObjectType(
            name: type.filterName,
            description: "Conditions on \(type.classId) nodes, on the fields the graph stores (top-level scalar properties) and _id. Every field given must hold.",
            fields: {
                var fields: InputObjectFieldMap = ["_id": InputObjectField(type: shared.idFilter, description: "The instance id.")]
                for (name, field) in type.filterFields {
                    fields[name] = InputObjectField(type: shared.operatorInputs[field.kind]!)
                }
                let own = types.filters[type.classId]!
                fields["and"] = InputObjectField(type: GraphQLList(GraphQLNonNull(own)), description: "Every one holds.")
                fields["or"] = InputObjectField(type: GraphQLList(GraphQLNonNull(own)), description: "At least one holds.")
                fields["not"] = InputObjectField(type: own, description: "Does not hold.")
                return fields
            })
    }

    private func orderByInput(_ type: GraphQLModel.ClassType, _ shared: SharedTypes) throws -> GraphQLInputObjectType {
        var values: GraphQLEnumValueMap = [:]
        for (name, stored) in type.orderValues { values[name] = GraphQLEnumValue(value: .string(stored)) }
        let fieldEnum = try GraphQLEnumType(name: type.orderFieldName, description: "Fields \(type.classId) nodes can be ordered by.",
                                            values: values)
        return try GraphQLInputObjectType(name: type.orderByName, fields: [
            "field": InputObjectField(type: GraphQLNonNull(fieldEnum)),
            "direction": InputObjectField(type: shared.sortDirection, defaultValue: "ASC"),
        ])
    }
}

struct SchemaBuildError: Error, CustomStringConvertible {
    let messages: [String]
    var description: String { "the generated GraphQL schema is invalid: " + messages.joined(separator: "; ") }
}
