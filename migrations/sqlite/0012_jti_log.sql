-- Used assertion ids on SQLite: each server keeps them in memory and checks them there, and
-- appends them here, in the order they are used, for restarts and for other servers on the same
-- file (BEHAVIOUR B.6).
--
-- The table keyed by (client_id, jti) made every new id dirty a random page of its B-tree, and
-- every pruned one again: under load about one page written to the log per token, most of the
-- database's cost per token. Here new ids go at the end and pruning takes them from the start.
-- AUTOINCREMENT: ids are never reused, so a server that has read up to some id knows that every
-- row it has not yet read has a higher one, even after the table was pruned empty.

CREATE TABLE assertion_jti_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,         -- unix seconds: kept at least until then
    prune_after BIGINT NOT NULL         -- unix milliseconds: pruned once past both
);
INSERT INTO assertion_jti_log (client_id, jti, expires_at, prune_after)
    SELECT client_id, jti, expires_at, prune_after FROM assertion_jtis
    ORDER BY prune_after, expires_at;
DROP TABLE assertion_jtis;
