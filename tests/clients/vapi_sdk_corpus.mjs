// The assistant corpus (tests/corpus/vapi_assistants.json) through Vapi's official SDK to
// vapi-sim, and through assistantd → sync → vapi-sim: both must accept the valid assistants
// and refuse the invalid ones, and the copy assistantd's sync leaves in Vapi must be what the
// SDK itself would have stored.
// env: VAPI_BASE_URL, VAPI_TOKEN, ASSISTANTD_URL, ASSISTANTD_TOKEN, CORPUS.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { VapiClient, VapiError } from "@vapi-ai/server-sdk";

const { VAPI_BASE_URL, VAPI_TOKEN, ASSISTANTD_URL, ASSISTANTD_TOKEN, CORPUS } = process.env;
assert.ok(VAPI_BASE_URL && VAPI_TOKEN && ASSISTANTD_URL && ASSISTANTD_TOKEN && CORPUS);
const corpus = JSON.parse(readFileSync(CORPUS, "utf8"));
const vapi = new VapiClient({ token: VAPI_TOKEN, environment: VAPI_BASE_URL, maxRetries: 0 });

const VAPI_OWNED = ["id", "orgId", "createdAt", "updatedAt", "latestVersion"];
const OURS = ["id", "userId", "vapiId", "syncStatus", "syncError", "lastSyncedAt", "version",
              "createdAt", "updatedAt"];
const without = (object, keys) =>
  Object.fromEntries(Object.entries(object).filter(([k]) => !keys.includes(k)));
// A remote copy without what Vapi owns and without assistantd's tag in metadata.
const fieldsOf = (remote) => {
  const out = without(remote, VAPI_OWNED);
  const { assistantdId, assistantdInstance, ...metadata } = out.metadata ?? {};
  if (Object.keys(metadata).length) out.metadata = metadata; else delete out.metadata;
  return out;
};

async function api(method, path, body) {
  const r = await fetch(ASSISTANTD_URL + path, {
    method,
    headers: { Authorization: `Bearer ${ASSISTANTD_TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function waitSynced(id) {
  for (let i = 0; i < 3000; ++i) {
    const s = await api("GET", `/v1/assistants/${id}/sync`);
    if (s.body.syncStatus === "synced") return s.body;
    assert.notEqual(s.body.syncStatus, "failed", `${id}: ${s.body.syncError}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${id} did not sync`);
}

let checked = 0;
const sdkStored = new Map();
// 1. Through the SDK: create, get, list, update, delete.
for (const { label, assistant } of corpus.valid) {
  const created = await vapi.assistants.create(assistant);
  assert.deepEqual(fieldsOf(created), assistant, label);
  const got = await vapi.assistants.get({ id: created.id });
  assert.deepEqual(got, created, label);
  sdkStored.set(label, fieldsOf(got));
  const updated = await vapi.assistants.update({ id: created.id, name: "Renamed" });
  assert.equal(updated.name, "Renamed", label);
  assert.ok((await vapi.assistants.list({ limit: 1000 })).some((a) => a.id === created.id), label);
  assert.equal((await vapi.assistants.delete({ id: created.id })).id, created.id, label);
  ++checked;
}
for (const { label, assistant } of corpus.invalid) {
  await assert.rejects(vapi.assistants.create(assistant), (e) => {
    assert.ok(e instanceof VapiError, label);
    assert.equal(e.statusCode, 400, label);
    assert.ok(Array.isArray(e.body.message), label);
    return true;
  });
  ++checked;
}

// 2. Through assistantd: the same verdicts, and Vapi ends up with what the SDK stored.
for (const { label, assistant } of corpus.valid) {
  const r = await api("POST", "/v1/assistants", assistant);
  assert.equal(r.status, 201, `${label}: ${JSON.stringify(r.body)}`);
  assert.deepEqual(without(r.body, OURS), assistant, label);
  const { vapiId } = await waitSynced(r.body.id);
  const remote = await vapi.assistants.get({ id: vapiId });
  assert.deepEqual(fieldsOf(remote), sdkStored.get(label), label);
  assert.equal(remote.metadata.assistantdId, r.body.id, label);
  // Clearing its first field reaches Vapi too.
  const [first] = Object.keys(assistant);
  const cleared = await api("PATCH", `/v1/assistants/${r.body.id}`, { [first]: null });
  assert.equal(cleared.status, 200, label);
  await waitSynced(r.body.id);
  const after = fieldsOf(await vapi.assistants.get({ id: vapiId }));
  const expected = without(assistant, [first]);
  // A field cleared to the default Vapi's schema declares is that default, not absent.
  if (first === "firstMessageInterruptionsEnabled") expected[first] = false;
  assert.deepEqual(after, expected, `${label}: clearing ${first}`);
  assert.deepEqual(without((await api("GET", `/v1/assistants/${r.body.id}`)).body, OURS),
                   without(assistant, [first]), label);
}
for (const { label, field, assistant } of corpus.invalid) {
  const r = await api("POST", "/v1/assistants", assistant);
  assert.equal(r.status, 400, label);
  assert.equal(r.body.error.code, "validation_failed", label);
  assert.deepEqual(r.body.error.details.map((d) => d.field), [field], label);
}

console.log(`vapi sdk corpus: ${checked} assistants, ok`);
