-- Signing-key lifecycle (Auth0's /api/v2/keys/signing) and per-API token signing and format.
--
-- A key is current (signs), next (published, signs after the next rotation), previous (was
-- current, still published) or revoked (unpublished for good; its private half is wiped).

ALTER TABLE signing_keys ADD COLUMN is_next BIGINT;          -- 1 for the next key; NULL otherwise
ALTER TABLE signing_keys ADD COLUMN cert TEXT;              -- self-signed certificate, PEM
ALTER TABLE signing_keys ADD COLUMN current_since BIGINT;   -- ms; set when the key became current
ALTER TABLE signing_keys ADD COLUMN current_until BIGINT;   -- ms; set when it stopped being current
ALTER TABLE signing_keys ADD COLUMN revoked_at BIGINT;      -- ms; set once, never cleared
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (is_next);
UPDATE signing_keys SET current_since = created_at WHERE is_current = 1;

-- RS256 (the tenant's keys), PS256 (the same keys, RSASSA-PSS) or HS256 with the API's own
-- secret, sealed under the master key. The secret is kept when the API moves off HS256.
ALTER TABLE resource_servers ADD COLUMN signing_secret TEXT;
-- access_token, access_token_authz, rfc9068_profile or rfc9068_profile_authz.
ALTER TABLE resource_servers ADD COLUMN token_dialect TEXT NOT NULL DEFAULT 'access_token';
