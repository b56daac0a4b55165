-- Users known to assistantd (created on their first authenticated request).
CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  email       TEXT,
  role        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX users_created ON users (created_at DESC, id DESC);

-- Assistants: one snake_case column per client field of domain/assistant_fields.cpp, plus the
-- server-owned columns. Nested objects and arrays are JSON text; numbers keep their JSON type.
CREATE TABLE assistants (
  id                                   TEXT PRIMARY KEY,
  user_id                              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name                                 TEXT,
  first_message                        TEXT,
  first_message_mode                   TEXT,
  first_message_interruptions_enabled  INTEGER,
  model                                TEXT,
  voice                                TEXT,
  transcriber                          TEXT,
  max_duration_seconds                 ANY,
  end_call_message                     TEXT,
  end_call_phrases                     TEXT,
  voicemail_message                    TEXT,
  voicemail_detection                  TEXT,
  background_sound                     TEXT,
  metadata                             TEXT,
  server                               TEXT,
  client_messages                      TEXT,
  server_messages                      TEXT,
  hooks                                TEXT,
  model_output_in_messages_enabled     INTEGER,
  transport_configurations             TEXT,
  observability_plan                   TEXT,
  credentials                          TEXT,
  credential_ids                       TEXT,
  compliance_plan                      TEXT,
  background_speech_denoising_plan     TEXT,
  analysis_plan                        TEXT,
  artifact_plan                        TEXT,
  start_speaking_plan                  TEXT,
  stop_speaking_plan                   TEXT,
  monitor_plan                         TEXT,
  keypad_input_plan                    TEXT,
  silence_timeout_seconds              ANY,
  end_call_after_silence               INTEGER,
  is_test                              INTEGER NOT NULL DEFAULT 0,
  vapi_id                              TEXT,
  sync_status                          TEXT NOT NULL DEFAULT 'pending'
                                       CHECK (sync_status IN ('pending', 'synced', 'failed', 'deleting')),
  sync_error                           TEXT,
  last_synced_at                       INTEGER,
  version                              INTEGER NOT NULL DEFAULT 1,
  created_at                           INTEGER NOT NULL,
  updated_at                           INTEGER NOT NULL
) STRICT;

-- Keyset pagination: (created_at desc, id desc) per owner, per owner for test rows, and
-- across owners for admins.
CREATE INDEX assistants_owner_created ON assistants (user_id, created_at DESC, id DESC);
CREATE INDEX assistants_owner_test_created ON assistants (user_id, is_test, created_at DESC, id DESC);
CREATE INDEX assistants_created ON assistants (created_at DESC, id DESC);
