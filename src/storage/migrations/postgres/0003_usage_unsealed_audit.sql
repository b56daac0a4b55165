-- 1. Each user's count of assistants that are not being deleted, kept by a trigger, so the
-- quota check on create reads (and locks) one row instead of counting the owner's assistants.
ALTER TABLE users ADD COLUMN assistant_count bigint NOT NULL DEFAULT 0;
UPDATE users u SET assistant_count =
  (SELECT count(*) FROM assistants a WHERE a.user_id = u.id AND a.sync_status <> 'deleting');

CREATE OR REPLACE FUNCTION assistantd_count_assistants() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  delta bigint := 0;
  owner uuid;
BEGIN
  IF TG_OP = 'INSERT' THEN
    owner := NEW.user_id;
    IF NEW.sync_status <> 'deleting' THEN delta := 1; END IF;
  ELSIF TG_OP = 'DELETE' THEN
    owner := OLD.user_id;
    IF OLD.sync_status <> 'deleting' THEN delta := -1; END IF;
  ELSE
    owner := NEW.user_id;
    IF OLD.sync_status <> 'deleting' AND NEW.sync_status = 'deleting' THEN delta := -1; END IF;
    IF OLD.sync_status = 'deleting' AND NEW.sync_status <> 'deleting' THEN delta := 1; END IF;
  END IF;
  IF delta <> 0 THEN
    UPDATE users SET assistant_count = assistant_count + delta WHERE id = owner;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER assistants_count AFTER INSERT OR DELETE OR UPDATE OF sync_status ON assistants
  FOR EACH ROW EXECUTE FUNCTION assistantd_count_assistants();

-- 2. Audit entries are inserted in the transaction of the change they describe, unsealed
-- (no seq, no hashes yet), and sealed into the chain in commit order by one sealer at a time
-- (under an advisory lock), so writers never hold the chain's lock across their commits.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD COLUMN id bigint;
UPDATE audit_log SET id = seq;
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
SELECT setval('audit_log_id_seq', coalesce(max(id), 0) + 1, false) FROM audit_log;
ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq');
ALTER TABLE audit_log ALTER COLUMN id SET NOT NULL;
ALTER TABLE audit_log ADD PRIMARY KEY (id);
ALTER TABLE audit_log ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN prev_hash DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN hash DROP NOT NULL;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO assistantd_app;
-- The application may seal an unsealed entry (the service's claims only), never change a
-- sealed one.
GRANT UPDATE (seq, prev_hash, hash) ON audit_log TO assistantd_app;
CREATE POLICY seal_audit ON audit_log FOR UPDATE TO assistantd_app
  USING (seq IS NULL AND auth.role() = 'service_role')
  WITH CHECK (auth.role() = 'service_role');
DROP POLICY append_audit ON audit_log;
CREATE POLICY append_audit ON audit_log FOR INSERT TO assistantd_app
  WITH CHECK ((auth.is_admin() OR actor_id = auth.uid() OR subject_user_id = auth.uid())
              AND seq IS NULL AND hash IS NULL);
