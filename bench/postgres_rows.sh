#!/usr/bin/env bash
# What PostgreSQL itself spends on the two rows of every token (one used `jti`, one audit
# event), measured inside one backend with the statements signet sends, next to variants of
# the tables: the floor under PostgreSQL's share of a token's CPU, whatever signet does.
#
# Run from anywhere:   bench/postgres_rows.sh [--postgres URL] [--batches 2000] [--fill 100000]
#
# Creates a fresh schema `signet_rows_<random>` of the database (dropped at the end, with
# `signet_rows_<random>_bare` for copies of the tables without keys or indexes), applies
# signet's PostgreSQL migrations to it, puts --fill used ids in the used-`jti` table, then runs
# bench/postgres_rows.sql: each series writes --batches batches of 32 rows, one transaction
# per batch, twice and interleaved, and the faster of the two is kept. Prints µs per row of:
#   used_jti         the used-`jti` table as signet writes it (key: the 64-bit digest of
#                    (client_id, jti); ON CONFLICT DO NOTHING RETURNING; the prune-order index)
#   used_jti_text    the same rows keyed by the two texts, as before migration 0012 (a variant)
#   used_jti_heap    the same rows into a copy of the table without key or index
#   audit            the audit log as signet writes it (ordinals, six B-trees)
#   audit_heap       the same rows into a copy of the table without key or index
# The time is the backend's, from inside it: no parsing, planning (plpgsql keeps its plans),
# network, TLS or wait for the WAL flush, which bench/load.sh's "PostgreSQL's processes" column
# and `cargo bench --bench token_path -- durable_writes` (with SIGNET_BENCH_POSTGRES) include.
#
# Options:
#   --postgres URL   the database (default postgres://postgres@127.0.0.1:5432/test)
#   --batches N      batches of 32 rows per series and round (default 2000)
#   --fill N         used ids in the table before the first batch (default 100000)

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test"
BATCHES=2000
FILL=100000

die() { echo "postgres_rows.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) POSTGRES_URL="${2:?--postgres needs a URL}"; shift 2 ;;
    --batches) BATCHES="${2:?--batches needs a number}"; shift 2 ;;
    --fill) FILL="${2:?--fill needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,/^$/{/^$/d; s/^# \{0,1\}//; p;}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
for n in "$BATCHES" "$FILL"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "not a whole number: $n"
done
[ "$BATCHES" -ge 100 ] || die "--batches must be at least 100"
command -v psql >/dev/null 2>&1 || die "needs psql (apt-get install postgresql-client)"

SCHEMA="signet_rows_$(openssl rand -hex 6)"
cleanup() {
  psql "$POSTGRES_URL" -X -q -c "DROP SCHEMA IF EXISTS $SCHEMA, ${SCHEMA}_bare CASCADE" >/dev/null 2>&1 \
    || echo "postgres_rows.sh: could not drop schema $SCHEMA" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== schema $SCHEMA: signet's migrations, $FILL used ids, then $BATCHES batches of 32 per series and round"
{
  echo "\\set ON_ERROR_STOP 1"
  echo "SET client_min_messages = warning;"
  echo "CREATE SCHEMA $SCHEMA;"
  echo "SET search_path = $SCHEMA;"
  for migration in "$ROOT"/migrations/postgres/*.sql; do
    cat "$migration"
    echo
  done
  cat "$ROOT/bench/postgres_rows.sql"
} | psql "$POSTGRES_URL" -X -q -v schema="$SCHEMA" -v bare="${SCHEMA}_bare" \
  -v batches="$BATCHES" -v fill="$FILL" \
  || die "the measurement failed (see above)"
