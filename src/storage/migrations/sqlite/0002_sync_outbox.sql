-- The transactional outbox (C7). A job means "make Vapi match this assistant's current local
-- state"; it is written in the same transaction as the assistant change.
CREATE TABLE sync_jobs (
  id                    INTEGER PRIMARY KEY AUTOINCREMENT,
  assistant_id          TEXT NOT NULL,   -- no FK: a delete job outlives its assistant row
  user_id               TEXT NOT NULL,
  vapi_id               TEXT,            -- remote id known at enqueue (for rows already gone)
  state                 TEXT NOT NULL DEFAULT 'queued'
                        CHECK (state IN ('queued', 'running', 'done', 'dead')),
  attempts              INTEGER NOT NULL DEFAULT 0,
  next_attempt_at       INTEGER NOT NULL,
  lease_until           INTEGER,
  create_sent_at        INTEGER,         -- a create whose outcome is unknown was sent then
  last_error            TEXT,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL
) STRICT;

-- At most one open job per assistant: later writes coalesce into it.
CREATE UNIQUE INDEX sync_jobs_one_open ON sync_jobs (assistant_id)
  WHERE state IN ('queued', 'running');
CREATE INDEX sync_jobs_due ON sync_jobs (state, next_attempt_at);
CREATE INDEX sync_jobs_assistant ON sync_jobs (assistant_id, id);

-- Every call made for a job, newest kept for GET /v1/assistants/{id}/sync.
CREATE TABLE sync_attempts (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id        INTEGER NOT NULL,
  assistant_id  TEXT NOT NULL,
  operation     TEXT NOT NULL,   -- create, update, delete, search, none
  outcome       TEXT NOT NULL,   -- ok, retry, failed, dead
  status        INTEGER,         -- HTTP status from Vapi, if any
  error         TEXT,
  started_at    INTEGER NOT NULL,
  finished_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX sync_attempts_assistant ON sync_attempts (assistant_id, id DESC);
