#!/usr/bin/env bash
# Soak test of POST /oauth/token with Private Key JWT: a long run at a fixed share of the peak,
# to show whether anything drifts over time (memory, database size, used-jti rows, latency).
#
# Run from anywhere:   bench/soak.sh [--duration 30m] [--fraction 0.7] [--postgres URL]
#
# What it does, all on this machine and only towards 127.0.0.1: installs jq and gnuplot
# (gnuplot-nox) if missing (apt-get); builds the server and bench/tools/soak_load.rs with
# --release; starts `signet serve` on a free loopback port with a fresh SQLite database in a temp
# dir (with --postgres: a fresh schema `signet_soak_<random>` of that database, dropped at the
# end), with the per-address and per-client rate limits set where they never bite; creates an
# RS256 API, an application with one Ed25519 (EdDSA) credential from a fresh
# `openssl genpkey -algorithm ed25519` key, and a client grant through the Management API.
# Unless given --peak, it finds the peak first: a warm-up, then --probe at --connections,
# unpaced, on a server of its own (so the soak's series start from an empty database). Then,
# on a fresh server, soak_load asks for fraction x peak tokens/s for --duration, signing each
# assertion as it sends it (Ed25519: microseconds of client CPU; the access tokens are RS256,
# so each still costs the server an assertion verify and an RSA-2048 signature).
#
# Every --interval it appends one row to target/bench/soak.tsv (tab-separated, `#` header):
#   elapsed_s tokens_per_s p99_ms errors rss_mb db_mb jti_rows audit_events p50_ms server_cpu
# rss_mb: the server's VmRSS; db_mb: SQLite's db + -wal + -shm files, or on PostgreSQL the
# schema's tables with their indexes and TOAST; jti_rows: used assertion ids kept against replay
# (PostgreSQL's table assertion_jtis, SQLite's log assertion_jti_log; pruned every 30 s once
# they could no longer be accepted, about 320 s
# after use, so the count levels off after about six minutes); audit_events: the `logs` table,
# one event per token, capped at SIGNET_LOG_MAX_EVENTS (1,000,000 by default), so the database
# levels off once the cap is reached; server_cpu: the server's CPU time per second (cores).
#
# At the end: target/bench/soak.png (bench/soak.gnuplot: tokens/s, latency, RSS, database size
# and rows against time) and target/bench/soak.md, also printed: per series the mean, minimum,
# maximum and least-squares slope (per hour, and as % of the series' mean per hour) over the
# steady part of the run, plus total tokens and errors. The steady part starts after
# --steady-after; by default after six minutes or, if later, a minute after the audit log is due
# to reach its cap at the soak's rate; never after half the run.
#
# Exit status: 0 when every request got a token and the rate held (steady mean >= 95 % of the
# target), 2 when the run completed without that, 1 when the script itself failed.
#
# Options:
#   --duration D       the soak (default 30m; s, m or h)
#   --fraction F       share of the peak to run at (default 0.7)
#   --peak N           the peak in tokens/s: skips the probe
#   --probe D          the unpaced run that finds the peak (default 20s, after a 5s warm-up)
#   --connections N    concurrent connections, probe and soak (default 64)
#   --interval S       seconds between rows (default 10)
#   --steady-after D   start of the steady part, for the slopes (default: see above)
#   --alg A            assertion algorithm: EdDSA (default) or RS256 (an RSA-2048 application
#                      key; the client then spends an RSA signature per token as well)
#   --postgres URL     run against PostgreSQL instead (e.g. postgres://postgres@127.0.0.1:5432/test)
#   --no-build         use the binaries already built
# Environment: CARGO_TARGET_DIR (where the binaries are built), RUST_LOG (server log filter),
# SIGNET_LOG_MAX_EVENTS (the server's audit log cap, passed on).

# `set -- $(stats N)` splits a row of figures into its fields on purpose.
# shellcheck disable=SC2086
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
OUT_DIR="$ROOT/target/bench"
TSV="$OUT_DIR/soak.tsv"
PNG="$OUT_DIR/soak.png"
REPORT="$OUT_DIR/soak.md"

DURATION="30m"
FRACTION="0.7"
PEAK=""
PROBE="20s"
WARMUP="5s"
CONNECTIONS=64
INTERVAL=10
STEADY_AFTER=""
ALG="EdDSA"
POSTGRES_URL=""
BUILD=1

die() { echo "soak.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="${2:?--duration needs a value}"; shift 2 ;;
    --fraction) FRACTION="${2:?--fraction needs a number}"; shift 2 ;;
    --peak) PEAK="${2:?--peak needs a number}"; shift 2 ;;
    --probe) PROBE="${2:?--probe needs a value}"; shift 2 ;;
    --connections) CONNECTIONS="${2:?--connections needs a number}"; shift 2 ;;
    --interval) INTERVAL="${2:?--interval needs seconds}"; shift 2 ;;
    --steady-after) STEADY_AFTER="${2:?--steady-after needs a value}"; shift 2 ;;
    --alg) ALG="${2:?--alg needs EdDSA or RS256}"; shift 2 ;;
    --postgres) POSTGRES_URL="${2:?--postgres needs a URL}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,/^$/{/^$/d; s/^# \{0,1\}//; p;}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

is_count() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ]; }
DURATION_S="$(seconds "$DURATION")"
PROBE_S="$(seconds "$PROBE")"
WARMUP_S="$(seconds "$WARMUP")"
is_count "$DURATION_S" || die "--duration must be a positive whole number of s, m or h"
is_count "$PROBE_S" || die "--probe must be a positive whole number of s, m or h"
is_count "$INTERVAL" || die "--interval must be a positive whole number of seconds"
is_count "$CONNECTIONS" || die "--connections must be a positive number"
[ "$DURATION_S" -ge $(( 3 * INTERVAL )) ] || die "--duration must cover at least three intervals"
[[ "$FRACTION" =~ ^(0(\.[0-9]+)?|1(\.0+)?)$ ]] && awk -v f="$FRACTION" 'BEGIN { exit !(f > 0) }' \
  || die "--fraction must be a number above 0, at most 1"
[ -z "$PEAK" ] || [[ "$PEAK" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--peak must be a number (tokens/s)"
if [ -n "$STEADY_AFTER" ]; then
  STEADY_AFTER="$(seconds "$STEADY_AFTER")"
  [[ "$STEADY_AFTER" =~ ^[0-9]+$ && "$STEADY_AFTER" -lt "$DURATION_S" ]] \
    || die "--steady-after must be shorter than --duration"
fi
case "$ALG" in EdDSA|RS256) ;; *) die "--alg must be EdDSA or RS256" ;; esac
LOG_MAX_EVENTS="${SIGNET_LOG_MAX_EVENTS:-1000000}"

# ---- tools ----------------------------------------------------------------------------------
need_package jq jq
need_package gnuplot gnuplot-nox
for tool in curl openssl awk; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
if [ -n "$POSTGRES_URL" ]; then
  command -v psql >/dev/null 2>&1 || die "--postgres needs psql (apt-get install postgresql-client)"
elif ! command -v python3 >/dev/null 2>&1 && ! command -v sqlite3 >/dev/null 2>&1; then
  need_package sqlite3 sqlite3
fi

# ---- build ----------------------------------------------------------------------------------
build_release "$BUILD" soak_load
SIGNET="$TARGET_DIR/release/signet"
SOAK_LOAD="$TARGET_DIR/release/examples/soak_load"

mkdir -p "$OUT_DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signet-soak.XXXXXX")"
SERVER_PID=""
PG_SCHEMAS=()

cleanup() {
  stop_server
  local schema
  for schema in "${PG_SCHEMAS[@]}"; do
    psql "$POSTGRES_URL" -q -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS $schema CASCADE" \
      >/dev/null 2>&1 || echo "soak.sh: could not drop schema $schema" >&2
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- server ------------------------------------------------------------------------------------
BOOTSTRAP_ID="signet-soak-bootstrap"
BOOTSTRAP_SECRET="$(openssl rand -hex 24)"
MASTER_KEY="$(openssl rand -base64 32)"

# start_server NAME LOG-FILE: a server on a fresh database; sets S, ISSUER, SERVER_PID, and
# DB_FILE (SQLite) or PG_SCHEMA (PostgreSQL).
start_server() {
  local url
  DB_FILE=""
  PG_SCHEMA=""
  if [ -n "$POSTGRES_URL" ]; then
    PG_SCHEMA="signet_soak_$(openssl rand -hex 6)"
    psql "$POSTGRES_URL" -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA $PG_SCHEMA" >/dev/null \
      || die "could not create a schema on $POSTGRES_URL"
    PG_SCHEMAS+=("$PG_SCHEMA")
    url="$(schema_url "$POSTGRES_URL" "$PG_SCHEMA")"
  else
    DB_FILE="$WORK/$1.db"
    url="sqlite://$DB_FILE"
  fi
  start_bench_server "$SIGNET" "$url" "$2"
  wait_until_up "$2"
}

# The application's key, made once: both servers register the same public key.
KEY="$WORK/key.pem"
if [ "$ALG" = EdDSA ]; then
  openssl genpkey -algorithm ed25519 -out "$KEY" 2>/dev/null
else
  openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$KEY" 2>/dev/null
fi
openssl pkey -in "$KEY" -pubout -out "$WORK/key.pub.pem" 2>/dev/null || die "openssl failed"

# Creates the RS256 API, the application with its credential and the grant; sets CLIENT_ID
# and AUDIENCE.
set_up_tenant() {
  management_token "$BOOTSTRAP_ID" "$BOOTSTRAP_SECRET" "$ISSUER"
  AUDIENCE="https://soak-test.signet.example/"
  key_client_tenant "Soak test" "$AUDIENCE" read:soak "$ALG"
}

# soak_load RATE SECONDS INTERVAL: the load generator against the server started last.
soak_load() {
  "$SOAK_LOAD" --url "$S" --issuer "$ISSUER" --client-id "$CLIENT_ID" --key "$KEY" \
    --alg "$ALG" --audience "$AUDIENCE" --connections "$CONNECTIONS" --rate "$1" \
    --duration "${2}s" --interval "${3}s"
}

# field NAME: the value of NAME=... in the line on stdin.
field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }

server_cpu_ticks() { cpu_ticks_of "$SERVER_PID"; }
rss_mb() {
  awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024; found = 1 } END { if (!found) print 0 }' \
    "/proc/$SERVER_PID/status" 2>/dev/null || echo 0
}
db_mb() {
  if [ -n "$PG_SCHEMA" ]; then
    psql "$POSTGRES_URL" -qAt -c "SELECT round(COALESCE(sum(pg_total_relation_size(c.oid)), 0)
      / 1048576.0, 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = '$PG_SCHEMA' AND c.relkind IN ('r', 'm')" 2>/dev/null || echo 0
  else
    local f total=0
    for f in "$DB_FILE" "$DB_FILE-wal" "$DB_FILE-shm"; do
      [ -f "$f" ] && total=$(( total + $(stat -c %s "$f") ))
    done
    awk -v b="$total" 'BEGIN { printf "%.1f\n", b / 1048576 }'
  fi
}
# row_counts: "jti_rows audit_events", read-only and beside the server's own connections.
count_sql() { # TABLE_OF_USED_IDS [SCHEMA.]
  echo "SELECT (SELECT count(*) FROM ${2:-}$1), (SELECT count(*) FROM ${2:-}logs)"
}
COUNT_SQL="$(count_sql assertion_jti_log)"
row_counts() {
  local out
  if [ -n "$PG_SCHEMA" ]; then
    out="$(psql "$POSTGRES_URL" -qAt -F ' ' -c "$(count_sql assertion_jtis "$PG_SCHEMA.")" 2>/dev/null)" \
      || out=""
  elif command -v python3 >/dev/null 2>&1; then
    out="$(python3 - "$DB_FILE" "$COUNT_SQL" 2>/dev/null <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=5)
print(*db.execute(sys.argv[2]).fetchone())
EOF
)" || out=""
  else
    out="$(sqlite3 -readonly -cmd '.timeout 5000' -separator ' ' "$DB_FILE" "$COUNT_SQL" \
      2>/dev/null)" || out=""
  fi
  [[ "$out" =~ ^[0-9]+\ [0-9]+$ ]] && echo "$out" || echo "0 0"
}

# ---- peak --------------------------------------------------------------------------------------
PROBE_ERRORS=0
if [ -z "$PEAK" ]; then
  echo "== peak: starting signet serve"
  start_server probe "$OUT_DIR/soak-server-probe.log"
  echo "   listening on $S (log: $OUT_DIR/soak-server-probe.log)"
  set_up_tenant
  echo "== peak: ${WARMUP_S}s warm-up, then ${PROBE_S}s unpaced at $CONNECTIONS connections"
  soak_load 0 "$WARMUP_S" "$WARMUP_S" >"$OUT_DIR/soak-warmup.txt" \
    || die "soak_load failed in the warm-up"
  soak_load 0 "$PROBE_S" 5 >"$OUT_DIR/soak-peak.txt" || die "soak_load failed in the peak probe"
  sed 's/^/   /' "$OUT_DIR/soak-peak.txt"
  line="$(grep '^total ' "$OUT_DIR/soak-peak.txt")" || die "soak_load printed no total"
  PEAK="$(echo "$line" | field tokens_per_s)"
  PROBE_ERRORS="$(echo "$line" | field errors)"
  stop_server
  [ -z "$DB_FILE" ] || rm -f "$DB_FILE" "$DB_FILE-wal" "$DB_FILE-shm"
  [ "$PROBE_ERRORS" = 0 ] || echo "   !! $PROBE_ERRORS request(s) failed in the peak probe"
  PEAK_NOTE="measured: ${PROBE_S}s unpaced at $CONNECTIONS connections after a ${WARMUP_S}s warm-up"
else
  PEAK_NOTE="given with --peak"
fi
RATE="$(awk -v p="$PEAK" -v f="$FRACTION" 'BEGIN { printf "%d\n", p * f + 0.5 }')"
[ "$RATE" -ge 1 ] || die "the peak ($PEAK tokens/s) leaves no rate to soak at"

# The steady part: the used-jti count levels off once the first ids are pruned (about 320 s
# after use, pruned every 30 s), the database once the audit log reaches its cap.
if [ -z "$STEADY_AFTER" ]; then
  STEADY_AFTER="$(awk -v cap="$LOG_MAX_EVENTS" -v r="$RATE" 'BEGIN {
    s = cap / r + 60; if (s < 360) s = 360; printf "%d\n", s }')"
  STEADY_WHY="the later of six minutes, when the used-jti rows level off, and a minute after the audit log reaches its cap of $LOG_MAX_EVENTS events at this rate, when the database size does"
  if [ "$STEADY_AFTER" -gt $(( DURATION_S / 2 )) ]; then
    STEADY_AFTER=$(( DURATION_S / 2 ))
    STEADY_WHY="the second half of the run: too short for the tables to level off first"
  fi
else
  STEADY_WHY="set with --steady-after"
fi

# ---- soak --------------------------------------------------------------------------------------
echo "== soak: starting signet serve"
start_server soak "$OUT_DIR/soak-server.log"
echo "   listening on $S (log: $OUT_DIR/soak-server.log)"
set_up_tenant
echo "== soak: $RATE tokens/s ($FRACTION x peak $PEAK) for ${DURATION_S}s, $CONNECTIONS connections, a row every ${INTERVAL}s"
printf '#elapsed_s\ttokens_per_s\tp99_ms\terrors\trss_mb\tdb_mb\tjti_rows\taudit_events\tp50_ms\tserver_cpu\n' >"$TSV"
printf '%8s %9s %8s %7s %8s %8s %9s %9s %6s\n' elapsed tokens/s p99_ms errors rss_mb db_mb \
  jti_rows audit cpu
# Each line of soak_load ends an interval: the server's figures are sampled right then, so a
# row's columns describe the same moment.
CPU_BEFORE="$(server_cpu_ticks)"
SOAK_STATUS=0
soak_load "$RATE" "$DURATION_S" "$INTERVAL" 2>"$OUT_DIR/soak-load.err" \
  | tee "$OUT_DIR/soak-load.txt" | {
  last=0
  while read -r kind rest; do
    [ "$kind" = interval ] || continue
    elapsed="$(echo "$rest" | field elapsed_s)"
    cpu_now="$(server_cpu_ticks)"
    cpu="$(awk -v t="$(( cpu_now - CPU_BEFORE ))" -v hz="$CLK_TCK" -v a="$elapsed" -v b="$last" \
      'BEGIN { s = a - b; printf "%.2f\n", (s > 0 ? t / hz / s : 0) }')"
    CPU_BEFORE="$cpu_now"
    last="$elapsed"
    read -r jti audit <<<"$(row_counts)"
    row="$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$elapsed" \
      "$(echo "$rest" | field tokens_per_s)" "$(echo "$rest" | field p99_ms)" \
      "$(echo "$rest" | field errors)" "$(rss_mb)" "$(db_mb)" "$jti" "$audit" \
      "$(echo "$rest" | field p50_ms)" "$cpu")"
    printf '%s\n' "$row" >>"$TSV"
    printf '%8s %9s %8s %7s %8s %8s %9s %9s %6s\n' $(echo "$row" | cut -f1-8,10)
  done
} || SOAK_STATUS=$?
SERVER_ALIVE=1
kill -0 "$SERVER_PID" 2>/dev/null || SERVER_ALIVE=0
stop_server
if [ -s "$OUT_DIR/soak-load.err" ]; then sed 's/^/   /' "$OUT_DIR/soak-load.err"; fi
[ "$SOAK_STATUS" = 0 ] || die "soak_load failed (status $SOAK_STATUS; see $OUT_DIR/soak-load.err)"
[ "$SERVER_ALIVE" = 1 ] || die "the server exited during the soak (log: $OUT_DIR/soak-server.log)"
TOTAL="$(grep '^total ' "$OUT_DIR/soak-load.txt")" || die "soak_load printed no total"
TOTAL_OK="$(echo "$TOTAL" | field ok)"
TOTAL_ERRORS="$(echo "$TOTAL" | field errors)"

# ---- plot --------------------------------------------------------------------------------------
TERMINAL=png
if gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1; then TERMINAL=pngcairo; fi
gnuplot -e "tsv='$TSV'; png='$PNG'; term='$TERMINAL'; steady=$STEADY_AFTER; target=$RATE;
  subtitle='$RATE tokens/s ($FRACTION x peak $PEAK), $ALG assertions, RS256 tokens, $CONNECTIONS connections, ${POSTGRES_URL:+PostgreSQL}${POSTGRES_URL:-SQLite}'" \
  "$ROOT/bench/soak.gnuplot" || die "gnuplot failed"

# ---- slopes ------------------------------------------------------------------------------------
# Per series over the steady rows: n, mean, min, max, least-squares slope per hour and that
# slope as % of the mean per hour.
stats() { # COLUMN
  awk -F '\t' -v c="$1" -v from="$STEADY_AFTER" '
    /^#/ || $1 < from { next }
    { x = $1; y = $c; n++; sx += x; sy += y; sxx += x * x; sxy += x * y
      if (n == 1 || y < lo) lo = y; if (n == 1 || y > hi) hi = y }
    END {
      if (n < 2) { print "- - - - - -"; exit }
      mean = sy / n; d = n * sxx - sx * sx
      slope = d > 0 ? 3600 * (n * sxy - sx * sy) / d : 0
      pct = mean != 0 ? sprintf("%+.1f", 100 * slope / mean) : "-"
      printf "%d %s %s %s %s %s\n", n, f(mean), f(lo), f(hi), (slope >= 0 ? "+" : "") f(slope), pct
    }
    # Row counts and rates need no decimals, milliseconds and megabytes two.
    function f(v) { return sprintf(v >= 1000 || v <= -1000 ? "%.0f" : "%.2f", v) }' "$TSV"
}
STEADY_MEAN_RATE="$(stats 2 | awk '{ print $2 }')"
RATE_HELD="$(awk -v m="$STEADY_MEAN_RATE" -v r="$RATE" 'BEGIN { print (m + 0 >= 0.95 * r) ? 1 : 0 }')"

CPU_MODEL="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then COMMIT="$COMMIT (dirty)"; fi
{
  echo "# Token endpoint soak test (Private Key JWT)"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, ${CPU_MODEL:-unknown CPU}," \
    "$(nproc) cores; ${POSTGRES_URL:+PostgreSQL}${POSTGRES_URL:-SQLite}; server log level ${RUST_LOG:-info}."
  echo
  echo "$RATE tokens/s asked for ${DURATION_S} s ($FRACTION x a peak of $PEAK tokens/s, $PEAK_NOTE)," \
    "$CONNECTIONS connections, each assertion $ALG-signed as it was sent and used once; RS256 access" \
    "tokens. One row every ${INTERVAL} s: \`target/bench/soak.tsv\`; plot: \`target/bench/soak.png\`."
  echo
  echo "Steady part: from ${STEADY_AFTER} s on ($STEADY_WHY). Mean, minimum, maximum and" \
    "least-squares slope over it:"
  echo
  echo "| series | rows | mean | min | max | slope per hour | slope, % of mean per hour |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for spec in "2:tokens/s" "9:p50 latency (ms)" "3:p99 latency (ms)" "5:server RSS (MB)" \
    "6:database size (MB)" "7:used-jti rows" "8:audit events" "10:server CPU (cores)"; do
    set -- $(stats "${spec%%:*}")
    echo "| ${spec#*:} | $1 | $2 | $3 | $4 | $5 | $6 % |"
  done
  echo
  echo "Tokens issued: $TOTAL_OK; errors (non-200 responses, transport failures, timeouts):" \
    "$TOTAL_ERRORS$([ "$PROBE_ERRORS" = 0 ] || echo "; in the peak probe: $PROBE_ERRORS")."
  if [ "$RATE_HELD" = 1 ]; then
    echo "Rate held: the steady mean is at least 95 % of the $RATE tokens/s asked."
  else
    echo "Rate NOT held: the steady mean, $STEADY_MEAN_RATE tokens/s, is under 95 % of the $RATE asked."
  fi
  if [ "$TOTAL_ERRORS" != 0 ]; then
    echo
    echo "The first errors, as soak_load described them:"
    echo
    sed -n 's/^soak_load: error: /- /p' "$OUT_DIR/soak-load.err"
  fi
} >"$REPORT"

echo
cat "$REPORT"
echo
echo "Report: $REPORT; rows: $TSV; plot: $PNG"
if [ "$TOTAL_ERRORS" != 0 ] || [ "$PROBE_ERRORS" != 0 ] || [ "$RATE_HELD" != 1 ]; then
  echo "!! The soak did not pass: see the errors and the rate above" >&2
  exit 2
fi
