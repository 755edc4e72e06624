-- The reason of a failed token request as a column of its own, so the dashboard's Logs page can
-- filter on it and count failures by it without reading JSON: the authentication failure's
-- code (`details.client_authentication_error.code`), else the OAuth error (`details.error`).
-- store::logs::insert_batch writes it for new events.
ALTER TABLE logs ADD COLUMN reason TEXT;

-- Events already kept: only failures carry either member. json_typeof guards against a member
-- that is not a string. PostgreSQL refuses to read JSON text holding a `\u0000` escape (which
-- a text column cannot hold either); such a row, if any, is left without a reason rather than
-- failing the migration.
UPDATE logs SET reason = CASE
    WHEN json_typeof(details::json #> '{client_authentication_error,code}') = 'string'
        THEN details::json #>> '{client_authentication_error,code}'
    WHEN json_typeof(details::json -> 'error') = 'string'
        THEN details::json ->> 'error'
END
WHERE type = 'feccft' AND strpos(details, '\u0000') = 0;

-- The reason filter, newest first within a time range; only failures have a reason, so the
-- index holds only them.
CREATE INDEX logs_by_reason ON logs (reason, date) WHERE reason IS NOT NULL;

-- The charts count events by type (and reason) within a time range: with the reason in the
-- type index they are answered from the index alone. It replaces the (type, date) index, of
-- which it is an extension.
DROP INDEX logs_by_type;
CREATE INDEX logs_by_type ON logs (type, date, reason);
