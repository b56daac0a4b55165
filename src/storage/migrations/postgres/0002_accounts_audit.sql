-- Accounts (Supabase-Auth-compatible sign-up and sign-in), profiles, sessions with rotating
-- refresh tokens, and the hash-chained audit log. Users created from an external JWT keep a
-- NULL password_hash: they have no password account.
ALTER TABLE users ADD COLUMN password_hash text;
ALTER TABLE users ADD COLUMN email_confirmed_at timestamptz;
ALTER TABLE users ADD COLUMN last_sign_in_at timestamptz;
ALTER TABLE users ADD COLUMN banned_until timestamptz;
ALTER TABLE users ADD COLUMN user_metadata jsonb NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN app_metadata jsonb NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN display_name text;
ALTER TABLE users ADD COLUMN preferences jsonb NOT NULL DEFAULT '{}';

-- One password account per e-mail (stored lower-cased).
CREATE UNIQUE INDEX users_account_email ON users (email) WHERE password_hash IS NOT NULL;

CREATE TABLE auth_sessions (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  signed_in_at  timestamptz NOT NULL,
  created_at    timestamptz NOT NULL,
  refreshed_at  timestamptz NOT NULL
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);

-- Refresh tokens are stored as SHA-256 digests; each use revokes the token and adds a child.
CREATE TABLE refresh_tokens (
  token_hash   text PRIMARY KEY,
  session_id   uuid NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
  parent_hash  text,
  revoked_at   timestamptz,
  created_at   timestamptz NOT NULL
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_parent ON refresh_tokens (parent_hash);

-- Append-only; each entry's hash covers its fields and the previous entry's hash. Appends
-- are serialised by a transaction-level advisory lock, so seq has no gaps.
CREATE TABLE audit_log (
  seq              bigint PRIMARY KEY,
  at               timestamptz NOT NULL,
  actor_id         uuid,
  actor_role       text NOT NULL,
  action           text NOT NULL,
  target_type      text NOT NULL,
  target_id        text,
  subject_user_id  uuid,
  request_id       text NOT NULL,
  ip               text NOT NULL,
  before           text,
  after            text,
  prev_hash        text NOT NULL,
  hash             text NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject_user_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);

GRANT SELECT, INSERT, UPDATE, DELETE ON auth_sessions, refresh_tokens TO assistantd_app;
-- The application only ever appends to and reads the audit log.
GRANT SELECT, INSERT ON audit_log TO assistantd_app;

ALTER TABLE auth_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY own_sessions ON auth_sessions FOR ALL TO assistantd_app
  USING (user_id = auth.uid() OR auth.is_admin()) WITH CHECK (user_id = auth.uid() OR auth.is_admin());
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY own_refresh_tokens ON refresh_tokens FOR ALL TO assistantd_app
  USING (auth.is_admin() OR EXISTS (SELECT 1 FROM auth_sessions s WHERE s.id = session_id))
  WITH CHECK (auth.is_admin() OR EXISTS (SELECT 1 FROM auth_sessions s WHERE s.id = session_id));
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY read_own_audit ON audit_log FOR SELECT TO assistantd_app
  USING (auth.is_admin() OR subject_user_id = auth.uid() OR actor_id = auth.uid());
CREATE POLICY append_audit ON audit_log FOR INSERT TO assistantd_app
  WITH CHECK (auth.is_admin() OR actor_id = auth.uid());
