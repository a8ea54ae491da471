-- The browser family a session was made in: a new launch of the learner in
-- the same family ends the earlier sessions there.
ALTER TABLE sessions ADD COLUMN browser TEXT NOT NULL DEFAULT '';
