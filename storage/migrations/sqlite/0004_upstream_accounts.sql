-- certgate's own account at each upstream ACME CA, created once and shared by
-- every instance. The credentials (the account key) are sealed.
CREATE TABLE upstream_accounts (
    upstream            TEXT NOT NULL,
    directory_url       TEXT NOT NULL,
    account_url         TEXT NOT NULL,
    credentials_sealed  TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    PRIMARY KEY (upstream, directory_url)
);
