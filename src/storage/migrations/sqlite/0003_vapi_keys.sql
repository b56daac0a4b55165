-- Vapi API keys stored by users (owner = their id) and admins (owner = 'global'), sealed with
-- the master key (libsodium secretbox). Only the last 4 characters are kept in clear.
CREATE TABLE vapi_keys (
  owner       TEXT PRIMARY KEY,
  sealed      BLOB NOT NULL,
  last4       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL
) STRICT;
