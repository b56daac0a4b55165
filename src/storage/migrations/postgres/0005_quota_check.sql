-- The quota check on create as one statement that fails when the owner has reached `quota`
-- (SQLSTATE AD001, detail "usage/quota"), so a create is sent as a single pipeline: the
-- check, the row, its sync job and its audit entry, with nothing to wait for in between. It
-- locks the owner's row (creates of one owner queue there until the previous one commits)
-- and runs as the caller, under the same row-level security as the statement it replaces.
CREATE FUNCTION assistantd_check_quota(owner uuid, quota bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  usage bigint;
BEGIN
  SELECT assistant_count INTO usage FROM users WHERE id = owner FOR UPDATE;
  IF usage IS NOT NULL AND usage >= quota THEN
    RAISE EXCEPTION USING ERRCODE = 'AD001', MESSAGE = 'assistant quota reached',
      DETAIL = usage || '/' || quota;
  END IF;
END $$;
