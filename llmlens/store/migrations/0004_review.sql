-- Review: labels, scores and notes from people, checks and LLM judges.
CREATE SEQUENCE annotation_id_seq START 1;
CREATE TABLE annotations (
    annotation_id   BIGINT PRIMARY KEY DEFAULT nextval('annotation_id_seq'),
    source_id       INTEGER,
    target_kind     VARCHAR NOT NULL,
    target_id       VARCHAR NOT NULL,
    target_position INTEGER,
    name            VARCHAR NOT NULL,
    label           VARCHAR,
    score           DOUBLE,
    note            VARCHAR,
    annotator       VARCHAR,
    annotator_kind  VARCHAR NOT NULL DEFAULT 'human',
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    queue           VARCHAR,
    metadata        JSON
);
COMMENT ON TABLE annotations IS 'Labels, scores and notes on traces, spans, documents, tokens, runs and sessions.';
COMMENT ON COLUMN annotations.annotation_id IS 'Surrogate key.';
COMMENT ON COLUMN annotations.source_id IS 'sources.source_id when imported (e.g. Langfuse scores); NULL when made in llmlens.';
COMMENT ON COLUMN annotations.target_kind IS 'trace, span, document, message, token, run, session or embedding.';
COMMENT ON COLUMN annotations.target_id IS 'trace_id, span_id, run_id, session_id or embedding_id of the target.';
COMMENT ON COLUMN annotations.target_position IS 'Position within the target span for document, message and token targets.';
COMMENT ON COLUMN annotations.name IS 'What is judged: correctness, user_feedback, hallucination, ...';
COMMENT ON COLUMN annotations.label IS 'Categorical label (good, bad, stale_source, ...).';
COMMENT ON COLUMN annotations.score IS 'Numeric score (1/0 for booleans).';
COMMENT ON COLUMN annotations.note IS 'Free-text comment.';
COMMENT ON COLUMN annotations.annotator IS 'Who or what made it: a person, a check name, a judge model.';
COMMENT ON COLUMN annotations.annotator_kind IS 'human, check or llm.';
COMMENT ON COLUMN annotations.created_at IS 'When it was made.';
COMMENT ON COLUMN annotations.queue IS 'Review queue it was made in, if any.';
COMMENT ON COLUMN annotations.metadata IS 'Anything else, as JSON.';
