-- Each migration records the oldest schema version whose releases still run on the database
-- after it (0: all of them). A release refuses to start on a database whose newest entries
-- need a newer reader than it is (docs/deploy.md, Upgrades).
ALTER TABLE schema_migrations ADD COLUMN min_reader_version integer NOT NULL DEFAULT 0;
