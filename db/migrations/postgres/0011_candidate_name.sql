-- The learner's whole name, when their launch carried one `name` instead of
-- first and last names (the customer's TI document lists "email, name").
ALTER TABLE candidates ADD COLUMN name TEXT NOT NULL DEFAULT '';
