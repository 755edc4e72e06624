-- Private Key JWT at the token endpoint: replay protection, the audit log, credential use, and
-- a change counter that tells every server instance when its token-path caches are stale.

CREATE TABLE assertion_jtis (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,         -- unix seconds: exp + skew; pruned after that
    PRIMARY KEY (client_id, jti)
) WITHOUT ROWID;                        -- one B-tree for the key instead of a table and an index
CREATE INDEX assertion_jtis_by_expiry ON assertion_jtis (expires_at);

CREATE TABLE logs (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,                -- orders events written in the same millisecond
    date BIGINT NOT NULL,
    type TEXT NOT NULL,
    description TEXT NOT NULL,
    client_id TEXT,
    client_name TEXT,
    audience TEXT,
    scope TEXT,
    ip TEXT,
    user_agent TEXT,
    details TEXT NOT NULL
);
CREATE INDEX logs_by_date ON logs (date, seq);
CREATE INDEX logs_by_client ON logs (client_id, date);
CREATE INDEX logs_by_type ON logs (type, date);

ALTER TABLE credentials ADD COLUMN last_used_at BIGINT;

CREATE TABLE change_counter (
    id BIGINT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO change_counter (id, version) VALUES (1, 0);
