-- LTI 1.3 platforms examgate trusts, one row per (issuer, client id).
CREATE TABLE lti_platforms (
    id         INTEGER PRIMARY KEY,
    issuer     TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    auth_url   TEXT NOT NULL,
    token_url  TEXT NOT NULL,
    jwks_url   TEXT NOT NULL,
    -- the launch value that is the course id (course_id, id, deployment_id,
    -- target_link_uri); empty takes the first present in that order
    course_id_source TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (issuer, client_id)
);

CREATE TABLE lti_deployments (
    platform_id   INTEGER NOT NULL REFERENCES lti_platforms (id) ON DELETE CASCADE,
    deployment_id TEXT NOT NULL,
    PRIMARY KEY (platform_id, deployment_id)
);

-- Logins started and waiting for their launch; a launch consumes its row.
CREATE TABLE lti_logins (
    state_hash      TEXT PRIMARY KEY,
    nonce           TEXT NOT NULL,
    binding_hash    TEXT NOT NULL,
    issuer          TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    deployment_id   TEXT NOT NULL DEFAULT '',
    target_link_uri TEXT NOT NULL,
    login_hint      TEXT NOT NULL,
    message_hint    TEXT NOT NULL DEFAULT '',
    storage_target  TEXT NOT NULL DEFAULT '',
    expires_at      TIMESTAMP NOT NULL
);
CREATE INDEX lti_logins_expires_at ON lti_logins (expires_at);

-- Nonces of accepted launches, so that an id_token works once.
CREATE TABLE lti_nonces (
    issuer     TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (issuer, nonce)
);
CREATE INDEX lti_nonces_expires_at ON lti_nonces (expires_at);

-- A learner on a platform is (issuer, sub).
CREATE TABLE lti_identities (
    issuer       TEXT NOT NULL,
    sub          TEXT NOT NULL,
    candidate_id INTEGER NOT NULL UNIQUE REFERENCES candidates (id) ON DELETE CASCADE,
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (issuer, sub)
);

-- The latest launch of an exam by a candidate: where the scores of their
-- next attempt go. A launch without a line item keeps the one stored.
CREATE TABLE lti_contexts (
    candidate_id     INTEGER NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    exam_code        TEXT NOT NULL,
    issuer           TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    deployment_id    TEXT NOT NULL,
    sub              TEXT NOT NULL,
    resource_link_id TEXT NOT NULL,
    course_id        TEXT NOT NULL,
    lineitem_url     TEXT NOT NULL DEFAULT '',
    return_url       TEXT NOT NULL DEFAULT '',
    updated_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (candidate_id, exam_code)
);

-- Where one attempt's scores go, fixed from the candidate's latest launch
-- of the exam when the attempt starts: a relaunch from another course, or
-- from a link without a line item, during the attempt does not move them.
CREATE TABLE lti_attempts (
    attempt_id       INTEGER PRIMARY KEY REFERENCES attempts (id) ON DELETE CASCADE,
    issuer           TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    deployment_id    TEXT NOT NULL,
    sub              TEXT NOT NULL,
    resource_link_id TEXT NOT NULL,
    course_id        TEXT NOT NULL,
    lineitem_url     TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL
);
