-- examgate's own RSA key pairs for LTI Advantage: the active one signs the
-- client assertions sent to platforms' token endpoints, and every key is
-- published at /lti/jwks until a while after a newer one replaced it.
CREATE TABLE lti_tool_keys (
    kid         TEXT PRIMARY KEY,          -- RFC 7638 thumbprint of the public key
    private_key TEXT NOT NULL,             -- PKCS #8 PEM; secret, never logged
    created_at  TIMESTAMPTZ NOT NULL,      -- when it became the active key
    retired_at  TIMESTAMPTZ                -- when a newer key replaced it; NULL while active
);
-- At most one active key, even when two processes create the first one at once.
CREATE UNIQUE INDEX lti_tool_keys_active ON lti_tool_keys ((retired_at IS NULL)) WHERE retired_at IS NULL;
