-- The challenge a client chose for an authorization, and how its validation went.
ALTER TABLE acme_authzs ADD COLUMN challenge_type TEXT;
ALTER TABLE acme_authzs ADD COLUMN challenge_status TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE acme_authzs ADD COLUMN error TEXT;
