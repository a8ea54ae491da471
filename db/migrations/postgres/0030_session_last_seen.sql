-- When a session was last in use, to within a minute: a session unused for
-- longer than the idle timeout has ended. Sessions that exist now count as
-- seen at the migration, so that nobody is signed out by it.
ALTER TABLE sessions ADD COLUMN last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE sessions ALTER COLUMN last_seen_at DROP DEFAULT;
