# Shell functions the bench scripts share; sourced, never run. They use and set these globals:
# S (the server's base URL), SERVER_PID, WORK (a temp dir), MGMT (a Management API token),
# and read ROOT (the repository) and TARGET_DIR (where cargo builds).
# Each script defines die() before sourcing this file.

# need_package COMMAND PACKAGE: installs the Debian package when the command is missing.
need_package() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "== installing $2"
  local sudo=""
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  $sudo apt-get install -y -qq "$2" >/dev/null 2>&1 \
    || { $sudo apt-get update -qq && $sudo apt-get install -y -qq "$2" >/dev/null; } \
    || die "could not install $2"
}

# free_port: prints a loopback port nothing listens on.
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$(( 20000 + RANDOM % 40000 ))
    # Nothing answers there, so nothing listens (a race with another program is caught
    # when the server fails to bind).
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  die "no free loopback port found"
}

# wait_until_up LOG-FILE: waits for $S/healthz, or dies with the end of the log.
wait_until_up() {
  for _ in $(seq 1 300); do
    if curl -fsS --max-time 2 "$S/healthz" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      tail -n 30 "$1" >&2
      die "the server exited during start (log: $1)"
    fi
    sleep 0.1
  done
  tail -n 30 "$1" >&2
  die "the server did not answer /healthz within 30 s (log: $1)"
}

# stop_server: SIGTERM, up to 10 s to finish, then SIGKILL.
stop_server() {
  if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

# management_token CLIENT-ID SECRET ISSUER: sets MGMT.
management_token() {
  local status body="$WORK/mgmt-token.json"
  status="$(curl -sS --max-time 10 -o "$body" -w '%{http_code}' "$S/oauth/token" \
    --data-urlencode grant_type=client_credentials \
    --data-urlencode "client_id=$1" \
    --data-urlencode "client_secret=$2" \
    --data-urlencode "audience=${3}api/v2/")" || die "management token: request failed"
  [ "$status" = 200 ] || die "management token: $status $(cat "$body")"
  MGMT="$(jq -r .access_token "$body")"
}

# api METHOD PATH [JSON]: a Management API call that must succeed; prints the response body.
api() {
  local body status
  body="$(mktemp "$WORK/api.XXXXXX")"
  status="$(curl -sS --max-time 10 -o "$body" -w '%{http_code}' -X "$1" "$S$2" \
    -H "Authorization: Bearer $MGMT" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"})" || die "$1 $2: request failed"
  case "$status" in
    2??) cat "$body" ;;
    *) echo "$(basename "$0"): $1 $2 answered $status: $(cat "$body")" >&2; exit 1 ;;
  esac
}

# build_release BUILD EXAMPLE...: when BUILD is 1, builds signet and the named examples with
# --release into $TARGET_DIR; then dies unless each binary is there. The binaries are at
# $TARGET_DIR/release/signet and $TARGET_DIR/release/examples/<name>.
build_release() {
  local build="$1" name bin
  shift
  if [ "$build" = 1 ]; then
    local examples=()
    for name in "$@"; do examples+=(--example "$name"); done
    echo "== building (release)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --quiet \
      --bin signet "${examples[@]}") || die "build failed"
  fi
  for bin in "$TARGET_DIR/release/signet" "${@/#/$TARGET_DIR/release/examples/}"; do
    [ -x "$bin" ] || die "$bin is missing: build first (or drop --no-build)"
  done
}

# seconds D: a duration as whole seconds: 90, 90s, 30m, 1h.
seconds() {
  case "$1" in
    *h) echo $(( ${1%h} * 3600 )) ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}

# CPU time (user + system, in clock ticks of CLK_TCK) process $1 has used so far; 0 once it is
# gone. Divided by the tokens of a run it gives the server's CPU cost per token.
CLK_TCK="$(getconf CLK_TCK 2>/dev/null || echo 100)"
cpu_ticks_of() {
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# start_bench_server BINARY DATABASE-URL LOG-FILE [PREFIX...]: `BINARY serve` in the background
# on a free loopback port, with the bootstrap application and master key the caller set
# (BOOTSTRAP_ID, BOOTSTRAP_SECRET, MASTER_KEY) and the token rate limits still on the path but
# set where they never bite (one application from one address is the whole load here); PREFIX
# runs it under another command (valgrind). Sets PORT, S, ISSUER and SERVER_PID; does not wait.
start_bench_server() {
  local binary="$1" database="$2" log="$3"
  shift 3
  PORT="$(free_port)"
  S="http://127.0.0.1:$PORT"
  ISSUER="$S/"
  SIGNET_LISTEN="127.0.0.1:$PORT" SIGNET_ISSUER="$ISSUER" SIGNET_DATABASE_URL="$database" \
    SIGNET_BOOTSTRAP_CLIENT_ID="$BOOTSTRAP_ID" SIGNET_BOOTSTRAP_CLIENT_SECRET="$BOOTSTRAP_SECRET" \
    SIGNET_MASTER_KEY="$MASTER_KEY" SIGNET_MASTER_KEY_FILE="$WORK/signet-$PORT.key" \
    SIGNET_TOKEN_RATE_LIMIT_PER_ADDRESS=1000000/s SIGNET_TOKEN_RATE_LIMIT_PER_CLIENT=1000000/s \
    RUST_LOG="${RUST_LOG:-info}" NO_COLOR=1 "$@" "$binary" serve >"$log" 2>&1 &
  SERVER_PID=$!
}

# schema_url URL SCHEMA: the PostgreSQL URL whose connections work in SCHEMA.
schema_url() {
  case "$1" in *\?*) echo "$1&options=-c%20search_path%3D$2" ;; *) echo "$1?options=-c%20search_path%3D$2" ;; esac
}

# postgres_ticks: CPU ticks the local PostgreSQL's processes have used so far (0 when it runs
# elsewhere): on this machine they share the cores with signet, so they are part of a token's
# cost that signet's own process CPU does not show.
postgres_ticks() {
  local total=0 pid
  for pid in $(pgrep -x postgres 2>/dev/null || true); do
    total=$(( total + $(cpu_ticks_of "$pid") ))
  done
  echo "$total"
}

# new_rsa_key: a fresh RSA-2048 key, PKCS#8, at $WORK/key.pem and its public half at
# $WORK/key.pub.pem; sets KEY.
new_rsa_key() {
  KEY="$WORK/key.pem"
  openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:2048 -out "$KEY" 2>/dev/null \
    && openssl pkey -in "$KEY" -pubout -out "$WORK/key.pub.pem" 2>/dev/null \
    || die "openssl could not make an RSA key"
}

# key_client_tenant LABEL AUDIENCE SCOPE ALG: through the Management API (MGMT must be set),
# an RS256 API named "LABEL API" with the one scope, an application "LABEL worker" whose one
# credential is $WORK/key.pub.pem with ALG, and its grant of SCOPE on AUDIENCE; sets CLIENT_ID.
key_client_tenant() {
  local label="$1" audience="$2" scope="$3" alg="$4"
  api POST /api/v2/resource-servers "$(jq -nc --arg id "$audience" --arg n "$label API" \
    --arg s "$scope" '{identifier: $id, name: $n, signing_alg: "RS256", scopes: [{value: $s}]}')" \
    >/dev/null
  CLIENT_ID="$(api POST /api/v2/clients "$(jq -nc --rawfile pem "$WORK/key.pub.pem" \
    --arg n "$label worker" --arg alg "$alg" '{name: $n, app_type: "non_interactive",
      client_authentication_methods: {private_key_jwt: {credentials: [
        {credential_type: "public_key", pem: $pem, alg: $alg}]}}}')" | jq -r .client_id)"
  if [ -z "$CLIENT_ID" ] || [ "$CLIENT_ID" = null ]; then
    die "no client_id in the client creation response"
  fi
  api POST /api/v2/client-grants "$(jq -nc --arg c "$CLIENT_ID" --arg a "$audience" \
    --arg s "$scope" '{client_id: $c, audience: $a, scope: [$s]}')" >/dev/null
  echo "   application $CLIENT_ID with one $alg credential, granted $scope on $audience"
}
