// node-oidc-provider set up like the tenant bench/compare.sh creates in signet, so that the two
// token endpoints are measured doing the same work: Private Key JWT client authentication
// (RFC 7523) with a one-time `jti`, the client_credentials grant for one API (a resource
// indicator, RFC 8707), and an RS256-signed JWT access token with the scope `read:load`.
//
// Run (bench/compare.sh does this):
//   NODE_ENV=production BENCH_PORT=8099 BENCH_ISSUER=http://127.0.0.1:8099 \
//   BENCH_CLIENT_ID=load-worker BENCH_CLIENT_KEY=key.pub.pem \
//   BENCH_AUDIENCE=https://load-test.signet.example/ node bench/node-oidc/server.mjs
//
// Environment:
//   BENCH_PORT          loopback port to listen on
//   BENCH_ISSUER        the issuer; client assertions carry it (or the token endpoint) as `aud`
//   BENCH_CLIENT_ID     the one client's id
//   BENCH_CLIENT_KEY    the client's RSA public key, PEM: the same key signet's credential holds
//   BENCH_AUDIENCE      the API (resource indicator) the client may ask tokens for
//   BENCH_REPLAY_STORE  `lifetime` (default) or `lru`: see replayStore below
//
// POST /oauth/token is the token endpoint (signet's path, so one wrk script serves both);
// GET /healthz answers 200 once the provider is listening.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`server.mjs: ${name} is not set (see the top of bench/node-oidc/server.mjs)`);
    process.exit(2);
  }
  return value;
}

const port = Number(env('BENCH_PORT'));
const issuer = env('BENCH_ISSUER');
const clientId = env('BENCH_CLIENT_ID');
const audience = env('BENCH_AUDIENCE');
const clientKey = crypto.createPublicKey(fs.readFileSync(env('BENCH_CLIENT_KEY'), 'utf8'));
const replayStoreKind = process.env.BENCH_REPLAY_STORE || 'lifetime';
if (!['lifetime', 'lru'].includes(replayStoreKind)) {
  console.error(`server.mjs: BENCH_REPLAY_STORE must be lifetime or lru, not ${replayStoreKind}`);
  process.exit(2);
}

// A fresh RSA-2048 token signing key per start, as signet generates its own.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = {
  ...privateKey.export({ format: 'jwk' }),
  kid: crypto.randomUUID(),
  alg: 'RS256',
  use: 'sig',
};

// Signet remembers every accepted `jti` until the assertion expires. The provider's stock
// in-memory adapter keeps its entries in an LRU of 1000 (it holds the last 1000 to 2000 keys),
// so under load a replayed assertion is refused only for a second or two after its first use
// and accepted again after that: less work per token than signet does, and not the one-time
// guarantee. `lifetime` keeps each `jti` until its expiry, like signet, in one Map (the store
// lives in this process: one Node process, as a cluster would need a shared store). Every
// other model stays on the provider's own in-memory adapter. `lru` is the stock behaviour,
// kept to show the difference.
function replayStore() {
  const entries = new Map(); // key -> { payload, expiresAt (ms) }
  // Expired entries go in one sweep a second, not a timer each. A Map iterates in insertion
  // order, which is close to expiry order, so the sweep stops at the first live entry instead
  // of walking the few hundred thousand a busy run holds; an entry left behind a little longer
  // is still refused by find(), which checks the expiry itself.
  setInterval(() => {
    const now = Date.now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt > now) break;
      entries.delete(key);
    }
  }, 1000).unref();
  return {
    async find(id) {
      const entry = entries.get(id);
      return entry && entry.expiresAt > Date.now() ? entry.payload : undefined;
    },
    async upsert(id, payload, expiresIn) {
      entries.set(id, { payload, expiresAt: Date.now() + expiresIn * 1000 });
    },
    async destroy(id) {
      entries.delete(id);
    },
    async consume() {},
    async findByUid() { return undefined; },
    async findByUserCode() { return undefined; },
    async revokeByGrantId() {},
  };
}

const clockTolerance = 15;
const stock = createMemoryAdapter(clockTolerance);
const replays = replayStoreKind === 'lifetime' ? replayStore() : undefined;
const adapter = (model) => (model === 'ReplayDetection' && replays ? replays : stock(model));

const resourceServer = {
  scope: 'read:load',
  audience,
  // Signet's default token lifetime for an API (Auth0's: 24 h).
  accessTokenTTL: 86400,
  accessTokenFormat: 'jwt',
  jwt: { sign: { alg: 'RS256' } },
};

const provider = new Provider(issuer, {
  adapter,
  clockTolerance,
  clients: [{
    client_id: clientId,
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS256',
    jwks: { keys: [{ ...clientKey.export({ format: 'jwk' }), alg: 'RS256', use: 'sig' }] },
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: 'read:load',
  }],
  jwks: { keys: [signingJwk] },
  scopes: ['read:load'],
  routes: { token: '/oauth/token' },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceIndicator === audience) return resourceServer;
        throw new errors.InvalidTarget();
      },
    },
  },
  ttl: {
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
  },
});

// No request or error logging, as signet runs at its default level (errors only come as
// events, and no listener is attached); Koa's own error print-out is off too (the provider
// is the Koa application).
provider.silent = true;

provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/healthz') {
    ctx.body = 'ok';
    return;
  }
  await next();
});

const server = http.createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  console.log(`node-oidc-provider listening on http://127.0.0.1:${port}, issuer ${issuer}, `
    + `replay store ${replayStoreKind}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
