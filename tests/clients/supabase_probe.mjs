// @supabase/supabase-js (pinned in package.json), unchanged, against assistantd: accounts under
// /auth/v1 and the assistants function under /functions/v1. One line per step, then
// "supabase probe: N passed, M failed"; exit 1 on any failure, 2 on bad configuration.
//
//   SUPABASE_URL=http://127.0.0.1:PORT SUPABASE_ANON_KEY=sb_publishable_x \
//     node --experimental-websocket supabase_probe.mjs
// (Node 20 needs --experimental-websocket: createClient wants a global WebSocket.)
import { createClient } from '@supabase/supabase-js';
import { check, finish, step } from './probe_steps.mjs';

const url = process.env.SUPABASE_URL;
const key = process.env.SUPABASE_ANON_KEY;
if (!url || !key) {
  console.error('SUPABASE_URL and SUPABASE_ANON_KEY are required');
  process.exit(2);
}

const client = () =>
  createClient(url, key, { auth: { persistSession: false, autoRefreshToken: false } });

const run = Date.now().toString(36);
const emailA = `a-${run}@example.com`;
const emailB = `b-${run}@example.com`;
const password = 'correct horse battery';
const a = client();
const b = client();
let assistantId;

await step('signUp A returns a session and the user', async () => {
  const { data, error } = await a.auth.signUp({ email: emailA, password, options: { data: { name: 'Ada' } } });
  check(!error, error && error.message);
  check(data.session && data.session.access_token, 'no session');
  check(data.user && data.user.email === emailA, 'wrong user');
  check(data.user.user_metadata.name === 'Ada', 'metadata lost');
});
await step('signUp B', async () => {
  const { data, error } = await b.auth.signUp({ email: emailB, password });
  check(!error && data.session, error && error.message);
});
await step('duplicate signUp is refused with user_already_exists', async () => {
  const { data, error } = await client().auth.signUp({ email: emailA, password });
  check(error && error.code === 'user_already_exists', `got ${error && error.code}`);
  check(error.status === 422, `status ${error.status}`);
  check(!data.session, 'a session for a duplicate');
});
await step('wrong password is refused with invalid_credentials', async () => {
  const { error } = await client().auth.signInWithPassword({ email: emailA, password: 'wrong password' });
  check(error && error.code === 'invalid_credentials', `got ${error && error.code}`);
});
await step('signInWithPassword', async () => {
  const { data, error } = await a.auth.signInWithPassword({ email: emailA, password });
  check(!error, error && error.message);
  check(data.session.user.id === data.user.id, 'session user');
});
await step('getUser', async () => {
  const { data, error } = await a.auth.getUser();
  check(!error, error && error.message);
  check(data.user.email === emailA, 'wrong user');
});
await step('updateUser merges metadata', async () => {
  const { data, error } = await a.auth.updateUser({ data: { plan: 'pro' } });
  check(!error, error && error.message);
  check(data.user.user_metadata.plan === 'pro' && data.user.user_metadata.name === 'Ada', 'not merged');
});
await step('functions.invoke creates an assistant', async () => {
  const { data, error } = await a.functions.invoke('assistants', { body: { name: 'From supabase-js', firstMessage: 'Hello' } });
  check(!error, error && error.message);
  check(data.id && data.name === 'From supabase-js', JSON.stringify(data));
  assistantId = data.id;
});
await step('functions.invoke lists and gets it', async () => {
  const list = await a.functions.invoke('assistants', { method: 'GET' });
  check(!list.error, list.error && list.error.message);
  check(list.data.data.some((x) => x.id === assistantId), 'not listed');
  const one = await a.functions.invoke(`assistants/${assistantId}`, { method: 'GET' });
  check(!one.error && one.data.id === assistantId, 'not found');
});
await step("B cannot read A's assistant (404)", async () => {
  const { error } = await b.functions.invoke(`assistants/${assistantId}`, { method: 'GET' });
  check(error && error.context && error.context.status === 404, `got ${error && error.context && error.context.status}`);
  const body = await error.context.json();
  check(body.error.code === 'not_found', JSON.stringify(body));
});
await step('functions.invoke updates it', async () => {
  const { data, error } = await a.functions.invoke(`assistants/${assistantId}`, { method: 'PATCH', body: { name: 'Renamed' } });
  check(!error && data.name === 'Renamed', error && error.message);
});
await step('functions.invoke revalidates with If-None-Match (304) and If-Match guards writes (412)', async () => {
  const path = `assistants/${assistantId}`;
  const one = await a.functions.invoke(path, { method: 'GET' });
  const etag = one.response.headers.get('etag');
  check(etag && etag.startsWith('"'), `ETag ${etag}`);
  const again = await a.functions.invoke(path, { method: 'GET', headers: { 'If-None-Match': etag } });
  const revalidated = again.response || (again.error && again.error.context);
  check(revalidated && revalidated.status === 304, `got ${revalidated && revalidated.status}`);
  const stale = await a.functions.invoke(path, { method: 'PATCH', headers: { 'If-Match': '"stale"' }, body: { name: 'Lost' } });
  check(stale.error && stale.error.context.status === 412, `got ${stale.error && stale.error.context.status}`);
  check(stale.error.context.headers.get('etag') === etag, 'the 412 names the current ETag');
  check((await stale.error.context.json()).error.code === 'precondition_failed', 'error code');
  const fresh = await a.functions.invoke(path, { method: 'PATCH', headers: { 'If-Match': etag }, body: { name: 'Renamed again' } });
  check(!fresh.error && fresh.data.name === 'Renamed again', fresh.error && fresh.error.message);
  check(fresh.response.headers.get('etag') !== etag, 'a new ETag');
});
await step('refreshSession rotates the refresh token and the new token works', async () => {
  const before = (await a.auth.getSession()).data.session;
  const { data, error } = await a.auth.refreshSession();
  check(!error, error && error.message);
  check(data.session.refresh_token !== before.refresh_token, 'not rotated');
  const list = await a.functions.invoke('assistants?limit=5', { method: 'GET' });
  check(!list.error, list.error && list.error.message);
});
await step('updateUser changes the password', async () => {
  const { error } = await a.auth.updateUser({ password: 'a brand new password' });
  check(!error, error && error.message);
  const again = await client().auth.signInWithPassword({ email: emailA, password: 'a brand new password' });
  check(!again.error, again.error && again.error.message);
});
await step('functions.invoke deletes it', async () => {
  const { error, response } = await a.functions.invoke(`assistants/${assistantId}`, { method: 'DELETE' });
  check(!error && response.status === 204, error && error.message);
});
await step('signOut ends the session: refresh refused, anonymous calls 401', async () => {
  const refresh = (await a.auth.getSession()).data.session.refresh_token;
  const { error } = await a.auth.signOut();
  check(!error, error && error.message);
  const reuse = await client().auth.refreshSession({ refresh_token: refresh });
  check(reuse.error && reuse.error.code === 'refresh_token_not_found', `got ${reuse.error && reuse.error.code}`);
  const anon = await a.functions.invoke('assistants', { method: 'GET' });
  check(anon.error && anon.error.context.status === 401, `got ${anon.error && anon.error.context && anon.error.context.status}`);
});

finish('supabase probe');
