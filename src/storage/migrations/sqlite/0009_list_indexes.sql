-- Listing stays flat as tables grow: every documented filter is an index prefix, and name
-- search has a trigram index that serves substring matches.

-- Status filters, alone and with isTest, per owner and across owners (admins).
CREATE INDEX assistants_owner_status_created
  ON assistants (user_id, sync_status, created_at DESC, id DESC);
CREATE INDEX assistants_owner_test_status_created
  ON assistants (user_id, is_test, sync_status, created_at DESC, id DESC);
CREATE INDEX assistants_status_created ON assistants (sync_status, created_at DESC, id DESC);
CREATE INDEX assistants_test_created ON assistants (is_test, created_at DESC, id DESC);
CREATE INDEX assistants_test_status_created
  ON assistants (is_test, sync_status, created_at DESC, id DESC);

-- Name search (`q`, substring, case-insensitive): an FTS5 trigram index over the name, kept
-- in step with the table by triggers. It finds the few rows a rare or absent term matches
-- without reading the others.
CREATE VIRTUAL TABLE assistants_name USING fts5(
  name, content = 'assistants', content_rowid = 'rowid', tokenize = 'trigram');
INSERT INTO assistants_name (rowid, name) SELECT rowid, name FROM assistants WHERE name IS NOT NULL;
CREATE TRIGGER assistants_name_insert AFTER INSERT ON assistants WHEN NEW.name IS NOT NULL
BEGIN
  INSERT INTO assistants_name (rowid, name) VALUES (NEW.rowid, NEW.name);
END;
CREATE TRIGGER assistants_name_delete AFTER DELETE ON assistants WHEN OLD.name IS NOT NULL
BEGIN
  INSERT INTO assistants_name (assistants_name, rowid, name) VALUES ('delete', OLD.rowid, OLD.name);
END;
CREATE TRIGGER assistants_name_update AFTER UPDATE OF name ON assistants
WHEN OLD.name IS NOT NEW.name
BEGIN
  INSERT INTO assistants_name (assistants_name, rowid, name)
    SELECT 'delete', OLD.rowid, OLD.name WHERE OLD.name IS NOT NULL;
  INSERT INTO assistants_name (rowid, name) SELECT NEW.rowid, NEW.name WHERE NEW.name IS NOT NULL;
END;

-- The dead-letter listing (newest first) and the admin audit filters.
CREATE INDEX sync_jobs_state_id ON sync_jobs (state, id);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_target ON audit_log (target_id, seq);
