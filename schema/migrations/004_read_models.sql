-- The embedded read models: the graph (classes, nodes, typed edges) and the document index (instance and
-- class documents), projected from domain events. Shared tables keyed by database name rather than a schema
-- per database, so creating and dropping a database is a row, not DDL, and one prepared statement serves
-- every database.
--
-- Every projected row carries `version` (its aggregate's sequence number) and `deleted`: writes apply only
-- when newer than what is stored, and a delete leaves a tombstone at its version so a late, older event
-- cannot bring the row back.
--
-- Identifiers use the "C" collation: byte order is the same on every cluster whatever its locale, ordering
-- by id is deterministic, and the btree comparisons are plain memcmp.

-- A database's graph space. Writes lock its row (FOR KEY SHARE) for their statement, and a drop deletes it
-- before the data, so a write racing a drop either lands before the drop removes the data or finds no space.
CREATE TABLE graph_spaces (
    database_name text COLLATE "C" PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Class definitions as OntologyClass JSON; a tombstone has no definition.
CREATE TABLE graph_classes (
    database_name text    COLLATE "C" NOT NULL,
    class_id      text    COLLATE "C" NOT NULL,
    version       bigint  NOT NULL,
    definition    jsonb,
    deleted       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (database_name, class_id)
);

-- Nodes keep only the fields the graph filters on (primary key, required scalars); documents hold the rest.
-- The primary key serves point lookups, the hop's joins to reached nodes, and findNodes' per-class scan in
-- instance-id order.
CREATE TABLE graph_nodes (
    database_name text    COLLATE "C" NOT NULL,
    class_id      text    COLLATE "C" NOT NULL,
    instance_id   text    COLLATE "C" NOT NULL,
    version       bigint  NOT NULL,
    fields        jsonb   NOT NULL DEFAULT '{}'::jsonb,
    deleted       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (database_name, class_id, instance_id)
);
-- findNodes' equals / in filters are containment tests (fields @> {"f": v}); jsonb_path_ops is the smaller,
-- faster GIN opclass for exactly @>.
CREATE INDEX graph_nodes_fields ON graph_nodes USING gin (fields jsonb_path_ops);

-- Typed edges, owned by their `from` node. `version` is the owner's version when the edge was written: a hop
-- only follows edges whose version equals the owner's current one. A write replaces its node's edges inside
-- one statement, whose snapshot cannot see edges a concurrent writer of the same node committed meanwhile;
-- such leftovers then carry an older version, stay invisible, and go with the node's next write.
-- There is no foreign key to nodes: an edge may point at a node not projected yet.
CREATE TABLE graph_edges (
    database_name text   COLLATE "C" NOT NULL,
    from_class    text   COLLATE "C" NOT NULL,
    from_id       text   COLLATE "C" NOT NULL,
    predicate     text   COLLATE "C" NOT NULL,
    to_class      text   COLLATE "C" NOT NULL,
    to_id         text   COLLATE "C" NOT NULL,
    version       bigint NOT NULL,
    -- Forward hops: (from, predicate) is a prefix and the target class the next column, so "these nodes
    -- along P to class C" is one range scan per start node.
    PRIMARY KEY (database_name, from_class, from_id, predicate, to_class, to_id)
)
-- Every write of a node re-stamps its edges with the new version. `version` is in no index and pages keep
-- some room, so a re-stamp can be a HOT update: a new heap tuple on the same page and no index entries.
WITH (fillfactor = 90);
-- Reverse hops: the same, seen from the target.
CREATE INDEX graph_edges_reverse ON graph_edges (database_name, to_class, to_id, predicate, from_class, from_id);

-- A database's document space; same locking protocol as graph_spaces. Kept apart from it because the two
-- ports are separate backends in other deployments (TerminusDB, Elasticsearch) and are created and dropped
-- independently.
CREATE TABLE document_spaces (
    database_name text COLLATE "C" PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Full instance documents. The primary key serves the bulk fetch by (class, instance id). Timestamps are
-- the events' RFC 3339 text, kept verbatim so reads return exactly what was projected.
CREATE TABLE documents (
    database_name text    COLLATE "C" NOT NULL,
    class_id      text    COLLATE "C" NOT NULL,
    instance_id   text    COLLATE "C" NOT NULL,
    version       bigint  NOT NULL,
    data          jsonb   NOT NULL,
    deleted       boolean NOT NULL DEFAULT false,
    event_id      text    NOT NULL,
    created_at    text    NOT NULL,
    updated_at    text    NOT NULL,
    PRIMARY KEY (database_name, class_id, instance_id)
);

-- Class documents (definition with labels) for the document index's ontology view; a tombstone has none.
CREATE TABLE class_documents (
    database_name text    COLLATE "C" NOT NULL,
    class_id      text    COLLATE "C" NOT NULL,
    version       bigint  NOT NULL,
    definition    jsonb,
    deleted       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (database_name, class_id)
);
