-- The reason of a failed token request as a column of its own, so the dashboard's Logs page can
-- filter on it and count failures by it without reading JSON: the authentication failure's
-- code (`details.client_authentication_error.code`), else the OAuth error (`details.error`).
-- store::logs::insert_batch writes it for new events.
ALTER TABLE logs ADD COLUMN reason TEXT;

-- Events already kept: only failures carry either member. json_type guards against a member
-- that is not a string (none is written so, but a backfill must not store `5` as a reason).
UPDATE logs SET reason = CASE
    WHEN json_type(details, '$.client_authentication_error.code') = 'text'
        THEN json_extract(details, '$.client_authentication_error.code')
    WHEN json_type(details, '$.error') = 'text'
        THEN json_extract(details, '$.error')
END
WHERE type = 'feccft' AND json_valid(details);

-- The reason filter, newest first within a time range; only failures have a reason, so the
-- index holds only them.
CREATE INDEX logs_by_reason ON logs (reason, date) WHERE reason IS NOT NULL;

-- The charts count events by type (and reason) within a time range: with the reason in the
-- type index they are answered from the index alone. It replaces the (type, date) index, of
-- which it is an extension.
DROP INDEX logs_by_type;
CREATE INDEX logs_by_type ON logs (type, date, reason);
