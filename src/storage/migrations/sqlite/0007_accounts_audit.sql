-- Accounts (Supabase-Auth-compatible sign-up and sign-in), profiles, sessions with rotating
-- refresh tokens, and the hash-chained audit log. Users created from an external JWT keep a
-- NULL password_hash: they have no password account.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN email_confirmed_at INTEGER;
ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER;
ALTER TABLE users ADD COLUMN banned_until INTEGER;
ALTER TABLE users ADD COLUMN user_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN app_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN display_name TEXT;
ALTER TABLE users ADD COLUMN preferences TEXT NOT NULL DEFAULT '{}';

-- One password account per e-mail (stored lower-cased).
CREATE UNIQUE INDEX users_account_email ON users (email) WHERE password_hash IS NOT NULL;

CREATE TABLE auth_sessions (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  signed_in_at  INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  refreshed_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);

-- Refresh tokens are stored as SHA-256 digests; each use revokes the token and adds a child.
CREATE TABLE refresh_tokens (
  token_hash   TEXT PRIMARY KEY,
  session_id   TEXT NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
  parent_hash  TEXT,
  revoked_at   INTEGER,
  created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_parent ON refresh_tokens (parent_hash);

-- Append-only; each entry's hash covers its fields and the previous entry's hash.
CREATE TABLE audit_log (
  seq              INTEGER PRIMARY KEY,
  at               INTEGER NOT NULL,
  actor_id         TEXT,
  actor_role       TEXT NOT NULL,
  action           TEXT NOT NULL,
  target_type      TEXT NOT NULL,
  target_id        TEXT,
  subject_user_id  TEXT,
  request_id       TEXT NOT NULL,
  ip               TEXT NOT NULL,
  before           TEXT,
  after            TEXT,
  prev_hash        TEXT NOT NULL,
  hash             TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_subject ON audit_log (subject_user_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
