import Core

/// The one statement of a hop. Its text depends on the direction, whether the target class is fixed and the
/// kinds of the filters on reached nodes (values are parameters), so each shape is prepared once per connection.
///
/// Parameters: `$1` database, `$2`/`$3` the start nodes' classes and ids, `$4` predicate, `$5` the row
/// limit (the caller's limit + 1, to tell truncation), then the target class when given and the filters' values. One row per edge
/// walked, with the reached node's version and fields.
///
/// An edge counts only while its version is its owner's (see the migration), and the reached node must be
/// live. Reverse, the owner is the reached node, so its join checks both. Forward, the owner is the start
/// node, looked up per edge by a scalar subquery rather than a join: as a join the planner may hash the start
/// list against a sequential scan of every node, which a thousand primary-key probes beat by far. Both walks
/// are index range scans: the primary key for (from, predicate) and `graph_edges_reverse` for
/// (to, predicate), each with the target class as the next key column.
///
/// The limit applies before the ORDER BY: sorting first would make every hop read all the start nodes' edges
/// before cutting; this way the nested loop stops at the limit, so a hub with a million edges costs what the
/// limit allows, and only the rows kept are sorted (by from, then to: a stable answer). Which edges a
/// truncated hop keeps is the plan's choice.
enum GraphHopSQL {
    /// `targetClass` is the placeholder holding the target class, when one is given; `reachedConditions` are
    /// `GraphFilterSQL` conditions on the `reached` node. Without conditions there are four texts.
    /// `startVersions` is the placeholder of the start nodes' versions (forward hops only), when the caller
    /// knows them.
    /// `withDocuments` also returns each reached node's live document (the documents table is in the same
    /// database in the embedded read models), and its graph fields only when it has none.
    static func statement(direction: HopDirection, startVersions: String? = nil, targetClass: String?, reachedConditions: [String],
                          withDocuments: Bool = false) -> String {
        let extra = reachedConditions.map { " AND " + $0 }.joined()
        switch direction {
        case .forward:
            return forward(startVersions: startVersions, targetCondition: targetClass.map { " AND edge.to_class = \($0)" } ?? "",
                           reachedConditions: extra, withDocuments: withDocuments)
        case .reverse:
            return reverse(targetCondition: targetClass.map { " AND edge.from_class = \($0)" } ?? "", reachedConditions: extra,
                           withDocuments: withDocuments)
        }
    }

    private static func forward(startVersions: String?, targetCondition: String, reachedConditions: String, withDocuments: Bool) -> String {
        // With the start nodes' versions known, an edge is current when it carries its start node's version; without
        // them, its owner is looked up.
        let current = startVersions == nil
            ? """
              edge.version = (SELECT owner.version FROM graph_nodes owner WHERE owner.database_name = $1
                                     AND owner.class_id = edge.from_class AND owner.instance_id = edge.from_id)
              """
            : "edge.version = start.version"
        return walk(startColumns: ("from_class", "from_id"), startVersions: startVersions, targetCondition: targetCondition,
                    withDocuments: withDocuments, reached: """
            JOIN graph_nodes reached ON reached.database_name = $1 AND reached.class_id = edge.to_class
                                    AND reached.instance_id = edge.to_id AND NOT reached.deleted
            """, condition: "\(current)\(reachedConditions)")
    }

    private static func reverse(targetCondition: String, reachedConditions: String, withDocuments: Bool) -> String {
        walk(startColumns: ("to_class", "to_id"), targetCondition: targetCondition, withDocuments: withDocuments, reached: """
            JOIN graph_nodes reached ON reached.database_name = $1 AND reached.class_id = edge.from_class
                                    AND reached.instance_id = edge.from_id AND reached.version = edge.version
                                    AND NOT reached.deleted
            """, condition: "true\(reachedConditions)")
    }
    private static func walk(startColumns: (class: String, id: String), startVersions: String? = nil, targetCondition: String,
                             withDocuments: Bool, reached: String, condition: String) -> String {
        let start = startVersions.map { "unnest($2::text[], $3::text[], \($0)::bigint[]) AS start(class_id, instance_id, version)" }
            ?? "unnest($2::text[], $3::text[]) AS start(class_id, instance_id)"
        let columns = withDocuments
            ? """
              CASE WHEN document.data IS NULL THEN reached.fields::text ELSE '{}' END AS fields,
                      document.version AS document_version, document.data::text AS document_data, document.event_id,
                      document.created_at, document.updated_at
              """
            : "reached.fields::text AS fields"
        let documents = withDocuments
            ? """
              LEFT JOIN documents document ON document.database_name = $1 AND document.class_id = reached.class_id
                                          AND document.instance_id = reached.instance_id AND NOT document.deleted
              """
            : ""
        return """
        SELECT * FROM (
            SELECT edge.from_class, edge.from_id, edge.to_class, edge.to_id, reached.version, \(columns)
            FROM \(start)
            JOIN graph_edges edge ON edge.database_name = $1 AND edge.\(startColumns.class) = start.class_id
                                 AND edge.\(startColumns.id) = start.instance_id AND edge.predicate = $4\(targetCondition)
        \(reached)
        \(documents)
            WHERE \(condition)
            LIMIT $5::bigint
        ) walked
        ORDER BY from_class, from_id, to_class, to_id
        """
    }
}
