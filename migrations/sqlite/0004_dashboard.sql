-- The web dashboard: administrators and their server-side sessions.
-- Passwords are Argon2id PHC strings; sessions are kept as the SHA-256 of their token, so a copy
-- of the database does not let anyone sign in.

CREATE TABLE admins (
    email TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    failed_logins BIGINT NOT NULL,      -- consecutive failures since the last success or lockout
    locked_until BIGINT,                -- refuse sign-ins until this instant (ms); NULL: not locked
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE admin_sessions (
    token_hash TEXT PRIMARY KEY,        -- hex SHA-256 of the cookie's token
    email TEXT NOT NULL REFERENCES admins (email) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX admin_sessions_by_expiry ON admin_sessions (expires_at);
