-- Checkpoint paging of the audit log (`GET /api/v2/logs?from=…&take=…`): each event's place
-- in the order events became readable. Writers take ordinals from log_ordinals inside their
-- transaction, which serialises them in commit order (see store::logs::insert_batch).
ALTER TABLE logs ADD COLUMN ordinal BIGINT NOT NULL DEFAULT 0;

-- Events already kept are numbered in date order.
UPDATE logs SET ordinal = ranked.n
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY date, seq, id) AS n FROM logs) AS ranked
WHERE logs.id = ranked.id;

CREATE UNIQUE INDEX logs_by_ordinal ON logs (ordinal);

CREATE TABLE log_ordinals (
    id BIGINT PRIMARY KEY,
    issued BIGINT NOT NULL      -- the highest ordinal handed out
);
INSERT INTO log_ordinals (id, issued) SELECT 1, COALESCE(MAX(ordinal), 0) FROM logs;
