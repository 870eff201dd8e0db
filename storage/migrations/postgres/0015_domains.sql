-- The domain inventory of an account (docs/domains.md): the pre-validated
-- domains of its organisations become inventory entries with a state. A
-- customer's new domain waits (`pending`) holding a DCV token until certgate
-- sees the token in DNS; then it is `validated` until `expires_at`, and only
-- then does it spare the orders below it their own DCV. Rows recorded before
-- this migration were recorded by the operator and stay validated, without
-- expiry, as they were.
ALTER TABLE prevalidated_domains ADD COLUMN state TEXT NOT NULL DEFAULT 'validated'
    CHECK (state IN ('pending', 'validated'));
ALTER TABLE prevalidated_domains ADD COLUMN dcv_token TEXT;
ALTER TABLE prevalidated_domains ADD COLUMN validated_at BIGINT;
ALTER TABLE prevalidated_domains ADD COLUMN expires_at BIGINT;
ALTER TABLE prevalidated_domains ADD COLUMN added_by TEXT NOT NULL DEFAULT 'operator';
-- The last CAA check of the domain (`domain.checkCaa`): when, for which
-- product, the verdict word and its detail.
ALTER TABLE prevalidated_domains ADD COLUMN caa_checked_at BIGINT;
ALTER TABLE prevalidated_domains ADD COLUMN caa_product TEXT;
ALTER TABLE prevalidated_domains ADD COLUMN caa_verdict TEXT;
ALTER TABLE prevalidated_domains ADD COLUMN caa_detail TEXT;
UPDATE prevalidated_domains SET validated_at = created_at;
