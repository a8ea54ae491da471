-- Webhooks like Stripe's: a secret being rotated keeps signing until
-- previous_secret_until, so that receivers can switch without a gap; the
-- delivery log keeps the latency and the start of the receiver's answer
-- of the last attempt.
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret_until TIMESTAMPTZ;
ALTER TABLE webhook_deliveries ADD COLUMN last_duration_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_deliveries ADD COLUMN last_response TEXT NOT NULL DEFAULT '';
-- The API key (webhooks:manage) that registered the endpoint, which may
-- manage it; NULL for the operator's. Keys are revoked, never deleted.
ALTER TABLE webhook_endpoints ADD COLUMN api_key_id BIGINT;
-- Redelivering the failed deliveries of a time range reads them by time.
CREATE INDEX webhook_deliveries_endpoint_created ON webhook_deliveries (endpoint_id, created_at);
