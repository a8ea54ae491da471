-- When a session was last in use, to within a minute: a session unused for
-- longer than the idle timeout has ended. Sessions that exist now count as
-- seen at the migration (in the text form the store writes times in), so
-- that nobody is signed out by it.
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00+00:00';
UPDATE sessions SET last_seen_at = strftime('%Y-%m-%d %H:%M:%f+00:00', 'now');
