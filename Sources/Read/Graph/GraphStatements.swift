/// The graph read model's fixed statements (findNodes' are assembled by `GraphFilterSQL`, hops by
/// `GraphHopSQL`).
enum GraphStatements {
    static let spaces = DatabaseSpaces(spaces: "graph_spaces", contents: ["graph_edges", "graph_nodes", "graph_classes"])

    /// Node writes and tombstones. Extra parameters: the edges as four arrays — the 1-based position in the
    /// batch of the write that owns each edge (its `from`), predicate, target class, target id.
    ///
    /// Only writes that applied touch edges. Their new edges are inserted (or re-stamped with the node's
    /// version when already there) and their other edges deleted; the two sets are disjoint because one
    /// statement must not modify a row twice. A tombstone has no edges, so all of its node's go.
    static let writeNodes = VersionedUpsert(
        table: "graph_nodes", spaces: "graph_spaces", spaceKind: "graph",
        key: [.init("class_id", "text"), .init("instance_id", "text")],
        payload: [.init("fields", "jsonb"), .init("deleted", "boolean")],
        afterWrite: { first in """
            , edge_input AS (
                SELECT DISTINCT written.class_id AS from_class, written.instance_id AS from_id,
                       edge.predicate, edge.to_class, edge.to_id, written.version
                FROM unnest($\(first)::bigint[], $\(first + 1)::text[], $\(first + 2)::text[], $\(first + 3)::text[]) AS edge(owner, predicate, to_class, to_id)
                JOIN input ON input.ordinal = edge.owner
                JOIN written ON written.class_id = input.class_id AND written.instance_id = input.instance_id
            ), edges_kept AS (
                INSERT INTO graph_edges AS stored (database_name, from_class, from_id, predicate, to_class, to_id, version)
                SELECT $1, from_class, from_id, predicate, to_class, to_id, version FROM edge_input
                ON CONFLICT (database_name, from_class, from_id, predicate, to_class, to_id) DO UPDATE
                    SET version = excluded.version WHERE stored.version < excluded.version
            ), edges_dropped AS (
                DELETE FROM graph_edges old USING written
                WHERE old.database_name = $1 AND old.from_class = written.class_id AND old.from_id = written.instance_id
                  AND NOT EXISTS (
                      SELECT 1 FROM edge_input kept
                      WHERE kept.from_class = old.from_class AND kept.from_id = old.from_id AND kept.predicate = old.predicate
                        AND kept.to_class = old.to_class AND kept.to_id = old.to_id)
            )
            """
        })

    /// Class definitions and their tombstones (a NULL definition).
    static let writeClasses = VersionedUpsert(
        table: "graph_classes", spaces: "graph_spaces", spaceKind: "graph",
        key: [.init("class_id", "text")],
        payload: [.init("definition", "jsonb"), .init("deleted", "boolean")])

    static let liveClasses = """
        SELECT class_id, version, definition::text AS definition FROM graph_classes
        WHERE database_name = $1 AND NOT deleted ORDER BY class_id
        """

    /// Whether the space exists, and every live class with its version ("Customer@3|Product@1").
    static let schemaFingerprint = """
        SELECT EXISTS (SELECT 1 FROM graph_spaces WHERE database_name = $1) AS present,
               (SELECT coalesce(string_agg(class_id || '@' || version, '|' ORDER BY class_id), '')
                FROM graph_classes WHERE database_name = $1 AND NOT deleted) AS fingerprint
        """

    /// Live nodes among the refs, in the refs' order.
    static let liveNodes = """
        SELECT node.class_id, node.instance_id, node.version, node.fields::text AS fields
        FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS wanted(class_id, instance_id, ordinal)
        JOIN graph_nodes node ON node.database_name = $1 AND node.class_id = wanted.class_id
                             AND node.instance_id = wanted.instance_id
        WHERE NOT node.deleted
        ORDER BY wanted.ordinal
        """

    /// findNodes' statement around its conditions: the primary key gives the class's rows in id order; an
    /// ordering (`GraphFilterSQL.orderKey`s) sorts first, and the id still breaks ties.
    static func findNodes(conditions: [String], orderKeys: [String], limit: String, offset: String) -> String {
        let order = orderKeys.map { $0 + ", " }.joined()
        return """
        SELECT class_id, instance_id, version, fields::text AS fields FROM graph_nodes
        WHERE database_name = $1 AND class_id = $2 AND NOT deleted\(conditions.map { " AND " + $0 }.joined())
        ORDER BY \(order)instance_id LIMIT \(limit)::bigint OFFSET \(offset)::bigint
        """
    }
}
