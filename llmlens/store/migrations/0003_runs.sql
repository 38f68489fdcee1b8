-- Training runs: runs, their configuration and their metrics in long format.
CREATE TABLE runs (
    source_id  INTEGER,
    run_id     VARCHAR NOT NULL,
    project    VARCHAR,
    name       VARCHAR,
    group_name VARCHAR,
    started_at TIMESTAMPTZ,
    ended_at   TIMESTAMPTZ,
    status     VARCHAR,
    tags       VARCHAR[],
    attributes JSON
);
COMMENT ON TABLE runs IS 'One row per training or evaluation run.';
COMMENT ON COLUMN runs.source_id IS 'sources.source_id of the run log (its format names the tracker: tensorboard, mlflow, wandb, ...).';
COMMENT ON COLUMN runs.run_id IS 'Run id, unique in the store (the tracker id, prefixed where trackers could collide).';
COMMENT ON COLUMN runs.project IS 'Project or experiment name.';
COMMENT ON COLUMN runs.name IS 'Display name.';
COMMENT ON COLUMN runs.group_name IS 'Sweep or group the run belongs to.';
COMMENT ON COLUMN runs.started_at IS 'Start instant.';
COMMENT ON COLUMN runs.ended_at IS 'End instant; NULL while running or when unknown.';
COMMENT ON COLUMN runs.status IS 'running, finished, failed, crashed or killed.';
COMMENT ON COLUMN runs.tags IS 'Tags.';
COMMENT ON COLUMN runs.attributes IS 'Other run metadata (host, git commit, command, ...) as JSON.';

CREATE TABLE params (
    source_id INTEGER,
    run_id    VARCHAR NOT NULL,
    key       VARCHAR NOT NULL,
    value     VARCHAR
);
COMMENT ON TABLE params IS 'Run configuration, flattened to dotted keys (optimizer.lr).';
COMMENT ON COLUMN params.source_id IS 'sources.source_id.';
COMMENT ON COLUMN params.run_id IS 'runs.run_id.';
COMMENT ON COLUMN params.key IS 'Dotted key.';
COMMENT ON COLUMN params.value IS 'Value as text (numbers as written; lists and objects as JSON); TRY_CAST(value AS DOUBLE) for numbers.';

CREATE TABLE metrics (
    source_id INTEGER,
    run_id    VARCHAR NOT NULL,
    key       VARCHAR NOT NULL,
    step      BIGINT,
    wall_time TIMESTAMPTZ,
    value     DOUBLE,
    seq       BIGINT
);
COMMENT ON TABLE metrics IS 'Metric points in long format, inserted sorted by (run_id, key, step) so range scans touch few row groups.';
COMMENT ON COLUMN metrics.source_id IS 'sources.source_id.';
COMMENT ON COLUMN metrics.run_id IS 'runs.run_id.';
COMMENT ON COLUMN metrics.key IS 'Metric name, e.g. train/loss, gpu.3.util.';
COMMENT ON COLUMN metrics.step IS 'Step (x-axis as logged); may go back after a restart.';
COMMENT ON COLUMN metrics.wall_time IS 'When the point was logged; NULL when the format has no time (HF Trainer).';
COMMENT ON COLUMN metrics.value IS 'Value; NaN and infinities are kept as logged.';
COMMENT ON COLUMN metrics.seq IS 'Order in which the run logged its points (across keys); with step it reveals restarts.';
