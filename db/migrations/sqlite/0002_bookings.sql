ALTER TABLE candidates ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

CREATE TABLE bookings (
    id           INTEGER PRIMARY KEY,
    candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    exam_code    TEXT NOT NULL,
    starts_at    TIMESTAMP NOT NULL,
    ends_at      TIMESTAMP NOT NULL,
    time_zone    TEXT NOT NULL,
    status       TEXT NOT NULL,
    reschedules  INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
-- One pending booking per candidate and exam.
CREATE UNIQUE INDEX bookings_one_pending ON bookings (candidate_id, exam_code) WHERE status = 'pending';
CREATE INDEX bookings_candidate ON bookings (candidate_id, exam_code, created_at);
CREATE INDEX bookings_status_start ON bookings (status, starts_at);

-- Seats taken per slot. Taking a seat is one conditional UPDATE of this row
-- (taken < seats), so two bookings can never both take the last seat.
CREATE TABLE slot_seats (
    exam_code TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    taken     INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0),
    PRIMARY KEY (exam_code, starts_at)
);

-- Client keys of booking mutations, so a retried request takes effect once.
CREATE TABLE booking_requests (
    candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    client_key   TEXT NOT NULL,
    action       TEXT NOT NULL,
    booking_id   INTEGER NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (candidate_id, client_key)
);
