-- Schema version 1. Applied once, inside one transaction, by `SqliteStore::open`; never edited
-- after release: a change is a new numbered file.
--
-- Every table is keyed by tenant first, so every lookup carries the tenant and another
-- tenant's row is indistinguishable from a missing one. Timestamps are Unix milliseconds
-- (UTC) so that `resume_at <= now` is an integer comparison. JSON is stored as text.

CREATE TABLE workflows (
    tenant      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    draft       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- The deployed version of a workflow is the highest version here.
CREATE TABLE workflow_versions (
    tenant       TEXT    NOT NULL,
    workflow_id  TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    state        TEXT    NOT NULL,
    deployed_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, workflow_id, version),
    FOREIGN KEY (tenant, workflow_id) REFERENCES workflows (tenant, id) ON DELETE CASCADE
);

-- No foreign key to workflows: an execution may run an inline workflow that was never stored,
-- and deleting a workflow does not erase the history of its runs.
CREATE TABLE executions (
    tenant       TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    workflow_id  TEXT    NOT NULL,
    status       TEXT    NOT NULL
        CHECK (status IN ('queued', 'running', 'paused', 'completed', 'failed', 'cancelled')),
    request      TEXT    NOT NULL,
    result       TEXT,
    restarts     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- Start-up recovery scans only the unfinished ones.
CREATE INDEX executions_unfinished ON executions (status) WHERE status IN ('queued', 'running');

-- Append-only. `seq` is the rowid: always above every existing row, so it orders the
-- checkpoints of one execution in append order without a read-modify-write.
CREATE TABLE checkpoints (
    seq           INTEGER PRIMARY KEY,
    tenant        TEXT    NOT NULL,
    execution_id  TEXT    NOT NULL,
    context_id    TEXT    NOT NULL,
    checkpoint    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    FOREIGN KEY (tenant, execution_id) REFERENCES executions (tenant, id) ON DELETE CASCADE
);

CREATE INDEX checkpoints_by_execution ON checkpoints (tenant, execution_id, seq);

CREATE TABLE pause_points (
    tenant        TEXT    NOT NULL,
    execution_id  TEXT    NOT NULL,
    context_id    TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('human', 'time')),
    resume_at     INTEGER,
    status        TEXT    NOT NULL CHECK (status IN ('paused', 'resuming', 'resumed')),
    data          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant, execution_id, context_id),
    FOREIGN KEY (tenant, execution_id) REFERENCES executions (tenant, id) ON DELETE CASCADE,
    CHECK (kind = 'human' OR resume_at IS NOT NULL)
);

-- The timer sweep asks for open time pauses ordered by due time.
CREATE INDEX pause_points_due ON pause_points (resume_at) WHERE kind = 'time' AND status = 'paused';

CREATE TABLE blocks (
    tenant      TEXT    NOT NULL,
    block_type  TEXT    NOT NULL,
    digest      TEXT    NOT NULL,
    component   BLOB    NOT NULL,
    manifest    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, block_type)
);
