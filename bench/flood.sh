#!/usr/bin/env bash
# Flood test: as many failing, unauthenticated token requests as this machine can send in 30 s,
# from one address, against the release server with its default limits. Checks, and exits
# non-zero unless all hold:
# - the server's resident memory stays under a fixed bound (FLOOD_MAX_RSS_MB, default 128)
#   and is back within FLOOD_RECOVERY_MB (default 16) of its idle size within 5 s after;
# - a legitimate application, calling from another address (127.0.0.2) every 100 ms, gets a
#   token every time during the flood;
# - the flood's refusals are 429s with Retry-After and X-RateLimit-Limit/Remaining/Reset;
# - the flood sent at least FLOOD_MIN_REQUESTS (default 200000) requests, so it was a flood;
# - the audit log holds a handful of counted events, not one row per request.
# The whole run, build excepted, takes about 40 s. CI runs it (.ci/run).
#
# Run from anywhere:   bench/flood.sh [--no-build] [--debug] [--duration 30] [--postgres URL]
#                                     [--without-address-limits]
# --debug floods the binary `cargo test` builds (target/debug/signet: its dependencies are
# optimized, signet's own code is not) instead of building a release one: CI uses it, since the
# bounds are about memory and fairness, not speed, and a release build would double CI's time.
# --without-address-limits turns the per-address token limits off, to show that memory and the
# audit log stay bounded on their own (the 429 checks are then skipped).
# Installs wrk, jq and curl when missing (apt-get); writes target/bench/flood.md and the raw
# output beside it.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
OUT_DIR="$ROOT/target/bench"
MAX_RSS_MB="${FLOOD_MAX_RSS_MB:-128}"
RECOVERY_MB="${FLOOD_RECOVERY_MB:-16}"
MIN_REQUESTS="${FLOOD_MIN_REQUESTS:-200000}"
DURATION=30
BUILD=1
PROFILE=release
POSTGRES_URL=""
ADDRESS_LIMITS=1

die() { echo "flood.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0; shift ;;
    --debug) PROFILE=debug; shift ;;
    --duration) DURATION="${2:?--duration needs seconds}"; shift 2 ;;
    --postgres) POSTGRES_URL="${2:?--postgres needs a URL}"; shift 2 ;;
    --without-address-limits) ADDRESS_LIMITS=0; shift ;;
    -h|--help) sed -n '2,/^$/{/^$/d; s/^# \{0,1\}//; p;}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 5 && "$DURATION" -le 120 ]] \
  || die "--duration must be 5 to 120 seconds"

need_package wrk wrk
need_package jq jq
need_package curl curl

if [ "$BUILD" = 1 ]; then
  echo "== building ($PROFILE)"
  profile_flag=""; [ "$PROFILE" = release ] && profile_flag="--release"
  (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build $profile_flag --locked --quiet --bin signet) \
    || die "build failed"
fi
SIGNET="$TARGET_DIR/$PROFILE/signet"
[ -x "$SIGNET" ] || die "$SIGNET is missing: build first (or drop --no-build)"

mkdir -p "$OUT_DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signet-flood.XXXXXX")"
SERVER_PID=""
PG_SCHEMA=""
BACKGROUND=()
cleanup() {
  for pid in "${BACKGROUND[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_server
  if [ -n "$PG_SCHEMA" ]; then
    psql "$POSTGRES_URL" -q -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DATABASE_URL="sqlite://$WORK/signet.db"
if [ -n "$POSTGRES_URL" ]; then
  PG_SCHEMA="signet_flood_$(openssl rand -hex 6)"
  psql "$POSTGRES_URL" -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA $PG_SCHEMA" >/dev/null \
    || { PG_SCHEMA=""; die "could not create a schema on $POSTGRES_URL"; }
  DATABASE_URL="$(schema_url "$POSTGRES_URL" "$PG_SCHEMA")"
fi

# ---- the server, with the product's default limits ----------------------------------------------
PORT="$(free_port)"
S="http://127.0.0.1:$PORT"
ISSUER="$S/"
BOOTSTRAP_ID="signet-flood-bootstrap"
BOOTSTRAP_SECRET="$(openssl rand -hex 24)"
LOG="$OUT_DIR/flood-server.log"
echo "== starting signet serve on $S"
if [ "$ADDRESS_LIMITS" = 0 ]; then
  export SIGNET_TOKEN_FAILURE_LIMIT_PER_ADDRESS=off SIGNET_TOKEN_RATE_LIMIT_PER_ADDRESS=off
  echo "   per-address token limits off"
fi
SIGNET_LISTEN="127.0.0.1:$PORT" SIGNET_ISSUER="$ISSUER" SIGNET_DATABASE_URL="$DATABASE_URL" \
  SIGNET_BOOTSTRAP_CLIENT_ID="$BOOTSTRAP_ID" SIGNET_BOOTSTRAP_CLIENT_SECRET="$BOOTSTRAP_SECRET" \
  SIGNET_MASTER_KEY="$(openssl rand -base64 32)" SIGNET_ADMIN_PASSWORD="$(openssl rand -hex 16)" \
  RUST_LOG="${RUST_LOG:-warn}" NO_COLOR=1 "$SIGNET" serve >"$LOG" 2>&1 &
SERVER_PID=$!
wait_until_up "$LOG"

management_token "$BOOTSTRAP_ID" "$BOOTSTRAP_SECRET" "$ISSUER"
AUDIENCE="https://legit.signet.example/"
api POST /api/v2/resource-servers "$(jq -nc --arg id "$AUDIENCE" \
  '{identifier: $id, name: "Flood test API", scopes: [{value: "read"}]}')" >/dev/null
APP="$(api POST /api/v2/clients '{"name": "Legitimate worker", "app_type": "non_interactive"}')"
APP_ID="$(echo "$APP" | jq -r .client_id)"
APP_SECRET="$(echo "$APP" | jq -r .client_secret)"
api POST /api/v2/client-grants "$(jq -nc --arg c "$APP_ID" --arg a "$AUDIENCE" \
  '{client_id: $c, audience: $a, scope: ["read"]}')" >/dev/null

legit_token() { # prints the status of one token request from 127.0.0.2
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 --interface 127.0.0.2 "$S/oauth/token" \
    --data-urlencode grant_type=client_credentials --data-urlencode "client_id=$APP_ID" \
    --data-urlencode "client_secret=$APP_SECRET" --data-urlencode "audience=$AUDIENCE" || echo 000
}
[ "$(legit_token)" = 200 ] || die "the legitimate application gets no token before the flood"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }
rss_detail() { grep -E "^(VmRSS|RssAnon|RssFile|RssShmem):" "/proc/$SERVER_PID/status" 2>/dev/null | tr -s " \t" " " | paste -sd " "; }
sleep 2
IDLE_KB="$(rss_kb)"
echo "   idle resident memory: $(( IDLE_KB / 1024 )) MB"

# ---- the flood -----------------------------------------------------------------------------------
RSS_LOG="$WORK/rss.txt"
( while kill -0 "$SERVER_PID" 2>/dev/null; do rss_kb >>"$RSS_LOG"; sleep 0.2; done ) &
BACKGROUND+=($!)
LEGIT_LOG="$WORK/legit.txt"
( end=$(( $(date +%s) + DURATION )); while [ "$(date +%s)" -lt "$end" ]; do
    legit_token >>"$LEGIT_LOG"; echo >>"$LEGIT_LOG"; sleep 0.1; done ) &
LEGIT_PID=$!
BACKGROUND+=("$LEGIT_PID")
PROBE="$WORK/probe.txt"
( sleep $(( DURATION / 2 ))
  curl -s -D "$PROBE" -o /dev/null --max-time 5 "$S/oauth/token" \
    --data-urlencode grant_type=client_credentials --data-urlencode client_id=probe-client-id \
    --data-urlencode client_secret=wrong --data-urlencode "audience=$AUDIENCE" ) &
BACKGROUND+=($!)

# 200 connections: the per-address connection cap (256) leaves room for the probe above.
echo "== flood: wrk, 2 threads, 200 connections, ${DURATION}s, from 127.0.0.1"
WRK_OUT="$OUT_DIR/flood-wrk.txt"
wrk -t2 -c200 -d"${DURATION}s" --timeout 5s -s "$ROOT/bench/wrk-flood.lua" "$S" >"$WRK_OUT" 2>&1 \
  || { cat "$WRK_OUT" >&2; die "wrk failed"; }
sed 's/^/   /' "$WRK_OUT"
END_DETAIL="$(rss_detail)"
wait "$LEGIT_PID" 2>/dev/null || true

# ---- after -----------------------------------------------------------------------------------------
RECOVERED_KB=""
for tenth in $(seq 1 50); do
  now_kb="$(rss_kb)"
  if [ "$now_kb" -le $(( IDLE_KB + RECOVERY_MB * 1024 )) ]; then
    RECOVERED_KB="$now_kb"; RECOVERED_AFTER="$(awk -v t="$tenth" 'BEGIN { printf "%.1f", t / 10 }')"
    break
  fi
  sleep 0.1
done
PEAK_KB="$(sort -n "$RSS_LOG" | tail -n 1)"
REQUESTS="$(awk '/requests in/ { print $1 }' "$WRK_OUT")"
LEGIT_TOTAL="$(grep -c . "$LEGIT_LOG" || true)"
LEGIT_OK="$(grep -c '^200$' "$LEGIT_LOG" || true)"
EVENTS="$(api GET '/api/v2/logs?per_page=1&include_totals=true' | jq .total)"
LIMITED_EVENTS="$(api GET '/api/v2/logs?type=api_limit&per_page=1&include_totals=true' | jq .total)"

FAILED=()
[ "$(( PEAK_KB / 1024 ))" -lt "$MAX_RSS_MB" ] \
  || FAILED+=("peak resident memory $(( PEAK_KB / 1024 )) MB, bound $MAX_RSS_MB MB")
[ -n "$RECOVERED_KB" ] \
  || FAILED+=("memory not back within $RECOVERY_MB MB of idle within 5 s (now $(( $(rss_kb) / 1024 )) MB)")
[ "${REQUESTS:-0}" -ge "$MIN_REQUESTS" ] \
  || FAILED+=("the flood sent ${REQUESTS:-0} requests, fewer than $MIN_REQUESTS")
[ "$LEGIT_TOTAL" -gt 0 ] && [ "$LEGIT_OK" = "$LEGIT_TOTAL" ] \
  || FAILED+=("the legitimate application got $LEGIT_OK tokens for $LEGIT_TOTAL requests")
if [ "$ADDRESS_LIMITS" = 1 ]; then
  for h in retry-after x-ratelimit-limit x-ratelimit-remaining x-ratelimit-reset; do
    grep -qi "^$h:" "$PROBE" 2>/dev/null || FAILED+=("the flood's 429 lacks $h")
  done
  grep -q '^HTTP/1.1 429' "$PROBE" 2>/dev/null || FAILED+=("the flooding address was not answered 429")
fi
[ "${EVENTS:-0}" -lt 1000 ] || FAILED+=("the audit log holds $EVENTS events after the flood")

REPORT="$OUT_DIR/flood.md"
{
  echo "# Flood test"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $PROFILE build, database $([ -n "$POSTGRES_URL" ] && echo PostgreSQL || echo SQLite), per-address token limits $([ "$ADDRESS_LIMITS" = 1 ] && echo on || echo off)."
  echo
  echo "| measure | value | bound |"
  echo "|---|---:|---:|"
  echo "| failing requests sent in ${DURATION} s (one address) | ${REQUESTS:-0} | >= $MIN_REQUESTS |"
  echo "| resident memory idle | $(( IDLE_KB / 1024 )) MB | |"
  echo "| resident memory peak | $(( PEAK_KB / 1024 )) MB | < $MAX_RSS_MB MB |"
  echo "| at the flood's end (kB) | $END_DETAIL | |"
  echo "| back within $RECOVERY_MB MB of idle after | ${RECOVERED_AFTER:-more than 5} s | <= 5 s |"
  echo "| legitimate tokens (from 127.0.0.2, every 100 ms) | $LEGIT_OK / $LEGIT_TOTAL | all |"
  echo "| audit events after the flood (all / api_limit) | $EVENTS / $LIMITED_EVENTS | < 1000 |"
  echo
  echo "The flooding address's 429:"
  echo
  echo '```'
  tr -d '\r' <"$PROBE" 2>/dev/null | grep -iE '^(HTTP|retry-after|x-ratelimit)' || echo "(no answer)"
  echo '```'
} >"$REPORT"
cat "$REPORT"
if [ "${#FAILED[@]}" -gt 0 ]; then
  printf 'flood.sh: FAILED: %s\n' "${FAILED[@]}" >&2
  exit 1
fi
echo "flood.sh: every bound held"
