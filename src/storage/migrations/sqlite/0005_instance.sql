-- This installation's identity. Every remote create carries it in Vapi metadata next to the
-- assistant id, so reconciliation only ever deletes remote copies made by this database,
-- never those of another installation (say, staging) sharing the same Vapi organisation.
CREATE TABLE instance (
  singleton    INTEGER PRIMARY KEY CHECK (singleton = 1),
  instance_id  TEXT NOT NULL
) STRICT;
INSERT INTO instance (singleton, instance_id) VALUES (1, lower(hex(randomblob(16))));
