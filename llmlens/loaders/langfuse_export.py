"""Langfuse exports: blob-storage exports, UI batch exports and API dumps of traces, observations and scores.

What loads, in JSON (one array), JSON Lines, CSV or Parquet (read by :mod:`llmlens.loaders.json_rows`):

- Blob-storage exports (field reference: langfuse.com/docs/api-and-data-platform/features/blob-storage-export-fields):
  ``observations_v2/`` (enriched observations: each row an observation with its trace's ``trace_name``,
  ``user_id``, ``session_id``, ``tags``, ``release``), the legacy ``traces/`` and ``observations/`` files, and
  ``scores/``. Columns are snake_case; a deselected field group is simply absent.
- UI batch exports of the traces, observations and scores tables (camelCase; per-score columns are kept in the
  row's ``attributes``), the single-trace download ``{"trace": ..., "observations": [...]}``, and API objects
  (``ObservationV2``, ``Score``/``ScoreV3``, traces with their ``observations`` and ``scores``, pages
  ``{"data": [...], "meta": ...}``).

How it maps:

- Every trace is a root span whose ``span_id`` is the trace id (``attributes."langfuse.object" = 'trace'``), from
  the trace's row where one is loaded, else derived from its observations (see
  :mod:`llmlens.loaders.langfuse_traces`: whichever loads first, the trace row wins). Top-level observations hang
  under it, so each trace is one tree and the ``traces`` view shows the trace's name, input and output.
- Observations become spans: ``GENERATION`` → LLM, ``SPAN`` → CHAIN, ``AGENT``, ``TOOL``, ``CHAIN``,
  ``RETRIEVER``, ``EMBEDDING``, ``EVALUATOR``, ``GUARDRAIL`` as named, ``EVENT`` (a point in time) and anything
  else → UNKNOWN. Level ``ERROR`` is status ERROR with ``status_message``; ``usage_details`` (the keys containing
  ``input``, those containing ``output``, and ``total``, as Langfuse sums them) and the older ``usage``,
  ``promptTokens``/``completionTokens``/``totalTokens`` give the token columns; ``total_cost`` (else
  ``cost_details.total``) the cost; the model as provided; the provider from LangChain's ``ls_provider`` or the
  OpenTelemetry attributes in ``metadata.attributes``; ``service.name`` from ``metadata.resourceAttributes``; an
  EVENT without an end ends where it starts. Every field but ``input`` and ``output`` stays in ``attributes``
  under its own name (CSV's JSON columns parsed; ``model_parameters`` is text, as the export has it). An
  observation repeated in a chunk keeps its latest ``updated_at`` (across chunks and files, the later row wins).
  Ids are kept as given (hex lower-cased).
- ``input`` and ``output`` (JSON values, or text holding JSON) of LLM spans that hold chat messages become
  ``messages``: a list of ``{role, content, tool_calls}`` messages, ``{"messages": [...]}``, one message, or an
  OpenAI response (``choices``, whose logprobs, when present, become ``tokens``). LangChain-style tool calls
  (``{name, args, id}``) and GenAI ``parts`` are read too. Other inputs stay text.
- Scores become ``annotations`` (``external_id`` ``langfuse:score:<id>``, so a reload replaces), see
  :mod:`llmlens.loaders.langfuse_scores`.

A record that is not JSON, an object that is no trace, observation or score, an observation without an id or
trace id, a score without an id, target or numeric value is rejected with its line (or row, or element).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

from llmlens.loaders import json_rows, langfuse_scores, langfuse_traces, logprobs, messages
from llmlens.loaders.files import Records
from llmlens.loaders.writes import STAGED_ANNOTATIONS
from llmlens.query import run_script

NAME = "langfuse"

CHUNK_BYTES = 256 * 1024 * 1024
"""How much of a JSON Lines export is read and staged at once."""

_OBSERVATION_KEYS = {"parent_observation_id", "parentObservationId"}
_TRACE_KEYS = {"trace_id", "traceId"}
_SCORE_KEYS = {"data_type", "dataType"}
_TYPES = "GENERATION|SPAN|EVENT|AGENT|TOOL|CHAIN|RETRIEVER|EVALUATOR|EMBEDDING|GUARDRAIL"
_NEAR = r"[\s\S]{0,4000}?"  # within a few thousand characters (of one row, pretty-printed or not)
JSON_SIGNATURE = re.compile(
    r'"(?:parent_observation_id|parentObservationId)"\s*:'
    rf'|"type"\s*:\s*"(?:{_TYPES})"{_NEAR}"(?:trace_id|traceId)"\s*:|"(?:trace_id|traceId)"\s*:{_NEAR}"type"\s*:\s*"(?:{_TYPES})"'
    r'|"(?:data_type|dataType)"\s*:\s*"(?:NUMERIC|CATEGORICAL|BOOLEAN|TEXT|CORRECTION)"'
    rf'|"bookmarked"\s*:{_NEAR}"public"\s*:|"public"\s*:{_NEAR}"bookmarked"\s*:'
)
"""JSON with Langfuse's fields: an observation's parent, an observation type beside a trace id, a score's data type,
a trace's ``bookmarked`` and ``public`` flags (keys, not text inside strings, whose quotes are escaped)."""


def could_be(head: bytes) -> bool:
    """Whether a text file starting with ``head`` is a Langfuse export: JSON matching :data:`JSON_SIGNATURE`, or a CSV
    header with Langfuse's observation, score or trace columns.

    >>> could_be(b'{"id":"o1","trace_id":"t1","type":"GENERATION","parent_observation_id":""}\\n')
    True
    >>> could_be(b'[{"id":"s1","name":"correct","dataType":"NUMERIC","value":1}]')
    True
    >>> could_be(b'"id","timestamp","name","user_id","session_id","bookmarked","public","tags"\\n')
    True
    >>> could_be(b'{"resourceSpans": []}'), could_be(b"run,step,loss\\n")
    (False, False)
    """
    kind = json_rows.container(head)
    if kind == "csv":
        return is_export(json_rows.header(head))
    return kind != "parquet" and JSON_SIGNATURE.search(head.decode("utf-8", errors="replace")) is not None


def is_export(names: list[str]) -> bool:
    """Whether a table with these column names holds Langfuse observations, scores or traces.

    >>> is_export(["id", "trace_id", "type", "parent_observation_id", "start_time"])
    True
    >>> is_export(["id", "traceId", "name", "value", "dataType", "source"]), is_export(["run", "step", "loss"])
    (True, False)
    """
    found = set(names)
    observations = "type" in found and bool(found & _OBSERVATION_KEYS) and bool(found & _TRACE_KEYS)
    scores = bool(found & _SCORE_KEYS) and {"name", "value"} <= found
    traces = {"id", "timestamp", "name", "bookmarked", "public"} <= found
    return observations or scores or traces


def parquet_format(path: Path) -> str | None:
    """``langfuse`` for a Parquet file with Langfuse's observation, score or trace columns, else None.

    >>> import pathlib, tempfile, pyarrow as pa, pyarrow.parquet as pq
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scores.parquet"
    >>> pq.write_table(pa.table({"id": ["s1"], "trace_id": ["t1"], "name": ["correctness"], "value": [1.0],
    ...                          "data_type": ["NUMERIC"], "source": ["API"]}), path)
    >>> parquet_format(path)
    'langfuse'
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError):
        return None
    return NAME if is_export(names) else None


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """The rows of an export, one JSON object per record (see :mod:`llmlens.loaders.json_rows`; CSV's JSON columns
    parsed).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "traces.csv"
    >>> _ = path.write_text('"id","timestamp","name","tags","bookmarked","public"\\n'
    ...                     '"t1","2024-05-29 13:46:19.963000","chat","[""faq""]","false","false"\\n')
    >>> import json
    >>> rows = [json.loads(text) for records, _ in read(path) for text in records.table.column("text").to_pylist()]
    >>> [(row["name"], row["tags"], row["bookmarked"]) for row in rows]  # a JSON column parsed, the rest text
    [('chat', ['faq'], 'false')]
    """
    return json_rows.read(path, CHUNK_BYTES, _JSON_FIELDS)


_ROW_FIELDS = [
    "id", "trace_id", "traceId", "type", "parent_observation_id", "parentObservationId", "start_time", "startTime",
    "end_time", "endTime", "timestamp", "name", "level", "status_message", "statusMessage", "input", "output",
    "metadata", "provided_model_name", "model", "usage_details", "usageDetails", "usage", "promptTokens",
    "completionTokens", "totalTokens", "inputUsage", "outputUsage", "totalUsage", "cost_details", "costDetails",
    "total_cost", "totalCost", "calculatedTotalCost", "user_id", "userId", "session_id", "sessionId", "trace_name",
    "traceName", "tags", "traceTags", "release", "environment", "project_id", "projectId", "updated_at", "updatedAt",
    "latency", "observation_id", "observationId", "dataset_run_id", "datasetRunId", "value", "string_value",
    "stringValue", "source", "comment", "data_type", "dataType", "author_user_id", "authorUserId", "authorUserName",
    "queue_id", "queueId", "subject", "created_at", "createdAt",
]  # fmt: skip
ROW_SCHEMA = json.dumps({name: "VARCHAR" if name in ("input", "output") else "JSON" for name in _ROW_FIELDS})
"""The fields staging reads, as JSON (``input`` and ``output`` as text: a string as it is, JSON as its text); the rest
of a row is kept whole in attributes or metadata."""

_JSON_FIELDS = [
    "metadata", "modelParameters", "usage_details", "usageDetails", "cost_details",
    "costDetails", "provided_usage_details", "providedUsageDetails", "provided_cost_details", "providedCostDetails",
    "tags", "traceTags", "tool_calls", "toolCalls", "tool_call_names", "toolCallNames", "tool_definitions",
    "toolDefinitions", "usage", "comments", "subject", "experiment_metadata", "experiment_item_metadata",
]  # fmt: skip
"""Fields that the JSON exports give as objects or arrays and CSV as text: read from CSV as JSON (the blob exports'
``model_parameters`` is text in every container, and stays so)."""

MACROS = r"""
CREATE OR REPLACE TEMP MACRO llmlens_lf_text(j) AS CASE
    WHEN j IS NULL OR json_type(j) = 'NULL' THEN NULL
    WHEN json_type(j) = 'VARCHAR' THEN nullif(j->>'$', '')
    ELSE CAST(j AS VARCHAR) END;
CREATE OR REPLACE TEMP MACRO llmlens_lf_json(j) AS CASE
    WHEN json_type(j) = 'VARCHAR' AND regexp_matches(j->>'$', '^\s*[\[{]') THEN coalesce(TRY_CAST(j->>'$' AS JSON), j)
    ELSE j END;
CREATE OR REPLACE TEMP MACRO llmlens_lf_io_text(x) AS CASE
    WHEN starts_with(x, '"') AND json_type(TRY_CAST(x AS JSON)) = 'VARCHAR' THEN TRY_CAST(x AS JSON)->>'$'
    ELSE nullif(x, '') END;
CREATE OR REPLACE TEMP MACRO llmlens_lf_io_json(x) AS
    CASE WHEN regexp_matches(x, '^\s*[\[{]') THEN TRY_CAST(x AS JSON) END;
CREATE OR REPLACE TEMP MACRO llmlens_lf_json_kind(j) AS CASE json_type(j)
    WHEN 'ARRAY' THEN 'an array' WHEN 'OBJECT' THEN 'an object' WHEN 'VARCHAR' THEN 'a string'
    WHEN 'BOOLEAN' THEN 'a boolean' WHEN 'NULL' THEN 'null' ELSE 'a number' END;
CREATE OR REPLACE TEMP MACRO llmlens_lf_number(j) AS TRY_CAST(trim(llmlens_lf_text(j), '" ') AS DOUBLE);
CREATE OR REPLACE TEMP MACRO llmlens_lf_id(s) AS CASE
    WHEN regexp_full_match(s, '[0-9a-fA-F]+') THEN lower(s) ELSE s END;
CREATE OR REPLACE TEMP MACRO llmlens_lf_time_text(x) AS CASE
    WHEN regexp_matches(x, '\d[T ]\d\d:\d\d(:\d\d(\.\d*)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?)$')
        THEN TRY_CAST(x AS TIMESTAMPTZ)
    ELSE timezone('UTC', TRY_CAST(x AS TIMESTAMP)) END;
CREATE OR REPLACE TEMP MACRO llmlens_lf_time(j) AS llmlens_lf_time_text(trim(llmlens_lf_text(j), '" '));
CREATE OR REPLACE TEMP MACRO llmlens_lf_map(j) AS TRY_CAST(llmlens_lf_json(j) AS MAP(VARCHAR, DOUBLE));
CREATE OR REPLACE TEMP MACRO llmlens_lf_usage(m, part) AS list_sum(list_transform(
    list_filter(map_entries(m), lambda e: contains(e.key, part) AND e.value IS NOT NULL), lambda e: e.value));
CREATE OR REPLACE TEMP MACRO llmlens_lf_count(x) AS CAST(round(x) AS BIGINT);
CREATE OR REPLACE TEMP MACRO llmlens_lf_kind(t) AS CASE upper(t)
    WHEN 'GENERATION' THEN 'LLM' WHEN 'SPAN' THEN 'CHAIN' WHEN 'AGENT' THEN 'AGENT' WHEN 'TOOL' THEN 'TOOL'
    WHEN 'CHAIN' THEN 'CHAIN' WHEN 'RETRIEVER' THEN 'RETRIEVER' WHEN 'EMBEDDING' THEN 'EMBEDDING'
    WHEN 'EVALUATOR' THEN 'EVALUATOR' WHEN 'GUARDRAIL' THEN 'GUARDRAIL' ELSE 'UNKNOWN' END;
CREATE OR REPLACE TEMP MACRO llmlens_lf_is_message(m) AS
    json_type(m) = 'OBJECT' AND json_type(json_extract(m, '$.role')) = 'VARCHAR';
CREATE OR REPLACE TEMP MACRO llmlens_lf_all_messages(v) AS json_type(v) = 'ARRAY' AND json_array_length(v) > 0
    AND list_bool_and(list_transform(from_json(v, '["JSON"]'), lambda m: llmlens_lf_is_message(m)));
CREATE OR REPLACE TEMP MACRO llmlens_lf_messages(v) AS CASE
    WHEN llmlens_lf_all_messages(v) THEN v
    WHEN llmlens_lf_all_messages(json_extract(v, '$.messages')) THEN json_extract(v, '$.messages')
    WHEN llmlens_lf_is_message(v) THEN json_array(v) END;
"""
"""Reading a row's values (JSON, or text as CSV gives everything), ids, times, usage, kinds and messages."""

MESSAGE_MACROS = r"""
CREATE OR REPLACE TEMP MACRO llmlens_lf_tool_call(t) AS CASE
    WHEN json_extract(t, '$.function') IS NOT NULL OR json_extract(t, '$.name') IS NULL THEN t
    ELSE json_object('id', json_extract(t, '$.id'), 'type', 'function', 'function', json_object(
        'name', json_extract(t, '$.name'),
        'arguments', CASE WHEN json_type(json_extract(t, '$.args')) = 'VARCHAR' THEN json_extract_string(t, '$.args')
                          ELSE CAST(json_extract(t, '$.args') AS VARCHAR) END)) END;
CREATE OR REPLACE TEMP MACRO llmlens_lf_message(m) AS CASE
    WHEN json_type(json_extract(m, '$.tool_calls')) = 'ARRAY' THEN json_merge_patch(m, json_object('tool_calls',
        to_json(list_transform(from_json(json_extract(m, '$.tool_calls'), '["JSON"]'),
                               lambda t: llmlens_lf_tool_call(t)))))
    ELSE m END;
CREATE OR REPLACE TEMP MACRO llmlens_lf_parts_text(m) AS nullif(array_to_string(list_transform(
    list_filter(from_json(coalesce(json_extract(m, '$.parts'), '[]'), '["JSON"]'),
                lambda p: json_extract_string(p, '$.type') = 'text'),
    lambda p: coalesce(json_extract_string(p, '$.content'), json_extract_string(p, '$.text'))), ''), '');
"""
"""Messages in the OpenAI shape for :mod:`llmlens.loaders.messages`: LangChain-style tool calls rewritten, the
text of GenAI ``parts``."""

STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_lf_docs AS
SELECT line, byte_offset, "row", doc,
       CASE WHEN doc IS NULL OR json_type(doc) NOT IN ('OBJECT', 'ARRAY') THEN text END AS bad,
       -- a row as most exports give it: one object of fields, not a list of them nor a trace with its observations
       -- (told by text: a key "data", "trace", "observations" or "scores" anywhere sends a row the longer way)
       json_type(doc) = 'OBJECT' AND NOT regexp_matches(text, '"(data|trace|observations|scores)"\s*:') AS plain
FROM (SELECT line, byte_offset, llmlens_row AS "row", text, TRY_CAST(rtrim(text, E' \t\r\n') AS JSON) AS doc
      FROM llmlens_records_arrow);

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, coalesce('line ' || line, $row_word || "row"), line, byte_offset,
       CASE WHEN doc IS NULL THEN 'not valid JSON (truncated or corrupt record)'
            ELSE 'not a JSON object or array but ' || llmlens_lf_json_kind(doc) END,
       left(bad, 200), encode(bad)
FROM llmlens_lf_docs WHERE bad IS NOT NULL;

CREATE OR REPLACE TEMP TABLE llmlens_lf_items AS
WITH lists AS (
    SELECT line, byte_offset, "row", doc, CASE
        WHEN json_type(doc) = 'ARRAY' THEN from_json(doc, '["JSON"]')
        WHEN json_type(json_extract(doc, '$.data')) = 'ARRAY' AND json_extract(doc, '$.id') IS NULL
            THEN from_json(json_extract(doc, '$.data'), '["JSON"]') END AS elements
    FROM llmlens_lf_docs WHERE NOT plain AND bad IS NULL
)
SELECT line, byte_offset, "row", NULL::BIGINT AS elem, doc AS item FROM lists WHERE elements IS NULL
UNION ALL
SELECT line, byte_offset, "row", i AS elem, elements[i] AS item
FROM lists, LATERAL (SELECT unnest(range(1, len(elements) + 1)) AS i) WHERE elements IS NOT NULL;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, concat_ws(', ', coalesce('line ' || line, $row_word || "row"), 'element ' || elem), line,
       byte_offset, 'not a JSON object but ' || llmlens_lf_json_kind(item), left(CAST(item AS VARCHAR), 200),
       encode(CAST(item AS VARCHAR))
FROM llmlens_lf_items WHERE json_type(item) <> 'OBJECT';

CREATE OR REPLACE TEMP TABLE llmlens_lf_rows AS
WITH items AS (
    SELECT *, CASE WHEN json_type(json_extract(item, '$.trace')) = 'OBJECT' THEN json_extract(item, '$.trace')
                   ELSE item END AS head
    FROM llmlens_lf_items WHERE json_type(item) = 'OBJECT'
), lists AS (
    SELECT line, byte_offset, "row", elem, head, 'observations' AS part, 0 AS base,
           from_json(json_extract(item, '$.observations'), '["JSON"]') AS l
    FROM items WHERE json_type(json_extract(item, '$.observations')) = 'ARRAY'
    UNION ALL
    SELECT line, byte_offset, "row", elem, head, 'scores', 500000,
           from_json(json_extract(item, '$.scores'), '["JSON"]')
    FROM items WHERE json_type(json_extract(item, '$.scores')) = 'ARRAY'
)
SELECT line, byte_offset, "row", NULL::BIGINT AS elem, NULL::VARCHAR AS part, 0 AS sub, doc AS obj,
       NULL::VARCHAR AS parent_trace
FROM llmlens_lf_docs WHERE plain
UNION ALL
SELECT line, byte_offset, "row", elem, NULL, 0, head, NULL FROM items
UNION ALL
SELECT line, byte_offset, "row", elem, part || '[' || (i - 1) || ']', base + i, l[i], json_extract_string(head, '$.id')
FROM lists, LATERAL (SELECT unnest(range(1, len(l) + 1)) AS i)
WHERE json_type(l[i]) = 'OBJECT';

CREATE OR REPLACE TEMP TABLE llmlens_lf_fields AS
SELECT CAST(coalesce(line, "row") AS HUGEINT) * 1000000000000 + coalesce(elem, 0) * 1000000 + sub AS ord,
       line, byte_offset,
       concat_ws(', ', coalesce('line ' || line, $row_word || "row"), 'element ' || elem, part) AS place,
       obj, parent_trace, f,
       CASE WHEN coalesce(f.data_type, f.dataType) IS NOT NULL THEN 'score'
            WHEN f.type IS NOT NULL AND coalesce(f.trace_id, f.traceId, parent_trace, f.parent_observation_id,
                                                 f.parentObservationId, f.start_time, f.startTime) IS NOT NULL
                THEN 'observation'
            WHEN f.id IS NOT NULL AND f.timestamp IS NOT NULL THEN 'trace' END AS class
FROM (SELECT *, json_transform(obj, '{ROW_SCHEMA}') AS f FROM llmlens_lf_rows);

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, place, line, byte_offset, reason, left(CAST(obj AS VARCHAR), 200), encode(CAST(obj AS VARCHAR))
FROM (
    SELECT *, CASE
        WHEN class IS NULL THEN 'not a Langfuse trace, observation or score (no type, timestamp or data_type field)'
        WHEN llmlens_lf_text(f.id) IS NULL THEN 'a Langfuse ' || class || ' without an id'
        WHEN class = 'observation' AND coalesce(llmlens_lf_text(f.trace_id), llmlens_lf_text(f.traceId),
                                                parent_trace) IS NULL
            THEN 'a Langfuse observation without a trace_id' END AS reason
    FROM llmlens_lf_fields
) WHERE reason IS NOT NULL;

DELETE FROM llmlens_lf_fields WHERE class IS NULL OR llmlens_lf_text(f.id) IS NULL
    OR (class = 'observation' AND coalesce(llmlens_lf_text(f.trace_id), llmlens_lf_text(f.traceId), parent_trace)
        IS NULL);

-- the observations, narrow (ids, kinds, times, the trace's context): an observation repeated in the file counts
-- once, its latest version; the wide fields (input, output, the row for attributes) stay in llmlens_lf_fields
CREATE OR REPLACE TEMP TABLE llmlens_lf_obs AS
SELECT * EXCLUDE (parent_id, updated), CASE
        WHEN parent_id IS NOT NULL AND parent_id <> span_id THEN parent_id
        WHEN span_id <> trace_id THEN trace_id END AS parent_span_id
FROM (
    SELECT ord, line, byte_offset,
           llmlens_lf_id(coalesce(llmlens_lf_text(f.trace_id), llmlens_lf_text(f.traceId), parent_trace)) AS trace_id,
           llmlens_lf_id(llmlens_lf_text(f.id)) AS span_id,
           llmlens_lf_id(coalesce(llmlens_lf_text(f.parent_observation_id), llmlens_lf_text(f.parentObservationId)))
               AS parent_id,
           upper(llmlens_lf_text(f.type)) AS type, llmlens_lf_text(f.name) AS name,
           llmlens_lf_time(coalesce(f.start_time, f.startTime)) AS start_time,
           coalesce(llmlens_lf_time(coalesce(f.end_time, f.endTime)),  -- an event is a point in time
                    CASE WHEN upper(llmlens_lf_text(f.type)) = 'EVENT'
                         THEN llmlens_lf_time(coalesce(f.start_time, f.startTime)) END) AS end_time,
           llmlens_lf_time(coalesce(f.updated_at, f.updatedAt)) AS updated,
           llmlens_lf_text(coalesce(f.trace_name, f.traceName)) AS trace_name,
           llmlens_lf_text(coalesce(f.session_id, f.sessionId)) AS session_id,
           llmlens_lf_text(coalesce(f.user_id, f.userId)) AS user_id,
           llmlens_lf_json(coalesce(f.tags, f.traceTags)) AS tags,
           llmlens_lf_text(f.release) AS release, llmlens_lf_text(f.environment) AS environment,
           llmlens_lf_text(coalesce(f.project_id, f.projectId)) AS project_id,
           json_transform(llmlens_lf_json(f.metadata),
                          '{"ls_provider": "VARCHAR", "attributes": "JSON", "resourceAttributes": "JSON"}') AS meta
    FROM llmlens_lf_fields WHERE class = 'observation'
)
QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY updated DESC NULLS LAST, ord DESC) = 1;

CREATE OR REPLACE TEMP TABLE llmlens_lf_trace_rows AS
SELECT * FROM (
    SELECT ord, line, byte_offset, llmlens_lf_id(llmlens_lf_text(f.id)) AS trace_id,
           coalesce(llmlens_lf_text(f.name), 'trace') AS name,
           llmlens_lf_time(f.timestamp) AS start_time, llmlens_lf_number(f.latency) AS latency,
           llmlens_lf_io_text(f.input) AS input_text, llmlens_lf_io_text(f.output) AS output_text,
           llmlens_lf_text(coalesce(f.session_id, f.sessionId)) AS session_id,
           llmlens_lf_text(coalesce(f.user_id, f.userId)) AS user_id,
           json_extract_string(llmlens_lf_json(json_extract(llmlens_lf_json(f.metadata), '$.resourceAttributes')),
                               '$."service.name"') AS service_name,
           json_merge_patch(obj, '{"input": null, "output": null, "observations": null, "scores": null,
                                   "langfuse.object": "trace"}') AS attributes
    FROM llmlens_lf_fields WHERE class = 'trace'
) QUALIFY row_number() OVER (PARTITION BY trace_id ORDER BY ord DESC) = 1;

"""
"""Records → objects (array elements, ``data`` pages, a trace's ``observations`` and ``scores``) → rows, classed as
observation, trace or score; the observations (narrow) and the trace rows."""

SPANS = r"""
-- spans: an observation's n is its place in the file (ord), a trace's a negative number
CREATE OR REPLACE TEMP TABLE llmlens_stage_spans AS
SELECT o.ord AS n, o.line, o.byte_offset, o.trace_id, o.span_id, o.parent_span_id,
    coalesce(o.name, lower(o.type), 'observation') AS name, llmlens_lf_kind(o.type) AS kind,
    'INTERNAL' AS otel_kind, o.start_time, o.end_time,
    CASE WHEN upper(llmlens_lf_text(x.f.level)) = 'ERROR' THEN 'ERROR' ELSE 'UNSET' END AS status_code,
    llmlens_lf_text(coalesce(x.f.status_message, x.f.statusMessage)) AS status_message,
    llmlens_lf_text(coalesce(x.f.provided_model_name, x.f.model)) AS model,
    coalesce(o.meta.ls_provider, list_filter(json_extract_string(llmlens_lf_json(o.meta.attributes),
        ['$."gen_ai.provider.name"', '$."gen_ai.system"', '$."llm.provider"']), lambda x: x IS NOT NULL)[1])
        AS provider,
    llmlens_lf_io_text(x.f.input) AS input_text, llmlens_lf_io_text(x.f.output) AS output_text,
    llmlens_lf_count(CASE WHEN x.usage_map IS NOT NULL
        THEN coalesce(llmlens_lf_usage(x.usage_map, 'input'), llmlens_lf_usage(x.usage_map, 'prompt'))
        ELSE coalesce(llmlens_lf_number(x.f.promptTokens), llmlens_lf_number(json_extract(x.usage, '$.input')),
                      llmlens_lf_number(x.f.inputUsage)) END) AS input_tokens,
    llmlens_lf_count(CASE WHEN x.usage_map IS NOT NULL
        THEN coalesce(llmlens_lf_usage(x.usage_map, 'output'), llmlens_lf_usage(x.usage_map, 'completion'))
        ELSE coalesce(llmlens_lf_number(x.f.completionTokens), llmlens_lf_number(json_extract(x.usage, '$.output')),
                      llmlens_lf_number(x.f.outputUsage)) END) AS output_tokens,
    llmlens_lf_count(CASE WHEN x.usage_map IS NOT NULL THEN map_extract_value(x.usage_map, 'total')
        ELSE coalesce(llmlens_lf_number(x.f.totalTokens), llmlens_lf_number(json_extract(x.usage, '$.total')),
                      llmlens_lf_number(x.f.totalUsage)) END) AS total_tokens,
    coalesce(llmlens_lf_number(x.f.total_cost), llmlens_lf_number(x.f.totalCost),
             llmlens_lf_number(x.f.calculatedTotalCost), map_extract_value(x.cost_map, 'total')) AS cost_usd,
    o.session_id, o.user_id, CASE WHEN o.type = 'AGENT' THEN o.name END AS agent_name,
    json_extract_string(llmlens_lf_json(o.meta.resourceAttributes), '$."service.name"') AS service_name,
    json_merge_patch(x.obj, '{"input": null, "output": null}') AS attributes
FROM llmlens_lf_obs o JOIN (
    SELECT ord, obj, f, llmlens_lf_map(coalesce(f.usage_details, f.usageDetails)) AS usage_map,
           llmlens_lf_map(coalesce(f.cost_details, f.costDetails)) AS cost_map, llmlens_lf_json(f.usage) AS usage
    FROM llmlens_lf_fields WHERE class = 'observation'
) x USING (ord)
UNION ALL
SELECT -row_number() OVER (), line, byte_offset, trace_id, trace_id, NULL, name, 'CHAIN', 'INTERNAL', start_time,
       end_time, 'UNSET', NULL, NULL, NULL, input_text, output_text, NULL, NULL, NULL, NULL, session_id, user_id,
       NULL, service_name, attributes
FROM llmlens_lf_trace_spans;

CREATE OR REPLACE TEMP TABLE llmlens_lf_llm_io AS
SELECT o.ord AS n, llmlens_lf_io_json(x.f.input) AS input, llmlens_lf_io_json(x.f.output) AS output
FROM llmlens_lf_obs o JOIN llmlens_lf_fields x USING (ord)
WHERE o.type = 'GENERATION';

CREATE OR REPLACE TEMP TABLE llmlens_responses AS
SELECT n, output AS response FROM llmlens_lf_llm_io
WHERE json_type(json_extract(output, '$.choices')) = 'ARRAY'
   OR (json_extract_string(output, '$.object') = 'response' AND json_type(json_extract(output, '$.output')) = 'ARRAY');

CREATE OR REPLACE TEMP TABLE llmlens_stage_messages AS
WITH inputs AS (
    SELECT n, 'input' AS side, from_json(llmlens_lf_messages(input), '["JSON"]') AS l FROM llmlens_lf_llm_io
), outputs AS (
    SELECT n, from_json(json_extract(llmlens_as_chat(output), '$.choices'), '["JSON"]') AS choices,
           from_json(llmlens_lf_messages(output), '["JSON"]') AS l
    FROM llmlens_lf_llm_io
), rows AS (
    SELECT n, side, CAST(i - 1 AS INTEGER) AS position, llmlens_lf_message(l[i]) AS m, NULL::VARCHAR AS finish_reason
    FROM inputs, LATERAL (SELECT unnest(range(1, len(l) + 1)) AS i) WHERE l IS NOT NULL
    UNION ALL
    SELECT n, 'output', CAST(i - 1 AS INTEGER), llmlens_lf_message(json_extract(choices[i], '$.message')),
           json_extract_string(choices[i], '$.finish_reason')
    FROM outputs, LATERAL (SELECT unnest(range(1, len(choices) + 1)) AS i)
    WHERE choices IS NOT NULL AND llmlens_lf_is_message(json_extract(choices[i], '$.message'))
    UNION ALL
    SELECT n, 'output', CAST(i - 1 AS INTEGER), llmlens_lf_message(l[i]), NULL
    FROM outputs, LATERAL (SELECT unnest(range(1, len(l) + 1)) AS i) WHERE choices IS NULL AND l IS NOT NULL
)
SELECT n, side, position, json_extract_string(m, '$.role') AS role, json_extract_string(m, '$.name') AS name,
       coalesce(llmlens_message_content(m), llmlens_lf_parts_text(m)) AS content,
       CASE WHEN json_type(json_extract(m, '$.parts')) = 'ARRAY' AND json_extract(m, '$.content') IS NULL
            THEN json_extract(m, '$.parts') ELSE llmlens_message_parts(m) END AS parts,
       finish_reason
FROM rows;
"""
"""Spans (the observations, and the traces' root spans of :mod:`llmlens.loaders.langfuse_traces`), the messages of
LLM spans and their raw OpenAI responses (for tokens)."""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the records of one chunk: spans (observations and traces), messages, tokens, annotations, rejects.

    >>> import llmlens, json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "observations_v2.jsonl"
    >>> row = {"id": "o1", "trace_id": "t1", "type": "GENERATION", "parent_observation_id": "", "name": "chat",
    ...        "start_time": "2024-05-29 13:46:19.963000", "trace_name": "support", "usage_details": {"input": 9}}
    >>> _ = path.write_text(json.dumps(row) + "\\n")
    >>> with llmlens.open(":memory:") as lens:
    ...     _ = lens.load(path, progress=False)
    ...     lens.con.sql("SELECT span_id, parent_span_id, name, kind, input_tokens FROM spans ORDER BY 1").fetchall()
    [('o1', 't1', 'chat', 'LLM', 9), ('t1', None, 'support', 'CHAIN', None)]
    """
    params = {"source_id": source_id, "row_word": json_rows.row_word(json_rows.source_container(con))}
    run_script(con, logprobs.AS_CHAT + messages.MACROS + MESSAGE_MACROS)
    run_script(con, MACROS)
    run_script(con, STAGE.replace("{ROW_SCHEMA}", ROW_SCHEMA), params)
    run_script(con, langfuse_traces.TRACE_SPANS, params)
    run_script(con, SPANS, params)
    con.execute(STAGED_ANNOTATIONS)
    run_script(con, langfuse_scores.SCORES, params)
    logprobs.stage_tokens(con)
