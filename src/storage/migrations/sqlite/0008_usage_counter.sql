-- Each user's count of assistants that are not being deleted, kept by triggers, so the quota
-- check on create reads one row instead of counting the owner's assistants.
ALTER TABLE users ADD COLUMN assistant_count INTEGER NOT NULL DEFAULT 0;
UPDATE users SET assistant_count =
  (SELECT count(*) FROM assistants a WHERE a.user_id = users.id AND a.sync_status <> 'deleting');

CREATE TRIGGER assistants_count_insert AFTER INSERT ON assistants
WHEN NEW.sync_status <> 'deleting'
BEGIN
  UPDATE users SET assistant_count = assistant_count + 1 WHERE id = NEW.user_id;
END;

CREATE TRIGGER assistants_count_delete AFTER DELETE ON assistants
WHEN OLD.sync_status <> 'deleting'
BEGIN
  UPDATE users SET assistant_count = assistant_count - 1 WHERE id = OLD.user_id;
END;

CREATE TRIGGER assistants_count_status AFTER UPDATE OF sync_status ON assistants
WHEN (OLD.sync_status = 'deleting') <> (NEW.sync_status = 'deleting')
BEGIN
  UPDATE users SET assistant_count = assistant_count +
    (CASE WHEN NEW.sync_status = 'deleting' THEN -1 ELSE 1 END) WHERE id = NEW.user_id;
END;
