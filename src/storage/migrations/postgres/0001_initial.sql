-- assistantd on PostgreSQL: the schema SQLite reaches through its migrations 0001-0006, in
-- PostgreSQL types (uuid, jsonb, numeric, timestamptz), plus the role, functions and
-- row-level security policies of the original Supabase project.

-- Each request's transaction runs as this role (SET LOCAL ROLE, as PostgREST does with its
-- authenticator): it owns nothing and does not bypass row-level security, so the policies
-- below apply even when the service connects as the owner or a superuser.
-- Roles belong to the whole cluster: another database may be creating it at the same moment.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'assistantd_app') THEN
    CREATE ROLE assistantd_app NOLOGIN NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;
-- The connecting user switches to it per transaction, so it must be a member.
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'assistantd_app', 'MEMBER') THEN
    EXECUTE format('GRANT assistantd_app TO %I', current_user);
  END IF;
EXCEPTION WHEN unique_violation THEN
  NULL;
END
$$;

-- The request's JWT claims, as the service sets them with set_config(..., true) at the start
-- of each transaction (Supabase's auth.jwt(), auth.uid() and auth.role()).
CREATE SCHEMA IF NOT EXISTS auth;
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(auth.jwt() ->> 'sub', '')::uuid
$$;
CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT auth.jwt() ->> 'role'
$$;
GRANT USAGE ON SCHEMA auth TO assistantd_app;

-- Timestamps cross the wire as integer microseconds since the epoch (the domain's unit).
CREATE OR REPLACE FUNCTION assistantd_ts(us bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE
  AS $$ SELECT timestamptz 'epoch' + us * interval '1 microsecond' $$;
CREATE OR REPLACE FUNCTION assistantd_us(ts timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE
  AS $$ SELECT (extract(epoch FROM ts) * 1000000)::bigint $$;

-- Users known to assistantd (created on their first authenticated request).
CREATE TABLE users (
  id          uuid PRIMARY KEY,
  email       text,
  role        text NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX users_created ON users (created_at DESC, id DESC);

-- One column per client field of domain/assistant_fields.cpp, plus the server-owned columns.
CREATE TABLE assistants (
  id                                    uuid PRIMARY KEY,
  user_id                               uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name                                  text,
  first_message                         text,
  first_message_mode                    text,
  first_message_interruptions_enabled   boolean,
  model                                 jsonb,
  voice                                 jsonb,
  transcriber                           jsonb,
  max_duration_seconds                  numeric,
  end_call_message                      text,
  end_call_phrases                      jsonb,
  voicemail_message                     text,
  voicemail_detection                   jsonb,
  background_sound                      text,
  metadata                              jsonb,
  server                                jsonb,
  client_messages                       jsonb,
  server_messages                       jsonb,
  hooks                                 jsonb,
  model_output_in_messages_enabled      boolean,
  transport_configurations              jsonb,
  observability_plan                    jsonb,
  credentials                           jsonb,
  credential_ids                        jsonb,
  compliance_plan                       jsonb,
  background_speech_denoising_plan      jsonb,
  analysis_plan                         jsonb,
  artifact_plan                         jsonb,
  start_speaking_plan                   jsonb,
  stop_speaking_plan                    jsonb,
  monitor_plan                          jsonb,
  keypad_input_plan                     jsonb,
  silence_timeout_seconds               numeric,
  end_call_after_silence                boolean,
  is_test                               boolean NOT NULL DEFAULT false,
  vapi_id                               text,
  sync_status                           text NOT NULL DEFAULT 'pending'
                                        CHECK (sync_status IN ('pending', 'synced', 'failed', 'deleting')),
  sync_error                            text,
  last_synced_at                        timestamptz,
  version                               bigint NOT NULL DEFAULT 1,
  created_at                            timestamptz NOT NULL,
  updated_at                            timestamptz NOT NULL
);
CREATE INDEX assistants_owner_created ON assistants (user_id, created_at DESC, id DESC);
CREATE INDEX assistants_owner_test_created ON assistants (user_id, is_test, created_at DESC, id DESC);
CREATE INDEX assistants_created ON assistants (created_at DESC, id DESC);

-- The transactional outbox (see SQLite's 0002, 0004 and 0006).
CREATE TABLE sync_jobs (
  id                bigserial PRIMARY KEY,
  assistant_id      uuid NOT NULL,      -- no FK: a delete job outlives its assistant row
  user_id           uuid NOT NULL,
  vapi_id           text,
  state             text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'dead')),
  attempts          integer NOT NULL DEFAULT 0,
  next_attempt_at   timestamptz NOT NULL,
  lease_until       timestamptz,
  create_sent_at    timestamptz,
  create_intent_at  timestamptz,
  last_error        text,
  api_key_sealed    bytea,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL
);
CREATE UNIQUE INDEX sync_jobs_one_open ON sync_jobs (assistant_id) WHERE state IN ('queued', 'running');
CREATE INDEX sync_jobs_due ON sync_jobs (state, next_attempt_at, id);
CREATE INDEX sync_jobs_assistant ON sync_jobs (assistant_id, id);

CREATE TABLE sync_attempts (
  id            bigserial PRIMARY KEY,
  job_id        bigint NOT NULL,
  assistant_id  uuid NOT NULL,
  operation     text NOT NULL,
  outcome       text NOT NULL,
  status        integer,
  error         text,
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz NOT NULL
);
CREATE INDEX sync_attempts_assistant ON sync_attempts (assistant_id, id DESC);

-- Stored Vapi keys (owner = a user id or 'global'), sealed with the master key.
CREATE TABLE vapi_keys (
  owner       text PRIMARY KEY,
  sealed      bytea NOT NULL,
  last4       text NOT NULL,
  updated_at  timestamptz NOT NULL
);

CREATE TABLE instance (
  singleton    integer PRIMARY KEY CHECK (singleton = 1),
  instance_id  text NOT NULL
);
INSERT INTO instance (singleton, instance_id) VALUES (1, replace(gen_random_uuid()::text, '-', ''));

GRANT SELECT, INSERT, UPDATE, DELETE ON users, assistants, sync_jobs, sync_attempts, vapi_keys
  TO assistantd_app;
GRANT SELECT ON instance TO assistantd_app;
GRANT USAGE ON SEQUENCE sync_jobs_id_seq, sync_attempts_id_seq TO assistantd_app;

-- Row-level security, enabled and forced (the owner is subject to it too).
CREATE OR REPLACE FUNCTION auth.is_admin() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(auth.role() IN ('admin', 'service_role'), false)
$$;

ALTER TABLE assistants ENABLE ROW LEVEL SECURITY;
ALTER TABLE assistants FORCE ROW LEVEL SECURITY;
-- The seed's three policies.
CREATE POLICY users_manage_own_assistants ON assistants FOR ALL TO assistantd_app
  USING (user_id = auth.uid() AND coalesce(auth.role(), '') NOT IN ('test', 'anon'))
  WITH CHECK (user_id = auth.uid() AND coalesce(auth.role(), '') NOT IN ('test', 'anon'));
CREATE POLICY admins_manage_all_assistants ON assistants FOR ALL TO assistantd_app
  USING (auth.is_admin()) WITH CHECK (auth.is_admin());
CREATE POLICY test_users_access_test_assistants ON assistants FOR ALL TO assistantd_app
  USING (auth.role() = 'test' AND user_id = auth.uid() AND is_test)
  WITH CHECK (auth.role() = 'test' AND user_id = auth.uid() AND is_test);

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_see_themselves ON users FOR ALL TO assistantd_app
  USING (id = auth.uid() OR auth.is_admin()) WITH CHECK (id = auth.uid() OR auth.is_admin());

ALTER TABLE sync_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY own_sync_jobs ON sync_jobs FOR ALL TO assistantd_app
  USING (user_id = auth.uid() OR auth.is_admin()) WITH CHECK (user_id = auth.uid() OR auth.is_admin());

ALTER TABLE sync_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY own_sync_attempts ON sync_attempts FOR ALL TO assistantd_app
  USING (auth.is_admin() OR EXISTS (SELECT 1 FROM assistants a WHERE a.id = assistant_id))
  WITH CHECK (auth.is_admin() OR EXISTS (SELECT 1 FROM assistants a WHERE a.id = assistant_id));

ALTER TABLE vapi_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE vapi_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY own_vapi_keys ON vapi_keys FOR ALL TO assistantd_app
  USING (owner = auth.uid()::text OR auth.is_admin())
  WITH CHECK (owner = auth.uid()::text OR auth.is_admin());
