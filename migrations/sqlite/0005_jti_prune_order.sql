-- Used assertion ids are pruned in the order they were used, not by expiry alone.
--
-- An index on `expires_at` holds (expires_at, client_id, jti): the thousands of ids that expire
-- in the same second land at random places among each other, so under load every insert
-- rewrote a different index page. `prune_after` (unix milliseconds) is set at use to the later
-- of `expires_at` and the longest any accepted assertion must be kept from its use, which
-- grows with time: new index entries go at its end. Pruning still also requires `expires_at` to
-- have passed, so an id is never dropped earlier than before, not even one that a server of the
-- previous version records during a rolling upgrade (its `prune_after` is the default 0).

ALTER TABLE assertion_jtis ADD COLUMN prune_after BIGINT NOT NULL DEFAULT 0;
UPDATE assertion_jtis SET prune_after = expires_at * 1000;
DROP INDEX assertion_jtis_by_expiry;
-- `expires_at` rides along so that pruning finds its rows in the index alone.
CREATE INDEX assertion_jtis_by_prune_time ON assertion_jtis (prune_after, expires_at);
