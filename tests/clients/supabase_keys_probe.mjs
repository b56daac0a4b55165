// @supabase/supabase-js (pinned), unchanged, against assistantd configured as a current
// Supabase project: ES256 signing keys, a publishable key for the app and a secret key for
// the server side. Covers local getClaims() verification against our JWKS, functions.invoke
// with a region, and every auth.admin call. One line per step, then
// "supabase keys probe: N passed, M failed"; exit 1 on any failure, 2 on bad configuration.
//
//   SUPABASE_URL=http://127.0.0.1:PORT SUPABASE_PUBLISHABLE_KEY=sb_publishable_… \
//   SUPABASE_SECRET_KEY=sb_secret_… node --experimental-websocket supabase_keys_probe.mjs
import { createClient } from '@supabase/supabase-js';
import { check, finish, step } from './probe_steps.mjs';

const url = process.env.SUPABASE_URL;
const publishable = process.env.SUPABASE_PUBLISHABLE_KEY;
const secret = process.env.SUPABASE_SECRET_KEY;
if (!url || !publishable || !secret) {
  console.error('SUPABASE_URL, SUPABASE_PUBLISHABLE_KEY and SUPABASE_SECRET_KEY are required');
  process.exit(2);
}

const options = { auth: { persistSession: false, autoRefreshToken: false } };
// The app's client records the URLs it calls, to show getClaims() verifies locally.
const calls = [];
const recordingFetch = (input, init) => {
  calls.push(typeof input === 'string' ? input : input.url);
  return fetch(input, init);
};
const app = createClient(url, publishable, { ...options, global: { fetch: recordingFetch } });
const server = createClient(url, secret, options);
const header = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString());

const run = Date.now().toString(36);
const email = `keys-${run}@example.com`;
const password = 'correct horse battery';
let me;
let managedId;
const managedEmail = `managed-${run}@example.com`;

await step('signUp with the publishable key returns an ES256 session', async () => {
  const { data, error } = await app.auth.signUp({ email, password });
  check(!error, error && error.message);
  me = data.user;
  const h = header(data.session.access_token);
  check(h.alg === 'ES256' && h.kid, `header ${JSON.stringify(h)}`);
});
await step('getClaims() verifies the token locally against /auth/v1/.well-known/jwks.json', async () => {
  calls.length = 0;
  const { data, error } = await app.auth.getClaims();
  check(!error, error && error.message);
  check(data.claims.sub === me.id, 'wrong sub');
  check(data.header.alg === 'ES256', `alg ${data.header.alg}`);
  check(calls.some((u) => u.endsWith('/auth/v1/.well-known/jwks.json')), `calls ${calls}`);
  check(!calls.some((u) => u.includes('/auth/v1/user')), `fell back to GET /user: ${calls}`);
});
await step('getClaims() refuses a token whose claims were changed', async () => {
  const token = (await app.auth.getSession()).data.session.access_token;
  const [h, p, s] = token.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  claims.app_metadata.role = 'admin';
  const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
  const { data, error } = await app.auth.getClaims(forged);
  check(error && !data, 'a forged token was accepted');
});
let assistantId;
await step('functions.invoke with a region creates and lists', async () => {
  const created = await app.functions.invoke('assistants', { body: { name: 'Regional' }, region: 'eu-west-1' });
  check(!created.error, created.error && created.error.message);
  assistantId = created.data.id;
  const list = await app.functions.invoke('assistants', { method: 'GET', region: 'us-east-1' });
  check(!list.error && list.data.data.some((a) => a.id === assistantId), list.error && list.error.message);
});
await step('auth.admin.createUser with the secret key', async () => {
  const { data, error } = await server.auth.admin.createUser({
    email: managedEmail, password, email_confirm: true,
    user_metadata: { name: 'Managed' }, app_metadata: { plan: 'pro' },
  });
  check(!error, error && error.message);
  managedId = data.user.id;
  check(data.user.email === managedEmail && data.user.user_metadata.name === 'Managed', JSON.stringify(data.user));
  check(data.user.app_metadata.plan === 'pro', 'app_metadata lost');
});
await step('auth.admin.listUsers pages with total, nextPage and lastPage', async () => {
  const { data, error } = await server.auth.admin.listUsers({ page: 1, perPage: 1 });
  check(!error, error && error.message);
  check(data.users.length === 1, `users ${data.users.length}`);
  check(data.total >= 2, `total ${data.total}`);
  check(data.nextPage === 2, `nextPage ${data.nextPage}`);
  check(data.lastPage === Math.min(data.total, 9) || data.total >= 10, `lastPage ${data.lastPage}`);
  check(data.users[0].id === managedId, 'not newest first');
});
await step('auth.admin.getUserById', async () => {
  const { data, error } = await server.auth.admin.getUserById(managedId);
  check(!error && data.user.email === managedEmail, error && error.message);
});
await step('auth.admin.updateUserById bans (ban_duration) and the ban holds', async () => {
  const { data, error } = await server.auth.admin.updateUserById(managedId, { ban_duration: '24h' });
  check(!error && data.user.banned_until, error && error.message);
  const signIn = await createClient(url, publishable, options).auth.signInWithPassword({ email: managedEmail, password });
  check(signIn.error && signIn.error.code === 'user_banned', `got ${signIn.error && signIn.error.code}`);
});
await step('auth.admin.updateUserById lifts the ban, merges metadata, sets role and password', async () => {
  const { data, error } = await server.auth.admin.updateUserById(managedId, {
    ban_duration: 'none', user_metadata: { team: 'blue' }, app_metadata: { plan: 'team' },
    password: 'a new managed password', email_confirm: true, role: 'authenticated',
  });
  check(!error, error && error.message);
  check(data.user.user_metadata.name === 'Managed' && data.user.user_metadata.team === 'blue', 'not merged');
  check(data.user.app_metadata.plan === 'team', 'app_metadata not updated');
  const signIn = await createClient(url, publishable, options).auth.signInWithPassword({ email: managedEmail, password: 'a new managed password' });
  check(!signIn.error, signIn.error && signIn.error.message);
});
await step('the secret key is the service role on the functions API', async () => {
  const { data, error } = await server.functions.invoke(`assistants/${assistantId}`, { method: 'GET' });
  check(!error && data.id === assistantId, error && error.message);
});
await step('auth.admin.deleteUser, then getUserById answers user_not_found', async () => {
  const { error } = await server.auth.admin.deleteUser(managedId);
  check(!error, error && error.message);
  const gone = await server.auth.admin.getUserById(managedId);
  check(gone.error && gone.error.status === 404 && gone.error.code === 'user_not_found', `got ${gone.error && gone.error.code}`);
});
await step('the publishable key cannot use the admin API', async () => {
  const { error } = await createClient(url, publishable, options).auth.admin.listUsers();
  check(error && error.status === 403, `got ${error && error.status}`);
});
await step('an unknown sb_ key is refused', async () => {
  const { error } = await createClient(url, 'sb_publishable_notOurKey0000000000000_abcdefgh', options)
    .auth.signInWithPassword({ email, password });
  check(error && error.status === 401, `got ${error && error.status}`);
});
await step('without a session the app is anonymous: the API answers 401', async () => {
  const { error } = await createClient(url, publishable, options).functions.invoke('assistants', { method: 'GET' });
  check(error && error.context.status === 401, `got ${error && error.context && error.context.status}`);
});

finish('supabase keys probe');
