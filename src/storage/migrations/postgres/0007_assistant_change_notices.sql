-- Every committed change to an assistant row reaches every instance's read cache. Each
-- statement that inserts, updates or deletes assistants (a cascade from users included, and
-- whoever runs it: an instance, a command, psql) sends one notice on channel
-- assistantd_assistants naming the changed ids, comma-separated, or '*' when they are more
-- than fit in one notice. NOTIFY is transactional: the notice is delivered exactly when the
-- change commits, in commit order, to every session listening (PgChangeFeed).
CREATE FUNCTION assistantd_notify_assistant_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
  n bigint;
  ids text;
BEGIN
  SELECT count(*), string_agg(id::text, ',') INTO n, ids
    FROM (SELECT id FROM changed_rows LIMIT 201) AS first_rows;
  IF n > 0 THEN
    PERFORM pg_notify('assistantd_assistants', CASE WHEN n > 200 THEN '*' ELSE ids END);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER assistants_notify_insert AFTER INSERT ON assistants
  REFERENCING NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION assistantd_notify_assistant_changes();
CREATE TRIGGER assistants_notify_update AFTER UPDATE ON assistants
  REFERENCING NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION assistantd_notify_assistant_changes();
CREATE TRIGGER assistants_notify_delete AFTER DELETE ON assistants
  REFERENCING OLD TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION assistantd_notify_assistant_changes();
