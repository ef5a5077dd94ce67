-- The embedded message bus: Kafka's model (topics split into partitions, consumer groups with committed
-- offsets) kept in PostgreSQL, so messages and offsets survive a restart of every process.

-- The next offset to hand out in each partition. Publishers allocate a range by updating this row, and the
-- row lock they take is held until their transaction commits: a partition's offsets are therefore gap-free,
-- never duplicated, and become visible in offset order (a reader never sees N+1 before N). It is never
-- reset, so offsets are not reused after old messages are pruned.
CREATE TABLE bus_partitions (
    topic       text    NOT NULL,
    partition   integer NOT NULL CHECK (partition >= 0),
    next_offset bigint  NOT NULL CHECK (next_offset >= 0),
    PRIMARY KEY (topic, partition)
);

-- The log itself. Readers scan one partition from an offset onwards, which the primary key serves.
CREATE TABLE bus_messages (
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    key          text        NOT NULL,
    value        bytea       NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, "offset")
);
-- Retention (prune) looks for old messages; without this it would scan the whole log.
CREATE INDEX bus_messages_by_age ON bus_messages (published_at);

-- Per group and partition, the next offset the group wants (Kafka-style: the last processed offset + 1).
-- Only moves forward. A missing row means the group starts at the beginning of the partition.
CREATE TABLE bus_offsets (
    group_id   text        NOT NULL,
    topic      text        NOT NULL,
    partition  integer     NOT NULL,
    committed  bigint      NOT NULL CHECK (committed >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);
-- Retention asks which groups have committed on a topic.
CREATE INDEX bus_offsets_by_topic ON bus_offsets (topic, partition);
