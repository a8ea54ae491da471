-- The language of the learner's platform, from the LTI launch's
-- launch_presentation.locale (a BCP 47 tag such as "nl-NL"); empty when the
-- platform sent none. Emails and pages are written in it.
ALTER TABLE candidates ADD COLUMN locale TEXT NOT NULL DEFAULT '';
