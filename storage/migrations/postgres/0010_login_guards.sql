-- Failed logins are counted per login name, whether or not a user has that
-- name, so that the answers cannot tell a known login from an unknown one.
-- A check is reserved before the password is verified (in_flight), so that
-- parallel attempts cannot verify more wrong passwords than the limit; a
-- reservation older than in_flight_until is one whose process died.
CREATE TABLE login_guards (
    login           TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL DEFAULT 0,
    in_flight       BIGINT NOT NULL DEFAULT 0,
    in_flight_until BIGINT NOT NULL DEFAULT 0,
    locked          BIGINT NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    updated_at      BIGINT NOT NULL
);
INSERT INTO login_guards (login, failures, locked, updated_at)
    SELECT login, failed_attempts, locked, created_at FROM users WHERE failed_attempts > 0 OR locked = 1;
ALTER TABLE users DROP COLUMN failed_attempts;
ALTER TABLE users DROP COLUMN locked;

-- Failed logins per client address in a fixed window, shared by every
-- instance: past the limit, a login from that address is refused before its
-- password is verified.
CREATE TABLE login_throttles (
    ip           TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures     BIGINT NOT NULL
);
