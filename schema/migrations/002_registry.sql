-- The idempotency registry every consumer goes through (correctness contract rules 1, 3, 6, 7, 8).

-- One row per (handler, event): who holds it, under which lease, how often it was tried, how it ended.
-- A claim is one INSERT … ON CONFLICT statement; only the owner of a 'processing' row may finish it; a
-- 'processing' row whose heartbeat is older than the lease may be taken over (attempt_count + 1).
-- 'failed' means the last attempt failed and the event may be claimed again (a retry or a replay).
CREATE TABLE processed_events (
    handler         text        NOT NULL,
    event_id        uuid        NOT NULL,
    aggregate_id    text        NOT NULL,
    sequence_number bigint,
    status          text        NOT NULL CHECK (status IN ('processing','done','failed','skipped_stale')),
    owner           text        NOT NULL,
    attempt_count   integer     NOT NULL DEFAULT 1,
    claimed_at      timestamptz NOT NULL DEFAULT now(),
    heartbeat_at    timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    last_error      text,
    PRIMARY KEY (handler, event_id)
);
CREATE INDEX processed_events_open ON processed_events (handler, heartbeat_at) WHERE status <> 'done';

-- The ordering guard: per handler and aggregate, the highest sequence number applied. An event at or below
-- it is stale. Advanced only together with mark-done, and only upwards.
CREATE TABLE aggregate_versions (
    handler       text        NOT NULL,
    aggregate_id  text        NOT NULL,
    last_sequence bigint      NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (handler, aggregate_id)
);

-- Events a handler gave up on, with the message as delivered, so an operator can read why and replay it.
CREATE TABLE dead_letters (
    id           bigserial   PRIMARY KEY,
    handler      text        NOT NULL,
    event_id     uuid,
    topic        text        NOT NULL,
    "partition"  integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    message_key  text        NOT NULL,
    value        bytea       NOT NULL,
    error        text        NOT NULL,
    attempts     integer     NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    replayed_at  timestamptz,
    replay_count integer     NOT NULL DEFAULT 0
);
CREATE INDEX dead_letters_open ON dead_letters (handler, id) WHERE replayed_at IS NULL;
