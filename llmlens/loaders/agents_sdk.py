"""OpenAI Agents SDK traces: the ``trace`` and ``trace.span`` objects its exporters serialise.

What loads: ``Trace.export()`` (``{"object": "trace", "id", "workflow_name", "group_id", "metadata"}``) and
``Span.export()`` (``{"object": "trace.span", "id", "trace_id", "parent_id", "started_at", "ended_at",
"span_data", "error", "metadata"}``) objects, as JSON Lines (one object, one list of them or one batch per line),
a JSON array (read element by element by :mod:`llmlens.loaders.json_rows`, so a cut array keeps its whole
elements) or one document: the ``{"data": [...]}`` body the SDK's ``BackendSpanExporter`` POSTs.

How it maps:

- A span keeps its ids as given (``trace_…``, ``span_…``); a span without a parent hangs under its trace.
- A trace is a span of its own (``span_id`` = ``trace_id`` = the trace's id, kind CHAIN): ``workflow_name`` its
  name, ``group_id`` its ``session_id``, the rest (``metadata``) in ``attributes``; the SDK exports no times for
  it, so it spans its spans (those of the file and those already in the store); a ``tracing_api_key`` (which
  ``Trace.to_json(include_tracing_api_key=True)`` adds) is not kept. The spans of a trace whose trace object is
  not loaded are kept and show in ``orphan_spans`` until it is.
- ``span_data.type``: ``agent`` AGENT (``agent_name`` its name; ``tools``, ``handoffs``, ``output_type`` in
  ``attributes``); ``handoff`` HANDOFF named ``handoff to <to_agent>`` (``from_agent`` its input, ``to_agent``
  its output); ``function`` TOOL (input and output); ``mcp_tools`` TOOL (the tools listed as its output);
  ``generation`` LLM (model, provider ``openai`` when the ``model_config.base_url`` is OpenAI's, usage, and the
  input and output messages, tool calls and tool results as parts, into ``messages``); ``response`` LLM (the
  export has only ``response_id`` and ``usage``); ``transcription`` and ``speech`` LLM (model, text);
  ``guardrail`` GUARDRAIL (``triggered`` is status ERROR, "guardrail triggered"); ``custom`` spans the SDK
  writes for a run (``data.sdk_span_type`` ``task``) and its turns (``turn``, with their agent) and
  ``speech_group`` CHAIN; any other ``custom`` span, and any type not named here, UNKNOWN with its data kept.
- ``error`` (``{message, data}``) is status ERROR with the message; an ended span is otherwise OK.
- Every span below an agent span gets that agent's name as ``agent_name`` (its tool calls and model calls).
- A handoff is an ``edges`` row of kind ``handoff`` from the latest span of agent ``from_agent`` before it to the
  first span of agent ``to_agent`` after it, in the same trace (:mod:`llmlens.loaders.agent_edges`).
- ``attributes`` is the object as exported less its ids and times (in their columns), and less the
  ``span_data`` ``input`` and ``output`` that ``input_text`` and ``output_text`` hold as they are.

A record that is not JSON (a cut last line), an item that is not a trace or span object, and a span or trace
without an id are rejected with their line (or element), and the rest loads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

from llmlens.loaders import agent_edges, json_rows, messages
from llmlens.loaders.files import Records
from llmlens.query import run_script

NAME = "openai-agents"

CHUNK_BYTES = 256 * 1024 * 1024
"""How much of a JSON Lines file is read and staged at once."""

SIGNATURE = re.compile(r'"object"\s*:\s*"trace\.span"|"object"\s*:\s*"trace"\s*,\s*"id"\s*:\s*"trace_')
"""What tells Agents SDK exports (see :mod:`llmlens.loaders.detect`): a span's ``"object": "trace.span"``, or a
trace's ``"object": "trace"`` followed by its ``trace_`` id (keys inside JSON strings, whose quotes are escaped,
do not match)."""


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """The records of a file of Agents SDK exports: the elements of a JSON array, else JSON Lines or one JSON
    document (``{"data": [...]}``).

    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "spans.json"
    >>> _ = path.write_text('[{"object": "trace", "id": "trace_1"}, {"object": "trace.span", "id": "span_1"}]')
    >>> [json.loads(text)["id"] for records, _ in read(path) for text in records.table.column("text").to_pylist()]
    ['trace_1', 'span_1']
    """
    return json_rows.read_json(path, CHUNK_BYTES)


ITEM = """{"object": "VARCHAR", "id": "VARCHAR", "trace_id": "VARCHAR", "parent_id": "VARCHAR",
"started_at": "VARCHAR", "ended_at": "VARCHAR", "workflow_name": "VARCHAR", "group_id": "VARCHAR", "error": "JSON",
"span_data": {"type": "VARCHAR", "name": "VARCHAR", "from_agent": "VARCHAR", "to_agent": "VARCHAR",
              "input": "JSON", "output": "JSON", "model": "VARCHAR", "usage": "JSON", "response_id": "VARCHAR",
              "triggered": "JSON", "data": "JSON", "server": "VARCHAR", "result": "JSON",
              "model_config": {"base_url": "VARCHAR"}}}"""
"""The fields of an exported object that its span reads, parsed at once."""

MACROS = r"""
CREATE OR REPLACE TEMP MACRO llmlens_ag_time(t) AS CASE
    WHEN regexp_matches(t, '\d:\d\d(:\d\d(\.\d*)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?)\s*$') THEN TRY_CAST(t AS TIMESTAMPTZ)
    ELSE timezone('UTC', TRY_CAST(t AS TIMESTAMP)) END;
CREATE OR REPLACE TEMP MACRO llmlens_ag_text(j) AS CASE
    WHEN j IS NULL OR json_type(j) = 'NULL' THEN NULL
    WHEN json_type(j) = 'VARCHAR' THEN j->>'$'
    ELSE CAST(j AS VARCHAR) END;
CREATE OR REPLACE TEMP MACRO llmlens_ag_list(j) AS
    CASE WHEN json_type(j) = 'ARRAY' THEN from_json(j, '["JSON"]') ELSE []::JSON[] END;
-- one input message of a generation, in OpenAI's chat shape whatever shape it came in (Responses API items too)
CREATE OR REPLACE TEMP MACRO llmlens_ag_message(m) AS CASE json_extract_string(m, '$.type')
    WHEN 'function_call' THEN json_object('role', 'assistant', 'tool_calls', json_array(json_object(
        'id', json_extract_string(m, '$.call_id'), 'type', 'function', 'function', json_object(
            'name', json_extract_string(m, '$.name'), 'arguments', json_extract_string(m, '$.arguments')))))
    WHEN 'function_call_output' THEN json_object('role', 'tool', 'tool_call_id', json_extract_string(m, '$.call_id'),
                                                 'content', json_extract(m, '$.output'))
    ELSE m END;
CREATE OR REPLACE TEMP MACRO llmlens_ag_parts(m) AS CASE
    WHEN json_extract_string(m, '$.role') = 'tool' THEN to_json([to_json({
        'type': 'tool_call_response', 'id': json_extract_string(m, '$.tool_call_id'),
        'name': json_extract_string(m, '$.name'), 'response': llmlens_message_content(m)})])
    ELSE llmlens_message_parts(m) END;
"""
"""Macros reading times, values and chat messages (after :data:`llmlens.loaders.messages.MACROS`)."""

STAGE = (
    json_rows.json_docs("llmlens_ag_docs", "an Agents SDK trace, span, list or batch")
    + r"""
-- every item: a record is an item, a list of items, or a batch {"data": [...]} as the backend exporter POSTs it
CREATE OR REPLACE TEMP TABLE llmlens_ag_items AS
WITH shaped AS (
    SELECT line, byte_offset, "row", text, CASE
        WHEN first = '[' THEN text
        WHEN json_type(json_extract(text, '$.data')) = 'ARRAY' AND json_extract(text, '$.object') IS NULL
            THEN CAST(json_extract(text, '$.data') AS VARCHAR)
        END AS items
    FROM llmlens_ag_docs WHERE bad IS NULL
), listed AS (
    SELECT line, byte_offset, "row", NULL::BIGINT AS elem, text AS item FROM shaped WHERE items IS NULL
    UNION ALL
    SELECT line, byte_offset, "row", generate_subscripts(l, 1), CAST(unnest(l) AS VARCHAR)
    FROM (SELECT *, from_json(items, '["JSON"]') AS l FROM shaped WHERE items IS NOT NULL)
)
SELECT *, f IS NOT NULL AND f.object IN ('trace', 'trace.span') AND nullif(trim(f.id), '') IS NOT NULL
          AND (f.object = 'trace' OR nullif(trim(f.trace_id), '') IS NOT NULL) AS usable
FROM (SELECT (CAST(coalesce(line, "row") AS HUGEINT) << 32) + coalesce(elem, 0) AS n, line, byte_offset, "row", elem,
             item, CASE WHEN starts_with(item, '{') THEN json_transform(item, '{ITEM}') END AS f
      FROM listed);

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, concat_ws(', ', coalesce('line ' || line, $row_word || "row"), 'item ' || elem), line, byte_offset,
       CASE WHEN f IS NULL THEN 'not a trace or span object: a JSON ' || lower(json_type(item))
            WHEN f.object NOT IN ('trace', 'trace.span') OR f.object IS NULL
                THEN 'not an Agents SDK trace or span (object ' || coalesce('"' || f.object || '"', 'missing') || ')'
            WHEN nullif(trim(f.id), '') IS NULL THEN 'a ' || replace(f.object, 'trace.span', 'span') || ' without an id'
            ELSE 'a span without a trace_id' END,
       left(item, 200), encode(item)
FROM llmlens_ag_items WHERE NOT usable;

CREATE OR REPLACE TEMP TABLE llmlens_stage_spans AS
WITH typed AS (
    SELECT n, line, byte_offset, item, f, f.span_data AS d, lower(f.span_data.type) AS type,
           CASE WHEN lower(f.span_data.type) = 'custom'
                THEN json_extract_string(f.span_data.data, '$.sdk_span_type') END AS sdk_type
    FROM llmlens_ag_items WHERE usable AND f.object = 'trace.span'
), kinds AS (
    SELECT *, CASE
        WHEN type = 'agent' THEN 'AGENT'
        WHEN type = 'handoff' THEN 'HANDOFF'
        WHEN type IN ('function', 'mcp_tools') THEN 'TOOL'
        WHEN type IN ('generation', 'response', 'transcription', 'speech') THEN 'LLM'
        WHEN type = 'guardrail' THEN 'GUARDRAIL'
        WHEN type = 'speech_group' OR sdk_type IN ('task', 'turn') THEN 'CHAIN'
        ELSE 'UNKNOWN' END AS kind,
        -- the input and output as text, where the span type has them ('in' / 'out': kept as they are)
        CASE WHEN type IN ('function', 'speech', 'speech_group', 'generation') THEN llmlens_ag_text(d.input)
             WHEN type = 'handoff' THEN d.from_agent END AS input_text,
        CASE WHEN type IN ('function', 'transcription') THEN llmlens_ag_text(d.output)
             WHEN type = 'generation' THEN coalesce(
                 nullif(llmlens_message_content(json_extract(d.output, '$[0]')), ''), llmlens_ag_text(d.output))
             WHEN type = 'mcp_tools' THEN llmlens_ag_text(d.result)
             WHEN type = 'handoff' THEN d.to_agent END AS output_text,
        type IN ('function', 'speech', 'speech_group', 'generation') AS input_kept,
        type IN ('function', 'transcription') OR (type = 'generation' AND json_type(d.output) <> 'ARRAY') AS output_kept
    FROM typed
)
SELECT n, line, byte_offset, f.trace_id AS trace_id, f.id AS span_id,
    coalesce(nullif(trim(f.parent_id), ''), f.trace_id) AS parent_span_id,
    coalesce(CASE WHEN type = 'handoff' THEN 'handoff to ' || coalesce(d.to_agent, '?')
                  WHEN type = 'mcp_tools' THEN 'list tools: ' || coalesce(d.server, '?')
                  WHEN sdk_type = 'task' THEN coalesce(json_extract_string(d.data, '$.name'), d.name)
                  WHEN sdk_type = 'turn' THEN 'turn ' || coalesce(json_extract_string(d.data, '$.turn'), '?')
                  ELSE d.name END, d.type, '') AS name,
    kind, NULL::VARCHAR AS otel_kind,
    llmlens_ag_time(f.started_at) AS start_time, llmlens_ag_time(f.ended_at) AS end_time,
    CASE WHEN f.error IS NOT NULL AND json_type(f.error) <> 'NULL' THEN 'ERROR'
         WHEN type = 'guardrail' AND TRY_CAST(d.triggered->>'$' AS BOOLEAN) THEN 'ERROR'
         WHEN nullif(f.ended_at, '') IS NOT NULL THEN 'OK'
         ELSE 'UNSET' END AS status_code,
    CASE WHEN f.error IS NOT NULL AND json_type(f.error) <> 'NULL'
             THEN coalesce(json_extract_string(f.error, '$.message'), llmlens_ag_text(f.error))
         WHEN type = 'guardrail' AND TRY_CAST(d.triggered->>'$' AS BOOLEAN) THEN 'guardrail triggered' END
        AS status_message,
    CASE WHEN type IN ('generation', 'transcription', 'speech') THEN d.model END AS model,
    CASE WHEN type = 'generation' AND d.model_config.base_url LIKE 'https://api.openai.com/%' THEN 'openai' END
        AS provider,
    input_text, output_text,
    CASE WHEN type IN ('generation', 'response')
        THEN TRY_CAST(json_extract_string(d.usage, '$.input_tokens') AS BIGINT) END AS input_tokens,
    CASE WHEN type IN ('generation', 'response')
        THEN TRY_CAST(json_extract_string(d.usage, '$.output_tokens') AS BIGINT) END AS output_tokens,
    CASE WHEN type IN ('generation', 'response') THEN coalesce(
        TRY_CAST(json_extract_string(d.usage, '$.total_tokens') AS BIGINT),
        TRY_CAST(json_extract_string(d.usage, '$.input_tokens') AS BIGINT)
            + TRY_CAST(json_extract_string(d.usage, '$.output_tokens') AS BIGINT)) END AS total_tokens,
    NULL::DOUBLE AS cost_usd, NULL::VARCHAR AS session_id, NULL::VARCHAR AS user_id,
    CASE WHEN type = 'agent' THEN d.name WHEN sdk_type = 'turn' THEN json_extract_string(d.data, '$.agent_name') END
        AS agent_name,
    NULL::VARCHAR AS service_name,
    json_merge_patch(item, CAST('{"id": null, "trace_id": null, "parent_id": null, "started_at": null, '
        || '"ended_at": null, "span_data": {' || concat_ws(', ', CASE WHEN input_kept THEN '"input": null' END,
                                                          CASE WHEN output_kept THEN '"output": null' END) || '}}'
        AS JSON)) AS attributes,
    NULL::JSON AS resource, NULL::JSON AS events,
    CASE WHEN type = 'handoff' THEN d.from_agent END AS handoff_from,
    CASE WHEN type = 'handoff' THEN d.to_agent END AS handoff_to,
    NULL::VARCHAR AS graph_node_id, NULL::VARCHAR AS graph_parent_id
FROM kinds;

-- the agent that owns each span: the nearest agent span above it (a walk that stops at 64 levels: no cycle hangs)
UPDATE llmlens_stage_spans s SET agent_name = o.agent
FROM (
    WITH RECURSIVE up(n, trace_id, above, depth, agent) AS (
        SELECT n, trace_id, parent_span_id, 0, NULL::VARCHAR FROM llmlens_stage_spans
        WHERE agent_name IS NULL AND parent_span_id <> trace_id
        UNION ALL
        SELECT up.n, up.trace_id, p.parent_span_id, up.depth + 1, CASE WHEN p.kind = 'AGENT' THEN p.agent_name END
        FROM up JOIN llmlens_stage_spans p ON p.trace_id = up.trace_id AND p.span_id = up.above
        WHERE up.agent IS NULL AND up.depth < 64
    )
    SELECT n, arg_min(agent, depth) AS agent FROM up WHERE agent IS NOT NULL GROUP BY n
) o
WHERE s.n = o.n;

-- a trace is its root span, spanning its spans (of this file and of the store)
CREATE OR REPLACE TEMP TABLE llmlens_ag_roots AS
WITH traces AS (
    SELECT * FROM llmlens_ag_items WHERE usable AND f.object = 'trace'
    QUALIFY row_number() OVER (PARTITION BY f.id ORDER BY n DESC) = 1
), times AS (
    SELECT trace_id, min(start_time) AS start_time, max(end_time) AS end_time FROM (
        SELECT trace_id, start_time, end_time FROM llmlens_stage_spans
        UNION ALL
        SELECT trace_id, start_time, end_time FROM spans
        WHERE trace_id IN (SELECT f.id FROM traces) AND span_id <> trace_id
    ) GROUP BY trace_id
)
SELECT n, line, byte_offset, f.id AS trace_id, f.id AS span_id, NULL::VARCHAR AS parent_span_id,
       coalesce(f.workflow_name, 'Agent workflow') AS name, 'CHAIN' AS kind, NULL::VARCHAR AS otel_kind,
       t.start_time, t.end_time, 'UNSET' AS status_code, NULL::VARCHAR AS status_message,
       NULL::VARCHAR AS model, NULL::VARCHAR AS provider, NULL::VARCHAR AS input_text, NULL::VARCHAR AS output_text,
       NULL::BIGINT AS input_tokens, NULL::BIGINT AS output_tokens, NULL::BIGINT AS total_tokens,
       NULL::DOUBLE AS cost_usd, nullif(f.group_id, '') AS session_id, NULL::VARCHAR AS user_id,
       NULL::VARCHAR AS agent_name, NULL::VARCHAR AS service_name,
       json_merge_patch(item, '{"id": null, "tracing_api_key": null}') AS attributes, NULL::JSON AS resource,
       NULL::JSON AS events
FROM traces LEFT JOIN times t ON t.trace_id = f.id;

-- the model calls: their messages, and the input and output of their trace's root
CREATE OR REPLACE TEMP TABLE llmlens_ag_calls AS
SELECT i.n, s.trace_id, s.start_time, s.end_time, lower(f.span_data.type) AS type, f.span_data.input AS input,
       f.span_data.output AS output
FROM llmlens_ag_items i JOIN llmlens_stage_spans s USING (n)
WHERE usable AND lower(f.span_data.type) IN ('generation', 'response');

-- a root's input and output: the last message given to the trace's first model call, and the text its last model
-- call answered (none where that call is a `response` span, whose export has neither)
UPDATE llmlens_ag_roots r SET input_text = m.input_text, output_text = m.output_text
FROM (
    SELECT trace_id,
           arg_min_null(nullif(llmlens_message_content(json_extract(input, '$[#-1]')), ''), start_time) AS input_text,
           arg_max_null(nullif(llmlens_message_content(json_extract(output, '$[0]')), ''), end_time) AS output_text
    FROM llmlens_ag_calls GROUP BY trace_id
) m
WHERE r.trace_id = m.trace_id;

CREATE OR REPLACE TEMP TABLE llmlens_stage_messages AS
SELECT n, side, CAST(i - 1 AS INTEGER) AS position, json_extract_string(message, '$.role') AS role,
       json_extract_string(message, '$.name') AS name, llmlens_message_content(message) AS content,
       llmlens_ag_parts(message) AS parts, NULL::VARCHAR AS finish_reason
FROM (
    SELECT n, 'input' AS side, generate_subscripts(l, 1) AS i, llmlens_ag_message(unnest(l)) AS message
    FROM (SELECT n, llmlens_ag_list(input) AS l FROM llmlens_ag_calls WHERE type = 'generation')
    UNION ALL
    SELECT n, 'output', generate_subscripts(l, 1), llmlens_ag_message(unnest(l))
    FROM (SELECT n, llmlens_ag_list(output) AS l FROM llmlens_ag_calls WHERE type = 'generation')
)
WHERE json_type(message) = 'OBJECT';

INSERT INTO llmlens_stage_spans BY NAME SELECT * FROM llmlens_ag_roots;

CREATE OR REPLACE TEMP TABLE llmlens_stage_edges AS SELECT * EXCLUDE (source_id) FROM edges LIMIT 0;
"""
)

FINISH = """
ALTER TABLE llmlens_stage_spans DROP COLUMN graph_node_id;
ALTER TABLE llmlens_stage_spans DROP COLUMN graph_parent_id;
ALTER TABLE llmlens_stage_spans DROP COLUMN handoff_from;
ALTER TABLE llmlens_stage_spans DROP COLUMN handoff_to;
"""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the traces and spans of one chunk: spans (a trace is its root span), messages of generations, handoff
    edges and rejects (see the module's description).

    >>> import llmlens, json, pathlib, tempfile
    >>> trace = {"object": "trace", "id": "trace_1", "workflow_name": "Support", "group_id": "chat-9"}
    >>> agent = {"object": "trace.span", "id": "span_1", "trace_id": "trace_1", "parent_id": None,
    ...          "started_at": "2025-03-04T12:00:00+00:00", "ended_at": "2025-03-04T12:00:01+00:00",
    ...          "span_data": {"type": "agent", "name": "Triage", "handoffs": [], "tools": []}, "error": None}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trace.jsonl"
    >>> _ = path.write_text(json.dumps(trace) + "\\n" + json.dumps(agent) + "\\n")
    >>> with llmlens.open(":memory:") as lens:
    ...     lens.load(path, progress=False).files[0].format
    ...     lens.con.execute("SELECT span_id, parent_span_id, name, kind, session_id FROM spans ORDER BY 1").fetchall()
    'openai-agents'
    [('span_1', 'trace_1', 'Triage', 'AGENT', None), ('trace_1', None, 'Support', 'CHAIN', 'chat-9')]
    """
    params = {"source_id": source_id, "row_word": json_rows.row_word(json_rows.source_container(con))}
    run_script(con, messages.MACROS + MACROS)
    run_script(con, STAGE.replace("{ITEM}", ITEM.replace("\n", " ")), params)
    run_script(con, agent_edges.EDGES)
    run_script(con, FINISH)
