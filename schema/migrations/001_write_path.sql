-- The write path: aggregates (the write model: version + accepted state), commands with their status and
-- history. Applied by `spice migrate` and at start, in one transaction, recorded in schema_migrations.

-- One row per aggregate (database, ontology class, instance). `sequence_number` is the version clients pass
-- as expected_seq; it only moves forward, under optimistic concurrency. `state` is the aggregate's accepted
-- state (what the next command is validated against); it can be rebuilt from the event store.
CREATE TABLE aggregates (
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    database_name   text        NOT NULL,
    sequence_number bigint      NOT NULL CHECK (sequence_number > 0),
    deleted         boolean     NOT NULL DEFAULT false,
    state           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_type, aggregate_id)
);
CREATE INDEX aggregates_by_database ON aggregates (database_name, aggregate_type) WHERE NOT deleted;

-- Command status, "Redis-style": the current status row plus an append-only history.
CREATE TABLE commands (
    command_id      uuid        PRIMARY KEY,
    command_type    text        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    sequence_number bigint      NOT NULL,
    payload_digest  text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('PENDING','PROCESSING','RETRYING','COMPLETED','FAILED','CANCELLED')),
    progress        integer     NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    result          jsonb,
    error           jsonb,
    attempt         integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz
);
CREATE INDEX commands_by_aggregate ON commands (aggregate_type, aggregate_id, sequence_number);
CREATE INDEX commands_expiring ON commands (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE command_history (
    id         bigserial   PRIMARY KEY,
    command_id uuid        NOT NULL REFERENCES commands (command_id) ON DELETE CASCADE,
    status     text        NOT NULL,
    progress   integer     NOT NULL,
    message    text,
    error      jsonb,
    at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX command_history_by_command ON command_history (command_id, id);
