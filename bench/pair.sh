#!/usr/bin/env bash
# Two builds of signet timed side by side, for a change too small to see across separate runs
# on a host whose speed drifts.
#
# Run from anywhere:   bench/pair.sh [--postgres URL] [--rounds 6] [--seconds 5] BEFORE AFTER
#
# BEFORE and AFTER are directories that each hold a `signet` binary, e.g. copies of
# target/release/signet made before and after a change. Both servers run at once, each on its
# own fresh database (a SQLite file, or with --postgres a fresh schema `signet_pair_<random>`
# of that database, dropped at the end), with the same API, RSA key and grant. They are then
# loaded in turn with wrk (bench/wrk-token.lua, pre-signed single-use assertions) for a few
# seconds each, round after round, the order alternating (A B, B A, A B, ...), so that the
# host's drift falls on both alike. Each run prints tokens/s, the server's CPU per token and,
# on PostgreSQL on this machine, PostgreSQL's processes' CPU per token (the other server is
# idle meanwhile); the end prints the mean of each and of the differences between the two runs
# of each round. Needs wrk, jq, curl, openssl (installed with apt-get when missing), and the
# presign example (built with --release unless --no-build).
#
# Options:
#   --postgres URL      run both servers on PostgreSQL instead of SQLite
#   --rounds N          rounds of one run per build (default 6)
#   --seconds S         length of each run (default 5)
#   --connections C     wrk connections (default 64)
#   --per-second N      assertions pre-signed per second of a run (default 8000, above the RSA
#                       bound of any 2-core host seen); a run that runs out fails
#   --no-build          use the presign example already built
# Environment: CARGO_TARGET_DIR (where presign is built).
# Exit status: 0 when every request got a token, 1 otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
POSTGRES_URL=""
ROUNDS=6
SECONDS_EACH=5
CONNECTIONS=64
PER_SECOND=8000
BUILD=1

die() { echo "pair.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

BUILDS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) POSTGRES_URL="${2:?--postgres needs a URL}"; shift 2 ;;
    --rounds) ROUNDS="${2:?--rounds needs a number}"; shift 2 ;;
    --seconds) SECONDS_EACH="${2:?--seconds needs a number}"; shift 2 ;;
    --connections) CONNECTIONS="${2:?--connections needs a number}"; shift 2 ;;
    --per-second) PER_SECOND="${2:?--per-second needs a number}"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,/^$/{/^$/d; s/^# \{0,1\}//; p;}' "$0"; exit 0 ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *) BUILDS+=("$1"); shift ;;
  esac
done
[ "${#BUILDS[@]}" = 2 ] || die "give two directories, each holding a signet binary (see --help)"
[ "${BUILDS[0]}" != "${BUILDS[1]}" ] || die "the two directories are the same"
for n in "$ROUNDS" "$SECONDS_EACH" "$CONNECTIONS" "$PER_SECOND"; do
  [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 ]] || die "not a positive whole number: $n"
done
for dir in "${BUILDS[@]}"; do
  [ -x "$dir/signet" ] || die "$dir/signet is missing or not executable"
done

need_package wrk wrk
need_package jq jq
for tool in curl openssl awk; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
[ -z "$POSTGRES_URL" ] || command -v psql >/dev/null 2>&1 || die "--postgres needs psql"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
# build_release checks signet too: the presign example comes from the same build.
build_release "$BUILD" presign
PRESIGN="$TARGET_DIR/release/examples/presign"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/signet-pair.XXXXXX")"
declare -A URL PID CID SCHEMA
cleanup() {
  local i
  for i in 0 1; do
    SERVER_PID="${PID[$i]:-}"
    stop_server
    if [ -n "${SCHEMA[$i]:-}" ]; then
      psql "$POSTGRES_URL" -q -c "DROP SCHEMA IF EXISTS ${SCHEMA[$i]} CASCADE" >/dev/null 2>&1 \
        || echo "pair.sh: could not drop schema ${SCHEMA[$i]}" >&2
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

new_rsa_key
AUDIENCE="https://pair.signet.example/"
BOOTSTRAP_ID="signet-pair-bootstrap"
BOOTSTRAP_SECRET="$(openssl rand -hex 24)"
MASTER_KEY="$(openssl rand -base64 32)"
for i in 0 1; do
  database="sqlite://$WORK/signet-$i.db"
  if [ -n "$POSTGRES_URL" ]; then
    SCHEMA[$i]="signet_pair_$(openssl rand -hex 6)"
    psql "$POSTGRES_URL" -q -v ON_ERROR_STOP=1 -c "CREATE SCHEMA ${SCHEMA[$i]}" >/dev/null \
      || { SCHEMA[$i]=""; die "could not create a schema on $POSTGRES_URL"; }
    database="$(schema_url "$POSTGRES_URL" "${SCHEMA[$i]}")"
  fi
  start_bench_server "${BUILDS[$i]}/signet" "$database" "$WORK/server-$i.log"
  PID[$i]="$SERVER_PID"
  wait_until_up "$WORK/server-$i.log"
  management_token "$BOOTSTRAP_ID" "$BOOTSTRAP_SECRET" "$ISSUER"
  key_client_tenant "Pair $i" "$AUDIENCE" read:pair RS256
  URL[$i]="$S"
  CID[$i]="$CLIENT_ID"
done

# run INDEX LABEL: one run against build INDEX; prints "LABEL BUILD tokens/s signet_us pg_us".
run() {
  local i="$1" file="$WORK/assertions.txt" out="$WORK/wrk.txt" s0 p0 s1 p1
  "$PRESIGN" --issuer "${URL[$i]}/" --client-id "${CID[$i]}" --key "$KEY" \
    --count $(( SECONDS_EACH * PER_SECOND )) --out "$file" >"$WORK/presign.log" 2>&1 \
    || { cat "$WORK/presign.log" >&2; die "presign failed"; }
  s0="$(cpu_ticks_of "${PID[$i]}")"
  p0="$(postgres_ticks)"
  SIGNET_BENCH_ASSERTIONS="$file" SIGNET_BENCH_AUDIENCE="$AUDIENCE" SIGNET_BENCH_THREADS=1 \
    timeout $(( SECONDS_EACH + 120 )) wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" \
    --timeout 5s -s "$ROOT/bench/wrk-token.lua" "${URL[$i]}" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed"; }
  s1="$(cpu_ticks_of "${PID[$i]}")"
  p1="$(postgres_ticks)"
  grep '^SIGNET_WRK ' "$out" | awk -v label="$2" -v build="${BUILDS[$i]}" -v st=$(( s1 - s0 )) \
    -v pt=$(( p1 - p0 )) -v hz="$CLK_TCK" -v pg="${POSTGRES_URL:+1}" '{
      for (f = 2; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
      n = v["tokens"]
      if (v["non200"] + v["socket_errors"] > 0 || v["ran_out"] > 0 || n == 0) {
        printf "%s %s: %d errors, %d ran out\n", label, build, v["non200"] + v["socket_errors"],
          v["ran_out"] > "/dev/stderr"
        exit 1
      }
      printf "%s %s %.0f %.1f %s\n", label, build, n / (v["duration_us"] / 1e6),
        1e6 * st / hz / n, pg ? sprintf("%.1f", 1e6 * pt / hz / n) : "-"
    }' || die "a run failed (wrk output: $out)"
}

echo "== warm-up, one run each"
run 0 warmup >/dev/null
run 1 warmup >/dev/null
echo "== $ROUNDS rounds, ${SECONDS_EACH}s per run, $CONNECTIONS connections, order alternating"
printf '%-8s %-30s %9s %13s %10s\n' round build tokens/s 'server us/tk' 'pg us/tk'
: >"$WORK/rows"
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 )); then order="0 1"; else order="1 0"; fi
  for i in $order; do
    row="$(run "$i" "r$r")"
    echo "$row" >>"$WORK/rows"
    # shellcheck disable=SC2086
    printf '%-8s %-30s %9s %13s %10s\n' $row
  done
done
echo "== means over $ROUNDS rounds (after - before: the mean of each round's difference)"
awk -v a="${BUILDS[0]}" -v b="${BUILDS[1]}" '
  { rate[$2] += $3; cpu[$2] += $4; pg[$2] += $5; d[$1, $2] = $3 " " $4 " " $5; rounds[$1] = 1 }
  END {
    n = length(rounds)
    for (r in rounds) {
      split(d[r, a], x, " "); split(d[r, b], y, " ")
      dr += y[1] - x[1]; dc += y[2] - x[2]; dp += y[3] - x[3]
    }
    printf "%-30s %9.0f tokens/s %8.1f us server %8s us pg\n", a, rate[a] / n, cpu[a] / n,
      pg[a] == 0 ? "-" : sprintf("%.1f", pg[a] / n)
    printf "%-30s %9.0f tokens/s %8.1f us server %8s us pg\n", b, rate[b] / n, cpu[b] / n,
      pg[b] == 0 ? "-" : sprintf("%.1f", pg[b] / n)
    printf "%-30s %+9.0f tokens/s %+8.1f us server %8s us pg\n", "after - before", dr / n,
      dc / n, pg[a] == 0 ? "-" : sprintf("%+.1f", dp / n)
  }' "$WORK/rows"
