-- Schema version 3: what became of a job, for the server waiting on it and for the figures.
-- * `error` says why a job failed (refused work, or given up after its last attempt);
-- * `claimed_at` is when the latest claim happened (database clock, Unix milliseconds), so the
--   time a job waited in line is `claimed_at - run_at`;
-- * `worked_by` is the worker of the latest claim; unlike `leased_by` it stays after the lease.

ALTER TABLE jobs ADD COLUMN error TEXT;
ALTER TABLE jobs ADD COLUMN claimed_at BIGINT;
ALTER TABLE jobs ADD COLUMN worked_by TEXT;
ALTER TABLE jobs ADD CONSTRAINT jobs_error_only_when_failed CHECK (error IS NULL OR state = 'failed');
