// docs/openapi.yaml against the running server, both ways:
//  - the router's table (ROUTES, logged by the server at start) and the documented operations
//    name the same METHOD /path pairs;
//  - every documented operation is sent (with valid input, then without credentials where it
//    needs them, and with the bad inputs listed below), and each answer's status must be one the
//    operation documents, its Content-Type the documented one, and its body valid against the
//    documented schema (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses; Vapi's schema file for the
//    assistant fields).
// Prints "openapi conformance: N operations, M requests, ok" or each mismatch; exit 1 on any.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const base = process.env.ASSISTANTD_URL;
const docPath = process.env.OPENAPI;
const routes = JSON.parse(process.env.ROUTES);
const userToken = process.env.USER_TOKEN;
const adminToken = process.env.ADMIN_TOKEN;
const publishable = process.env.PUBLISHABLE_KEY;
const secret = process.env.SECRET_KEY;

const doc = YAML.parse(readFileSync(docPath, 'utf8'));
const docId = pathToFileURL(resolve(docPath)).href;
const vapiPath = resolve(dirname(docPath), '../schema/vapi-assistant.schema.json');
const vapi = JSON.parse(readFileSync(vapiPath, 'utf8'));
delete vapi.$schema;  // draft-07 keywords used by Vapi's file are read by the 2020 vocabulary
vapi.$id = pathToFileURL(vapiPath).href;
// Vapi publishes `enum: []` (no value allowed) in two anyOf branches; Ajv refuses to compile an
// empty enum, so those become the equivalent `not: {}`.
(function emptyEnums(node) {
  if (Array.isArray(node)) return node.forEach(emptyEnums);
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node.enum) && node.enum.length === 0) {
    delete node.enum;
    node.not = {};
  }
  Object.values(node).forEach(emptyEnums);
})(vapi);

const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
ajv.addSchema(vapi);
ajv.addSchema({ ...doc, $id: docId });

const failures = [];
const fail = (what) => failures.push(what);

function pointer(ref) {
  if (!ref.startsWith('#/')) throw new Error(`external reference outside a schema: ${ref}`);
  return ref.slice(2).split('/').reduce((node, part) => {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    return node?.[key];
  }, doc);
}
const deref = (node) => {
  while (node && node.$ref) node = pointer(node.$ref);
  return node;
};
const escape = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

// --- Both ways: the router and the document. ---
const methods = ['get', 'put', 'post', 'patch', 'delete'];
const shape = (p) => p.replace(/\{[^}]+\}/g, '{}');
const documented = new Map();  // "GET /v1/assistants/{}" → {path, method, op}
for (const [path, item] of Object.entries(doc.paths)) {
  for (const m of methods) {
    if (!item[m]) continue;
    documented.set(`${m.toUpperCase()} ${shape(path)}`, { path, method: m, op: deref(item[m]) });
  }
}
const routed = new Set(routes.map((r) => {
  const [m, p] = r.split(' ');
  return `${m} ${shape(p)}`;
}));
for (const key of routed) if (!documented.has(key)) fail(`routed but not documented: ${key}`);
for (const key of documented.keys()) if (!routed.has(key)) fail(`documented but not routed: ${key}`);

// --- Requests. ---
const creds = {
  none: {},
  app: { apikey: publishable },
  user: { apikey: publishable, authorization: `Bearer ${userToken}` },
  admin: { apikey: publishable, authorization: `Bearer ${adminToken}` },
  service: { apikey: secret, authorization: `Bearer ${secret}` },
};
const exercised = new Set();
let requests = 0;

// Sends one request for the operation at `path` (a template) and checks the answer against the
// document; returns {status, headers, body}.
async function call(method, template, { params = {}, query = '', as = 'user', headers = {},
  body, expect } = {}) {
  const key = `${method} ${shape(template)}`;
  const entry = documented.get(key);
  if (!entry) {
    fail(`test sends an undocumented operation: ${key}`);
    return {};
  }
  let path = template;
  for (const [name, value] of Object.entries(params)) path = path.replace(`{${name}}`, value);
  const h = { ...creds[as], ...headers };
  if (body !== undefined) h['content-type'] ??= 'application/json';
  const res = await fetch(base + path + (query ? `?${query}` : ''), {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
  });
  requests++;
  exercised.add(key);
  const text = await res.text();
  const what = `${method} ${path}${query ? `?${query}` : ''} (${as}) → ${res.status}`;
  if (expect !== undefined && res.status !== expect) fail(`${what}: expected ${expect}: ${text.slice(0, 200)}`);
  const responses = entry.op.responses ?? {};
  const documentedStatus = responses[String(res.status)] ? String(res.status)
    : responses[`${String(res.status)[0]}XX`] ? `${String(res.status)[0]}XX`
      : responses.default ? 'default' : null;
  if (!documentedStatus) {
    fail(`${what}: status not documented for ${entry.op.operationId}`);
    return { status: res.status, headers: res.headers, body: text };
  }
  const response = deref(responses[documentedStatus]);
  const content = response.content;
  const type = (res.headers.get('content-type') ?? '').split(';')[0].trim();
  if (!content) {
    if (text.length > 0) fail(`${what}: documented without a body, got ${text.slice(0, 100)}`);
    return { status: res.status, headers: res.headers, body: text };
  }
  if (!content[type]) {
    fail(`${what}: Content-Type ${type || '(none)'} is not documented (${Object.keys(content)})`);
    return { status: res.status, headers: res.headers, body: text };
  }
  let parsed = text;
  if (type.endsWith('json')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      fail(`${what}: body is not JSON`);
      return { status: res.status, headers: res.headers, body: text };
    }
    // The schema by its place in the document, so its references resolve as the document's.
    const opPointer = findOperationPointer(entry);
    const schemaRef = responses[documentedStatus].$ref
      ? `${docId}#${responses[documentedStatus].$ref.slice(1)}/content/${escape(type)}/schema`
      : `${docId}#${opPointer}/responses/${documentedStatus}/content/${escape(type)}/schema`;
    const validate = ajv.getSchema(schemaRef) ?? ajv.compile({ $ref: schemaRef });
    if (!validate(parsed)) {
      fail(`${what}: body does not match the documented schema: ${ajv.errorsText(validate.errors)}` +
        ` — ${text.slice(0, 300)}`);
    }
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

// The JSON pointer of an operation, following one $ref from a path item's method (the
// /functions/v1 aliases point at the /v1 operations).
function findOperationPointer(entry) {
  const raw = doc.paths[entry.path][entry.method];
  if (raw.$ref) return raw.$ref.slice(1);
  return `/paths/${escape(entry.path)}/${entry.method}`;
}

const rnd = () => Math.random().toString(16).slice(2, 10);
const missing = '7b0a3c2e-1d4f-4a6b-9c8d-0e1f2a3b4c5d';

// Public and auth.
await call('GET', '/healthz', { as: 'none', expect: 200 });
await call('GET', '/readyz', { as: 'none', expect: 200 });
await call('GET', '/metrics', { as: 'none', expect: 200 });
await call('GET', '/auth/v1/.well-known/jwks.json', { as: 'none', expect: 200 });
await call('GET', '/auth/v1/settings', { as: 'app', expect: 200 });
await call('GET', '/auth/v1/health', { as: 'app', expect: 200 });
const email = `conformance-${rnd()}@example.com`;
const password = `Conf0rmance-${rnd()}-pass`;
const signed = await call('POST', '/auth/v1/signup', { as: 'app', body: { email, password }, expect: 200 });
await call('POST', '/auth/v1/signup', { as: 'app', body: { email, password }, expect: 422 });
await call('POST', '/auth/v1/signup', { as: 'app', body: { email: 'x', password }, expect: 400 });
await call('POST', '/auth/v1/token', { as: 'app', query: 'grant_type=password', body: { email, password }, expect: 200 });
await call('POST', '/auth/v1/token', { as: 'app', query: 'grant_type=password', body: { email, password: 'wrong' }, expect: 400 });
const refreshed = await call('POST', '/auth/v1/token', { as: 'app', query: 'grant_type=refresh_token', body: { refresh_token: signed.body.refresh_token }, expect: 200 });
const session = { apikey: publishable, authorization: `Bearer ${refreshed.body.access_token}` };
creds.session = session;
await call('GET', '/auth/v1/user', { as: 'session', expect: 200 });
await call('PUT', '/auth/v1/user', { as: 'session', body: { data: { conformance: true } }, expect: 200 });

// Assistants, on both routes.
for (const prefix of ['/v1/assistants', '/functions/v1/assistants']) {
  const created = await call('POST', prefix, { body: { name: `Conformance ${rnd()}` }, expect: 201 });
  await call('POST', prefix, { body: { name: 5 }, expect: 400 });
  await call('POST', prefix, { body: { name: 'x' }, headers: { 'content-type': 'text/plain' }, expect: 415 });
  const id = created.body.id;
  const etag = created.headers.get('etag');
  const list = await call('GET', prefix, { query: 'limit=5', expect: 200 });
  await call('GET', prefix, { query: 'limit=5', headers: { 'if-none-match': list.headers.get('etag') }, expect: 304 });
  await call('GET', prefix, { query: 'limit=0', expect: 400 });
  await call('GET', `${prefix}/{id}`, { params: { id }, expect: 200 });
  await call('GET', `${prefix}/{id}`, { params: { id }, query: 'fields=id,name', expect: 200 });
  await call('GET', `${prefix}/{id}`, { params: { id }, headers: { 'if-none-match': etag }, expect: 304 });
  await call('GET', `${prefix}/{id}`, { params: { id: missing }, expect: 404 });
  await call('GET', `${prefix}/{id}`, { params: { id: 'not-an-id' }, expect: 400 });
  const patched = await call('PATCH', `${prefix}/{id}`, { params: { id }, headers: { 'if-match': etag }, body: { name: 'Renamed' }, expect: 200 });
  await call('PATCH', `${prefix}/{id}`, { params: { id }, headers: { 'if-match': etag }, body: { name: 'Stale' }, expect: 412 });
  await call('PATCH', `${prefix}/{id}`, { params: { id }, body: { firstMessageMode: 'nope' }, expect: 400 });
  await call('GET', `${prefix}/{id}/sync`, { params: { id }, expect: 200 });
  await call('POST', `${prefix}/{id}/sync`, { params: { id }, expect: 202 });
  await call('POST', `${prefix}/{id}/sync`, { params: { id: missing }, expect: 404 });
  await call('DELETE', `${prefix}/{id}`, { params: { id }, headers: { 'if-match': '"stale"' }, expect: 412 });
  await call('DELETE', `${prefix}/{id}`, { params: { id }, expect: 204 });
  await call('DELETE', `${prefix}/{id}`, { params: { id }, expect: 404 });
  void patched;
}

// Config.
await call('PUT', '/v1/config/vapi-key', { body: { apiKey: `vk-conformance-${rnd()}` }, expect: 200 });
await call('PUT', '/v1/config/vapi-key', { body: { apiKey: 'short' }, expect: 400 });
await call('GET', '/v1/config/vapi-key', { expect: 200 });
await call('GET', '/v1/config/vapi-key', { query: 'scope=global', expect: 403 });
await call('DELETE', '/v1/config/vapi-key', { expect: 204 });

// Profile and audit.
const profile = await call('GET', '/v1/profile', { expect: 200 });
await call('GET', '/v1/profile', { headers: { 'if-none-match': profile.headers.get('etag') }, expect: 304 });
await call('PATCH', '/v1/profile', { body: { displayName: 'Conformance' }, expect: 200 });
await call('PATCH', '/v1/profile', { body: { displayName: 7 }, expect: 400 });
await call('GET', '/v1/profile/audit', { query: 'limit=5', expect: 200 });
await call('GET', '/v1/profile/audit', { query: 'limit=0', expect: 400 });

// Admin.
await call('GET', '/v1/admin/sync', { as: 'admin', expect: 200 });
await call('GET', '/v1/admin/sync', { expect: 403 });
await call('POST', '/v1/admin/sync/dead/{jobId}/retry', { as: 'admin', params: { jobId: '999999' }, expect: 404 });
await call('POST', '/v1/admin/reconcile', { as: 'admin', body: { dryRun: true }, expect: 200 });
await call('POST', '/v1/admin/reconcile', { as: 'admin', body: { force: true }, expect: 400 });
await call('GET', '/v1/admin/audit', { as: 'admin', query: 'limit=5', expect: 200 });
await call('GET', '/v1/admin/users', { as: 'admin', query: 'limit=5', expect: 200 });
const user = await call('POST', '/v1/admin/users', { as: 'admin', body: { email: `admin-made-${rnd()}@example.com`, password: `Adm1n-${rnd()}-pass` }, expect: 201 });
await call('POST', '/v1/admin/users', { as: 'admin', body: { email: 'bad' }, expect: 400 });
await call('GET', '/v1/admin/users/{id}', { as: 'admin', params: { id: user.body.id }, expect: 200 });
await call('GET', '/v1/admin/users/{id}', { as: 'admin', params: { id: missing }, expect: 404 });
await call('PATCH', '/v1/admin/users/{id}', { as: 'admin', params: { id: user.body.id }, body: { role: 'premium' }, expect: 200 });
await call('PATCH', '/v1/admin/users/{id}', { as: 'admin', params: { id: user.body.id }, body: { role: 'king' }, expect: 400 });
await call('DELETE', '/v1/admin/users/{id}', { as: 'admin', params: { id: user.body.id }, expect: 204 });

// GoTrue's admin API (service role).
await call('GET', '/auth/v1/admin/users', { as: 'service', query: 'per_page=5', expect: 200 });
await call('GET', '/auth/v1/admin/users', { as: 'session', expect: 403 });
const gu = await call('POST', '/auth/v1/admin/users', { as: 'service', body: { email: `gotrue-made-${rnd()}@example.com`, password: `G0true-${rnd()}-pass`, email_confirm: true }, expect: 200 });
await call('GET', '/auth/v1/admin/users/{id}', { as: 'service', params: { id: gu.body.id }, expect: 200 });
await call('GET', '/auth/v1/admin/users/{id}', { as: 'service', params: { id: missing }, expect: 404 });
await call('PUT', '/auth/v1/admin/users/{id}', { as: 'service', params: { id: gu.body.id }, body: { user_metadata: { plan: 'pro' } }, expect: 200 });
await call('DELETE', '/auth/v1/admin/users/{id}', { as: 'service', params: { id: gu.body.id }, expect: 200 });

// Without credentials: every operation that needs them answers a documented refusal.
for (const { path, method, op } of documented.values()) {
  const security = op.security ?? doc.security;
  if (security.length === 0) continue;
  const params = {};
  for (const name of path.match(/\{([^}]+)\}/g) ?? []) params[name.slice(1, -1)] = name === '{jobId}' ? '1' : missing;
  const r = await call(method.toUpperCase(), path, { as: 'none', params, body: ['put', 'post', 'patch'].includes(method) ? {} : undefined });
  if (r.status !== 401) fail(`${method.toUpperCase()} ${path} without credentials → ${r.status}, expected 401`);
}

await call('POST', '/auth/v1/logout', { as: 'session', expect: 204 });

for (const key of documented.keys()) if (!exercised.has(key)) fail(`documented but never sent: ${key}`);
if (failures.length > 0) {
  for (const f of failures) console.log(`FAIL ${f}`);
  console.log(`openapi conformance: ${failures.length} failures in ${requests} requests`);
  process.exit(1);
}
console.log(`openapi conformance: ${documented.size} operations, ${requests} requests, ok`);
