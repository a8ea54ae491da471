-- Partner webhooks. The secret is kept as given (not hashed) because every
-- delivery is signed with it; it is shown once when the endpoint is added
-- and never listed or logged.
CREATE TABLE webhook_endpoints (
    id              INTEGER PRIMARY KEY,
    url             TEXT NOT NULL,
    secret          TEXT NOT NULL,
    events          TEXT NOT NULL,              -- comma-separated event types
    description     TEXT NOT NULL DEFAULT '',
    disabled_at     TIMESTAMP,                  -- set when the receiver answered 410 Gone
    disabled_reason TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

-- One row per event and endpoint: the delivery log. The unique pair makes
-- the fan-out idempotent when its job runs twice.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    endpoint_id     INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    booking_id      INTEGER,
    body            TEXT NOT NULL,              -- the exact JSON sent on every attempt
    job_id          INTEGER,                    -- the webhook.delivery job
    attempts        INTEGER NOT NULL DEFAULT 0, -- HTTP requests made
    last_status     INTEGER NOT NULL DEFAULT 0, -- HTTP status of the last attempt; 0 for none or no response
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    delivered_at    TIMESTAMP,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
