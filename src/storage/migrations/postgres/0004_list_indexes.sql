-- Listing stays flat as tables grow: every documented filter is an index prefix, and name
-- search has a trigram index (pg_trgm, a trusted extension) that serves ILIKE '%…%'.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX assistants_owner_status_created
  ON assistants (user_id, sync_status, created_at DESC, id DESC);
CREATE INDEX assistants_owner_test_status_created
  ON assistants (user_id, is_test, sync_status, created_at DESC, id DESC);
CREATE INDEX assistants_status_created ON assistants (sync_status, created_at DESC, id DESC);
CREATE INDEX assistants_test_created ON assistants (is_test, created_at DESC, id DESC);
CREATE INDEX assistants_test_status_created
  ON assistants (is_test, sync_status, created_at DESC, id DESC);
CREATE INDEX assistants_name_trgm ON assistants USING gin (name gin_trgm_ops);

CREATE INDEX sync_jobs_state_id ON sync_jobs (state, id);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_target ON audit_log (target_id, seq);
