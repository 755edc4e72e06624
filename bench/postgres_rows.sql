-- What PostgreSQL itself spends on the two rows of every token, inside one backend: no parsing,
-- no network, no TLS, no wait for the WAL flush (synchronous_commit is off for this session, so
-- the WAL writer flushes in the background). bench/postgres_rows.sh runs it with the search path
-- on a fresh schema (:schema) holding signet's own migrations, and passes :bare (a schema name
-- for copies of the tables without keys or indexes), :batches and :fill.
--
-- Each series writes :batches batches of 32 rows, one transaction each, as the replay guard
-- and the audit writer do under load, with the statements they send (store::replay and
-- store::logs); the `_heap` series send the same statements to the bare copies:
--   used_jti          assertion_jtis as signet writes it: keyed by the 64-bit digest of
--                     (client_id, jti), ON CONFLICT DO NOTHING RETURNING, the prune-order
--                     index; :fill ids already there.
--   used_jti_text     the same keyed by the two texts, as before migration 0012 (a variant).
--   used_jti_heap     the same rows into a copy of the table without key or index.
--   audit             logs as signet writes it: ordinals from log_ordinals, six B-trees.
--   audit_heap        the same rows into a copy of logs without key or index.
--   generate          building the batches alone; subtracted from each series.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET synchronous_commit = off;

CREATE TABLE used_jti_text (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    prune_after BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX used_jti_text_by_prune_time ON used_jti_text (prune_after, expires_at);
INSERT INTO used_jti_text (client_id, jti, expires_at, prune_after)
SELECT 'Xq3bTz9LmN2pR7sV4wY6aC8dF1gH5jK0', md5(g::text || random()::text), 4000000000,
       1700000000000 + g
FROM generate_series(1, :fill) AS g;
INSERT INTO assertion_jtis (digest, expires_at, prune_after)
SELECT ('x' || substr(jti, 1, 16))::bit(64)::bigint, expires_at, prune_after FROM used_jti_text;
CREATE SCHEMA :bare;
CREATE TABLE :bare.assertion_jtis (LIKE assertion_jtis);
CREATE TABLE :bare.logs (LIKE logs);
CREATE TABLE :bare.log_ordinals AS TABLE log_ordinals;
CREATE TABLE rows_timing (series TEXT NOT NULL, seconds DOUBLE PRECISION NOT NULL);
ANALYZE;

CREATE PROCEDURE write_rows(kind TEXT, series TEXT, batches INT) LANGUAGE plpgsql AS $$
DECLARE
    client CONSTANT TEXT := 'Xq3bTz9LmN2pR7sV4wY6aC8dF1gH5jK0';
    started TIMESTAMPTZ := clock_timestamp();
    ids TEXT[];
    keys BIGINT[];
    now_ms BIGINT;
    fresh INT;
BEGIN
    FOR i IN 1..batches LOOP
        now_ms := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
        IF kind = 'audit' THEN
            ids := ARRAY(SELECT 'log_' || lpad(now_ms::TEXT, 13, '0') || md5(random()::TEXT)
                         FROM generate_series(1, 32));
        ELSIF kind = 'used_jti' THEN
            keys := ARRAY(SELECT (random() * 9.2e18)::BIGINT FROM generate_series(1, 32));
        ELSE
            ids := ARRAY(SELECT md5(random()::TEXT) FROM generate_series(1, 32));
        END IF;
        IF kind = 'used_jti_text' THEN
            WITH inserted AS (
                INSERT INTO used_jti_text (client_id, jti, expires_at, prune_after)
                SELECT * FROM unnest(array_fill(client, ARRAY[32]), ids,
                                     array_fill(4000000000::BIGINT, ARRAY[32]),
                                     array_fill(now_ms + 300000, ARRAY[32]))
                ON CONFLICT DO NOTHING RETURNING client_id, jti)
            SELECT count(*) INTO fresh FROM inserted;
        ELSIF kind = 'used_jti' THEN
            WITH inserted AS (
                INSERT INTO assertion_jtis (digest, expires_at, prune_after)
                SELECT * FROM unnest(keys, array_fill(4000000000::BIGINT, ARRAY[32]),
                                     array_fill(now_ms + 300000, ARRAY[32]))
                ON CONFLICT DO NOTHING RETURNING digest)
            SELECT count(*) INTO fresh FROM inserted;
        ELSIF kind = 'audit' THEN
            WITH counter AS (
                UPDATE log_ordinals SET issued = issued + 32 WHERE id = 1 RETURNING issued)
            INSERT INTO logs (id, seq, date, type, description, client_id, client_name,
                              audience, scope, ip, user_agent, details, reason, ordinal)
            SELECT e.id, e.n, now_ms, 'seccft', 'Client Credentials for Access Token', client,
                   'Bench worker', 'https://billing.example.com/', 'read:invoices',
                   '127.0.0.1', 'wrk', '{"credential_id":"cred_0123456789abcdef"}', NULL,
                   counter.issued - 32 + e.n
            FROM counter, unnest(ids) WITH ORDINALITY AS e(id, n);
        END IF;
        COMMIT;
    END LOOP;
    INSERT INTO rows_timing VALUES (series, extract(epoch FROM clock_timestamp() - started));
    COMMIT;
END $$;

-- Each series twice, interleaved, the faster kept: the host's drift falls on all of them. The
-- `_heap` series find the bare copies first on the search path (PostgreSQL plans a procedure's
-- statements again when the search path changes).
SET bench.schema = :'schema';
SET bench.bare = :'bare';
SET bench.batches = :batches;
DO $$
DECLARE
    main CONSTANT TEXT := current_setting('bench.schema');
    bare CONSTANT TEXT := current_setting('bench.bare');
    batches CONSTANT INT := current_setting('bench.batches')::INT;
BEGIN
    FOR round IN 1..2 LOOP
        CALL write_rows('generate', 'generate', batches);
        CALL write_rows('used_jti', 'used_jti', batches);
        CALL write_rows('used_jti_text', 'used_jti_text', batches);
        CALL write_rows('audit', 'audit', batches);
        PERFORM set_config('search_path', quote_ident(bare) || ', ' || quote_ident(main), false);
        CALL write_rows('used_jti', 'used_jti_heap', batches);
        CALL write_rows('audit', 'audit_heap', batches);
        PERFORM set_config('search_path', quote_ident(main), false);
    END LOOP;
END $$;

\pset footer off
SELECT series,
       round(((min(seconds) - (SELECT min(seconds) FROM rows_timing WHERE series = 'generate'))
              / (:batches * 32) * 1e6)::NUMERIC, 1) AS "µs per row"
FROM rows_timing WHERE series <> 'generate'
GROUP BY series
ORDER BY array_position(ARRAY['used_jti', 'used_jti_text', 'used_jti_heap', 'audit',
                              'audit_heap'], series);
