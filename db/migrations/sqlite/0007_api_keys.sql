-- API keys of partner systems and staff. Only the SHA-256 of the key is
-- stored; the key itself is shown once, when it is made.
CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    hint       TEXT NOT NULL,               -- first characters, to tell keys apart
    scopes     TEXT NOT NULL,               -- comma-separated, e.g. bookings:read,results:read
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

-- change_us orders booking changes for partners that poll: unix microseconds,
-- assigned from change_clock at the end of the changing transaction while
-- that row is locked, so that it increases in commit order (a change that
-- commits later never gets a smaller value) and updated_at = change_us.
ALTER TABLE bookings ADD COLUMN change_us INTEGER NOT NULL DEFAULT 0;
-- Existing rows: updated_at in microseconds. julianday() keeps only
-- milliseconds, so the seconds and the fraction of bun's text
-- ('2006-01-02 15:04:05.999999-07:00', fraction optional) are read apart.
UPDATE bookings SET change_us = CAST(strftime('%s', updated_at) AS INTEGER) * 1000000
    + CASE WHEN substr(updated_at, 20, 1) = '.'
           THEN CAST(substr(substr(updated_at, 21, length(updated_at) - 26) || '000000', 1, 6) AS INTEGER)
           ELSE 0 END;
CREATE INDEX bookings_change ON bookings (change_us, id);

CREATE TABLE change_clock (
    name    TEXT PRIMARY KEY,
    last_us INTEGER NOT NULL
);
INSERT INTO change_clock (name, last_us) SELECT 'bookings', COALESCE(MAX(change_us), 0) FROM bookings;
