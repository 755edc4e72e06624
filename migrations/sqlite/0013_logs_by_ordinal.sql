-- The audit log keyed by its ordinal (store::logs::insert_batch), which becomes the table's
-- rowid: events are written in ordinal order, so the table's own B-tree grows at its end and
-- takes the place of the ordinal index.
CREATE TABLE logs_rekeyed (
    ordinal INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    date BIGINT NOT NULL,
    type TEXT NOT NULL,
    description TEXT NOT NULL,
    client_id TEXT,
    client_name TEXT,
    audience TEXT,
    scope TEXT,
    ip TEXT,
    user_agent TEXT,
    details TEXT NOT NULL,
    reason TEXT
);
INSERT INTO logs_rekeyed (ordinal, id, seq, date, type, description, client_id,
    client_name, audience, scope, ip, user_agent, details, reason)
SELECT ordinal, id, seq, date, type, description, client_id, client_name, audience, scope, ip,
    user_agent, details, reason
FROM logs ORDER BY ordinal;
DROP TABLE logs;
ALTER TABLE logs_rekeyed RENAME TO logs;

CREATE INDEX logs_by_date ON logs (date, seq);
CREATE INDEX logs_by_client ON logs (client_id, date);
CREATE INDEX logs_by_type ON logs (type, date, reason);
CREATE INDEX logs_by_reason ON logs (reason, date) WHERE reason IS NOT NULL;

-- No index of ids: every new id would cost one more B-tree to every event written, and ids
-- carry their event's date (`log_` and 13 digits), so store::logs finds an event by the date's
-- index and then its id. Ids written before they carried it (`log_` and 24 characters, 28 in
-- all) keep an index of their own, which new events never enter.
CREATE INDEX logs_by_undated_id ON logs (id) WHERE length(id) = 28;
