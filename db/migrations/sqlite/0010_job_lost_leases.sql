-- How many times a job's lease ran out while it was running: its worker
-- died (or hung) during the job. A job that keeps doing that is failed
-- after a few, instead of taking the process down every lease for days.
ALTER TABLE jobs ADD COLUMN lost_leases INTEGER NOT NULL DEFAULT 0;
