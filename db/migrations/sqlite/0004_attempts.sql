CREATE TABLE attempts (
    id           INTEGER PRIMARY KEY,
    candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    exam_code    TEXT NOT NULL,
    booking_id   INTEGER REFERENCES bookings (id) ON DELETE SET NULL,
    seed         INTEGER NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    deadline     TIMESTAMP NOT NULL,
    status       TEXT NOT NULL,
    ended_at     TIMESTAMP
);
-- One open attempt per candidate and exam.
CREATE UNIQUE INDEX attempts_one_open ON attempts (candidate_id, exam_code) WHERE status = 'open';
CREATE UNIQUE INDEX attempts_booking ON attempts (booking_id);
CREATE INDEX attempts_open_deadline ON attempts (status, deadline);

-- Answers and flags carry their own client sequence numbers, so that a late
-- older save of one never overwrites a newer one, nor the other field.
CREATE TABLE answers (
    attempt_id  INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    item_id     TEXT NOT NULL,
    choices     TEXT NOT NULL DEFAULT '[]',
    choices_seq INTEGER NOT NULL DEFAULT 0,
    flagged     BOOLEAN NOT NULL DEFAULT FALSE,
    flag_seq    INTEGER NOT NULL DEFAULT 0,
    saved_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (attempt_id, item_id)
);

CREATE TABLE results (
    id           INTEGER PRIMARY KEY,
    attempt_id   INTEGER NOT NULL UNIQUE REFERENCES attempts (id) ON DELETE CASCADE,
    candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    exam_code    TEXT NOT NULL,
    points       REAL NOT NULL,
    max_points   REAL NOT NULL,
    percent      REAL NOT NULL,
    pass_mark    REAL NOT NULL,
    passed       BOOLEAN NOT NULL,
    items        TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX results_candidate ON results (candidate_id, exam_code, created_at);

-- Extra time granted to a candidate for an exam (1.5 = 50 % more).
CREATE TABLE accommodations (
    candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    exam_code    TEXT NOT NULL,
    multiplier   REAL NOT NULL CHECK (multiplier >= 1 AND multiplier <= 4),
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (candidate_id, exam_code)
);
