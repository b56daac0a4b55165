-- The listing indexes again, in ascending order. SQLite walks an index backwards for
-- "ORDER BY created_at DESC, id DESC" as cheaply as forwards, and in ascending order a new
-- row's entry goes at the right-hand end of its range, where SQLite appends to the last
-- page instead of splitting pages in half: the indexes stay packed (about half the pages)
-- and a write touches fewer of them.
DROP INDEX users_created;
CREATE INDEX users_created ON users (created_at, id);
DROP INDEX assistants_owner_created;
CREATE INDEX assistants_owner_created ON assistants (user_id, created_at, id);
DROP INDEX assistants_owner_test_created;
CREATE INDEX assistants_owner_test_created ON assistants (user_id, is_test, created_at, id);
DROP INDEX assistants_created;
CREATE INDEX assistants_created ON assistants (created_at, id);
DROP INDEX assistants_owner_status_created;
CREATE INDEX assistants_owner_status_created
  ON assistants (user_id, sync_status, created_at, id);
DROP INDEX assistants_owner_test_status_created;
CREATE INDEX assistants_owner_test_status_created
  ON assistants (user_id, is_test, sync_status, created_at, id);
DROP INDEX assistants_status_created;
CREATE INDEX assistants_status_created ON assistants (sync_status, created_at, id);
DROP INDEX assistants_test_created;
CREATE INDEX assistants_test_created ON assistants (is_test, created_at, id);
DROP INDEX assistants_test_status_created;
CREATE INDEX assistants_test_status_created
  ON assistants (is_test, sync_status, created_at, id);
DROP INDEX sync_attempts_assistant;
CREATE INDEX sync_attempts_assistant ON sync_attempts (assistant_id, id);
