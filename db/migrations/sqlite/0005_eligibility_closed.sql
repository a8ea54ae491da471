-- Set when a window ends early (a no-show under the exam's policy); a new
-- purchase clears it.
ALTER TABLE eligibilities ADD COLUMN closed_at TIMESTAMP;
