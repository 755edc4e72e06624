-- No key on the audit log's event ids: every event written paid one more B-tree for it, and ids
-- carry their event's date (`log_` and 13 digits), so store::logs finds an event by the date's
-- index and then its id, as on SQLite since its 0013. Ids written before they carried it
-- (`log_` and 24 characters, 28 in all) keep an index of their own, which new events never
-- enter. Checkpoint paging and pruning go by the ordinal's unique index.
CREATE INDEX logs_by_undated_id ON logs (id) WHERE length(id) = 28;
ALTER TABLE logs DROP CONSTRAINT logs_pkey;
