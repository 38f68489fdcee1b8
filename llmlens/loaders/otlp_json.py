"""OTLP/JSON traces (``ExportTraceServiceRequest`` / ``TracesData``, one document or JSON Lines) into the store.

Everything happens in DuckDB SQL over the file's records: parsing, unnesting resource → scope → span,
id normalisation (hex any case, base64, ``0x``), int64 as strings or numbers, enums as numbers or names,
and the mapping of OpenInference and OpenTelemetry GenAI attributes into the canonical columns.
"""

from __future__ import annotations

import duckdb

from llmlens.query import run_script

NAME = "otlp-json"

MACROS = r"""
CREATE OR REPLACE TEMP MACRO llmlens_id(s, digits) AS CASE
    WHEN s IS NULL OR trim(s) = '' THEN NULL
    WHEN regexp_full_match(s, '(0[xX])?[0-9a-fA-F]+') AND length(regexp_replace(s, '^0[xX]', '')) = digits
        THEN lower(regexp_replace(s, '^0[xX]', ''))
    WHEN octet_length(try(from_base64(s))) = digits // 2 THEN lower(hex(try(from_base64(s))))
    ELSE NULL END;
CREATE OR REPLACE TEMP MACRO llmlens_epoch_us(t) AS CASE
    WHEN TRY_CAST(t AS HUGEINT) IS NOT NULL THEN CASE
        WHEN TRY_CAST(t AS HUGEINT) = 0 THEN NULL
        WHEN TRY_CAST(t AS HUGEINT) > 100000000000000000 THEN CAST(TRY_CAST(t AS HUGEINT) // 1000 AS BIGINT)
        WHEN TRY_CAST(t AS HUGEINT) > 100000000000000 THEN CAST(TRY_CAST(t AS HUGEINT) AS BIGINT)
        WHEN TRY_CAST(t AS HUGEINT) > 100000000000 THEN CAST(TRY_CAST(t AS HUGEINT) * 1000 AS BIGINT)
        ELSE CAST(TRY_CAST(t AS HUGEINT) * 1000000 AS BIGINT) END
    WHEN TRY_CAST(t AS DOUBLE) > 0 THEN CAST(TRY_CAST(t AS DOUBLE) * 1000000 AS BIGINT)
    ELSE NULL END;
CREATE OR REPLACE TEMP MACRO llmlens_time(t) AS make_timestamp(llmlens_epoch_us(t))::TIMESTAMPTZ;
CREATE OR REPLACE TEMP MACRO llmlens_scalar(v) AS CASE
    WHEN json_extract(v, '$.stringValue') IS NOT NULL THEN to_json(json_extract_string(v, '$.stringValue'))
    WHEN json_extract(v, '$.boolValue') IS NOT NULL
        THEN to_json(TRY_CAST(json_extract_string(v, '$.boolValue') AS BOOLEAN))
    WHEN json_extract(v, '$.intValue') IS NOT NULL
        THEN to_json(TRY_CAST(json_extract_string(v, '$.intValue') AS BIGINT))
    WHEN json_extract(v, '$.doubleValue') IS NOT NULL
        THEN to_json(TRY_CAST(json_extract_string(v, '$.doubleValue') AS DOUBLE))
    WHEN json_extract(v, '$.bytesValue') IS NOT NULL THEN to_json(json_extract_string(v, '$.bytesValue'))
    ELSE NULL END;
CREATE OR REPLACE TEMP MACRO llmlens_anyvalue(v) AS CASE
    WHEN json_extract(v, '$.arrayValue') IS NOT NULL THEN to_json(list_transform(
        from_json(coalesce(json_extract(v, '$.arrayValue.values'), '[]'), '["JSON"]'), lambda x: llmlens_scalar(x)))
    WHEN json_extract(v, '$.kvlistValue') IS NOT NULL THEN to_json(map_from_entries(list_transform(
        from_json(coalesce(json_extract(v, '$.kvlistValue.values'), '[]'), '["JSON"]'),
        lambda x: (json_extract_string(x, '$.key'), llmlens_scalar(json_extract(x, '$.value'))))))
    ELSE llmlens_scalar(v) END;
CREATE OR REPLACE TEMP MACRO llmlens_otel_kind(k) AS
    CASE upper(regexp_replace(coalesce(k, ''), '^(SPAN_KIND_|SpanKind\.)', ''))
    WHEN '1' THEN 'INTERNAL' WHEN '2' THEN 'SERVER' WHEN '3' THEN 'CLIENT' WHEN '4' THEN 'PRODUCER'
    WHEN '5' THEN 'CONSUMER' WHEN '0' THEN 'UNSPECIFIED' WHEN '' THEN NULL
    ELSE upper(regexp_replace(k, '^(SPAN_KIND_|SpanKind\.)', '')) END;
CREATE OR REPLACE TEMP MACRO llmlens_status(c) AS
    CASE upper(regexp_replace(coalesce(c, ''), '^(STATUS_CODE_|StatusCode\.)', ''))
    WHEN '1' THEN 'OK' WHEN 'OK' THEN 'OK' WHEN '2' THEN 'ERROR' WHEN 'ERROR' THEN 'ERROR' ELSE 'UNSET' END;
CREATE OR REPLACE TEMP MACRO llmlens_kind(openinference, operation) AS CASE
    WHEN openinference IS NOT NULL AND openinference <> '' THEN upper(openinference)
    WHEN operation IN ('chat', 'text_completion', 'generate_content') THEN 'LLM'
    WHEN operation = 'embeddings' THEN 'EMBEDDING'
    WHEN operation = 'retrieval' THEN 'RETRIEVER'
    WHEN operation = 'execute_tool' THEN 'TOOL'
    WHEN operation IN ('invoke_agent', 'create_agent') THEN 'AGENT'
    WHEN operation = 'invoke_workflow' THEN 'CHAIN'
    ELSE 'UNKNOWN' END;
"""

STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_docs AS
SELECT line, byte_offset, text, TRY_CAST(text AS JSON) AS doc FROM llmlens_records;

INSERT INTO rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line, line, byte_offset,
       CASE WHEN doc IS NULL THEN 'not valid JSON (truncated or corrupt record)'
            ELSE 'not an OTLP TracesData object: no resourceSpans list' END,
       left(text, 200), encode(text)
FROM llmlens_docs
WHERE doc IS NULL OR json_type(doc->'resourceSpans') IS DISTINCT FROM 'ARRAY';

CREATE OR REPLACE TEMP TABLE llmlens_raw_spans AS
WITH resource_spans AS (
    SELECT line, byte_offset, unnest(from_json(doc->'resourceSpans', '["JSON"]')) AS r
    FROM llmlens_docs WHERE json_type(doc->'resourceSpans') = 'ARRAY'
), scope_spans AS (
    SELECT line, byte_offset, r->'resource' AS resource,
           unnest(from_json(coalesce(r->'scopeSpans', r->'instrumentationLibrarySpans', '[]'), '["JSON"]')) AS s
    FROM resource_spans
), spans AS (
    SELECT line, byte_offset, resource, coalesce(s->'scope', s->'instrumentationLibrary') AS scope,
           unnest(from_json(coalesce(s->'spans', '[]'), '["JSON"]')) AS span
    FROM scope_spans
)
SELECT row_number() OVER () AS n, line, byte_offset, resource, scope, span FROM spans;

CREATE OR REPLACE TEMP TABLE llmlens_attrs AS
SELECT n, a->>'key' AS key, llmlens_anyvalue(a->'value') AS value
FROM (SELECT n, unnest(from_json(coalesce(span->'attributes', '[]'), '["JSON"]')) AS a FROM llmlens_raw_spans)
WHERE a->>'key' IS NOT NULL;

CREATE OR REPLACE TEMP TABLE llmlens_resources AS
SELECT n, json_group_object(key, value) AS resource,
       max(value->>'$') FILTER (WHERE key = 'service.name') AS service_name
FROM (
    SELECT n, a->>'key' AS key, llmlens_anyvalue(a->'value') AS value
    FROM (SELECT n, unnest(from_json(coalesce(resource->'attributes', '[]'), '["JSON"]')) AS a FROM llmlens_raw_spans)
    UNION ALL SELECT n, 'otel.scope.name', to_json(scope->>'name') FROM llmlens_raw_spans
        WHERE scope->>'name' IS NOT NULL
    UNION ALL SELECT n, 'otel.scope.version', to_json(scope->>'version') FROM llmlens_raw_spans
        WHERE scope->>'version' IS NOT NULL
)
WHERE key IS NOT NULL
GROUP BY n;

CREATE OR REPLACE TEMP TABLE llmlens_mapped AS
SELECT n,
    json_group_object(key, value) AS attributes,
    max(value->>'$') FILTER (WHERE key = 'openinference.span.kind') AS openinference_kind,
    max(value->>'$') FILTER (WHERE key = 'gen_ai.operation.name') AS operation,
    coalesce(max(value->>'$') FILTER (WHERE key = 'gen_ai.response.model'),
             max(value->>'$') FILTER (WHERE key = 'gen_ai.request.model'),
             max(value->>'$') FILTER (WHERE key = 'llm.model_name'),
             max(value->>'$') FILTER (WHERE key = 'embedding.model_name')) AS model,
    coalesce(max(value->>'$') FILTER (WHERE key = 'gen_ai.provider.name'),
             max(value->>'$') FILTER (WHERE key = 'gen_ai.system'),
             max(value->>'$') FILTER (WHERE key = 'llm.provider'),
             max(value->>'$') FILTER (WHERE key = 'llm.system')) AS provider,
    coalesce(max(value->>'$') FILTER (WHERE key = 'input.value'),
             max(value->>'$') FILTER (WHERE key = 'gen_ai.input.messages'),
             max(value->>'$') FILTER (WHERE key = 'gen_ai.prompt')) AS input_text,
    coalesce(max(value->>'$') FILTER (WHERE key = 'output.value'),
             max(value->>'$') FILTER (WHERE key = 'gen_ai.output.messages'),
             max(value->>'$') FILTER (WHERE key = 'gen_ai.completion')) AS output_text,
    TRY_CAST(coalesce(max(value->>'$') FILTER (WHERE key = 'gen_ai.usage.input_tokens'),
             max(value->>'$') FILTER (WHERE key = 'llm.token_count.prompt'),
             max(value->>'$') FILTER (WHERE key = 'gen_ai.usage.prompt_tokens')) AS BIGINT) AS input_tokens,
    TRY_CAST(coalesce(max(value->>'$') FILTER (WHERE key = 'gen_ai.usage.output_tokens'),
             max(value->>'$') FILTER (WHERE key = 'llm.token_count.completion'),
             max(value->>'$') FILTER (WHERE key = 'gen_ai.usage.completion_tokens')) AS BIGINT) AS output_tokens,
    TRY_CAST(coalesce(max(value->>'$') FILTER (WHERE key = 'llm.token_count.total'),
             max(value->>'$') FILTER (WHERE key = 'gen_ai.usage.total_tokens')) AS BIGINT) AS total_tokens,
    TRY_CAST(max(value->>'$') FILTER (WHERE key = 'llm.cost.total') AS DOUBLE) AS cost_usd,
    coalesce(max(value->>'$') FILTER (WHERE key = 'session.id'),
             max(value->>'$') FILTER (WHERE key = 'gen_ai.conversation.id')) AS session_id,
    max(value->>'$') FILTER (WHERE key = 'user.id') AS user_id,
    coalesce(max(value->>'$') FILTER (WHERE key = 'gen_ai.agent.name'),
             max(value->>'$') FILTER (WHERE key = 'agent.name')) AS agent_name
FROM llmlens_attrs
GROUP BY n;

CREATE OR REPLACE TEMP TABLE llmlens_stage_spans AS
SELECT s.n, s.line, s.byte_offset, s.span,
    llmlens_id(s.span->>'traceId', 32) AS trace_id,
    llmlens_id(s.span->>'spanId', 16) AS span_id,
    llmlens_id(s.span->>'parentSpanId', 16) AS parent_span_id,
    coalesce(s.span->>'name', '') AS name,
    llmlens_kind(m.openinference_kind, m.operation) AS kind,
    llmlens_otel_kind(s.span->>'kind') AS otel_kind,
    llmlens_time(s.span->>'startTimeUnixNano') AS start_time,
    llmlens_time(s.span->>'endTimeUnixNano') AS end_time,
    llmlens_status(s.span->'status'->>'code') AS status_code,
    nullif(s.span->'status'->>'message', '') AS status_message,
    m.model, m.provider, m.input_text, m.output_text, m.input_tokens, m.output_tokens,
    coalesce(m.total_tokens, m.input_tokens + m.output_tokens) AS total_tokens, m.cost_usd,
    m.session_id, m.user_id, m.agent_name, r.service_name,
    coalesce(m.attributes, '{}') AS attributes, r.resource,
    CASE WHEN json_array_length(s.span->'events') > 0 THEN s.span->'events' END AS events
FROM llmlens_raw_spans s
LEFT JOIN llmlens_mapped m USING (n)
LEFT JOIN llmlens_resources r USING (n);

INSERT INTO rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line || ', span ' || coalesce(span->>'name', '?'), line, byte_offset,
       CASE WHEN trace_id IS NULL THEN 'traceId is missing, or not 32 hex digits or base64: '
                || coalesce(span->>'traceId', 'null')
            ELSE 'spanId is missing, or not 16 hex digits or base64: ' || coalesce(span->>'spanId', 'null') END,
       left(span::VARCHAR, 200), encode(span::VARCHAR)
FROM llmlens_stage_spans WHERE trace_id IS NULL OR span_id IS NULL;

DELETE FROM llmlens_stage_spans WHERE trace_id IS NULL OR span_id IS NULL;

CREATE OR REPLACE TEMP TABLE llmlens_message_fields AS
SELECT n, CASE m['side'] WHEN 'prompt' THEN 'input' WHEN 'completion' THEN 'output' ELSE m['side'] END AS side,
       CAST(m['position'] AS INTEGER) AS position, m['field'] AS field, value->>'$' AS text
FROM (
    SELECT n, value, CASE WHEN key LIKE 'llm.%' THEN
            regexp_extract(key, '^llm\.(input|output)_messages\.(\d+)\.message\.(.+)$', ['side', 'position', 'field'])
        ELSE regexp_extract(key, '^gen_ai\.(prompt|completion)\.(\d+)\.(.+)$', ['side', 'position', 'field']) END AS m
    FROM llmlens_attrs
    WHERE key LIKE 'llm.input_messages.%' OR key LIKE 'llm.output_messages.%'
       OR key LIKE 'gen_ai.prompt.%' OR key LIKE 'gen_ai.completion.%'
)
WHERE m['side'] <> '';

CREATE OR REPLACE TEMP TABLE llmlens_stage_messages AS
WITH text_parts AS (
    SELECT n, side, position, CAST(regexp_extract(field, '^contents\.(\d+)\.', 1) AS INTEGER) AS i,
           to_json({'type': 'text', 'content': max(text) FILTER (WHERE field LIKE '%.message_content.text')}) AS part,
           max(text) FILTER (WHERE field LIKE '%.message_content.text') AS content
    FROM llmlens_message_fields WHERE field LIKE 'contents.%'
    GROUP BY ALL HAVING content IS NOT NULL
), tool_calls AS (
    SELECT n, side, position, CAST(regexp_extract(field, '^tool_calls\.(\d+)\.', 1) AS INTEGER) AS i,
           to_json({'type': 'tool_call',
                    'id': max(text) FILTER (WHERE field LIKE '%.tool_call.id'),
                    'name': max(text) FILTER (WHERE field LIKE '%.tool_call.function.name'),
                    'arguments': max(text) FILTER (WHERE field LIKE '%.tool_call.function.arguments')}) AS part
    FROM llmlens_message_fields WHERE field LIKE 'tool_calls.%'
    GROUP BY ALL
), flat AS (
    SELECT n, side, position,
           max(text) FILTER (WHERE field = 'role') AS role,
           max(text) FILTER (WHERE field = 'name') AS name,
           max(text) FILTER (WHERE field = 'content') AS content,
           max(text) FILTER (WHERE field = 'finish_reason') AS finish_reason
    FROM llmlens_message_fields GROUP BY ALL
)
SELECT f.n, f.side, f.position, f.role, f.name,
       coalesce(f.content, (SELECT string_agg(t.content, '' ORDER BY t.i) FROM text_parts t
                            WHERE t.n = f.n AND t.side = f.side AND t.position = f.position)) AS content,
       to_json(list_concat(
           CASE WHEN f.content IS NOT NULL THEN [to_json({'type': 'text', 'content': f.content})] ELSE [] END,
           coalesce((SELECT list(t.part ORDER BY t.i) FROM text_parts t
                     WHERE t.n = f.n AND t.side = f.side AND t.position = f.position), []),
           coalesce((SELECT list(c.part ORDER BY c.i) FROM tool_calls c
                     WHERE c.n = f.n AND c.side = f.side AND c.position = f.position), []))) AS parts,
       f.finish_reason
FROM flat f
UNION ALL
SELECT n, side, CAST(position - 1 AS INTEGER), message->>'role', message->>'name',
       (SELECT string_agg(p->>'content', '')
        FROM unnest(from_json(coalesce(message->'parts', '[]'), '["JSON"]')) AS u(p)
        WHERE p->>'type' = 'text'),
       message->'parts', message->>'finish_reason'
FROM (
    SELECT n, CASE key WHEN 'gen_ai.input.messages' THEN 'input' ELSE 'output' END AS side,
           unnest(from_json(TRY_CAST(value->>'$' AS JSON), '["JSON"]')) AS message,
           generate_subscripts(from_json(TRY_CAST(value->>'$' AS JSON), '["JSON"]'), 1) AS position
    FROM llmlens_attrs
    WHERE key IN ('gen_ai.input.messages', 'gen_ai.output.messages')
      AND json_type(TRY_CAST(value->>'$' AS JSON)) = 'ARRAY'
);

CREATE OR REPLACE TEMP TABLE llmlens_stage_documents AS
SELECT n, CAST(m['position'] AS INTEGER) AS position,
       max(value->>'$') FILTER (WHERE m['field'] = 'id') AS document_id,
       max(value->>'$') FILTER (WHERE m['field'] = 'content') AS content,
       TRY_CAST(max(value->>'$') FILTER (WHERE m['field'] = 'score') AS DOUBLE) AS score,
       max(coalesce(TRY_CAST(value->>'$' AS JSON), value)) FILTER (WHERE m['field'] = 'metadata') AS metadata
FROM (
    SELECT n, value, regexp_extract(key, '^(?:retrieval\.documents|reranker\.output_documents)\.(\d+)\.document\.(.+)$',
                                     ['position', 'field']) AS m
    FROM llmlens_attrs WHERE key LIKE 'retrieval.documents.%' OR key LIKE 'reranker.output_documents.%'
)
WHERE m['position'] <> ''
GROUP BY ALL
UNION ALL
SELECT n, CAST(position - 1 AS INTEGER), d->>'id', d->>'content', TRY_CAST(d->>'score' AS DOUBLE), d->'metadata'
FROM (
    SELECT n, unnest(from_json(TRY_CAST(value->>'$' AS JSON), '["JSON"]')) AS d,
           generate_subscripts(from_json(TRY_CAST(value->>'$' AS JSON), '["JSON"]'), 1) AS position
    FROM llmlens_attrs
    WHERE key = 'gen_ai.retrieval.documents' AND json_type(TRY_CAST(value->>'$' AS JSON)) = 'ARRAY'
);

CREATE OR REPLACE TEMP TABLE llmlens_stage_embeddings AS
SELECT e.n, 'text' AS role, e.text, m.model, e.vector
FROM (
    SELECT n, CAST(m['position'] AS INTEGER) AS position,
           max(value->>'$') FILTER (WHERE m['field'] = 'text') AS text,
           max(from_json(value, '["FLOAT"]')) FILTER (WHERE m['field'] = 'vector') AS vector
    FROM (
        SELECT n, value, regexp_extract(key, '^embedding\.embeddings\.(\d+)\.embedding\.(text|vector)$',
                                         ['position', 'field']) AS m
        FROM llmlens_attrs WHERE key LIKE 'embedding.embeddings.%'
    )
    WHERE m['position'] <> ''
    GROUP BY ALL
) e
LEFT JOIN llmlens_mapped m USING (n)
WHERE e.vector IS NOT NULL;

CREATE OR REPLACE TEMP TABLE llmlens_stage_edges AS
SELECT 'link' AS kind, llmlens_id(l->>'traceId', 32) AS dst_trace_id, llmlens_id(l->>'spanId', 16) AS dst_span_id,
       trace_id AS src_trace_id, span_id AS src_span_id, NULL AS label,
       to_json(map_from_entries(list_transform(from_json(coalesce(l->'attributes', '[]'), '["JSON"]'),
           lambda x: (json_extract_string(x, '$.key'), llmlens_anyvalue(json_extract(x, '$.value')))))) AS attributes
FROM (
    SELECT trace_id, span_id, unnest(from_json(coalesce(span->'links', '[]'), '["JSON"]')) AS l
    FROM llmlens_stage_spans
);
"""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Normalise the registered ``llmlens_records`` (line, byte_offset, text) into staged spans and edges.

    Records that are not OTLP trace data, and spans without usable ids, go to ``rejects``.
    """
    run_script(con, MACROS)
    run_script(con, STAGE, {"source_id": source_id})
