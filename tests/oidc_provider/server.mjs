// A real OpenID provider (node-oidc-provider, pinned in package.json) set up like Pro Santé Connect,
// for Carnet's tests: started by tests/auth/provider.py on 127.0.0.1 with a JSON configuration
// (argv[2]), it prints one line `{"ready": true}` once it listens.
//
// What stands for PSC: the `scope_all` scope and its claims (SubjectNameID, SubjectRefPro…) served
// by userinfo, `acr` "eidas1" in the ID token, RS256 keys, PKCE required. What only tests use lives
// under /__test/: tampering with what the provider answers (the ID token, discovery), key rotation,
// hit counters. Pages load nothing from outside (the default ones import web fonts).
import http from 'node:http';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { URL, URLSearchParams } from 'node:url';

import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { issuer, port } = config;

let keys = config.keys;
let tamper = { mode: null };
let hits = {};
let provider;

const page = (title, body) => `<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function claimsOf(login) {
  const account = config.accounts[login];
  return account ? account.claims : undefined;
}

function build() {
  const made = new Provider(issuer, {
    clients: config.clients,
    jwks: { keys },
    scopes: ['openid', 'scope_all'],
    claims: {
      acr: null,
      auth_time: null,
      openid: ['sub'],
      scope_all: [
        'SubjectNameID', 'SubjectRefPro', 'SubjectOrganization', 'family_name', 'given_name',
        'preferred_username',
      ],
    },
    acrValues: ['eidas1', 'urn:carnet:acr:cpe'],
    conformIdTokenClaims: !config.claims_in_id_token,
    findAccount: async (ctx, sub) => {
      const claims = claimsOf(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...claims }) };
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = page('Déconnexion du fournisseur', `${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = page('Signed out', '<p>Your sign-out was successful.</p>');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator) => {
          const server = (config.resources || {})[indicator];
          if (!server) throw new errors.InvalidTarget();
          return { scope: 'openid scope_all', accessTokenFormat: 'jwt', audience: server.audience,
            jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    extraTokenClaims: async (ctx, token) => {
      // PSC access tokens carry the pro's identity and level too (for DMP-ready software).
      if (!token.resourceServer) return undefined;
      const claims = claimsOf(token.accountId) || {};
      const account = config.accounts[token.accountId] || {};
      return { ...claims, acr: account.acr || 'eidas1' };
    },
    interactions: { url: async (ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Provider error', Object.entries(out)
        .map(([k, v]) => `<p><strong>${escape(k)}</strong>: ${escape(v)}</p>`).join(''));
    },
    ttl: { AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60, Session: 3600, Grant: 3600,
      Interaction: 600 },
    cookies: { keys: ['carnet-test-cookie-key'] },
  });
  made.use(async (ctx, next) => {
    const name = ctx.path.replace(/^\//, '') || 'root';
    hits[name] = (hits[name] || 0) + 1;
    await next();
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body && tamper.mode) {
      await tamperTokens(ctx.body);
    }
    if (ctx.path === '/.well-known/openid-configuration' && tamper.mode === 'discovery_issuer') {
      ctx.body = { ...ctx.body, issuer: 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet' };
    }
  });
  return made;
}

async function signWith(key, header, payload) {
  const imported = await jose.importJWK(key, header.alg);
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header).sign(imported);
}

function atHash(accessToken) {
  const digest = crypto.createHash('sha256').update(accessToken).digest();
  return jose.base64url.encode(digest.subarray(0, 16));
}

async function tamperTokens(body) {
  const { mode } = tamper;
  if (mode === 'no_id_token') {
    delete body.id_token;
    return;
  }
  if (!body.id_token) return;
  const header = jose.decodeProtectedHeader(body.id_token);
  const payload = jose.decodeJwt(body.id_token);
  const now = Math.floor(Date.now() / 1000);
  const key = keys.find((k) => k.kid === header.kid);
  let signingKey = key;
  if (mode === 'nonce') payload.nonce = 'not-the-nonce-carnet-sent';
  if (mode === 'expired') { payload.iat = now - 7200; payload.exp = now - 3600; }
  if (mode === 'issued_in_future') { payload.iat = now + 3600; payload.exp = now + 7200; }
  if (mode === 'audience') payload.aud = 'another-client';
  if (mode === 'azp') { payload.aud = [payload.aud, 'another-client']; payload.azp = 'another-client'; }
  if (mode === 'azp_only') payload.azp = 'another-client';
  if (mode === 'issuer') payload.iss = 'https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet';
  if (mode === 'subject') payload.sub = 'someone-else';
  if (mode === 'at_hash') payload.at_hash = atHash(`${body.access_token}x`);
  if (mode === 'at_hash_right') payload.at_hash = atHash(body.access_token);
  if (mode === 'claims') Object.assign(payload, tamper.claims || {});
  if (mode === 'alg_none') {
    const head = jose.base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    body.id_token = `${head}.${jose.base64url.encode(JSON.stringify(payload))}.`;
    return;
  }
  if (mode === 'other_key' || mode === 'unknown_kid') {
    const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
    signingKey = { ...(await jose.exportJWK(privateKey)), kid: mode === 'other_key' ? header.kid : 'unknown-kid' };
  }
  if (mode === 'hs256') {
    // Signed with the client's secret: a MAC, not on Carnet's list of algorithms.
    const secret = new TextEncoder().encode(config.clients[0].client_secret || 'secret');
    body.id_token = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'HS256' }).sign(secret);
    return;
  }
  body.id_token = await signWith(signingKey, { alg: 'RS256', kid: signingKey.kid }, payload);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(body);
}

async function interaction(req, res, url) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params, session, grantId } = details;
  if (req.method === 'POST' && url.pathname.endsWith('/login')) {
    const form = await readForm(req);
    const login = form.get('login') || '';
    const account = config.accounts[login];
    if (!account) {
      send(res, 200, 'text/html; charset=utf-8', page('Sign-in', `<p role="alert">Unknown account</p>`));
      return;
    }
    const result = { login: { accountId: login, acr: account.acr || 'eidas1', amr: account.amr } };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    return;
  }
  if (prompt.name === 'login') {
    send(res, 200, 'text/html; charset=utf-8', page('Sign-in', `
<form method="post" action="/interaction/${uid}/login">
  <label for="login">Login</label><input id="login" name="login" required autofocus>
  <label for="password">Password</label><input id="password" name="password" type="password">
  <button type="submit">Sign-in</button>
</form>`));
    return;
  }
  // Consent is given at once, as for a relying party the provider's operator vetted.
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: saved } }, { mergeWithLastSubmission: true });
}

async function control(req, res, url) {
  const body = req.method === 'POST' ? await readJson(req) : {};
  if (url.pathname === '/__test/tamper') tamper = { mode: null, ...body };
  else if (url.pathname === '/__test/keys') { keys = body.keys; provider = build(); handler = provider.callback(); }
  else if (url.pathname === '/__test/reset') { tamper = { mode: null }; hits = {}; }
  send(res, 200, 'application/json', JSON.stringify({ hits, tamper: tamper.mode }));
}

provider = build();
let handler = provider.callback();
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (url.pathname.startsWith('/__test/')) return await control(req, res, url);
    if (url.pathname.startsWith('/interaction/')) return await interaction(req, res, url);
    return handler(req, res);
  } catch (error) {
    send(res, 500, 'text/plain', String(error && error.message));
    return undefined;
  }
});
server.keepAliveTimeout = 1000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ ready: true })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
