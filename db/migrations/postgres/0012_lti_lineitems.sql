-- A platform that sends only the line items container (AGS 2.0: a link
-- with no line item, or several) gets its line item found or created by
-- examgate when the first score is sent; the container is kept with the
-- launch and the attempt, and the line item found, per resource link.
ALTER TABLE lti_contexts ADD COLUMN lineitems_url TEXT NOT NULL DEFAULT '';
ALTER TABLE lti_attempts ADD COLUMN lineitems_url TEXT NOT NULL DEFAULT '';

CREATE TABLE lti_lineitems (
    issuer           TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    resource_link_id TEXT NOT NULL,
    lineitem_url     TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer, client_id, resource_link_id)
);
