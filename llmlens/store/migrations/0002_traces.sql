-- Traces: spans and what hangs off them (messages, tokens, retrieved documents, embeddings, non-tree edges).
CREATE TABLE spans (
    source_id      INTEGER,
    trace_id       VARCHAR NOT NULL,
    span_id        VARCHAR NOT NULL,
    parent_span_id VARCHAR,
    name           VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL DEFAULT 'UNKNOWN',
    otel_kind      VARCHAR,
    start_time     TIMESTAMPTZ,
    end_time       TIMESTAMPTZ,
    duration_ms    DOUBLE GENERATED ALWAYS AS (date_diff('microsecond', start_time, end_time) / 1000.0) VIRTUAL,
    status_code    VARCHAR NOT NULL DEFAULT 'UNSET',
    status_message VARCHAR,
    model          VARCHAR,
    provider       VARCHAR,
    input_text     VARCHAR,
    output_text    VARCHAR,
    input_tokens   BIGINT,
    output_tokens  BIGINT,
    total_tokens   BIGINT,
    cost_usd       DOUBLE,
    session_id     VARCHAR,
    user_id        VARCHAR,
    agent_name     VARCHAR,
    service_name   VARCHAR,
    attributes     JSON,
    resource       JSON,
    events         JSON
);
COMMENT ON TABLE spans IS 'One row per span (an LLM call, retrieval, tool call, agent step, chain...).';
COMMENT ON COLUMN spans.source_id IS 'sources.source_id of the file the span came from.';
COMMENT ON COLUMN spans.trace_id IS 'Trace id, lower-case hex (32 digits for OTel; UUIDs and other ids are kept as given).';
COMMENT ON COLUMN spans.span_id IS 'Span id, lower-case hex (16 digits for OTel; other ids as given).';
COMMENT ON COLUMN spans.parent_span_id IS 'Parent span id; NULL for a root span.';
COMMENT ON COLUMN spans.name IS 'Span name as emitted.';
COMMENT ON COLUMN spans.kind IS 'What the span does: LLM, CHAIN, RETRIEVER, EMBEDDING, RERANKER, TOOL, AGENT, GUARDRAIL, EVALUATOR, PROMPT, HANDOFF or UNKNOWN (OpenInference kinds, plus whatever a source names).';
COMMENT ON COLUMN spans.otel_kind IS 'OpenTelemetry SpanKind: INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER or UNSPECIFIED.';
COMMENT ON COLUMN spans.start_time IS 'Start instant.';
COMMENT ON COLUMN spans.end_time IS 'End instant.';
COMMENT ON COLUMN spans.duration_ms IS 'end_time - start_time in milliseconds (computed).';
COMMENT ON COLUMN spans.status_code IS 'OK, ERROR or UNSET.';
COMMENT ON COLUMN spans.status_message IS 'Error message or status description.';
COMMENT ON COLUMN spans.model IS 'Model name (response model when known, else request model).';
COMMENT ON COLUMN spans.provider IS 'Model provider: openai, anthropic, ...';
COMMENT ON COLUMN spans.input_text IS 'The span input as text (input.value, prompt, tool arguments, query).';
COMMENT ON COLUMN spans.output_text IS 'The span output as text (output.value, completion, tool result).';
COMMENT ON COLUMN spans.input_tokens IS 'Prompt / input token count.';
COMMENT ON COLUMN spans.output_tokens IS 'Completion / output token count.';
COMMENT ON COLUMN spans.total_tokens IS 'Total token count as reported (not always input + output).';
COMMENT ON COLUMN spans.cost_usd IS 'Cost of the call in US dollars, when reported.';
COMMENT ON COLUMN spans.session_id IS 'Session or conversation id.';
COMMENT ON COLUMN spans.user_id IS 'End-user id.';
COMMENT ON COLUMN spans.agent_name IS 'Agent that owns the span (gen_ai.agent.name, agent.name, graph node).';
COMMENT ON COLUMN spans.service_name IS 'service.name from the resource.';
COMMENT ON COLUMN spans.attributes IS 'Every span attribute as a JSON object with its original key (mapped ones too, so nothing is lost).';
COMMENT ON COLUMN spans.resource IS 'Resource and scope attributes, as a JSON object.';
COMMENT ON COLUMN spans.events IS 'Span events (name, time, attributes), as a JSON list.';

CREATE TABLE messages (
    source_id INTEGER,
    trace_id  VARCHAR NOT NULL,
    span_id   VARCHAR NOT NULL,
    side      VARCHAR NOT NULL,
    position  INTEGER NOT NULL,
    role      VARCHAR,
    name      VARCHAR,
    content   VARCHAR,
    parts     JSON,
    finish_reason VARCHAR
);
COMMENT ON TABLE messages IS 'Chat messages of LLM spans, in order, on the input and output side.';
COMMENT ON COLUMN messages.source_id IS 'sources.source_id.';
COMMENT ON COLUMN messages.trace_id IS 'Trace of the span.';
COMMENT ON COLUMN messages.span_id IS 'The LLM span the message belongs to.';
COMMENT ON COLUMN messages.side IS 'input or output.';
COMMENT ON COLUMN messages.position IS '0-based position on its side (for output: the choice index).';
COMMENT ON COLUMN messages.role IS 'system, user, assistant, tool, ...';
COMMENT ON COLUMN messages.name IS 'Participant or tool name, when given.';
COMMENT ON COLUMN messages.content IS 'The text of the message (text parts joined).';
COMMENT ON COLUMN messages.parts IS 'Structured parts (text, tool_call, tool_call_response, reasoning, image, ...) as a JSON list, OTel GenAI shape.';
COMMENT ON COLUMN messages.finish_reason IS 'Why generation stopped (output messages).';

CREATE TABLE tokens (
    source_id    INTEGER,
    trace_id     VARCHAR NOT NULL,
    span_id      VARCHAR NOT NULL,
    side         VARCHAR NOT NULL,
    choice       INTEGER NOT NULL DEFAULT 0,
    position     INTEGER NOT NULL,
    token        VARCHAR,
    bytes        BLOB,
    logprob      DOUBLE,
    alternatives STRUCT(token VARCHAR, bytes BLOB, logprob DOUBLE)[]
);
COMMENT ON TABLE tokens IS 'Token-level output (and prompt, when the provider returns it) with log-probabilities.';
COMMENT ON COLUMN tokens.source_id IS 'sources.source_id.';
COMMENT ON COLUMN tokens.trace_id IS 'Trace of the span.';
COMMENT ON COLUMN tokens.span_id IS 'The LLM span.';
COMMENT ON COLUMN tokens.side IS 'output (completion) or input (prompt logprobs).';
COMMENT ON COLUMN tokens.choice IS 'Choice index (n > 1 completions).';
COMMENT ON COLUMN tokens.position IS '0-based token position within the choice.';
COMMENT ON COLUMN tokens.token IS 'Token text as the provider spelled it (may be lossy for split UTF-8; bytes is the truth).';
COMMENT ON COLUMN tokens.bytes IS 'Raw UTF-8 bytes of the token; concatenate across tokens to decode multi-byte characters.';
COMMENT ON COLUMN tokens.logprob IS 'Natural-log probability; NULL when unknown (the -9999 sentinel is stored as NULL).';
COMMENT ON COLUMN tokens.alternatives IS 'Top alternatives at this position, most likely first: list of {token, bytes, logprob}.';

CREATE TABLE documents (
    source_id   INTEGER,
    trace_id    VARCHAR NOT NULL,
    span_id     VARCHAR NOT NULL,
    position    INTEGER NOT NULL,
    document_id VARCHAR,
    content     VARCHAR,
    score       DOUBLE,
    metadata    JSON
);
COMMENT ON TABLE documents IS 'Documents (chunks) a retriever or reranker span returned, in rank order.';
COMMENT ON COLUMN documents.source_id IS 'sources.source_id.';
COMMENT ON COLUMN documents.trace_id IS 'Trace of the span.';
COMMENT ON COLUMN documents.span_id IS 'The retriever / reranker span.';
COMMENT ON COLUMN documents.position IS '0-based rank in the result list.';
COMMENT ON COLUMN documents.document_id IS 'Document or chunk id in the corpus.';
COMMENT ON COLUMN documents.content IS 'Chunk text as retrieved.';
COMMENT ON COLUMN documents.score IS 'Retrieval or relevance score as reported (higher is better unless the metadata says otherwise).';
COMMENT ON COLUMN documents.metadata IS 'Document metadata (source file, section, updated_at, ...) as JSON.';

CREATE SEQUENCE embedding_id_seq START 1;
CREATE TABLE embeddings (
    source_id    INTEGER,
    embedding_id BIGINT NOT NULL DEFAULT nextval('embedding_id_seq'),
    role         VARCHAR NOT NULL,
    text         VARCHAR,
    model        VARCHAR,
    vector       FLOAT[] NOT NULL,
    trace_id     VARCHAR,
    span_id      VARCHAR,
    document_id  VARCHAR,
    metadata     JSON
);
COMMENT ON TABLE embeddings IS 'Embedding vectors of queries, chunks and other texts, linked to spans and documents.';
COMMENT ON COLUMN embeddings.source_id IS 'sources.source_id.';
COMMENT ON COLUMN embeddings.embedding_id IS 'Surrogate key.';
COMMENT ON COLUMN embeddings.role IS 'What was embedded: query, chunk, response, ...';
COMMENT ON COLUMN embeddings.text IS 'The embedded text, when known.';
COMMENT ON COLUMN embeddings.model IS 'Embedding model name.';
COMMENT ON COLUMN embeddings.vector IS 'The vector (any dimension; one model gives one dimension).';
COMMENT ON COLUMN embeddings.trace_id IS 'Trace of the span that produced it, if any.';
COMMENT ON COLUMN embeddings.span_id IS 'Span that produced or used it (e.g. the EMBEDDING span of a query), if any.';
COMMENT ON COLUMN embeddings.document_id IS 'documents.document_id for a corpus chunk, if any.';
COMMENT ON COLUMN embeddings.metadata IS 'Anything else (topic, corpus version, ...) as JSON.';

CREATE TABLE edges (
    source_id    INTEGER,
    kind         VARCHAR NOT NULL,
    src_trace_id VARCHAR,
    src_span_id  VARCHAR,
    dst_trace_id VARCHAR,
    dst_span_id  VARCHAR,
    label        VARCHAR,
    attributes   JSON
);
COMMENT ON TABLE edges IS 'Links between spans that are not parent/child: agent handoffs, span links, LangGraph triggers.';
COMMENT ON COLUMN edges.source_id IS 'sources.source_id.';
COMMENT ON COLUMN edges.kind IS 'handoff, link, langgraph_trigger, graph_node, ...';
COMMENT ON COLUMN edges.src_trace_id IS 'Trace of the origin span.';
COMMENT ON COLUMN edges.src_span_id IS 'Origin span (e.g. the agent handing off).';
COMMENT ON COLUMN edges.dst_trace_id IS 'Trace of the target span (differs for cross-trace links).';
COMMENT ON COLUMN edges.dst_span_id IS 'Target span (e.g. the agent taking over).';
COMMENT ON COLUMN edges.label IS 'Short description, e.g. "triage -> billing".';
COMMENT ON COLUMN edges.attributes IS 'Edge attributes as JSON (from_agent, to_agent, link attributes, ...).';

CREATE VIEW traces AS
SELECT
    trace_id,
    arg_min(name, {'nonroot': parent_span_id IS NOT NULL, 'start': start_time})        AS root_name,
    min(start_time)                                                                    AS start_time,
    max(end_time)                                                                      AS end_time,
    date_diff('microsecond', min(start_time), max(end_time)) / 1000.0                  AS duration_ms,
    count(*)                                                                           AS n_spans,
    count(*) FILTER (WHERE status_code = 'ERROR')                                      AS n_errors,
    sum(input_tokens) FILTER (WHERE kind = 'LLM')                                      AS input_tokens,
    sum(output_tokens) FILTER (WHERE kind = 'LLM')                                     AS output_tokens,
    sum(cost_usd)                                                                      AS cost_usd,
    any_value(session_id)                                                              AS session_id,
    any_value(user_id)                                                                 AS user_id,
    arg_min(input_text, {'nonroot': parent_span_id IS NOT NULL, 'start': start_time})  AS input_text,
    arg_min(output_text, {'nonroot': parent_span_id IS NOT NULL, 'start': start_time}) AS output_text
FROM spans
GROUP BY trace_id;
COMMENT ON VIEW traces IS 'One row per trace: root span name, input and output, time span, span and error counts, LLM tokens and cost.';
COMMENT ON COLUMN traces.trace_id IS 'Trace id.';
COMMENT ON COLUMN traces.root_name IS 'Name of the root span (the earliest span without a parent).';
COMMENT ON COLUMN traces.start_time IS 'Earliest span start.';
COMMENT ON COLUMN traces.end_time IS 'Latest span end.';
COMMENT ON COLUMN traces.duration_ms IS 'end_time - start_time in milliseconds.';
COMMENT ON COLUMN traces.n_spans IS 'Number of spans.';
COMMENT ON COLUMN traces.n_errors IS 'Number of spans with status ERROR.';
COMMENT ON COLUMN traces.input_tokens IS 'Input tokens summed over LLM spans.';
COMMENT ON COLUMN traces.output_tokens IS 'Output tokens summed over LLM spans.';
COMMENT ON COLUMN traces.cost_usd IS 'Cost summed over all spans, in US dollars.';
COMMENT ON COLUMN traces.session_id IS 'Session id (of any span that has one).';
COMMENT ON COLUMN traces.user_id IS 'User id (of any span that has one).';
COMMENT ON COLUMN traces.input_text IS 'Input of the root span.';
COMMENT ON COLUMN traces.output_text IS 'Output of the root span.';
