-- wrk script: a flood of failing, unauthenticated token requests, each naming a made-up client
-- with a wrong secret and long fields (bench/flood.sh runs it). No response() function: wrk
-- would copy every response into Lua, and the flood should spend its CPU sending.

local FORM_TYPE = "application/x-www-form-urlencoded"
local pad = string.rep("x", 1024)
local counter = 0

function setup(thread)
   thread:set("seed", math.random(1, 1000000))
end

function init(args)
   math.randomseed(seed)
end

function request()
   counter = counter + 1
   local body = "grant_type=client_credentials"
      .. "&client_id=flood" .. math.random(1, 1000000000) .. pad
      .. "&client_secret=wrong" .. counter
      .. "&audience=https%3A%2F%2Fflood.example%2F" .. pad
   return wrk.format("POST", "/oauth/token", { ["Content-Type"] = FORM_TYPE }, body)
end
