"""OTLP/JSON traces (``ExportTraceServiceRequest`` / ``TracesData``, one document or JSON Lines) into the store.

Everything happens in DuckDB SQL over the file's records: parsing, unnesting resource → scope → span,
id normalisation (hex any case, base64, ``0x``), int64 as strings or numbers, enums as numbers or names,
and the mapping of OpenInference and OpenTelemetry GenAI attributes into the canonical columns.
"""

from __future__ import annotations

import duckdb

from llmlens.loaders import agent_edges, genai_events, logprobs, otlp_logs, vercel_ai
from llmlens.loaders.otlp_types import TRACES_DATA
from llmlens.query import holds, run_script

NAME = "otlp-json"

MACROS = r"""
CREATE OR REPLACE TEMP MACRO llmlens_id(s, digits) AS CASE
    WHEN length(s) = digits AND regexp_full_match(s, '[0-9a-f]+') THEN s  -- as exporters write them: one test
    WHEN s IS NULL OR trim(s) = '' THEN NULL
    WHEN regexp_full_match(s, '(0[xX])?[0-9a-fA-F]+') AND length(regexp_replace(s, '^0[xX]', '')) = digits
        THEN lower(regexp_replace(s, '^0[xX]', ''))
    WHEN octet_length(try(from_base64(s))) = digits // 2 THEN lower(hex(try(from_base64(s))))
    ELSE NULL END;
CREATE OR REPLACE TEMP MACRO llmlens_epoch_us(t) AS CASE
    WHEN TRY_CAST(t AS BIGINT) > 100000000000000000 THEN TRY_CAST(t AS BIGINT) // 1000  -- nanoseconds, most often
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
CREATE OR REPLACE TEMP MACRO llmlens_scalars_json(values_json) AS to_json(list_transform(
    from_json(coalesce(values_json, '[]'), '[{"stringValue": "VARCHAR", "boolValue": "BOOLEAN", "intValue": "VARCHAR",
                                              "doubleValue": "DOUBLE", "bytesValue": "VARCHAR"}]'),
    lambda x: CASE WHEN x.stringValue IS NOT NULL THEN to_json(x.stringValue)
                   WHEN x.doubleValue IS NOT NULL THEN to_json(x.doubleValue)
                   WHEN x.intValue IS NOT NULL
                       THEN coalesce(to_json(TRY_CAST(x.intValue AS BIGINT)), to_json(x.intValue))
                   WHEN x.boolValue IS NOT NULL THEN to_json(x.boolValue)
                   WHEN x.bytesValue IS NOT NULL THEN to_json(x.bytesValue)
                   ELSE 'null'::JSON END));
CREATE OR REPLACE TEMP MACRO llmlens_anyvalue(v) AS CASE
    WHEN json_extract(v, '$.arrayValue') IS NOT NULL THEN llmlens_scalars_json(json_extract(v, '$.arrayValue.values'))
    WHEN json_extract(v, '$.kvlistValue') IS NOT NULL THEN to_json(map_from_entries(list_transform(
        from_json(coalesce(json_extract(v, '$.kvlistValue.values'), '[]'), '["JSON"]'),
        lambda x: (json_extract_string(x, '$.key'), llmlens_scalar(json_extract(x, '$.value'))))))
    ELSE llmlens_scalar(v) END;
CREATE OR REPLACE TEMP MACRO llmlens_value_json(v) AS CASE
    WHEN v.stringValue IS NOT NULL THEN to_json(v.stringValue)
    WHEN v.intValue IS NOT NULL THEN coalesce(to_json(TRY_CAST(v.intValue AS BIGINT)), to_json(v.intValue))
    WHEN v.doubleValue IS NOT NULL THEN to_json(v.doubleValue)
    WHEN v.boolValue IS NOT NULL THEN to_json(v.boolValue)
    WHEN v.bytesValue IS NOT NULL THEN to_json(v.bytesValue)
    WHEN v.arrayValue IS NOT NULL THEN llmlens_scalars_json(json_extract(v.arrayValue, '$.values'))
    WHEN v.kvlistValue IS NOT NULL THEN llmlens_anyvalue(json_object('kvlistValue', v.kvlistValue))
    ELSE 'null'::JSON END;
CREATE OR REPLACE TEMP MACRO llmlens_value_text(v) AS coalesce(
    v.stringValue, v.intValue, CAST(v.doubleValue AS VARCHAR), CAST(v.boolValue AS VARCHAR), v.bytesValue,
    CAST(CASE WHEN v.arrayValue IS NOT NULL OR v.kvlistValue IS NOT NULL THEN llmlens_value_json(v) END AS VARCHAR));
-- the text of the attribute ``name``, from the keys and texts listed last first (the last of a repeated key wins)
CREATE OR REPLACE TEMP MACRO llmlens_attr(keys, texts, name) AS texts[list_position(keys, name)];
CREATE OR REPLACE TEMP MACRO llmlens_attributes_json(attributes) AS CAST(
    '{' || coalesce(array_to_string(list_transform(attributes,
        lambda a: CAST(to_json(a.key) AS VARCHAR) || ':' || CAST(llmlens_value_json(a.value) AS VARCHAR)), ','), '')
    || '}' AS JSON);
CREATE OR REPLACE TEMP MACRO llmlens_otel_kind(k) AS
    CASE CASE WHEN length(k) = 1 THEN k  -- a number: no pattern to strip
              ELSE upper(regexp_replace(coalesce(k, ''), '^(SPAN_KIND_|SpanKind\.)', '')) END
    WHEN '1' THEN 'INTERNAL' WHEN '2' THEN 'SERVER' WHEN '3' THEN 'CLIENT' WHEN '4' THEN 'PRODUCER'
    WHEN '5' THEN 'CONSUMER' WHEN '0' THEN 'UNSPECIFIED' WHEN '' THEN NULL
    ELSE upper(regexp_replace(k, '^(SPAN_KIND_|SpanKind\.)', '')) END;
CREATE OR REPLACE TEMP MACRO llmlens_status(c) AS
    CASE CASE WHEN length(c) = 1 THEN c
              ELSE upper(regexp_replace(coalesce(c, ''), '^(STATUS_CODE_|StatusCode\.)', '')) END
    WHEN '1' THEN 'OK' WHEN 'OK' THEN 'OK' WHEN '2' THEN 'ERROR' WHEN 'ERROR' THEN 'ERROR' ELSE 'UNSET' END;
CREATE OR REPLACE TEMP MACRO llmlens_kind(openinference, operation, vercel) AS CASE
    WHEN openinference IS NOT NULL AND openinference <> '' THEN upper(openinference)
    WHEN operation IN ('chat', 'text_completion', 'generate_content') THEN 'LLM'
    WHEN operation = 'embeddings' THEN 'EMBEDDING'
    WHEN operation = 'retrieval' THEN 'RETRIEVER'
    WHEN operation = 'execute_tool' THEN 'TOOL'
    WHEN operation IN ('invoke_agent', 'create_agent') THEN 'AGENT'
    WHEN operation = 'invoke_workflow' THEN 'CHAIN'
    WHEN vercel LIKE 'ai.%.do%' AND vercel NOT LIKE 'ai.embed%' THEN 'LLM'
    WHEN vercel = 'ai.toolCall' THEN 'TOOL'
    WHEN vercel LIKE 'ai.embed%' THEN 'EMBEDDING'
    WHEN vercel LIKE 'ai.%' THEN 'CHAIN'
    ELSE 'UNKNOWN' END;
"""

CONVENTIONS: dict[str, tuple[str, ...]] = {
    "openinference_kind": ("openinference.span.kind",),
    "operation": ("gen_ai.operation.name",),
    "model": (
        "gen_ai.response.model",
        "gen_ai.request.model",
        "llm.model_name",
        "embedding.model_name",
        "ai.response.model",
        "ai.model.id",
    ),
    "provider": ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system", "ai.model.provider"),
    "input_text": (
        "input.value",
        "gen_ai.input.messages",
        "gen_ai.prompt",
        "ai.prompt.messages",
        "ai.prompt",
        "ai.toolCall.args",
        "ai.toolCall.input",
        "ai.value",
    ),
    "output_text": (
        "output.value",
        "gen_ai.output.messages",
        "gen_ai.completion",
        "ai.response.text",
        "ai.response.object",
        "ai.toolCall.result",
        "ai.toolCall.output",
    ),
    "input_tokens": (
        "gen_ai.usage.input_tokens",
        "llm.token_count.prompt",
        "gen_ai.usage.prompt_tokens",
        "ai.usage.inputTokens",
        "ai.usage.promptTokens",
    ),
    "output_tokens": (
        "gen_ai.usage.output_tokens",
        "llm.token_count.completion",
        "gen_ai.usage.completion_tokens",
        "ai.usage.outputTokens",
        "ai.usage.completionTokens",
    ),
    "total_tokens": ("llm.token_count.total", "gen_ai.usage.total_tokens", "ai.usage.totalTokens"),
    "cost_usd": ("llm.cost.total",),
    "session_id": ("session.id", "gen_ai.conversation.id", "ai.telemetry.metadata.sessionId"),
    "user_id": ("user.id", "ai.telemetry.metadata.userId"),
    "vercel_operation": ("ai.operationId",),
    "agent_name": ("gen_ai.agent.name", "agent.name"),
    "graph_node_id": ("graph.node.id",),
    "graph_parent_id": ("graph.node.parent_id",),
    "handoff_from": ("gen_ai.agent.handoff.source.name",),
    "handoff_to": ("gen_ai.agent.handoff.target.name",),
}
"""Mapped value -> the attribute keys that fill it (OpenTelemetry GenAI current and deprecated, OpenInference,
Vercel AI SDK), first present wins. Most become span columns; the graph and handoff values feed ``edges``."""


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


MAPPED_KEYS = ", ".join(_sql_text(key) for keys in CONVENTIONS.values() for key in keys)
MAPPED_COLUMNS = ",\n    ".join(
    "coalesce("
    + ", ".join(f"llmlens_attr(mapped_keys, mapped_texts, {_sql_text(key)})" for key in keys)
    + f") AS {column}"
    for column, keys in CONVENTIONS.items()
)

CHILD_KEYS = (
    "a.key LIKE 'llm.input_messages.%' OR a.key LIKE 'llm.output_messages.%' OR a.key LIKE 'gen_ai.prompt.%' "
    "OR a.key LIKE 'gen_ai.completion.%' OR a.key LIKE 'retrieval.documents.%' "
    "OR a.key LIKE 'reranker.output_documents.%' OR a.key LIKE 'embedding.embeddings.%' "
    "OR a.key IN ('gen_ai.input.messages', 'gen_ai.output.messages', 'gen_ai.retrieval.documents', "
    "'ai.prompt.messages', 'ai.prompt', 'ai.response.text', 'ai.response.object', 'ai.response.toolCalls', "
    "'ai.response.finishReason', 'llm.finish_reason')"
)

STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_stage_spans AS
WITH docs AS (
    SELECT line, byte_offset, TRY_CAST(TRY_CAST(json_text AS JSON) AS {TRACES_DATA}) AS doc FROM llmlens_records
), resource_spans AS (
    -- the lists are unnested as they are (a placeholder row for a record without spans, through coalesce, cost
    -- a copy of every list): llmlens_bad_lines finds the records that gave no span, after
    SELECT line, byte_offset, unnest(doc.resourceSpans) AS r, generate_subscripts(doc.resourceSpans, 1) AS ri
    FROM docs
), scope_spans AS (
    SELECT line, byte_offset, ri, r.resource.attributes AS resource,
           list_filter(r.resource.attributes, lambda a: a.key = 'service.name')[-1].value.stringValue AS service_name,
           unnest(r.scopeSpans) AS s, generate_subscripts(r.scopeSpans, 1) AS si
    FROM resource_spans
), scopes AS (
    SELECT *, llmlens_attributes_json(list_concat(coalesce(resource, []),
        CASE WHEN s.scope.name IS NOT NULL
             THEN [{'key': 'otel.scope.name', 'value': {'stringValue': s.scope.name}}] ELSE [] END,
        CASE WHEN s.scope.version IS NOT NULL
             THEN [{'key': 'otel.scope.version', 'value': {'stringValue': s.scope.version}}] ELSE [] END))
        AS resource_json
    FROM scope_spans
), spans AS (
    SELECT line, byte_offset, ri, si, service_name, resource_json,
           unnest(s.spans) AS span, generate_subscripts(s.spans, 1) AS pi
    FROM scopes
), mapped AS (
    SELECT *, {MAPPED_COLUMNS}
    FROM (SELECT *, list_reverse(list_transform(kv, lambda a: a.key)) AS mapped_keys,
                    list_reverse(list_transform(kv, lambda a: llmlens_value_text(a.value))) AS mapped_texts
          FROM (SELECT *, list_filter(span.attributes, lambda a: a.key IN ({MAPPED_KEYS})) AS kv FROM spans))
)
SELECT (CAST(line AS HUGEINT) << 64) | (CAST(ri AS HUGEINT) << 48) | (CAST(si AS HUGEINT) << 32) | pi AS n,
    line, byte_offset, span,
    llmlens_id(span.traceId, 32) AS trace_id,
    llmlens_id(span.spanId, 16) AS span_id,
    llmlens_id(span.parentSpanId, 16) AS parent_span_id,
    coalesce(span.name, '') AS name,
    llmlens_kind(openinference_kind, operation, vercel_operation) AS kind,
    llmlens_otel_kind(span.kind) AS otel_kind,
    llmlens_time(span.startTimeUnixNano) AS start_time,
    llmlens_time(span.endTimeUnixNano) AS end_time,
    llmlens_status(span.status.code) AS status_code,
    nullif(span.status.message, '') AS status_message,
    model, provider, input_text, output_text,
    TRY_CAST(input_tokens AS BIGINT) AS input_tokens,
    TRY_CAST(output_tokens AS BIGINT) AS output_tokens,
    coalesce(TRY_CAST(total_tokens AS BIGINT),
             TRY_CAST(input_tokens AS BIGINT) + TRY_CAST(output_tokens AS BIGINT)) AS total_tokens,
    TRY_CAST(cost_usd AS DOUBLE) AS cost_usd,
    session_id, user_id, agent_name, service_name,
    llmlens_attributes_json(coalesce(span.attributes, [])) AS attributes,
    resource_json AS resource,
    CASE WHEN json_array_length(span.events) > 0 THEN span.events END AS events,
    graph_node_id, graph_parent_id, handoff_from, handoff_to
FROM mapped;

DELETE FROM llmlens_stage_spans WHERE span IS NULL;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line || ', span ' || coalesce(span.name, '?'), line, byte_offset,
       CASE WHEN trace_id IS NULL THEN 'traceId is missing, or not 32 hex digits or base64: '
                || coalesce(span.traceId, 'null')
            ELSE 'spanId is missing, or not 16 hex digits or base64: ' || coalesce(span.spanId, 'null') END,
       left(CAST(to_json(span) AS VARCHAR), 200), encode(CAST(to_json(span) AS VARCHAR))
FROM llmlens_stage_spans WHERE trace_id IS NULL OR span_id IS NULL;

DELETE FROM llmlens_stage_spans WHERE trace_id IS NULL OR span_id IS NULL;

CREATE OR REPLACE TEMP TABLE llmlens_attrs AS
SELECT n, a.key AS key, llmlens_value_json(a.value) AS value
FROM (SELECT n, unnest(list_filter(span.attributes, lambda a: {CHILD_KEYS})) AS a FROM llmlens_stage_spans);

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
       coalesce(f.finish_reason, CASE WHEN f.side = 'output' AND f.position = 0 THEN
           (SELECT max(a.value->>'$') FROM llmlens_attrs a WHERE a.n = f.n AND a.key = 'llm.finish_reason') END)
           AS finish_reason
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
SELECT e.n,
       -- an embedding in a trace that retrieves is the query's; elsewhere (indexing, say) it is just text
       CASE WHEN EXISTS (SELECT 1 FROM llmlens_stage_spans r
                         WHERE r.trace_id = m.trace_id AND r.kind IN ('RETRIEVER', 'RERANKER'))
            THEN 'query' ELSE 'text' END AS role,
       e.text, m.model, e.vector
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
LEFT JOIN llmlens_stage_spans m USING (n)
WHERE e.vector IS NOT NULL;

CREATE OR REPLACE TEMP TABLE llmlens_responses AS
SELECT n, CAST(output_text AS JSON) AS response
FROM llmlens_stage_spans
WHERE output_text LIKE '%"logprobs"%' AND json_valid(output_text);

CREATE OR REPLACE TEMP TABLE llmlens_stage_edges AS
SELECT 'link' AS kind, llmlens_id(l->>'traceId', 32) AS dst_trace_id, llmlens_id(l->>'spanId', 16) AS dst_span_id,
       trace_id AS src_trace_id, span_id AS src_span_id, NULL::VARCHAR AS label,
       to_json(map_from_entries(list_transform(from_json(coalesce(l->'attributes', '[]'), '["JSON"]'),
           lambda x: (json_extract_string(x, '$.key'), llmlens_anyvalue(json_extract(x, '$.value')))))) AS attributes,
       trace_id AS via_trace_id, span_id AS via_span_id
FROM (
    SELECT trace_id, span_id, unnest(from_json(coalesce(span.links, '[]'), '["JSON"]')) AS l
    FROM llmlens_stage_spans
);
"""

SPANLESS = "line NOT IN (SELECT DISTINCT line FROM llmlens_stage_spans)"
"""Records that gave no span: trace data without spans, or not trace data."""

BAD_LINES = f"""
CREATE OR REPLACE TEMP TABLE llmlens_bad_lines AS
WITH spanless AS MATERIALIZED (SELECT line, json_text FROM llmlens_records WHERE {SPANLESS})
SELECT line FROM spanless WHERE TRY_CAST(TRY_CAST(json_text AS JSON) AS {TRACES_DATA}).resourceSpans IS NULL
"""
"""The records that are not trace data (no ``resourceSpans``): only the records that gave no span are parsed again
(the CTE is materialised: a filter on the parse would be pushed down to every record)."""

FINISH = """
ALTER TABLE llmlens_stage_spans DROP COLUMN span;
ALTER TABLE llmlens_stage_spans DROP COLUMN graph_node_id;
ALTER TABLE llmlens_stage_spans DROP COLUMN graph_parent_id;
ALTER TABLE llmlens_stage_spans DROP COLUMN handoff_from;
ALTER TABLE llmlens_stage_spans DROP COLUMN handoff_to;
"""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Normalise the registered ``llmlens_records`` (line, byte_offset, text) into staged spans and edges.

    Records that are not OTLP trace data, and spans without usable ids, go to ``rejects``.
    """
    run_script(con, MACROS)
    run_script(con, stage_script(), {"source_id": source_id})
    if holds(con, f"llmlens_records WHERE {SPANLESS}"):  # most files: every record gave spans
        run_script(con, BAD_LINES)
        otlp_logs.stage(con, source_id)
    # statements that would find nothing are not planned (their planning is most of a small file's load)
    if holds(con, "llmlens_stage_spans WHERE events IS NOT NULL"):
        run_script(con, genai_events.MESSAGES)
    if holds(con, "llmlens_attrs WHERE key LIKE 'ai.%'"):
        run_script(con, vercel_ai.MESSAGES)
    run_script(con, agent_edges.EDGES)
    run_script(con, FINISH)
    logprobs.stage_tokens(con)


def stage_script() -> str:
    """The staging SQL with the OTLP type and the convention table filled in (constants, never data)."""
    script = STAGE
    for name, text in (("TRACES_DATA", TRACES_DATA), ("CHILD_KEYS", CHILD_KEYS), ("MAPPED_KEYS", MAPPED_KEYS),
                       ("MAPPED_COLUMNS", MAPPED_COLUMNS)):  # fmt: skip
        script = script.replace("{" + name + "}", text)
    return script
