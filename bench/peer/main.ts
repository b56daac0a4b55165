// The comparison peer (bench only, not product code): the seed's Supabase Edge Function for
// assistants, as such a function is written — TypeScript on Deno, jose for the JWT, SQLite
// through node:sqlite in WAL mode (synchronous=NORMAL: no fsync per commit, so it is *less*
// durable than assistantd, which acknowledges a write only after its WAL is on disk).
// Two operations: POST /functions/v1/assistants and GET /functions/v1/assistants/:id.
// env: PEER_DB (SQLite file), PEER_JWT_SECRET_FILE (the HS256 secret assistantd uses).
import { DatabaseSync } from "node:sqlite";
import { jwtVerify } from "jose";

const secret = new TextEncoder().encode(
  Deno.readTextFileSync(Deno.env.get("PEER_JWT_SECRET_FILE")!).trim(),
);
const db = new DatabaseSync(Deno.env.get("PEER_DB")!);
db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
  CREATE TABLE IF NOT EXISTS assistants (id TEXT PRIMARY KEY, user_id TEXT NOT NULL,
    name TEXT, config TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS assistants_user ON assistants (user_id, created_at);`);
const insert = db.prepare(
  "INSERT INTO assistants (id, user_id, name, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
);
const select = db.prepare("SELECT * FROM assistants WHERE id = ? AND user_id = ?");

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

async function userOf(req: Request): Promise<string | null> {
  const auth = req.headers.get("authorization") ?? "";
  if (!auth.startsWith("Bearer ")) return null;
  try {
    const { payload } = await jwtVerify(auth.slice(7), secret, { algorithms: ["HS256"] });
    return typeof payload.sub === "string" ? payload.sub : null;
  } catch {
    return null;
  }
}

function row(r: Record<string, unknown>) {
  return { id: r.id, ...JSON.parse(r.config as string), createdAt: r.created_at, updatedAt: r.updated_at };
}

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PEER_PORT") ?? "0"),
  onListen: ({ hostname, port }) => console.error(JSON.stringify({ address: `${hostname}:${port}` })),
}, async (req) => {
  const user = await userOf(req);
  if (!user) return json(401, { error: "unauthorized" });
  const url = new URL(req.url);
  const m = url.pathname.match(/^\/functions\/v1\/assistants(?:\/([0-9a-f-]{36}))?$/);
  if (!m) return json(404, { error: "not found" });
  if (req.method === "POST" && !m[1]) {
    let body: Record<string, unknown>;
    try {
      body = await req.json();
    } catch {
      return json(400, { error: "invalid JSON" });
    }
    if (typeof body !== "object" || body === null || typeof body.name !== "string") {
      return json(400, { error: "name is required" });
    }
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    insert.run(id, user, body.name, JSON.stringify(body), now, now);
    return json(201, { id, ...body, createdAt: now, updatedAt: now });
  }
  if (req.method === "GET" && m[1]) {
    const r = select.get(m[1], user) as Record<string, unknown> | undefined;
    return r ? json(200, row(r)) : json(404, { error: "not found" });
  }
  return json(405, { error: "method not allowed" });
});
