-- An administrator may make the second factor mandatory for every user of
-- its account who signs in to the customer area (seed 7.1.2;
-- docs/portal.md): such a user without one can do nothing but enrol one.
ALTER TABLE accounts ADD COLUMN second_factor_required INTEGER NOT NULL DEFAULT 0 CHECK (second_factor_required IN (0, 1));
