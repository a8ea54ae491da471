-- Transactional outbox: jobs are inserted in the same transaction as the
-- state change that causes them and worked later by examgate.Worker.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,                -- JSON, opaque to the store
    ordering_key TEXT NOT NULL DEFAULT '',     -- same non-empty key: one at a time, in id order
    state        TEXT NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_age_ms   INTEGER NOT NULL,             -- kept so that a staff retry can grant it again
    give_up_at   TIMESTAMP NOT NULL,           -- no retry is scheduled after this
    run_at       TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,                    -- lease end while running
    lease        TEXT NOT NULL DEFAULT '',     -- token of the worker holding the job
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    done_at      TIMESTAMP                     -- when it left the queue, done or failed
);
CREATE INDEX jobs_claim ON jobs (state, run_at);
CREATE INDEX jobs_ordering_key ON jobs (ordering_key, id) WHERE ordering_key <> '';
CREATE INDEX jobs_kind ON jobs (kind, id);
