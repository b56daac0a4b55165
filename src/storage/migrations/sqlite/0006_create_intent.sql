-- Set by the claim of a job that is about to create its assistant in Vapi (the claim commits
-- durably then), cleared when the outcome is recorded. A job claimed again with it still set
-- was interrupted by a crash after perhaps sending its create: the claim folds it into
-- create_sent_at, so the worker searches Vapi before creating again. This spares a separate
-- durable write before each create.
ALTER TABLE sync_jobs ADD COLUMN create_intent_at INTEGER;
