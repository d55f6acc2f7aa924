-- Schema version 1. Applied once, inside one transaction, by `PostgresStore::connect*`; never
-- edited after release: a change is a new numbered file.
--
-- The same tables as the SQLite schema, so both backends behave alike:
-- * every table is keyed by tenant first, so every lookup carries the tenant and another
--   tenant's row is indistinguishable from a missing one;
-- * timestamps are Unix milliseconds (UTC) in BIGINT, so `resume_at <= now` is an integer
--   comparison and precision is the same as SQLite's;
-- * JSON is stored as the exact text serde_json wrote: the store never looks inside, and
--   JSONB would reject "\u0000" in strings and drop duplicate keys;
-- * keys and the columns listings sort on use the "C" collation, so ordering is by bytes as
--   in SQLite and Rust, whatever the database's locale.

CREATE TABLE workflows (
    tenant      TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    name        TEXT             NOT NULL,
    draft       TEXT             NOT NULL,
    created_at  BIGINT           NOT NULL,
    updated_at  BIGINT           NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- The deployed version of a workflow is the highest version here.
CREATE TABLE workflow_versions (
    tenant       TEXT COLLATE "C" NOT NULL,
    workflow_id  TEXT COLLATE "C" NOT NULL,
    version      INTEGER          NOT NULL CHECK (version >= 1),
    state        TEXT             NOT NULL,
    deployed_at  BIGINT           NOT NULL,
    PRIMARY KEY (tenant, workflow_id, version),
    FOREIGN KEY (tenant, workflow_id) REFERENCES workflows (tenant, id) ON DELETE CASCADE
);

-- No foreign key to workflows: an execution may run an inline workflow that was never stored,
-- and deleting a workflow does not erase the history of its runs.
CREATE TABLE executions (
    tenant       TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    workflow_id  TEXT COLLATE "C" NOT NULL,
    status       TEXT             NOT NULL
        CHECK (status IN ('queued', 'running', 'paused', 'completed', 'failed', 'cancelled')),
    request      TEXT             NOT NULL,
    result       TEXT,
    restarts     INTEGER          NOT NULL DEFAULT 0,
    created_at   BIGINT           NOT NULL,
    updated_at   BIGINT           NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- Start-up recovery scans only the unfinished ones.
CREATE INDEX executions_unfinished ON executions (created_at) WHERE status IN ('queued', 'running');

-- Append-only. `seq` comes from a sequence: allocated in append order, so it orders the
-- checkpoints of one execution without a read-modify-write (it is not dense, and rolled
-- back appends leave gaps).
CREATE TABLE checkpoints (
    seq           BIGSERIAL        PRIMARY KEY,
    tenant        TEXT COLLATE "C" NOT NULL,
    execution_id  TEXT COLLATE "C" NOT NULL,
    context_id    TEXT COLLATE "C" NOT NULL,
    checkpoint    TEXT             NOT NULL,
    created_at    BIGINT           NOT NULL,
    FOREIGN KEY (tenant, execution_id) REFERENCES executions (tenant, id) ON DELETE CASCADE
);

CREATE INDEX checkpoints_by_execution ON checkpoints (tenant, execution_id, seq);

CREATE TABLE pause_points (
    tenant        TEXT COLLATE "C" NOT NULL,
    execution_id  TEXT COLLATE "C" NOT NULL,
    context_id    TEXT COLLATE "C" NOT NULL,
    kind          TEXT             NOT NULL CHECK (kind IN ('human', 'time')),
    resume_at     BIGINT,
    status        TEXT             NOT NULL CHECK (status IN ('paused', 'resuming', 'resumed')),
    data          TEXT             NOT NULL,
    created_at    BIGINT           NOT NULL,
    updated_at    BIGINT           NOT NULL,
    PRIMARY KEY (tenant, execution_id, context_id),
    FOREIGN KEY (tenant, execution_id) REFERENCES executions (tenant, id) ON DELETE CASCADE,
    CHECK (kind = 'human' OR resume_at IS NOT NULL)
);

-- The timer sweep asks for open time pauses ordered by due time.
CREATE INDEX pause_points_due ON pause_points (resume_at) WHERE kind = 'time' AND status = 'paused';

CREATE TABLE blocks (
    tenant      TEXT COLLATE "C" NOT NULL,
    block_type  TEXT COLLATE "C" NOT NULL,
    digest      TEXT             NOT NULL,
    component   BYTEA            NOT NULL,
    manifest    TEXT             NOT NULL,
    created_at  BIGINT           NOT NULL,
    PRIMARY KEY (tenant, block_type)
);
