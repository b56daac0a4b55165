// Vapi's official Node SDK (@vapi-ai/server-sdk, pinned) against a Vapi-compatible server:
// create → get → list → update → get → delete → get = 404, plus the SDK's error mapping.
// env: VAPI_BASE_URL, VAPI_TOKEN. Exits non-zero on the first failed expectation.
import assert from "node:assert/strict";
import { VapiClient, VapiError } from "@vapi-ai/server-sdk";

const baseUrl = process.env.VAPI_BASE_URL;
const token = process.env.VAPI_TOKEN;
assert.ok(baseUrl && token, "VAPI_BASE_URL and VAPI_TOKEN are required");

const vapi = new VapiClient({ token, environment: baseUrl });

const created = await vapi.assistants.create({
  name: "SDK probe",
  firstMessage: "Hello from the SDK",
  model: { provider: "openai", model: "gpt-4o", messages: [{ role: "system", content: "Be brief." }] },
  voice: { provider: "vapi", voiceId: "Elliot" },
  maxDurationSeconds: 600,
  metadata: { assistantdId: "probe-1" },
});
assert.match(created.id, /^[0-9a-f-]{36}$/);
assert.equal(created.name, "SDK probe");
assert.ok(created.orgId && created.createdAt && created.updatedAt);

const fetched = await vapi.assistants.get({ id: created.id });
assert.equal(fetched.id, created.id);
assert.deepEqual(fetched.metadata, { assistantdId: "probe-1" });

const listed = await vapi.assistants.list({ limit: 10 });
assert.ok(Array.isArray(listed), "list returns a bare array");
assert.ok(listed.some((a) => a.id === created.id));

const updated = await vapi.assistants.update({ id: created.id, name: "SDK probe 2" });
assert.equal(updated.name, "SDK probe 2");
assert.equal(updated.firstMessage, "Hello from the SDK", "PATCH keeps absent fields");

const again = await vapi.assistants.get({ id: created.id });
assert.equal(again.name, "SDK probe 2");

const deleted = await vapi.assistants.delete({ id: created.id });
assert.equal(deleted.id, created.id, "delete answers the deleted assistant");

await assert.rejects(vapi.assistants.get({ id: created.id }), (e) => {
  assert.ok(e instanceof VapiError);
  assert.equal(e.statusCode, 404);
  return true;
});

// A 400 with the validation messages as parsed JSON.
await assert.rejects(vapi.assistants.create({ name: "x".repeat(41), bogus: 1 }), (e) => {
  assert.equal(e.statusCode, 400);
  assert.ok(Array.isArray(e.body.message), "400 body message is an array");
  assert.ok(e.body.message.includes("property bogus should not exist"));
  return true;
});

// A wrong key is a 401.
const stranger = new VapiClient({ token: "wrong-key", environment: baseUrl });
await assert.rejects(stranger.assistants.list(), (e) => e.statusCode === 401);

console.log("vapi sdk probe: ok");
