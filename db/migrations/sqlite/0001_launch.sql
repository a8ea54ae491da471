CREATE TABLE candidates (
    id          INTEGER PRIMARY KEY,
    external_id TEXT UNIQUE,
    email       TEXT NOT NULL UNIQUE, -- stored lower-case by the domain
    first_name  TEXT NOT NULL DEFAULT '',
    last_name   TEXT NOT NULL DEFAULT '',
    ti_user_id  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE eligibilities (
    candidate_id  INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    exam_code     TEXT NOT NULL,
    course_id     TEXT NOT NULL,
    assignment_id TEXT NOT NULL DEFAULT '',
    purchased_at  TIMESTAMP NOT NULL,
    ends_at       TIMESTAMP NOT NULL,
    checked_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (candidate_id, exam_code)
);

CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    candidate_id INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Launch tokens already used, so that a token works once (replay protection).
CREATE TABLE used_launch_tokens (
    token_id   TEXT PRIMARY KEY,
    used_at    TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX used_launch_tokens_expires_at ON used_launch_tokens (expires_at);
