-- A Vapi key given with a request (header or body) travels with that write's sync job,
-- sealed with the master key, and is erased when the job completes.
ALTER TABLE sync_jobs ADD COLUMN api_key_sealed BLOB;
