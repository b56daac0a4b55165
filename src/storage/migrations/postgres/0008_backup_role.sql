-- A complete pg_dump by the owner. Every table that holds user data forces row-level
-- security, so the owner reads no rows of them, and pg_dump (row_security off by default)
-- stops with "query would be affected by row-level security policy". Members of this role
-- read every row and change none: `pg_dump --role=assistantd_backup --enable-row-security`
-- (docs/operations.md, Backups). Like assistantd_app it does not bypass row-level security;
-- only its SELECT policies below let it see rows. A later table with forced row-level
-- security needs its own backup_reads_all policy.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'assistantd_backup') THEN
    CREATE ROLE assistantd_backup NOLOGIN NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'assistantd_backup', 'MEMBER') THEN
    EXECUTE format('GRANT assistantd_backup TO %I', current_user);
  END IF;
EXCEPTION WHEN unique_violation THEN
  NULL;
END
$$;

GRANT USAGE ON SCHEMA public, auth TO assistantd_backup;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO assistantd_backup;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO assistantd_backup;

CREATE POLICY backup_reads_all ON assistants FOR SELECT TO assistantd_backup USING (true);
CREATE POLICY backup_reads_all ON users FOR SELECT TO assistantd_backup USING (true);
CREATE POLICY backup_reads_all ON sync_jobs FOR SELECT TO assistantd_backup USING (true);
CREATE POLICY backup_reads_all ON sync_attempts FOR SELECT TO assistantd_backup USING (true);
CREATE POLICY backup_reads_all ON vapi_keys FOR SELECT TO assistantd_backup USING (true);
CREATE POLICY backup_reads_all ON auth_sessions FOR SELECT TO assistantd_backup USING (true);
CREATE POLICY backup_reads_all ON refresh_tokens FOR SELECT TO assistantd_backup USING (true);
CREATE POLICY backup_reads_all ON audit_log FOR SELECT TO assistantd_backup USING (true);
