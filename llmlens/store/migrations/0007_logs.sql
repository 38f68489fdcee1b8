-- OpenTelemetry log records: GenAI events (messages, evaluation results) and any other log an app exports.
CREATE TABLE logs (
    source_id       INTEGER,
    trace_id        VARCHAR,
    span_id         VARCHAR,
    time            TIMESTAMPTZ,
    observed_time   TIMESTAMPTZ,
    severity_number INTEGER,
    severity_text   VARCHAR,
    event_name      VARCHAR,
    body            JSON,
    attributes      JSON,
    resource        JSON,
    seq             HUGEINT
);
COMMENT ON TABLE logs IS 'OpenTelemetry log records, GenAI events among them. Message events (gen_ai.user.message, gen_ai.choice, ...) give their span its messages when the span carries none of its own; gen_ai.evaluation.result events become annotations.';
COMMENT ON COLUMN logs.source_id IS 'sources.source_id.';
COMMENT ON COLUMN logs.trace_id IS 'Trace the record was emitted in, if any.';
COMMENT ON COLUMN logs.span_id IS 'Span the record was emitted in, if any (the LLM span, for GenAI events).';
COMMENT ON COLUMN logs.time IS 'When the event happened, as the record says; NULL when it gives only observed_time.';
COMMENT ON COLUMN logs.observed_time IS 'When the SDK saw the record.';
COMMENT ON COLUMN logs.severity_number IS 'OpenTelemetry severity, 1 (TRACE) to 24 (FATAL4); NULL when unspecified.';
COMMENT ON COLUMN logs.severity_text IS 'Severity as the source wrote it (INFO, WARN, ...).';
COMMENT ON COLUMN logs.event_name IS 'Event name (the record''s eventName, or its event.name attribute), e.g. gen_ai.choice.';
COMMENT ON COLUMN logs.body IS 'The body as plain JSON (OTLP AnyValue unwrapped: strings, numbers, lists, objects).';
COMMENT ON COLUMN logs.attributes IS 'Record attributes as a JSON object.';
COMMENT ON COLUMN logs.resource IS 'Resource and scope attributes, as a JSON object.';
COMMENT ON COLUMN logs.seq IS 'Order of the record in its source (line, then place in the line), for records of the same instant.';
