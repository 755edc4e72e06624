-- `jwks_uri` credentials (a signet extension): the application publishes its keys at a URL.
-- Such a row has credential_type 'jwks_uri' and the URL in jwks_uri; its kid is the
-- credential id and its thumbprint 'jwks_uri:' plus the URL's SHA-256, which keeps the unique
-- constraints meaningful (one URL once per application); alg and public_key are empty.
ALTER TABLE credentials ADD COLUMN jwks_uri TEXT;

-- The last key set fetched for a jwks_uri credential and how the last fetch went, shared by
-- every instance and kept across restarts: a restart during an outage of the key host keeps
-- the last good set (for at most 24 hours after it was fetched).
CREATE TABLE key_sets (
    credential_id TEXT PRIMARY KEY REFERENCES credentials (id) ON DELETE CASCADE,
    body TEXT,                 -- the last good set as served (at most 64 KiB), NULL if none yet
    kids TEXT,                 -- JSON array of the kids in it, for display
    fetched_at BIGINT,         -- ms; when body was fetched
    fresh_until BIGINT,        -- ms; Cache-Control max-age held within [5 min, 24 h]
    attempted_at BIGINT NOT NULL, -- ms; the last fetch, successful or not
    last_error TEXT,           -- why the last fetch failed; NULL when it succeeded
    last_error_at BIGINT
);
