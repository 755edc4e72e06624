-- wrk script: POST /oauth/token with Private Key JWT, each pre-signed client assertion used
-- exactly once (the server accepts a jti once, so a replayed assertion would be a 401).
--
-- Run (bench/load.sh does all of this for you):
--   SIGNET_BENCH_ASSERTIONS=assertions.txt SIGNET_BENCH_AUDIENCE=https://api.example/ \
--   SIGNET_BENCH_THREADS=1 wrk -t1 -c16 -d10s --latency -s bench/wrk-token.lua http://127.0.0.1:PORT
--
-- Environment:
--   SIGNET_BENCH_ASSERTIONS  file with one assertion per line (bench/tools/presign.rs writes it)
--   SIGNET_BENCH_AUDIENCE    the API identifier to ask a token for
--   SIGNET_BENCH_THREADS     the same number as wrk's -t: thread k of T takes lines k, k+T, …
--   SIGNET_BENCH_AUDIENCE_PARAM  the form field that carries the API (default `audience`, as
--                            Auth0 and signet name it; `resource` for RFC 8707 servers such as
--                            node-oidc-provider, bench/compare.sh)
--   SIGNET_BENCH_SCOPE       optional `scope` to ask for (default: none, the grant's scopes)
--   SIGNET_BENCH_CLIENT_ID   optional `client_id` to send (needed with platform tokens for a
--                            federated credential, whose `iss` is the platform's)
--
-- A thread whose share of assertions runs out stops (thread:stop()) rather than replay one;
-- done() then says so, since the run measured less load than asked: make the file larger
-- (rate x duration x margin). done() prints one machine-readable line starting with
-- `SIGNET_WRK`.
--
-- There is deliberately no response() function: with one, wrk copies every response's headers
-- and body into Lua, which costs the load generator a tenth of a core at these rates, taken from
-- the server it shares the machine with. wrk still counts responses with a status of 400 and
-- above (summary.errors.status); why they failed is in the server's log (GET /api/v2/logs),
-- which bench/load.sh reads after a run that had failures.

local FORM_TYPE = "application/x-www-form-urlencoded"
local ASSERTION_TYPE = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"

local threads = {}
local next_id = 1

local function urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c)
      return string.format("%%%02X", string.byte(c))
   end))
end

local function required_env(name)
   local value = os.getenv(name)
   if value == nil or value == "" then
      error(name .. " is not set (see the top of bench/wrk-token.lua)")
   end
   return value
end

-- Main environment: number the threads and keep them for done().
function setup(thread)
   thread:set("id", next_id)
   table.insert(threads, thread)
   next_id = next_id + 1
end

-- Thread environment: build this thread's requests once, so request() only indexes a table.
function init(args)
   local path = required_env("SIGNET_BENCH_ASSERTIONS")
   local audience = urlencode(required_env("SIGNET_BENCH_AUDIENCE"))
   local audience_param = os.getenv("SIGNET_BENCH_AUDIENCE_PARAM") or ""
   if audience_param == "" then
      audience_param = "audience"
   end
   local scope = os.getenv("SIGNET_BENCH_SCOPE") or ""
   local scope_field = ""
   if scope ~= "" then
      scope_field = "&scope=" .. urlencode(scope)
   end
   local client_id = os.getenv("SIGNET_BENCH_CLIENT_ID") or ""
   if client_id ~= "" then
      scope_field = scope_field .. "&client_id=" .. urlencode(client_id)
   end
   local nthreads = tonumber(required_env("SIGNET_BENCH_THREADS"))
   if nthreads == nil or id > nthreads then
      error("SIGNET_BENCH_THREADS must equal wrk's -t (thread " .. id .. " of "
         .. tostring(nthreads) .. ")")
   end

   local file = io.open(path, "r")
   if file == nil then
      error("cannot open " .. path)
   end
   requests_built = {}
   local line_no = 0
   for line in file:lines() do
      if line ~= "" then
         if line_no % nthreads == id - 1 then
            local body = "grant_type=client_credentials"
               .. "&client_assertion_type=" .. ASSERTION_TYPE
               .. "&client_assertion=" .. urlencode(line)
               .. "&" .. audience_param .. "=" .. audience
               .. scope_field
            requests_built[#requests_built + 1] =
               wrk.format("POST", "/oauth/token", { ["Content-Type"] = FORM_TYPE }, body)
         end
         line_no = line_no + 1
      end
   end
   file:close()
   if #requests_built == 0 then
      error("no assertions for thread " .. id .. " in " .. path)
   end

   -- Read back by done() through thread:get().
   slice = #requests_built
   sent = 0
   exhausted = 0         -- requests asked for after the slice ran out (0 = never ran out)
end

function request()
   if sent < slice then
      sent = sent + 1
      return requests_built[sent]
   end
   -- Out of assertions: stop this thread instead of replaying one. wrk still sends what this
   -- returns, so it is a request that touches no token state; it is counted in `exhausted`
   -- and its (200) response is subtracted from the token count in done().
   if exhausted == 0 then
      wrk.thread:stop()
   end
   exhausted = exhausted + 1
   return wrk.format("GET", "/healthz")
end

function done(summary, latency, requests)
   local sent_total, slice_total, exhausted_total, ran_out = 0, 0, 0, 0
   for _, thread in ipairs(threads) do
      sent_total = sent_total + (thread:get("sent") or 0)
      slice_total = slice_total + (thread:get("slice") or 0)
      local e = thread:get("exhausted") or 0
      exhausted_total = exhausted_total + e
      if e > 0 then
         ran_out = ran_out + 1
      end
   end

   local e = summary.errors
   -- The token endpoint answers 200 or 4xx/5xx; /healthz fillers sent after a thread ran out
   -- are 200s, not tokens.
   local failed = e.status
   local tokens = math.max(summary.requests - failed - exhausted_total, 0)
   local socket_errors = e.connect + e.read + e.write + e.timeout
   io.write(string.format("tokens: %d, responses with status >= 400: %d\n", tokens, failed))
   if socket_errors > 0 then
      io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
         e.connect, e.read, e.write, e.timeout))
   end
   if ran_out > 0 then
      io.write(string.format(
         "WARNING: %d thread(s) used up their %d assertions and stopped early: "
         .. "this run measured less load than asked; presign more\n", ran_out, slice_total))
   end
   io.write(string.format(
      "SIGNET_WRK duration_us=%d requests=%d tokens=%d non200=%d socket_errors=%d "
      .. "p50_us=%d p99_us=%d max_us=%d assertions=%d used=%d ran_out=%d\n",
      summary.duration, summary.requests, tokens, failed, socket_errors,
      latency:percentile(50), latency:percentile(99), latency.max,
      slice_total, sent_total, ran_out))
end
