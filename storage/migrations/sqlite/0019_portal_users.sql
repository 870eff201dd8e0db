-- The customer area's users and logs pages (docs/portal.md; seed 7.1,
-- 7.1.3, 7.5). A user signs in to the portal (`web`), calls the API
-- (`api`), or both, as every user made before could; an administrator of
-- its account may suspend it.
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'both' CHECK (kind IN ('both', 'web', 'api'));
ALTER TABLE users ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1));
CREATE INDEX users_account ON users (account_id, login);
-- An account's log is read newest first, a page at a time (the portal's logs page).
CREATE INDEX audit_log_account_at ON audit_log (account_id, at, id);
-- The optional second factor (seed 7.1.2): a TOTP secret sealed with the
-- gateway's secret key, and the last time step used, so a code is good once.
ALTER TABLE users ADD COLUMN totp_sealed TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
