-- The deployment profile (production, staging, development) the database serves, recorded by
-- the first server started with --profile; a server with another profile refuses it, so test
-- and production data never share a database. NULL: not claimed yet.
ALTER TABLE instance ADD COLUMN profile TEXT;
