"""OTLP log records (``LogsData`` / ``ExportLogsServiceRequest``) into the ``logs`` table.

OpenTelemetry's GenAI instrumentations (``opentelemetry-instrumentation-openai-v2`` among them) emit the
conversation as *log records* named ``gen_ai.system.message``, ``gen_ai.user.message``, ``gen_ai.choice`` ...,
linked to the LLM span by trace and span id, while the span itself carries no content. Every record is kept in
``logs``; :func:`write_messages` then gives a span without messages of its own the messages of its events,
and ``gen_ai.evaluation.result`` events become annotations.

A file or request holds trace data or log data; both go through the ``otlp-json`` staging, and the records that
are not trace data are tried as log data here before they are rejected.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
from duckdb.func import FunctionNullHandling

from llmlens.loaders import genai_events
from llmlens.loaders.otlp_types import LOGS_DATA
from llmlens.query import holds, run_script

MESSAGE_EVENTS = (
    "gen_ai.system.message",
    "gen_ai.user.message",
    "gen_ai.assistant.message",
    "gen_ai.tool.message",
    "gen_ai.choice",
    "gen_ai.content.prompt",
    "gen_ai.content.completion",
    "gen_ai.client.inference.operation.details",
)
"""Event names whose records carry a span's messages (see :mod:`llmlens.loaders.genai_events`)."""

PLAIN_DEPTH = 64
"""Deeper than this, an AnyValue is kept in its OTLP JSON form rather than unwrapped."""


def plain_anyvalue(text: str | None) -> str | None:
    """An OTLP ``AnyValue`` (JSON text) as plain JSON text: strings, numbers, booleans, lists and objects.

    Used for log bodies and attributes, whose maps and lists nest as deep as the app likes; SQL macros cannot
    recurse, so this one conversion is a function.

    >>> plain_anyvalue('{"kvlistValue": {"values": [{"key": "n", "value": {"intValue": "3"}}]}}')
    '{"n": 3}'
    >>> plain_anyvalue('{"arrayValue": {"values": [{"stringValue": "a"}, {"boolValue": true}]}}')
    '["a", true]'
    """
    if text is None:
        return None
    try:
        return json.dumps(_plain(json.loads(text), 0), ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def _plain(value: object, depth: int) -> object:
    if not isinstance(value, dict) or depth > PLAIN_DEPTH:
        return value
    kind, inner = next(((key, value[key]) for key in _VALUE_KINDS if value.get(key) is not None), (None, None))
    if kind == "intValue" and isinstance(inner, str) and inner.lstrip("-").isdigit():
        return int(inner)
    if kind == "arrayValue":
        items = inner.get("values") or [] if isinstance(inner, dict) else []
        return [_plain(item, depth + 1) for item in items]
    if kind == "kvlistValue":
        pairs = inner.get("values") or [] if isinstance(inner, dict) else []
        return {pair.get("key"): _plain(pair.get("value"), depth + 1) for pair in pairs if isinstance(pair, dict)}
    return inner


_VALUE_KINDS = ("stringValue", "intValue", "doubleValue", "boolValue", "bytesValue", "arrayValue", "kvlistValue")


def register(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``llmlens_plain_anyvalue(text)`` callable in ``con``'s database (once; cursors share it)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'llmlens_plain_anyvalue'"
    ).fetchall()[0][0]
    if not exists:
        con.create_function(
            "llmlens_plain_anyvalue",
            plain_anyvalue,
            ["varchar"],
            "varchar",
            null_handling=FunctionNullHandling.SPECIAL,
        )


STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_log_docs AS
SELECT line, byte_offset, TRY_CAST(TRY_CAST(json_text AS JSON) AS {LOGS_DATA}).resourceLogs AS resource_logs
FROM llmlens_records
WHERE line IN (SELECT line FROM llmlens_bad_lines);

CREATE OR REPLACE TEMP TABLE llmlens_stage_logs AS
WITH resource_logs AS (
    SELECT line, byte_offset, unnest(resource_logs) AS r, generate_subscripts(resource_logs, 1) AS ri
    FROM llmlens_log_docs WHERE resource_logs IS NOT NULL
), scope_logs AS (
    SELECT line, byte_offset, ri, r.resource.attributes AS resource,
           unnest(coalesce(r.scopeLogs, [])) AS s, generate_subscripts(coalesce(r.scopeLogs, []), 1) AS si
    FROM resource_logs
), records AS (
    SELECT line, byte_offset, ri, si,
           llmlens_attributes_json(list_concat(coalesce(resource, []),
               CASE WHEN s.scope.name IS NOT NULL
                    THEN [{'key': 'otel.scope.name', 'value': {'stringValue': s.scope.name}}] ELSE [] END,
               CASE WHEN s.scope.version IS NOT NULL
                    THEN [{'key': 'otel.scope.version', 'value': {'stringValue': s.scope.version}}] ELSE [] END))
               AS resource,
           unnest(coalesce(s.logRecords, [])) AS record, generate_subscripts(coalesce(s.logRecords, []), 1) AS li
    FROM scope_logs
)
SELECT (CAST(line AS HUGEINT) << 64) | (CAST(ri AS HUGEINT) << 48) | (CAST(si AS HUGEINT) << 32) | li AS seq,
       line, byte_offset, record,
       llmlens_id(record.traceId, 32) AS trace_id,
       llmlens_id(record.spanId, 16) AS span_id,
       llmlens_time(record.timeUnixNano) AS time,
       llmlens_time(record.observedTimeUnixNano) AS observed_time,
       llmlens_severity(record.severityNumber) AS severity_number,
       nullif(record.severityText, '') AS severity_text,
       coalesce(nullif(record.eventName, ''),
                list_filter(record.attributes, lambda a: a.key = 'event.name')[-1].value.stringValue) AS event_name,
       CAST(llmlens_plain_anyvalue(CAST(record.body AS VARCHAR)) AS JSON) AS body,
       CAST(llmlens_plain_anyvalue(CAST(to_json({'kvlistValue': {'values': coalesce(record.attributes, [])}})
                                        AS VARCHAR)) AS JSON) AS attributes,
       resource,
       -- ids given but unreadable (a record without ids is a plain log, and fine)
       (llmlens_id(record.traceId, 32) IS NULL AND coalesce(record.traceId, '') <> '')
           OR (llmlens_id(record.spanId, 16) IS NULL AND coalesce(record.spanId, '') <> '') AS bad_id
FROM records;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line || ', log record ' || coalesce(event_name, '?'), line, byte_offset,
       CASE WHEN trace_id IS NULL AND coalesce(record.traceId, '') <> ''
            THEN 'traceId is not 32 hex digits or base64: ' || record.traceId
            ELSE 'spanId is not 16 hex digits or base64: ' || record.spanId END,
       left(CAST(to_json(record) AS VARCHAR), 200), encode(CAST(to_json(record) AS VARCHAR))
FROM llmlens_stage_logs WHERE bad_id;

DELETE FROM llmlens_stage_logs WHERE bad_id;
ALTER TABLE llmlens_stage_logs DROP COLUMN record;
ALTER TABLE llmlens_stage_logs DROP COLUMN bad_id;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line, line, byte_offset,
       CASE WHEN NOT json_valid(text) THEN 'not valid JSON (truncated or corrupt record)'
            ELSE 'not OTLP trace or log data: no resourceSpans or resourceLogs list' END,
       left(text, 200), encode(text)
FROM llmlens_records
WHERE line IN (SELECT line FROM llmlens_bad_lines)
  AND line NOT IN (SELECT line FROM llmlens_log_docs WHERE resource_logs IS NOT NULL);
"""
"""Staging of the records the span staging could not read as trace data (its ``bad`` rows)."""

MACROS = r"""
CREATE OR REPLACE TEMP MACRO llmlens_severity(s) AS coalesce(
    nullif(TRY_CAST(s AS INTEGER), 0),
    CASE regexp_extract(upper(s), '^SEVERITY_NUMBER_([A-Z]+)', 1)
        WHEN 'TRACE' THEN 1 WHEN 'DEBUG' THEN 5 WHEN 'INFO' THEN 9 WHEN 'WARN' THEN 13 WHEN 'ERROR' THEN 17
        WHEN 'FATAL' THEN 21 END + coalesce(TRY_CAST(regexp_extract(s, '(\d)$', 1) AS INTEGER), 1) - 1);
"""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the log records among the records the span staging marked ``bad``; reject what is neither."""
    if not holds(con, "llmlens_bad_lines"):
        return  # every record was trace data (most files): nothing to parse again, no function to register
    register(con)
    run_script(con, MACROS)
    run_script(con, STAGE.replace("{LOGS_DATA}", LOGS_DATA), {"source_id": source_id})


_EVENT_NAMES = ", ".join(f"'{name}'" for name in MESSAGE_EVENTS)

LOG_SPANS = f"""
CREATE OR REPLACE TEMP TABLE llmlens_log_spans AS
SELECT row_number() OVER (ORDER BY trace_id, span_id) AS n, trace_id, span_id, source_id
FROM (
    SELECT l.trace_id, l.span_id, max(l.source_id) AS source_id
    FROM logs l JOIN (SELECT DISTINCT trace_id, span_id FROM llmlens_affected) a USING (trace_id, span_id)
    WHERE l.event_name IN ({_EVENT_NAMES})
    GROUP BY ALL
) e
-- a span's own messages (from its attributes or span events) share its source; those win over log records
WHERE NOT EXISTS (SELECT 1 FROM messages m JOIN spans s USING (trace_id, span_id, source_id)
                  WHERE m.trace_id = e.trace_id AND m.span_id = e.span_id)
"""
"""The affected spans whose messages come from their log records, numbered ``n``."""

LOG_EVENTS = f"""
CREATE OR REPLACE TEMP TABLE llmlens_genai_events AS
SELECT s.n,
       CAST(row_number() OVER (PARTITION BY s.n ORDER BY coalesce(l.time, l.observed_time), l.source_id, l.seq)
            AS INTEGER) AS i,
       l.event_name AS name,
       list_concat(list_transform(map_entries(coalesce(TRY_CAST(l.attributes AS MAP(VARCHAR, JSON)), MAP())),
                                  lambda e: {{'key': e.key, 'value': e.value}}),
                   [{{'key': 'body', 'value': l.body}}]) AS attrs
FROM logs l JOIN llmlens_log_spans s USING (trace_id, span_id)
WHERE l.event_name IN ({_EVENT_NAMES});
"""

WRITE = """
DELETE FROM messages USING llmlens_log_spans s WHERE messages.trace_id = s.trace_id AND messages.span_id = s.span_id;
CREATE OR REPLACE TEMP TABLE llmlens_log_messages AS
SELECT s.source_id, s.trace_id, s.span_id, m.* EXCLUDE (n)
FROM llmlens_event_messages m JOIN llmlens_log_spans s USING (n);
DROP TABLE llmlens_log_spans;
DROP TABLE llmlens_genai_events;
DROP TABLE llmlens_event_messages;
"""
"""Replace the affected spans' messages; the new ones are inserted after, only if there are any (an empty INSERT
in the load's transaction makes DuckDB 2.0 misread the table, see :mod:`llmlens.loaders.writes`)."""


def write_messages(con: duckdb.DuckDBPyConnection, spans: pa.Table, logs: pa.Table | None) -> None:
    """Give the spans just written, and the spans the log records just written belong to, the messages of their
    GenAI log events, unless a span carries messages of its own. Runs in the loading transaction."""
    if con.execute("SELECT count(*) FROM logs").fetchall()[0][0] == 0:
        return
    keys = [spans.select(["trace_id", "span_id"])]
    if logs is not None:
        keys.append(logs.select(["trace_id", "span_id"]))
    llmlens_affected = pa.concat_tables(keys)  # noqa: F841 (read by name in LOG_SPANS)
    con.execute(LOG_SPANS)
    run_script(con, genai_events.MACROS)
    run_script(con, LOG_EVENTS)
    run_script(con, genai_events.EVENT_MESSAGES)
    run_script(con, WRITE)
    if holds(con, "llmlens_log_messages"):
        con.execute("INSERT INTO messages BY NAME SELECT * FROM llmlens_log_messages")
    con.execute("DROP TABLE llmlens_log_messages")


STAGED = """
SELECT * EXCLUDE (line, byte_offset) FROM llmlens_stage_logs
QUALIFY row_number() OVER (PARTITION BY trace_id, span_id, event_name, time, observed_time, CAST(body AS VARCHAR),
                                        CAST(attributes AS VARCHAR) ORDER BY seq) = 1
"""
"""The staged log records to write; a record repeated within the chunk counts once."""

_NEW_LOGS = (
    "FROM llmlens_rows r WHERE NOT EXISTS (SELECT 1 FROM logs l WHERE l.trace_id IS NOT DISTINCT FROM r.trace_id "
    "AND l.span_id IS NOT DISTINCT FROM r.span_id AND l.event_name IS NOT DISTINCT FROM r.event_name "
    "AND l.time IS NOT DISTINCT FROM r.time AND l.observed_time IS NOT DISTINCT FROM r.observed_time "
    "AND CAST(l.body AS VARCHAR) IS NOT DISTINCT FROM CAST(r.body AS VARCHAR) "
    "AND CAST(l.attributes AS VARCHAR) IS NOT DISTINCT FROM CAST(r.attributes AS VARCHAR))"
)
"""The staged log records not in the store yet: a record seen before (an overlapping export) adds nothing."""

WRITES = (
    # annotations first: they come from the records not stored yet, which the next statement stores
    "INSERT INTO annotations (source_id, target_kind, target_id, name, label, score, note, annotator, "
    "annotator_kind, created_at, metadata) "
    "SELECT $source_id, CASE WHEN r.span_id IS NOT NULL THEN 'span' ELSE 'trace' END, "
    "coalesce(r.span_id, r.trace_id), coalesce(json_extract_string(r.attributes, '$.\"gen_ai.evaluation.name\"'), "
    "'evaluation'), json_extract_string(r.attributes, '$.\"gen_ai.evaluation.score.label\"'), "
    "TRY_CAST(json_extract_string(r.attributes, '$.\"gen_ai.evaluation.score.value\"') AS DOUBLE), "
    "json_extract_string(r.attributes, '$.\"gen_ai.evaluation.explanation\"'), "
    "coalesce(json_extract_string(r.resource, '$.\"otel.scope.name\"'), 'opentelemetry'), 'check', "
    "coalesce(r.time, r.observed_time, now()), json_object('trace_id', r.trace_id, "
    "'response_id', json_extract_string(r.attributes, '$.\"gen_ai.response.id\"')) "
    + _NEW_LOGS
    + " AND r.event_name = 'gen_ai.evaluation.result' AND coalesce(r.span_id, r.trace_id) IS NOT NULL",
    "INSERT INTO logs BY NAME SELECT $source_id AS source_id, r.* " + _NEW_LOGS,
)
"""How staged log records are written (``llmlens_rows``): evaluation events become annotations, then the records
not stored yet are stored."""
