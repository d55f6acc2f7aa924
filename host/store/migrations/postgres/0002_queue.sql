-- Schema version 2: the durable work queue of distributed workers (`WorkQueue`).
--
-- A job is one piece of work on one execution: running it, resuming it at a pause point with
-- an input, or resuming it when a timed pause comes due. Its life:
--   ready --claim--> leased --complete--> done
--                    leased --lease runs out, swept--> ready (or failed after max attempts)
-- * `attempt` counts claims; `token` is drawn from `job_tokens` at every claim, so a worker
--   whose lease ran out and whose job was claimed again holds a stale token and its heartbeats
--   and completion are refused (fencing);
-- * lease deadlines and `run_at` are Unix milliseconds of the database's clock, so workers on
--   machines with skewed clocks agree on which leases ran out;
-- * at most one job of an execution is leased at a time: claims skip an execution with a leased
--   job, and the unique partial index below is the backstop when two claims race.

CREATE SEQUENCE job_tokens;

CREATE TABLE jobs (
    id            BIGSERIAL        PRIMARY KEY,
    tenant        TEXT COLLATE "C" NOT NULL,
    execution_id  TEXT COLLATE "C" NOT NULL,
    kind          TEXT             NOT NULL CHECK (kind IN ('run', 'resume', 'timer')),
    context_id    TEXT COLLATE "C",
    input         TEXT,
    state         TEXT             NOT NULL CHECK (state IN ('ready', 'leased', 'done', 'failed')),
    run_at        BIGINT           NOT NULL,
    attempt       INTEGER          NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    token         BIGINT,
    leased_by     TEXT,
    lease_until   BIGINT,
    created_at    BIGINT           NOT NULL,
    updated_at    BIGINT           NOT NULL,
    CHECK ((state = 'leased') = (token IS NOT NULL AND lease_until IS NOT NULL AND leased_by IS NOT NULL)),
    CHECK ((kind = 'run') = (context_id IS NULL)),
    FOREIGN KEY (tenant, execution_id) REFERENCES executions (tenant, id) ON DELETE CASCADE
);

-- Claims scan the ready jobs in id order.
CREATE INDEX jobs_ready ON jobs (id) WHERE state = 'ready';

-- One leased job per execution; also what claims probe to skip a busy execution.
CREATE UNIQUE INDEX jobs_one_leased_per_execution ON jobs (tenant, execution_id) WHERE state = 'leased';

-- The sweeper looks for leases that ran out.
CREATE INDEX jobs_lease_until ON jobs (lease_until) WHERE state = 'leased';
