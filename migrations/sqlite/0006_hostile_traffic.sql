-- Holding under hostile traffic: per-application token quotas (Auth0's
-- `token_quota.client_credentials`) with their shared counters, and a sign-in lockout kept for
-- every email tried, whether an administrator has it or not.

-- JSON {"per_hour","per_day","enforce"}; NULL: the tenant's default applies.
ALTER TABLE clients ADD COLUMN token_quota TEXT;

-- Tokens issued per application in the current UTC hour and day, summed over every server
-- instance (each adds what it issued about once a second).
CREATE TABLE token_quota_usage (
    client_id TEXT NOT NULL,
    bucket TEXT NOT NULL,               -- per_hour or per_day
    window_start BIGINT NOT NULL,       -- ms: the start of the UTC hour or day counted
    used BIGINT NOT NULL,
    PRIMARY KEY (client_id, bucket, window_start)
);
CREATE INDEX token_quota_usage_by_window ON token_quota_usage (window_start);

-- Sign-in attempts per email (lower case), for known and unknown emails alike, so that the
-- answer and its timing do not tell which emails are administrators. An attempt is counted
-- before its password is checked, in the same statement that decides whether it may go on.
-- (admins.failed_logins and admins.locked_until are no longer read.)
CREATE TABLE signin_attempts (
    email TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,           -- attempts since the last success or the last lock
    locked_until BIGINT,                -- ms; NULL: not locked
    updated_at BIGINT NOT NULL
);
