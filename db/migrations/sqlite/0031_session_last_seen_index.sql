-- The minute sweep deletes sessions past their expiry or idle since before
-- the idle timeout; with both columns indexed it reads only those rows.
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
