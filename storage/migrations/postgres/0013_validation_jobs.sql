-- Challenge validation runs as a job, so that an instance that dies while a
-- challenge is being checked leaves a lease that another instance takes
-- over, rather than a challenge that stays `processing` forever. Such a job
-- works for an ACME authorization, not for an order: `order_id` may be
-- empty, and one of the two is always set.
ALTER TABLE jobs ALTER COLUMN order_id DROP NOT NULL;
ALTER TABLE jobs ADD COLUMN acme_authz_id BIGINT REFERENCES acme_authzs(id);
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('issue', 'revoke', 'validate'));
ALTER TABLE jobs ADD CONSTRAINT jobs_works_for_something CHECK (order_id IS NOT NULL OR acme_authz_id IS NOT NULL);
