#!/usr/bin/env bash
# signet's own instructions per token, counted, not timed: a figure that stays the same on a
# host whose speed drifts, for judging a change to the token path.
#
# Run from anywhere:   bench/instructions.sh [--tokens 2000] [--connections 16] [--postgres URL]
#
# On a shared host the tokens/s and CPU per token of bench/load.sh drift with the neighbours
# (the RSA bound has been seen to move from 4,600 to 7,500 tokens/s within one run, and signet's
# own CPU per token from 29 to 111 us between two runs of one binary), so a change worth a few
# microseconds cannot be seen there. valgrind's callgrind counts the instructions a process
# runs instead: the same binary, inputs and load give the same count whatever else the machine
# does.
#
# What it does, all on this machine and only towards 127.0.0.1: installs valgrind and jq if
# missing (apt-get); builds the server and the examples with --release; starts `signet serve`
# under callgrind with a fresh SQLite database, creates an API, an application with one RS256
# credential and a grant (as bench/load.sh does), sends a warm-up of tokens, then counts the
# instructions of exactly --tokens token requests (curl, keeping its connections open, each pre-signed assertion used once);
# then does the same with bench/tools/rsa_ceiling.rs, the server that does one RSA verify and
# one sign per request and nothing else. Prints, per token: signet's instructions, the
# ceiling's, and the difference, signet's own; and the functions that cost signet the most
# instructions, self and with callees. Writes it as Markdown to target/bench/instructions.md,
# the callgrind files beside it (open them with callgrind_annotate or kcachegrind).
#
# What it does not count: the kernel (TCP, the futex wake-ups, SQLite's writes to its files),
# time lost to cache misses, and, with --postgres, PostgreSQL's own processes. bench/load.sh
# measures those; this counts the code.
# Under valgrind, aws-lc takes its portable RSA code (valgrind offers no AVX-512), the same for
# both servers, so the difference is unchanged.
#
# Options:
#   --tokens N          token requests counted (default 2000)
#   --warmup N          token requests sent first, not counted (default 300)
#   --connections C     connections the requests share (default 16)
#   --postgres URL      signet on a fresh schema `signet_instr_<random>` of this PostgreSQL
#                       database (dropped at the end) instead of SQLite
#   --no-build          use the binaries already built
#   --top N             functions listed (default 25)
# Environment: CARGO_TARGET_DIR (where the binaries are built).
# Exit status: 0 when every request got a token, 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOKENS=2000
WARMUP=300
CONNECTIONS=16
BUILD=1
TOP=25
POSTGRES_URL=""

die() { echo "instructions.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --tokens) TOKENS="${2:?--tokens needs a number}"; shift 2 ;;
    --warmup) WARMUP="${2:?--warmup needs a number}"; shift 2 ;;
    --postgres) POSTGRES_URL="${2:?--postgres needs a URL}"; shift 2 ;;
    --connections) CONNECTIONS="${2:?--connections needs a number}"; shift 2 ;;
    --top) TOP="${2:?--top needs a number}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,/^$/{/^$/d; s/^# \{0,1\}//; p;}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
for n in "$TOKENS" "$WARMUP" "$CONNECTIONS" "$TOP"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "not a whole number: $n"
done
[ "$TOKENS" -ge 100 ] || die "--tokens must be at least 100"
[ "$CONNECTIONS" -ge 1 ] || die "--connections must be at least 1"

need_package valgrind valgrind
need_package jq jq
for tool in curl openssl awk callgrind_control callgrind_annotate; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
build_release "$BUILD" presign rsa_ceiling
SIGNET="$TARGET_DIR/release/signet"
PRESIGN="$TARGET_DIR/release/examples/presign"
RSA_CEILING="$TARGET_DIR/release/examples/rsa_ceiling"

OUT_DIR="$TARGET_DIR/bench"
mkdir -p "$OUT_DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signet-instructions.XXXXXX")"
SERVER_PID=""
PG_SCHEMA=""
cleanup() {
  stop_server
  if [ -n "$PG_SCHEMA" ]; then
    psql "$POSTGRES_URL" -q -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE" >/dev/null 2>&1 \
      || echo "instructions.sh: could not drop schema $PG_SCHEMA" >&2
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

new_rsa_key
AUDIENCE="https://instructions.signet.example/"

# callgrind_for NAME: sets CG_OUT (NAME's callgrind file, removed) and CALLGRIND (the command
# that runs a server under callgrind into it, counting nothing until told).
callgrind_for() {
  CG_OUT="$OUT_DIR/callgrind-$1.out"
  rm -f "$CG_OUT"
  CALLGRIND=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$CG_OUT")
}

# wait_under_callgrind LOG-FILE: waits for $S/healthz of SERVER_PID, which valgrind runs.
wait_under_callgrind() {
  # Start under valgrind takes tens of times as long as without: up to 3 minutes.
  for _ in $(seq 1 1800); do
    curl -fsS --max-time 5 "$S/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 30 "$1" >&2
  die "the server did not answer /healthz under callgrind (log: $1)"
}

# send FILE: every assertion of FILE once, over up to $CONNECTIONS connections kept open; dies
# unless every request got a token. curl, not wrk: wrk runs for a duration, this sends a count.
send() {
  local url="$S/oauth/token"
  awk -v url="$url" -v aud="$AUDIENCE" '{
    if (NR > 1) print "next"
    printf "url = \"%s\"\ndata = \"grant_type=client_credentials\"\n", url
    print "data = \"client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\""
    printf "data = \"client_assertion=%s\"\ndata-urlencode = \"audience=%s\"\n", $0, aud
    print "output = \"/dev/null\"\nwrite-out = \"%{http_code}\\n\""
  }' "$1" >"$WORK/curl.cfg"
  curl -sS --no-progress-meter --parallel --parallel-max "$CONNECTIONS" --max-time 120 -K "$WORK/curl.cfg" \
    >"$WORK/codes.txt" 2>"$WORK/curl.err" || true
  local ok want
  ok="$(grep -c '^200$' "$WORK/codes.txt" || true)"
  want="$(wc -l <"$1")"
  [ "$ok" = "$want" ] || {
    sort "$WORK/codes.txt" | uniq -c >&2
    head -5 "$WORK/curl.err" >&2
    die "$ok of $want requests got a token"
  }
}

# count NAME ISSUER CLIENT-ID: the warm-up, then $TOKENS requests counted; sets IR (the
# instructions per token).
count() {
  local name="$1"
  "$PRESIGN" --issuer "$2" --client-id "$3" --key "$KEY" --count "$WARMUP" \
    --out "$WORK/warmup.txt" 2>&1 | sed 's/^/   /'
  "$PRESIGN" --issuer "$2" --client-id "$3" --key "$KEY" --count "$TOKENS" \
    --out "$WORK/counted.txt" 2>&1 | sed 's/^/   /'
  [ "$WARMUP" = 0 ] || send "$WORK/warmup.txt"
  callgrind_control -i on "$SERVER_PID" >/dev/null 2>&1
  send "$WORK/counted.txt"
  callgrind_control -i off "$SERVER_PID" >/dev/null 2>&1
  stop_server
  local total
  total="$(awk '/^totals:/ { print $2 }' "$CG_OUT")"
  [ -n "$total" ] || die "no total in $CG_OUT"
  IR=$(( total / TOKENS ))
  echo "   $name: $IR instructions per token"
}

DATABASE_URL="sqlite://$WORK/signet.db"
BACKEND=SQLite
if [ -n "$POSTGRES_URL" ]; then
  command -v psql >/dev/null 2>&1 || die "--postgres needs psql (apt-get install postgresql-client)"
  PG_SCHEMA="signet_instr_$(openssl rand -hex 6)"
  psql "$POSTGRES_URL" -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA $PG_SCHEMA" >/dev/null \
    || { PG_SCHEMA=""; die "could not create a schema on $POSTGRES_URL"; }
  DATABASE_URL="$(schema_url "$POSTGRES_URL" "$PG_SCHEMA")"
  BACKEND=PostgreSQL
fi

echo "== signet under callgrind ($BACKEND)"
BOOTSTRAP_ID="signet-instructions-bootstrap"
BOOTSTRAP_SECRET="$(openssl rand -hex 24)"
MASTER_KEY="$(openssl rand -base64 32)"
callgrind_for signet
start_bench_server "$SIGNET" "$DATABASE_URL" "$OUT_DIR/server-signet-callgrind.log" "${CALLGRIND[@]}"
wait_under_callgrind "$OUT_DIR/server-signet-callgrind.log"
management_token "$BOOTSTRAP_ID" "$BOOTSTRAP_SECRET" "$ISSUER"
key_client_tenant "Instruction count" "$AUDIENCE" read:load RS256
count signet "$ISSUER" "$CLIENT_ID"
SIGNET_IR="$IR"
SIGNET_CG="$CG_OUT"

echo "== ceiling under callgrind (bench/tools/rsa_ceiling.rs)"
PORT="$(free_port)"
S="http://127.0.0.1:$PORT"
callgrind_for ceiling
"${CALLGRIND[@]}" "$RSA_CEILING" --listen "127.0.0.1:$PORT" --public-key "$WORK/key.pub.pem" \
  >"$OUT_DIR/server-ceiling-callgrind.log" 2>&1 &
SERVER_PID=$!
wait_under_callgrind "$OUT_DIR/server-ceiling-callgrind.log"
count ceiling "$S/" ceiling
CEILING_IR="$IR"
CEILING_CG="$CG_OUT"

# own_by_function SIGNET-FILE CEILING-FILE: "| Ir per token | function |" rows, largest first:
# each function's self cost in signet less its self cost in the ceiling.
own_by_function() {
  local f
  for f in "$1" "$2"; do
    # Every function, with its file; the binary's name in brackets is left out, so that the
    # code both servers share has one name.
    callgrind_annotate --auto=no --threshold=100 "$f" 2>/dev/null \
      | awk 'match($0, /^ *[0-9,]+ \( *[0-9.]+%\)  /) {
               n = substr($0, 1, RLENGTH); name = substr($0, RLENGTH + 1)
               if (name ~ /^(=>|\*)/ || name !~ /:/ || name ~ /^PROGRAM TOTALS/) next
               sub(/ \(.*$/, "", n); gsub(/[ ,]/, "", n); sub(/ \[[^]]*\]$/, "", name)
               print n "\t" name }'
    echo "--"
  done | awk -F'\t' -v tokens="$TOKENS" '
    $0 == "--" { part++; next }
    part == 0 { signet[$2] += $1 }
    part == 1 { ceiling[$2] += $1 }
    END {
      for (f in signet) {
        d = (signet[f] - ceiling[f]) / tokens
        if (d >= 100) printf "%d\t%s\n", d, f
      }
    }' | sort -t$'\t' -k1,1nr | awk -F'\t' '{ printf "| %d | `%s` |\n", $1, $2 }'
}

OWN=$(( SIGNET_IR - CEILING_IR ))
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then COMMIT="$COMMIT (dirty)"; fi
REPORT="$OUT_DIR/instructions.md"
{
  echo "# Instructions per token (callgrind), commit $COMMIT, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$TOKENS token requests counted after $WARMUP not counted, $CONNECTIONS connections, $BACKEND."
  echo
  echo "| server | instructions per token |"
  echo "|---|---:|"
  echo "| signet | $SIGNET_IR |"
  echo "| ceiling (RSA verify + sign, nothing else) | $CEILING_IR |"
  echo "| **signet's own** | **$OWN** |"
  echo
  echo "## Where signet's own instructions go"
  echo
  echo "Per token, each function's own instructions (callees not included) in signet less the"
  echo "same function's in the ceiling; the RSA code they share cancels out."
  echo
  echo "| instructions per token | function |"
  echo "|---:|---|"
  # awk, not head: head would stop reading early, and pipefail would end the script.
  own_by_function "$SIGNET_CG" "$CEILING_CG" | awk -v n="$TOP" 'NR <= n'
} >"$REPORT"
echo
echo "signet's own instructions per token: $SIGNET_IR - $CEILING_IR (the ceiling's) = $OWN"
echo "Report: $REPORT"
