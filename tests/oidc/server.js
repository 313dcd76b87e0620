// A local OpenID Connect provider for the sign-in tests: oidc-provider on 127.0.0.1 with one
// confidential client, the users of users.json and the library's dev-mode login form.
//
// Settings come from the environment (tests/oidc_provider.py sets them):
//   OIDC_PORT            port to listen on (0: any free port)
//   OIDC_CLIENT_ID       the client's id
//   OIDC_CLIENT_SECRET   the client's secret
//   OIDC_REDIRECT_URIS   space-separated loopback redirect URIs, also allowed after sign-out
// Once listening it prints one JSON line to stdout: {"issuer": "http://127.0.0.1:<port>"}.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const LOOPBACK = '127.0.0.1';
const USERS = JSON.parse(readFileSync(new URL('./users.json', import.meta.url), 'utf8'));

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`oidc test provider: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

function loopbackUris(value) {
  const uris = value.split(/\s+/).filter(Boolean);
  for (const uri of uris) {
    const url = new URL(uri);
    if (url.protocol !== 'http:' || url.hostname !== LOOPBACK) {
      console.error(`oidc test provider: ${uri} is not an http://${LOOPBACK} URI`);
      process.exit(2);
    }
  }
  return uris;
}

// The dev login form posts what was typed as the account id, which must be the account's `sub`
// (oidc-provider refuses an account whose id differs from the session's): opaque, as real
// providers' subjects are, so nothing may take `sub` for an e-mail address.
function findUser(accountId) {
  return USERS.find((user) => user.sub === accountId);
}

// Streamlit's st.login sends prompt=select_account (Google's account chooser); here the dev
// login form is the chooser, so that prompt asks for the login form once per authorization.
function policyWithAccountSelection() {
  const { Check, Prompt, base } = interactionPolicy;
  const policy = base();
  policy.get('login').checks.add(
    new Check('select_account_prompt', 'account selection was requested', (ctx) => {
      const asked = ctx.oidc.prompts.has('select_account') && !ctx.oidc.result?.login;
      return asked ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
    0,
  );
  const selectAccount = new Prompt({ name: 'select_account', requestable: true });
  selectAccount.checks.clear();
  policy.add(selectAccount);
  return policy;
}

function signingKeys() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' }] };
}

const redirectUris = loopbackUris(required('OIDC_REDIRECT_URIS'));
const configuration = {
  clients: [
    {
      client_id: required('OIDC_CLIENT_ID'),
      client_secret: required('OIDC_CLIENT_SECRET'),
      client_name: 'Payments dashboard (tests)',
      redirect_uris: redirectUris,
      post_logout_redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Authlib (under st.login) reads the user from the ID token only, as Google sends it there.
  conformIdTokenClaims: false,
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  interactions: { policy: policyWithAccountSelection() },
  jwks: signingKeys(),
  async findAccount(_ctx, id) {
    const user = findUser(id);
    if (!user) {
      return undefined;
    }
    return {
      accountId: user.sub,
      async claims() {
        return {
          sub: user.sub,
          email: user.email,
          email_verified: user.email_verified,
          name: user.name,
        };
      },
    };
  },
  // A company's own app is granted what it asks for, as identity providers do for first-party
  // apps: no consent screen after the login form.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope ?? 'openid');
    await grant.save();
    return grant;
  },
};

const server = createServer();
server.listen(Number(process.env.OIDC_PORT ?? 0), LOOPBACK, () => {
  const issuer = `http://${LOOPBACK}:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  // The fixture keeps this output in its log: a failing test shows why the provider refused.
  provider.on('server_error', (_ctx, error) => console.error('server_error', error));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});

// Nothing is stored: stopping the provider forgets every session and grant.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}
