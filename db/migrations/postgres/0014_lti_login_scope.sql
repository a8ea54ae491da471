-- The scope of a platform's authorization request. Empty is "openid", as the
-- LTI Security Framework fixes it and Moodle requires exactly; SkillsTown's
-- integration guide shows "openid profile email".
ALTER TABLE lti_platforms ADD COLUMN login_scope TEXT NOT NULL DEFAULT '';
