#!/usr/bin/env bash
# Side-by-side load test of the token endpoint: signet, node-oidc-provider (bench/node-oidc/)
# and the ceiling (bench/tools/rsa_ceiling.rs: HTTP plus one RSA verify and one RSA sign per
# request, nothing else), with the same client, key, assertions and load generator.
#
# Run from anywhere:   bench/compare.sh [--duration 10s] [--rounds 3] [--connections "16 64"]
#
# What it does, all on this machine and only towards 127.0.0.1: installs wrk and jq if missing
# (apt-get); builds the server and the examples with --release; runs `npm ci` in
# bench/node-oidc when its node_modules is missing or holds another oidc-provider; starts
# `signet serve` (fresh SQLite database in a temp dir) and creates an RS256 API, an application
# with one RS256 public key credential and a grant; starts node-oidc-provider with one client
# holding the same public key, and the ceiling. Then, once per server: one token request whose
# access token must be a JWT signed RS256 for the API with the scope read:load, the same
# assertion again, which must be refused, a warm-up, and that assertion once more, which must
# still be refused after the thousands of newer ones of the warm-up. Then the rounds: per round
# and per connection count, signet, node-oidc-provider and the ceiling in turn, each with
# freshly pre-signed assertions (bench/tools/presign.rs), each used once.
#
# Prints one table (per server and connection count: median tokens/s over the rounds and the
# range, median p50 and p99, failed requests, server CPU per token, % of the ceiling) and
# writes it as Markdown to target/bench/compare.md; raw wrk output and server logs go beside it
# (compare-*). Exit status: 0 when every request got a token, 2 when the runs completed but
# some requests failed, 1 when the script itself failed.
#
# Without node and npm on the PATH (or with --no-node) it measures signet and the ceiling only.
#
# Options:
#   --duration D        wrk duration of each measured run (default 10s; at most 240s, since a
#                       pre-signed assertion lives 290 s)
#   --rounds N          rounds of runs (default 3); the table shows the median over them
#   --connections LIST  measured connection counts (default "16 64")
#   --warmup D          the one warm-up per server, at 16 connections (default 5s, at least 1s;
#                       Node.js needs a few thousand requests before V8 has optimised its code)
#   --no-build          use the binaries already built
#   --no-node           skip node-oidc-provider
# Environment: CARGO_TARGET_DIR (where the binaries are built), RUST_LOG (signet's log filter).

# A row of results is split into its fields with `set -- $row` on purpose.
# shellcheck disable=SC2086
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
OUT_DIR="$ROOT/target/bench"
REPORT="$OUT_DIR/compare.md"
NODE_DIR="$ROOT/bench/node-oidc"

DURATION="10s"
WARMUP="5s"
ROUNDS=3
CONNECTIONS="16 64"
BUILD=1
USE_NODE=1
# Assertions per run = the fastest rate seen from that server x duration x MARGIN + 1000.
MARGIN="1.5"

die() { echo "compare.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="${2:?--duration needs a value}"; shift 2 ;;
    --rounds) ROUNDS="${2:?--rounds needs a number}"; shift 2 ;;
    --connections) CONNECTIONS="${2:?--connections needs a list}"; shift 2 ;;
    --warmup) WARMUP="${2:?--warmup needs a value}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-node) USE_NODE=0; shift ;;
    -h|--help) sed -n '2,/^$/{/^$/d; s/^# \{0,1\}//; p;}' "$0"; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

DURATION_S="$(seconds "$DURATION")"
WARMUP_S="$(seconds "$WARMUP")"
[[ "$DURATION_S" =~ ^[0-9]+$ && "$DURATION_S" -ge 1 && "$DURATION_S" -le 240 ]] \
  || die "--duration must be 1s to 240s (assertions expire 290 s after they are signed)"
# The warm-up is also what the late replay check counts on: thousands of newer assertions.
[[ "$WARMUP_S" =~ ^[0-9]+$ && "$WARMUP_S" -ge 1 && "$WARMUP_S" -le 240 ]] \
  || die "--warmup must be 1s to 240s"
[[ "$ROUNDS" =~ ^[0-9]+$ && "$ROUNDS" -ge 1 ]] || die "--rounds must be a positive number"
[ -n "${CONNECTIONS// /}" ] || die "--connections: empty list"
for c in $CONNECTIONS; do
  [[ "$c" =~ ^[0-9]+$ && "$c" -ge 1 ]] || die "--connections: not a positive number: $c"
done

# ---- tools ----------------------------------------------------------------------------------
need_package wrk wrk
need_package jq jq
for tool in curl openssl awk base64; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
if [ "$USE_NODE" = 1 ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
  echo
  echo "!! node and npm are not both on the PATH: node-oidc-provider is NOT measured,"
  echo "!! only signet and the ceiling (install Node.js >= 20.19 to compare)."
  echo
  USE_NODE=0
fi

# ---- build ----------------------------------------------------------------------------------
build_release "$BUILD" presign rsa_ceiling
SIGNET="$TARGET_DIR/release/signet"
PRESIGN="$TARGET_DIR/release/examples/presign"
RSA_CEILING="$TARGET_DIR/release/examples/rsa_ceiling"

OIDC_PROVIDER_PIN=""
if [ "$USE_NODE" = 1 ]; then
  OIDC_PROVIDER_PIN="$(jq -r '.dependencies["oidc-provider"]' "$NODE_DIR/package.json")"
  installed="$(jq -r .version "$NODE_DIR/node_modules/oidc-provider/package.json" 2>/dev/null || true)"
  if [ "$installed" != "$OIDC_PROVIDER_PIN" ]; then
    echo "== npm ci in bench/node-oidc (oidc-provider $OIDC_PROVIDER_PIN)"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  fi
fi

mkdir -p "$OUT_DIR"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/compare.XXXXXX")"
SERVER_PID=""

# Each server's address, process, the `aud` its assertions carry, and the form field that names
# the API (signet follows Auth0's `audience`; node-oidc-provider follows RFC 8707's `resource`).
declare -A URL PID ISSUER PARAM LABEL RATE_SEEN CHECK_ASSERTION
LABEL[signet]="signet"
LABEL[node]="node-oidc-provider"
LABEL[ceiling]="ceiling"
SERVERS="signet"
[ "$USE_NODE" = 1 ] && SERVERS="$SERVERS node"
SERVERS="$SERVERS ceiling"

stop_named() { # server
  SERVER_PID="${PID[$1]:-}"
  stop_server
  PID[$1]=""
}

cleanup() {
  for name in signet node ceiling; do stop_named "$name"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LOADAVG="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"

# ---- servers --------------------------------------------------------------------------------
# One application from one address is the whole load here, above the server's default limits
# per address and per client; the limits stay on the measured path, set where they never bite
# (as in bench/load.sh).
LOAD_RATE_LIMIT="1000000/s"
BOOTSTRAP_ID="signet-bench-bootstrap"
BOOTSTRAP_SECRET="$(openssl rand -hex 24)"
MASTER_KEY="$(openssl rand -base64 32)"
AUDIENCE="https://load-test.signet.example/"
SCOPE="read:load"

# Sets S and SERVER_PID, the globals lib.sh's helpers use, to the named server.
use_server() { S="${URL[$1]}"; SERVER_PID="${PID[$1]}"; }

start_signet() {
  local port log="$OUT_DIR/compare-server-signet.log"
  port="$(free_port)"
  URL[signet]="http://127.0.0.1:$port"
  ISSUER[signet]="${URL[signet]}/"
  PARAM[signet]="audience"
  SIGNET_LISTEN="127.0.0.1:$port" SIGNET_ISSUER="${ISSUER[signet]}" \
    SIGNET_DATABASE_URL="sqlite://$WORK/signet.db" \
    SIGNET_BOOTSTRAP_CLIENT_ID="$BOOTSTRAP_ID" SIGNET_BOOTSTRAP_CLIENT_SECRET="$BOOTSTRAP_SECRET" \
    SIGNET_MASTER_KEY="$MASTER_KEY" SIGNET_MASTER_KEY_FILE="$WORK/signet.key" \
    SIGNET_TOKEN_RATE_LIMIT_PER_ADDRESS="$LOAD_RATE_LIMIT" \
    SIGNET_TOKEN_RATE_LIMIT_PER_CLIENT="$LOAD_RATE_LIMIT" \
    RUST_LOG="${RUST_LOG:-info}" NO_COLOR=1 \
    "$SIGNET" serve >"$log" 2>&1 &
  PID[signet]=$!
  use_server signet
  wait_until_up "$log"
  echo "   signet listening on ${URL[signet]} (log: $log)"
}

# The tenant of bench/load.sh's RS256 runs; sets CLIENT_ID and KEY.
set_up_tenant() {
  use_server signet
  management_token "$BOOTSTRAP_ID" "$BOOTSTRAP_SECRET" "${ISSUER[signet]}"
  new_rsa_key
  key_client_tenant "Load test" "$AUDIENCE" "$SCOPE" RS256
}

# The same client id and public key as signet's application, so both servers get assertions of
# the same shape and size from the same key.
start_node() {
  local port log="$OUT_DIR/compare-server-node.log"
  port="$(free_port)"
  URL[node]="http://127.0.0.1:$port"
  # node-oidc-provider accepts its issuer or its token endpoint's URL as `aud`, exactly.
  ISSUER[node]="${URL[node]}"
  PARAM[node]="resource"
  NODE_ENV=production BENCH_PORT="$port" BENCH_ISSUER="${ISSUER[node]}" \
    BENCH_CLIENT_ID="$CLIENT_ID" BENCH_CLIENT_KEY="$WORK/key.pub.pem" BENCH_AUDIENCE="$AUDIENCE" \
    node "$NODE_DIR/server.mjs" >"$log" 2>&1 &
  PID[node]=$!
  use_server node
  wait_until_up "$log"
  echo "   node-oidc-provider listening on ${URL[node]}, one process (log: $log)"
}

start_ceiling() {
  local port log="$OUT_DIR/compare-server-ceiling.log"
  port="$(free_port)"
  URL[ceiling]="http://127.0.0.1:$port"
  # The ceiling checks the signature only: any `aud` does.
  ISSUER[ceiling]="${URL[ceiling]}/"
  PARAM[ceiling]="audience"
  "$RSA_CEILING" --listen "127.0.0.1:$port" --public-key "$WORK/key.pub.pem" >"$log" 2>&1 &
  PID[ceiling]=$!
  use_server ceiling
  wait_until_up "$log"
  echo "   ceiling listening on ${URL[ceiling]}"
}

presign() { # server count file
  "$PRESIGN" --issuer "${ISSUER[$1]}" --client-id "$CLIENT_ID" --key "$KEY" \
    --count "$2" --out "$3" 2>&1 | sed 's/^/   /'
}

# token_request SERVER ASSERTION BODY-FILE: prints the HTTP status.
token_request() {
  curl -sS --max-time 10 -o "$3" -w '%{http_code}' "${URL[$1]}/oauth/token" \
    --data-urlencode grant_type=client_credentials \
    --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \
    --data-urlencode "client_assertion=$2" \
    --data-urlencode "${PARAM[$1]}=$AUDIENCE" \
    --data-urlencode "scope=$SCOPE" || die "${LABEL[$1]}: token request failed"
}

# jwt_part TOKEN N: the Nth (1-based) base64url part of a JWT, decoded.
jwt_part() {
  local part
  part="$(cut -d. -f"$2" <<<"$1" | tr '_-' '/+')"
  case $(( ${#part} % 4 )) in 2) part="$part==" ;; 3) part="$part=" ;; esac
  base64 -d <<<"$part" 2>/dev/null
}

# Before measuring: a token from this server is an RS256 JWT for the API with the scope (like
# for like), and a used assertion is refused (every server but the ceiling, which skips that
# by design). Keeps the assertion for replay_check_after_warmup.
check_server() { # server
  local name="$1" file="$WORK/check-$1.txt" body="$WORK/check-$1.json" status token header payload
  presign "$name" 1 "$file"
  CHECK_ASSERTION[$name]="$(head -n 1 "$file")"
  status="$(token_request "$name" "${CHECK_ASSERTION[$name]}" "$body")"
  [ "$status" = 200 ] || die "${LABEL[$name]}: the check request answered $status: $(cat "$body")"
  token="$(jq -r '.access_token // empty' "$body")"
  [ "$(tr -cd . <<<"$token")" = ".." ] \
    || die "${LABEL[$name]}: the access token is not a JWS compact JWT: $(cat "$body")"
  header="$(jwt_part "$token" 1)"
  payload="$(jwt_part "$token" 2)"
  [ "$(jq -r .alg <<<"$header" 2>/dev/null)" = RS256 ] \
    || die "${LABEL[$name]}: the access token is not signed RS256: header $header"
  jq -e --arg a "$AUDIENCE" --arg s "$SCOPE" \
    '(.aud | if type == "array" then index($a) != null else . == $a end)
     and ((.scope // "") | split(" ") | index($s) != null)' <<<"$payload" >/dev/null \
    || die "${LABEL[$name]}: the access token is not for $AUDIENCE with $SCOPE: $payload"
  echo "   ${LABEL[$name]}: 200, access token header $(jq -c . <<<"$header")," \
    "aud $(jq -c .aud <<<"$payload"), scope $(jq -c .scope <<<"$payload")"
  [ "$name" = ceiling ] && return 0
  status="$(token_request "$name" "${CHECK_ASSERTION[$name]}" "$body")"
  case "$status" in
    4??) echo "   ${LABEL[$name]}: the same assertion again: $status $(jq -c '.error' "$body" 2>/dev/null)" ;;
    *) die "${LABEL[$name]}: a replayed assertion answered $status, not refused: $(cat "$body")" ;;
  esac
}

# After the warm-up's thousands of newer assertions, the check assertion must still be refused:
# a replay store that forgets early (node-oidc-provider's stock in-memory adapter keeps the last
# 1000 to 2000 entries) would make that server's tokens cheaper than signet's.
replay_check_after_warmup() { # server
  local name="$1" body="$WORK/late-replay-$1.json" status
  [ "$name" = ceiling ] && return 0
  status="$(token_request "$name" "${CHECK_ASSERTION[$name]}" "$body")"
  case "$status" in
    4??) echo "   ${LABEL[$name]}: the check assertion after the warm-up: still refused ($status)" ;;
    *) die "${LABEL[$name]}: the check assertion was accepted again after the warm-up ($status)" ;;
  esac
}

# A process's CPU time counts all its threads: for node-oidc-provider that includes libuv's
# pool, where its RSA work runs.

# signet's own account of failed token requests (wrk keeps no response bodies).
failure_reasons() {
  use_server signet
  api GET "/api/v2/logs?type=feccft&per_page=3&include_totals=true" | jq -r \
    '"failure events so far: \(.total); newest: " + ([.logs[]
    | "\(.details.error) \(.details.client_authentication_error.code // "") \(.description)"]
    | join(" | "))'
}

# ---- runs -------------------------------------------------------------------------------------
# One row per measured run: "server connections round tokens_per_s p50_ms p99_ms errors cpu_ms ran_out"
ROWS=()
ERROR_NOTES=()
ANY_ERRORS=0

# How many assertions a run of SECONDS needs: no server issues tokens much faster than presign
# signs them on every core (a token costs a signature and a verify), so twice that rate (the
# short timing includes presign's start) sizes the first file; after that, the fastest rate
# seen from any server. Not the server's own: node-oidc-provider has been seen to more than
# double its warm-up rate once V8 had optimised its code, and a run that runs out of
# assertions measures less load than asked.
assertions_for() { # seconds
  local rate=0 name
  for name in "${!RATE_SEEN[@]}"; do
    if [ "${RATE_SEEN[$name]}" -gt "$rate" ]; then rate="${RATE_SEEN[$name]}"; fi
  done
  [ "$rate" -gt 0 ] || rate=$(( 2 * PRESIGN_RATE ))
  awk -v r="$rate" -v s="$1" -v m="$MARGIN" 'BEGIN { printf "%d\n", r * s * m + 1000 }'
}

run_wrk() { # server label connections seconds round
  local name="$1" label="$2" conns="$3" secs="$4" round="$5"
  # One wrk thread drives 64 connections at these rates with a fraction of a core; a second
  # would only add its own wake-ups on the cores the servers are measured on.
  local threads=1 count file out line before after row errors
  count="$(assertions_for "$secs")"
  file="$WORK/assertions-$name-$label.txt"
  presign "$name" "$count" "$file"
  out="$OUT_DIR/compare-wrk-$name-$label.txt"
  echo "== ${LABEL[$name]}: $label, $conns connection(s), ${secs}s"
  before="$(cpu_ticks_of "${PID[$name]}")"
  SIGNET_BENCH_ASSERTIONS="$file" SIGNET_BENCH_AUDIENCE="$AUDIENCE" \
    SIGNET_BENCH_AUDIENCE_PARAM="${PARAM[$name]}" SIGNET_BENCH_SCOPE="$SCOPE" \
    SIGNET_BENCH_THREADS="$threads" \
    timeout $(( secs + 120 )) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 5s --latency \
      -s "$ROOT/bench/wrk-token.lua" "${URL[$name]}" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed (output: $out)"; }
  after="$(cpu_ticks_of "${PID[$name]}")"
  rm -f "$file"
  kill -0 "${PID[$name]}" 2>/dev/null || die "${LABEL[$name]} exited during the run (see $OUT_DIR)"
  line="$(grep '^SIGNET_WRK ' "$out" || true)"
  [ -n "$line" ] || { cat "$out" >&2; die "wrk printed no SIGNET_WRK line (output: $out)"; }

  row="$(awk -v name="$name" -v c="$conns" -v round="$round" -v ticks="$(( after - before ))" \
    -v hz="$CLK_TCK" '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    rate = v["duration_us"] > 0 ? v["tokens"] / (v["duration_us"] / 1e6) : 0
    cpu = v["tokens"] > 0 ? sprintf("%.3f", 1000 * ticks / hz / v["tokens"]) : "-"
    printf "%s %d %s %.0f %.2f %.2f %d %s %d\n", name, c, round, rate, v["p50_us"] / 1000,
      v["p99_us"] / 1000, v["non200"] + v["socket_errors"], cpu, v["ran_out"]
  }' <<<"$line")"
  set -- $row
  echo "   $4 tokens/s, p50 $5 ms, p99 $6 ms, errors $7, server CPU $8 ms/token"
  [ "$9" = 0 ] || echo "   !! ran out of assertions: this run measured less load than asked"
  if [ "$4" -gt "${RATE_SEEN[$name]:-0}" ]; then RATE_SEEN[$name]="$4"; fi
  errors="$7"
  if [ "$errors" != 0 ]; then
    ANY_ERRORS=1
    local why="(the ceiling keeps no log)"
    case "$name" in
      signet) why="$(failure_reasons)" || why="(signet's log could not be read)" ;;
      node) why="(node-oidc-provider runs with logging off; replay one assertion by hand to see why)" ;;
    esac
    echo "   !! $errors request(s) failed: $why"
    ERROR_NOTES+=("- ${LABEL[$name]}, $label: $(sed -n -e 's/^tokens: .*, responses/responses/p' \
      -e 's/^socket errors: /socket errors: /p' "$out" | paste -sd ';' | sed 's/;/; /g'); $why")
  fi
  [ "$label" = warmup ] || ROWS+=("$row")
}

echo "== starting the servers"
start_signet
set_up_tenant
if [ "$USE_NODE" = 1 ]; then start_node; fi
start_ceiling

echo "== presign rate on this machine (sizes the first assertion file of each server)"
started_ns="$(date +%s%N)"
presign signet 2000 "$WORK/rate.txt"
PRESIGN_RATE="$(awk -v ns="$(( $(date +%s%N) - started_ns ))" 'BEGIN { printf "%d", 2000 / (ns / 1e9) }')"
rm -f "$WORK/rate.txt"
echo "   about $PRESIGN_RATE assertions/s on $(nproc) cores"

echo "== checks and warm-ups"
for name in $SERVERS; do
  check_server "$name"
  run_wrk "$name" warmup 16 "$WARMUP_S" 0
  replay_check_after_warmup "$name"
done

for round in $(seq 1 "$ROUNDS"); do
  for c in $CONNECTIONS; do
    for name in $SERVERS; do
      run_wrk "$name" "r$round-c$c" "$c" "$DURATION_S" "$round"
    done
  done
done

# ---- report -----------------------------------------------------------------------------------
CPU="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
CORES="$(nproc)"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then COMMIT="$COMMIT (dirty)"; fi
SIGNET_VERSION="$("$SIGNET" --version 2>/dev/null | head -n 1 || true)"
WRK_VERSION="$(wrk -v 2>&1 | awk 'NR == 1 { print $1, $2 }' || true)"
NODE_VERSION="-"
OIDC_PROVIDER_VERSION="-"
if [ "$USE_NODE" = 1 ]; then
  NODE_VERSION="$(node --version)"
  OIDC_PROVIDER_VERSION="$(jq -r .version "$NODE_DIR/node_modules/oidc-provider/package.json")"
fi

# summary SERVER CONNECTIONS: "median min max p50 p99 errors cpu ran_out" over the rounds
# (medians but errors, summed, and ran_out, any).
summary() {
  printf '%s\n' "${ROWS[@]}" | awk -v name="$1" -v c="$2" '
    function median(a, n,    i, j, t) {
      for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $1 == name && $2 == c {
      n++; rate[n] = $4; p50[n] = $5; p99[n] = $6; errors += $7; ran += $9
      if ($8 != "-") { m++; cpu[m] = $8 }
      if (n == 1 || $4 < lo) lo = $4
      if (n == 1 || $4 > hi) hi = $4
    }
    END {
      if (n == 0) exit
      printf "%.0f %d %d %.2f %.2f %d %s %d\n", median(rate, n), lo, hi, median(p50, n),
        median(p99, n), errors, m ? sprintf("%.3f", median(cpu, m)) : "-", ran
    }'
}

# TABLE rows: "server connections median min max p50 p99 errors cpu pct ran_out"
TABLE=()
for c in $CONNECTIONS; do
  ceiling_rate="$(summary ceiling "$c" | awk '{ print $1 }')"
  for name in $SERVERS; do
    s="$(summary "$name" "$c")"
    [ -n "$s" ] || continue
    set -- $s
    pct="$(awk -v r="$1" -v ce="${ceiling_rate:-0}" 'BEGIN { if (ce > 0) printf "%.0f", 100 * r / ce; else print "-" }')"
    TABLE+=("$name $c $1 $2 $3 $4 $5 $6 $7 $pct $8")
  done
done

{
  echo "# Token endpoint, side by side: signet, node-oidc-provider and the ceiling"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT, ${CPU:-unknown CPU}, $CORES cores" \
    "(load average before: $LOADAVG)."
  echo "signet: ${SIGNET_VERSION:-unknown} (SQLite, log level ${RUST_LOG:-info}; binaries:" \
    "\`$TARGET_DIR/release\`, signet built $(date -u -r "$SIGNET" '+%Y-%m-%d %H:%M UTC'));" \
    "node-oidc-provider: $([ "$USE_NODE" = 1 ] \
      && echo "oidc-provider $OIDC_PROVIDER_VERSION on Node.js $NODE_VERSION (NODE_ENV=production, one process)" \
      || echo "not measured (no node/npm, or --no-node)"); ${WRK_VERSION:-wrk}."
  echo "$ROUNDS round(s); in each, per connection count, signet, node-oidc-provider and the" \
    "ceiling in turn for ${DURATION_S}s each, after one ${WARMUP_S}s warm-up per server;" \
    "one wrk thread; every assertion used once."
  echo
  echo "| server | connections | tokens/s (median) | min–max | p50 (ms) | p99 (ms) | errors | server CPU ms/token | % of ceiling |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for row in "${TABLE[@]}"; do
    set -- $row
    note=""; [ "${11}" != 0 ] && note=" (ran out of assertions)"
    echo "| ${LABEL[$1]} | $2 | $3$note | $4–$5 | $6 | $7 | $8 | $9 | ${10} % |"
  done
  echo
  echo "Same client, same RSA-2048 key, same pre-signed RS256 assertions (RFC 7523, a fresh" \
    "\`jti\` each, no \`kid\`), same wrk script; each server returns an RS256-signed JWT" \
    "access token for the same API with the scope \`$SCOPE\`, checked before measuring. The" \
    "ceiling is an HTTP server doing one RSA verify and one RSA sign per request and nothing" \
    "else (bench/tools/rsa_ceiling.rs). p50 and p99 are medians over the rounds; errors are" \
    "non-200 responses plus socket errors, summed; server CPU is the process's user + system" \
    "time (all its threads) over the tokens it issued."
  if [ "$USE_NODE" = 1 ]; then
    echo
    echo "Both servers refuse a used assertion for its whole lifetime (checked right after its" \
      "first use and again after the warm-up): signet records each \`jti\` in its database and" \
      "an audit event per token; node-oidc-provider keeps each \`jti\` in its process's memory" \
      "until the assertion expires (bench/node-oidc/server.mjs: the stock in-memory adapter" \
      "forgets after 1000 to 2000 newer entries and would accept the replay) and records" \
      "nothing. It runs as one process, since that memory is per process; its RSA work runs" \
      "on libuv's thread pool, so it can still use every core: compare CPU per token for" \
      "the cost per core."
  fi
  if [ "$ANY_ERRORS" = 1 ]; then
    echo
    echo "Failed requests:"
    echo
    printf '%s\n' "${ERROR_NOTES[@]}"
  fi
} >"$REPORT"

echo
printf '%-19s %11s %10s %13s %8s %8s %7s %13s %8s\n' server connections tokens/s min-max \
  p50_ms p99_ms errors cpu_ms/token '%ceil'
for row in "${TABLE[@]}"; do
  set -- $row
  printf '%-19s %11s %10s %13s %8s %8s %7s %13s %7s%%%s\n' "${LABEL[$1]}" "$2" "$3" "$4-$5" \
    "$6" "$7" "$8" "$9" "${10}" "$([ "${11}" != 0 ] && echo '  (ran out of assertions)')"
done
echo "Report: $REPORT"
if [ "$ANY_ERRORS" = 1 ]; then
  echo "!! Some requests did not get a token: see the errors column and $OUT_DIR/compare-wrk-*.txt" >&2
  exit 2
fi
