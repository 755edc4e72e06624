-- Used assertion ids on PostgreSQL keyed by a 64-bit digest of (client_id, jti) instead of the
-- two texts (BEHAVIOUR B.6). Every token inserts one; with the random texts as its key each
-- insert descended and checked a B-tree of long keys, about 15 µs of PostgreSQL's CPU per id
-- against about 8 µs with a BIGINT key (bench/postgres_rows.sh), on the cores the token
-- endpoint needs.
--
-- The digest (store::replay::digest): the first 8 bytes, big-endian and signed, of SHA-256 over
-- the client_id's length in bytes (8 bytes, big-endian), the client_id and the jti, as UTF-8.
-- Two distinct ids with the same digest would make the second a replay, never the other way
-- round: about one chance in 10^13 per token with a million ids kept.
--
-- An older server still running beside this schema fails to record ids (the columns it writes
-- are gone) and answers server_error rather than accept an id it cannot check.

ALTER TABLE assertion_jtis RENAME TO assertion_jtis_by_text;
DROP INDEX assertion_jtis_by_prune_time;

CREATE TABLE assertion_jtis (
    digest BIGINT PRIMARY KEY,
    expires_at BIGINT NOT NULL,         -- unix seconds: exp + skew; kept at least until then
    prune_after BIGINT NOT NULL         -- unix milliseconds: pruned once past both
);
CREATE INDEX assertion_jtis_by_prune_time ON assertion_jtis (prune_after, expires_at);

INSERT INTO assertion_jtis (digest, expires_at, prune_after)
SELECT ('x' || encode(substr(sha256(
            int8send(octet_length(convert_to(client_id, 'UTF8'))::BIGINT)
            || convert_to(client_id, 'UTF8') || convert_to(jti, 'UTF8')), 1, 8), 'hex'))
            ::BIT(64)::BIGINT AS digest,
       MAX(expires_at), MAX(prune_after)
FROM assertion_jtis_by_text
GROUP BY 1;

DROP TABLE assertion_jtis_by_text;
