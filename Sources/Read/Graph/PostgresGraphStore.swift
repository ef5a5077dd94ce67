import Core
import Drivers

/// The graph read model in PostgreSQL (migration 004): classes, nodes with the fields the graph filters on,
/// and typed edges, per database space. Built for the read path's hops: one statement per hop however many
/// start nodes, one per write batch however many nodes.
///
/// Reads of a database without a space find nothing; writes to one throw `notFound`.
public struct PostgresGraphStore: GraphStore, HopsWithDocuments {
    private let client: PostgresClient

    public init(client: PostgresClient) { self.client = client }

    // MARK: Spaces

    public func createDatabase(_ database: String) async throws(ReadModelError) {
        try await GraphStatements.spaces.create(database, on: client)
    }

    public func dropDatabase(_ database: String) async throws(ReadModelError) {
        try await GraphStatements.spaces.drop(database, on: client)
    }

    public func databaseExists(_ database: String) async throws(ReadModelError) -> Bool {
        try await GraphStatements.spaces.exists(database, on: client)
    }

    // MARK: Classes

    public func putClass(_ database: String, _ definition: OntologyClass, version: Int) async throws(ReadModelError) -> VersionedWriteOutcome {
        try await writeClass(database, classId: definition.id, definition: JSONWriter.string(definition.json), version: version)
    }

    public func deleteClass(_ database: String, classId: String, version: Int) async throws(ReadModelError) -> VersionedWriteOutcome {
        try await writeClass(database, classId: classId, definition: nil, version: version)
    }

    private func writeClass(_ database: String, classId: String, definition: String?, version: Int) async throws(ReadModelError) -> VersionedWriteOutcome {
        let outcomes = try await GraphStatements.writeClasses.run(on: client, database: database, count: 1, [
            .text(database), PostgresArrayLiteral.text([classId]), PostgresArrayLiteral.integers([version]),
            PostgresArrayLiteral.text([definition]), PostgresArrayLiteral.booleans([definition == nil]),
        ])
        return outcomes[0]
    }

    public func classes(_ database: String) async throws(ReadModelError) -> [(definition: OntologyClass, version: Int)] {
        let rows = try await query(GraphStatements.liveClasses, [.text(database)])
        var classes: [(definition: OntologyClass, version: Int)] = []
        for row in rows {
            let json = try row.json("definition")
            do {
                classes.append((definition: try OntologyClass(json: json), version: try row.requiredInt("version")))
            } catch {
                throw .invalidResponse("the stored class \(row.string("class_id") ?? "?") does not parse: \(error)")
            }
        }
        return classes
    }

    public func schemaFingerprint(_ database: String) async throws(ReadModelError) -> String? {
        let rows = try await query(GraphStatements.schemaFingerprint, [.text(database)])
        guard let row = rows.first, row.string("present") == "t" else { return nil }
        return try row.required("fingerprint")
    }

    // MARK: Nodes

    /// An edge's `from` is the node written: the edges of a write are that node's outgoing edges.
    public func upsertNodes(_ database: String, _ writes: [GraphNodeWrite]) async throws(ReadModelError) -> [VersionedWriteOutcome] {
        try await writeNodes(database, writes.map { (node: $0.node, deleted: false, edges: $0.edges) })
    }

    public func deleteNodes(_ database: String, _ nodes: [(ref: NodeRef, version: Int)]) async throws(ReadModelError) -> [VersionedWriteOutcome] {
        try await writeNodes(database, nodes.map { (node: GraphNode(ref: $0.ref, version: $0.version), deleted: true, edges: []) })
    }

    private func writeNodes(_ database: String, _ writes: [(node: GraphNode, deleted: Bool, edges: [GraphEdge])])
        async throws(ReadModelError) -> [VersionedWriteOutcome] {
        let batch = VersionedBatch(keys: writes.map(\.node.ref), versions: writes.map(\.node.version))
        let sent = batch.sent.map { writes[$0] }
        let edges = sent.enumerated().flatMap { position, write in write.edges.map { (owner: position + 1, edge: $0) } }
        let outcomes = try await GraphStatements.writeNodes.run(on: client, database: database, count: sent.count, [
            .text(database),
            PostgresArrayLiteral.text(sent.map(\.node.ref.classId)),
            PostgresArrayLiteral.text(sent.map(\.node.ref.instanceId)),
            PostgresArrayLiteral.integers(sent.map(\.node.version)),
            PostgresArrayLiteral.text(sent.map { JSONWriter.string(.object($0.node.fields)) }),
            PostgresArrayLiteral.booleans(sent.map(\.deleted)),
            PostgresArrayLiteral.integers(edges.map(\.owner)),
            PostgresArrayLiteral.text(edges.map(\.edge.predicate)),
            PostgresArrayLiteral.text(edges.map(\.edge.to.classId)),
            PostgresArrayLiteral.text(edges.map(\.edge.to.instanceId)),
        ])
        return batch.outcomes(outcomes)
    }

    public func nodes(_ database: String, _ refs: [NodeRef]) async throws(ReadModelError) -> [GraphNode] {
        let wanted = Self.unique(refs)
        guard !wanted.isEmpty else { return [] }
        let rows = try await query(GraphStatements.liveNodes, [
            .text(database), PostgresArrayLiteral.text(wanted.map(\.classId)), PostgresArrayLiteral.text(wanted.map(\.instanceId)),
        ])
        return try Self.nodes(rows, classColumn: "class_id", idColumn: "instance_id")
    }

    public func findNodes(_ database: String, classId: String, filters: [GraphFilter], order: [GraphOrder], limit: Int,
                          offset: Int) async throws(ReadModelError) -> [GraphNode] {
        var parameters = SQLParameters([.text(database), .text(classId)])
        let conditions = filters.map { GraphFilterSQL.condition($0, &parameters) }
        let orderKeys = order.map { GraphFilterSQL.orderKey($0, &parameters) }
        let limitPlaceholder = parameters.bind(.int(Int64(max(0, limit))))
        let offsetPlaceholder = parameters.bind(.int(Int64(max(0, offset))))
        let rows = try await query(GraphStatements.findNodes(conditions: conditions, orderKeys: orderKeys, limit: limitPlaceholder,
                                                             offset: offsetPlaceholder),
                                   parameters.values)
        return try Self.nodes(rows, classColumn: "class_id", idColumn: "instance_id")
    }

    // MARK: Hops

    public func expand(_ database: String, from: [NodeRef], versions: [Int]?, predicate: String, direction: HopDirection,
                       targetClass: String?, filters: [GraphFilter], limit: Int) async throws(ReadModelError) -> GraphHop {
        try await walk(database, from: from, versions: versions, predicate: predicate, direction: direction, targetClass: targetClass,
                       filters: filters, limit: limit, withDocuments: false).hop
    }

    private func walk(_ database: String, from: [NodeRef], versions: [Int]?, predicate: String, direction: HopDirection,
                      targetClass: String?, filters: [GraphFilter], limit: Int, withDocuments: Bool)
        async throws(ReadModelError) -> (hop: GraphHop, documents: [NodeRef: InstanceDocument]) {
        var firstSeen = Set<NodeRef>()
        let kept = from.indices.filter { firstSeen.insert(from[$0]).inserted }
        let start = kept.map { from[$0] }
        let limit = max(0, limit)
        guard !start.isEmpty else { return (GraphHop(edges: [], nodes: [], truncated: false), [:]) }
        var parameters = SQLParameters([
            .text(database), PostgresArrayLiteral.text(start.map(\.classId)), PostgresArrayLiteral.text(start.map(\.instanceId)),
            .text(predicate), .int(Int64(limit) + 1),
        ])
        // Only a forward hop reads the start nodes' versions: reverse, the owner of an edge is the node reached.
        let startVersions = versions.flatMap { versions in
            direction == .forward && versions.count == from.count ? parameters.bind(PostgresArrayLiteral.integers(kept.map { versions[$0] })) : nil
        }
        let targetPlaceholder = targetClass.map { parameters.bind(.text($0)) }
        let conditions = filters.map { GraphFilterSQL.condition($0, &parameters, columns: .init(table: "reached")) }
        let statement = GraphHopSQL.statement(direction: direction, startVersions: startVersions, targetClass: targetPlaceholder,
                                              reachedConditions: conditions, withDocuments: withDocuments)
        let rows = try await query(statement, parameters.values)

        var walked: [(edge: GraphEdge, node: GraphNode)] = []
        var documents: [NodeRef: InstanceDocument] = [:]
        walked.reserveCapacity(min(rows.count, limit))
        for row in rows.prefix(limit) {
            let edge = GraphEdge(from: try row.nodeRef(classColumn: "from_class", idColumn: "from_id"), predicate: predicate,
                                 to: try row.nodeRef(classColumn: "to_class", idColumn: "to_id"))
            let reached = direction == .forward ? edge.to : edge.from
            walked.append((edge, GraphNode(ref: reached, version: try row.requiredInt("version"), fields: try row.jsonObject("fields"))))
            if withDocuments, documents[reached] == nil, row.string("document_version") != nil {
                documents[reached] = try PostgresDocumentStore.document(reached, row, versionColumn: "document_version", dataColumn: "document_data")
            }
        }
        var seen = Set<NodeRef>()
        let nodes = walked.map(\.node).filter { seen.insert($0.ref).inserted }
        return (GraphHop(edges: walked.map(\.edge), nodes: nodes, truncated: rows.count > limit), documents)
    }

    /// The hop, and the live documents of the nodes it reaches, in one statement.
    public func expandWithDocuments(_ database: String, from: [NodeRef], versions: [Int]?, predicate: String, direction: HopDirection,
                                    targetClass: String?, filters: [GraphFilter], limit: Int)
        async throws(ReadModelError) -> (hop: GraphHop, documents: [NodeRef: InstanceDocument]) {
        try await walk(database, from: from, versions: versions, predicate: predicate, direction: direction, targetClass: targetClass,
                       filters: filters, limit: limit, withDocuments: true)
    }

    // MARK: Helpers

    private func query(_ sql: String, _ parameters: [PostgresValue]) async throws(ReadModelError) -> [PostgresRow] {
        do {
            return try await client.query(sql, parameters).rows
        } catch {
            throw ReadModelErrors.map(error)
        }
    }

    private static func nodes(_ rows: [PostgresRow], classColumn: String, idColumn: String) throws(ReadModelError) -> [GraphNode] {
        var nodes: [GraphNode] = []
        nodes.reserveCapacity(rows.count)
        for row in rows {
            nodes.append(GraphNode(ref: try row.nodeRef(classColumn: classColumn, idColumn: idColumn),
                                   version: try row.requiredInt("version"), fields: try row.jsonObject("fields")))
        }
        return nodes
    }

    /// The refs without repeats, first occurrence kept.
    private static func unique(_ refs: [NodeRef]) -> [NodeRef] {
        var seen = Set<NodeRef>()
        return refs.filter { seen.insert($0).inserted }
    }
}
