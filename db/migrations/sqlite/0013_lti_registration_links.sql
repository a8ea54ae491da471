-- One-time secrets of Dynamic Registration links (examgate lti
-- registration-link): only their SHA-256 is kept.
CREATE TABLE lti_registration_links (
    secret_hash TEXT PRIMARY KEY,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
