-- Provenance: every file or stream llmlens loaded, and everything it could not load.
CREATE SEQUENCE source_id_seq START 1;

CREATE TABLE sources (
    source_id     INTEGER PRIMARY KEY DEFAULT nextval('source_id_seq'),
    uri           VARCHAR NOT NULL,
    format        VARCHAR NOT NULL,
    content_hash  VARCHAR,
    size_bytes    BIGINT,
    loaded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    seconds       DOUBLE,
    rows_added    MAP(VARCHAR, BIGINT),
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    llmlens_version VARCHAR,
    options       JSON
);
COMMENT ON TABLE sources IS 'One row per loaded file or stream.';
COMMENT ON COLUMN sources.source_id IS 'Surrogate key; every loaded row carries it, so a source can be found, audited or removed.';
COMMENT ON COLUMN sources.uri IS 'Absolute path or URL the data came from (for a live receiver: its endpoint).';
COMMENT ON COLUMN sources.format IS 'Detected or forced format name, e.g. otlp-json, langsmith, tensorboard, llmlens-demo.';
COMMENT ON COLUMN sources.content_hash IS 'sha256 of the bytes read, hex; loading the same content twice is detected with it.';
COMMENT ON COLUMN sources.size_bytes IS 'Size of the content read, in bytes.';
COMMENT ON COLUMN sources.loaded_at IS 'When the load finished.';
COMMENT ON COLUMN sources.seconds IS 'Wall-clock seconds the load took.';
COMMENT ON COLUMN sources.rows_added IS 'Rows added per table, e.g. {spans: 120, messages: 340}.';
COMMENT ON COLUMN sources.rows_rejected IS 'Records that could not be loaded; each one is in rejects.';
COMMENT ON COLUMN sources.llmlens_version IS 'Version of llmlens that loaded it.';
COMMENT ON COLUMN sources.options IS 'Loader options in effect (forced format, project, ...), as JSON.';

CREATE TABLE rejects (
    source_id   INTEGER NOT NULL,
    location    VARCHAR NOT NULL,
    line        BIGINT,
    byte_offset BIGINT,
    reason      VARCHAR NOT NULL,
    excerpt     VARCHAR,
    raw         BLOB
);
COMMENT ON TABLE rejects IS 'Quarantine: records a loader could not use, kept whole so nothing a user gave disappears silently.';
COMMENT ON COLUMN rejects.source_id IS 'The source the record came from (sources.source_id).';
COMMENT ON COLUMN rejects.location IS 'Human-readable place in the source: "line 1042", "byte 4096", "samples/3_epoch_1.json".';
COMMENT ON COLUMN rejects.line IS '1-based line number, when the source has lines.';
COMMENT ON COLUMN rejects.byte_offset IS '0-based byte offset of the record, when known.';
COMMENT ON COLUMN rejects.reason IS 'Why the record was rejected, in words a user can act on.';
COMMENT ON COLUMN rejects.excerpt IS 'The first 200 characters of the record, for display.';
COMMENT ON COLUMN rejects.raw IS 'The complete record as read, so it can be repaired and loaded again.';
