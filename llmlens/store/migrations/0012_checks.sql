-- Binary checks (pass/fail questions asked of every trace or span) keep the code behind each result: a check's
-- results are annotations of kind check that carry the hash of its code, and this table gives the code of a hash.
CREATE TABLE checks (
    name       VARCHAR NOT NULL,
    code_hash  VARCHAR NOT NULL,
    target     VARCHAR NOT NULL,
    span_kind  VARCHAR,
    language   VARCHAR NOT NULL,
    code       VARCHAR NOT NULL,
    first_run  TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (name, code_hash)
);
COMMENT ON TABLE checks IS 'Every version of every check that ran (lens.run_checks): its results are the annotations with annotator_kind = ''check'', name = checks.name and metadata.code_hash = checks.code_hash.';
COMMENT ON COLUMN checks.name IS 'The check''s name (annotations.name and annotations.annotator of its results).';
COMMENT ON COLUMN checks.code_hash IS 'First 16 hex digits of the SHA-256 of what the check is: target, span kind, language and code.';
COMMENT ON COLUMN checks.target IS 'trace (asked of each row of traces) or span (of each span, or of each span of span_kind).';
COMMENT ON COLUMN checks.span_kind IS 'For span checks: only spans of this kind (LLM, TOOL, RETRIEVER, ...); NULL for every span.';
COMMENT ON COLUMN checks.language IS 'python (a function of a trace or span record) or sql (a boolean expression over the columns of traces or spans).';
COMMENT ON COLUMN checks.code IS 'The check''s source: the Python function''s source text, or the SQL expression.';
COMMENT ON COLUMN checks.first_run IS 'When this version of the check first ran.';
