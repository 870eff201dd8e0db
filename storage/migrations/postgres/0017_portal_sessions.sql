-- Sessions of the customer area in the browser (docs/portal.md): one row
-- per signed-in browser, found by the SHA-256 of the token its cookie
-- holds (the token itself is never stored), with the CSRF token of its
-- forms and its language. Kept in the database so that any instance serves
-- any session; a session ends when idle too long, after a fixed lifetime,
-- at sign-out, or when its user is locked.
CREATE TABLE portal_sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id),
    csrf         TEXT NOT NULL,
    language     TEXT NOT NULL CHECK (language IN ('en', 'fr')),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX portal_sessions_user ON portal_sessions (user_id);
