"""LangSmith runs: what the ``langsmith`` SDK sends to ``/runs/batch`` and what ``Client.list_runs`` gives back.

What loads, as JSON (one run, a list of runs, a ``{"runs": [...]}`` page) or JSON Lines of any of these (a JSON
array is read element by element by :mod:`llmlens.loaders.json_rows`, so a cut one keeps its whole elements):

- Run objects (``langsmith.schemas.Run``, ``RunTree``, hand-written): ``id``, ``trace_id``, ``parent_run_id``,
  ``dotted_order``, ``run_type``, ``name``, ``start_time``/``end_time`` (ISO 8601, with or without a zone (UTC
  then), or unix seconds/ms), ``inputs``, ``outputs``, ``error``, ``status``, ``extra`` (``metadata``,
  ``invocation_params``, ``runtime``), ``tags``, ``events``, ``session_name``/``session_id`` (the project), token
  counts, costs, ``feedback_stats``; a run's ``child_runs`` (``Client.read_run(..., load_child_runs=True)``) load
  as runs of their own.
- Batch ingest bodies ``{"post": [...], "patch": [...]}`` (what the SDK POSTs to ``/runs/batch``; JSON Lines of
  them for many requests): each patch updates its run field by field (the last value of a field that is not null
  wins), in file order, posts of a line before its patches. A patch for a run that the file (or, beyond 256 MB,
  the chunk) never posts is rejected, and the rest loads.

How it maps:

- A run is a span: ``span_id`` its id, ``trace_id`` its trace id (else the first id of ``dotted_order``, else its
  root's id), ``parent_span_id`` its ``parent_run_id`` (else the one before it in ``dotted_order``). UUIDs are
  lower-cased, other ids kept as given; a ``dotted_order`` that does not parse, or does not end with the run's id,
  is not used (it stays in ``attributes``). ``start_time`` falls back on the run's ``dotted_order`` time.
- ``run_type``: llm → LLM, chain and parser → CHAIN, tool → TOOL, retriever → RETRIEVER, embedding → EMBEDDING,
  prompt → PROMPT, anything else → UNKNOWN. An ``error`` is status ERROR with the error as ``status_message``; an
  ended run is OK, a run without an end UNSET.
- ``extra.metadata``: ``ls_model_name`` (the response's model first, for LLM runs), ``ls_provider``, the thread
  (``thread_id``, ``session_id`` or ``conversation_id``) as ``session_id``, ``user_id``, and LangGraph's
  ``langgraph_node`` as ``agent_name``. The project (``session_name``) is ``service_name``; ``extra.runtime``
  (SDK, platform, versions) is ``resource``.
- Tokens (``prompt_tokens``/``completion_tokens``/``total_tokens``, else LangChain's ``usage_metadata``, else the
  raw response's ``usage`` or ``llm_output.token_usage``) and cost (``total_cost``, else prompt plus completion
  cost) for LLM and embedding runs only: LangSmith sums them into parent runs, and these are not counted twice.
- ``inputs`` and ``outputs``: ``input_text``/``output_text`` are the only value when it is a string (its key kept
  as ``attributes."llmlens.input_key"``/``"llmlens.output_key"``), else the JSON; for LLM runs, the answer's text.
- LLM runs: ``inputs`` (``messages`` as LangChain serialises them (``{"lc": 1, "type": "constructor", ...}``,
  ``{"type": "human", ...}``, ``messages_to_dict``'s ``{"type", "data"}``), OpenAI's ``{role, content}``,
  ``prompts``, ``prompt``, a Responses API ``input``, ``system``/``instructions``) and ``outputs``
  (``generations``, a raw OpenAI chat completion or Responses API response, an Anthropic message, ``message``)
  become ``messages``;
  LangChain tool calls (``{name, args, id}``) become ``tool_call`` parts, tool messages ``tool_call_response``
  parts. Log-probabilities become ``tokens`` from a raw OpenAI response in ``outputs``, or from a generation's
  ``generation_info.logprobs`` or its message's ``response_metadata.logprobs`` (OpenAI's shape).
- Retriever ``outputs.documents`` (``{page_content, metadata, id}``, also LangChain-serialised) become
  ``documents``; the score is ``metadata.score`` or ``metadata.relevance_score``.
- LangGraph: a node's span (the topmost run carrying its ``langgraph_node``, step and checkpoint namespace) gets
  an ``edges`` row of kind ``langgraph_trigger`` from each node that triggered it: the node a trigger names
  (``branch:A:...``, ``join:A+B:...``, a channel named after a node), else (``branch:to:X``, pushes) every node of
  the step before in the same graph run (``attributes.inferred``).
- ``feedback_stats`` become ``annotations`` on the run's span (``score`` the mean, the stats in ``metadata``,
  annotator ``langsmith``, kind ``check``: the stats do not say who gave the feedback; ``external_id``
  ``langsmith:feedback_stats:<run>:<key>``).
- ``attributes`` is the run as given less ``inputs``, ``outputs``, ``events`` (which are in their columns) and
  ``child_runs`` (runs of their own); ``events`` are ``{name, time, attributes}``.

A record that is not JSON, a list item that is not an object, a run or patch without an id, and a patch for a run
never posted are rejected with their line (or element), and the rest loads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

from llmlens.loaders import json_rows, logprobs, messages
from llmlens.loaders.files import Records
from llmlens.loaders.writes import STAGED_ANNOTATIONS
from llmlens.query import run_script

NAME = "langsmith"

CHUNK_BYTES = 256 * 1024 * 1024
"""How much of a JSON Lines file is read and staged at once."""

_RUN_TYPE = r'"run_type"\s*:\s*"(?:llm|chain|tool|retriever|embedding|prompt|parser)"'
SIGNATURE = re.compile(
    r'"dotted_order"\s*:\s*"\d{8}T\d{6}'
    rf'|"start_time"\s*:\s*"[^"]{{0,40}}"\s*,\s*{_RUN_TYPE}'
    rf'|{_RUN_TYPE}[\s\S]{{0,4000}}?"(?:trace_id|parent_run_id)"\s*:'
    rf'|"(?:trace_id|parent_run_id)"\s*:[\s\S]{{0,4000}}?{_RUN_TYPE}'
)
"""What tells LangSmith runs (see :mod:`llmlens.loaders.detect`): a ``dotted_order`` (every run the SDK sends has
one early), a ``start_time`` right before a ``run_type`` (``Run`` objects as pydantic dumps them, whose
``dotted_order`` comes last, after inputs and outputs that may fill the first 64 KB), or a ``run_type`` near a
``trace_id`` or ``parent_run_id`` (hand-made runs). Keys inside JSON strings (escaped quotes) do not match.
"""


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """The records of a file of runs: the elements of a JSON array (see :func:`llmlens.loaders.json_rows.read`: a
    cut array keeps its whole elements), else JSON Lines or one JSON document (anything else is rejected line by
    line).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "runs.json"
    >>> _ = path.write_text('[{"id": "a"}, {"id": "b"}]')
    >>> [json.loads(text)["id"] for records, _ in read(path) for text in records.table.column("text").to_pylist()]
    ['a', 'b']
    """
    return json_rows.read_json(path, CHUNK_BYTES)


FIELDS = json.dumps(
    {
        "trace_id": "VARCHAR",
        "parent_run_id": "VARCHAR",
        "dotted_order": "VARCHAR",
        "run_type": "VARCHAR",
        "name": "VARCHAR",
        "start_time": "JSON",
        "end_time": "JSON",
        "error": "JSON",
        "status": "VARCHAR",
        "session_name": "VARCHAR",
        "project_name": "VARCHAR",
        "inputs": "JSON",
        "outputs": "JSON",
        "events": "JSON",
        "prompt_tokens": "VARCHAR",
        "completion_tokens": "VARCHAR",
        "total_tokens": "VARCHAR",
        "prompt_cost": "VARCHAR",
        "completion_cost": "VARCHAR",
        "total_cost": "VARCHAR",
        "feedback_stats": "JSON",
        "extra": {
            "metadata": dict.fromkeys(
                (
                    "ls_provider",
                    "ls_model_name",
                    "langgraph_node",
                    "langgraph_step",
                    "langgraph_checkpoint_ns",
                    "checkpoint_ns",
                    "thread_id",
                    "session_id",
                    "conversation_id",
                    "user_id",
                ),
                "VARCHAR",
            )
            | {"langgraph_triggers": "JSON", "usage_metadata": "JSON"},
            "invocation_params": {"model": "VARCHAR", "model_name": "VARCHAR", "model_id": "VARCHAR"},
            "runtime": "JSON",
        },
    }
)
"""The fields of a run that its span reads, parsed at once."""

_USAGE = dict.fromkeys(
    ("prompt_tokens", "completion_tokens", "total_tokens", "input_tokens", "output_tokens"), "VARCHAR"
)

LLM_OUTPUTS = json.dumps(
    {
        "model": "VARCHAR",
        "usage": _USAGE,
        "usage_metadata": _USAGE,
        "llm_output": {"model_name": "VARCHAR", "model": "VARCHAR", "token_usage": _USAGE, "usage": _USAGE},
        "generations": "JSON",
        "choices": "JSON",
        "output": "JSON",
        "message": "JSON",
        "messages": "JSON",
        "object": "VARCHAR",
        "role": "VARCHAR",
        "content": "JSON",
        "stop_reason": "VARCHAR",
    }
)
"""The fields of an LLM run's ``outputs`` that its span and messages read (a raw response's logprobs left out)."""

MESSAGE = json.dumps(
    {
        **dict.fromkeys(("lc", "id", "content", "tool_calls", "kwargs", "data", "arguments", "output"), "JSON"),
        **dict.fromkeys(("type", "role", "name", "tool_call_id", "call_id"), "VARCHAR"),
        "additional_kwargs": {"tool_calls": "JSON"},
    }
)
"""The fields of a chat message, in any of the shapes read (and of LangChain's ``kwargs`` and ``data``)."""

MACROS = r"""
CREATE OR REPLACE TEMP MACRO llmlens_ls_id(s) AS CASE
    WHEN s IS NULL OR trim(s) = '' THEN NULL
    WHEN regexp_full_match(trim(s), '[0-9a-fA-F-]+') THEN lower(trim(s))
    ELSE s END;
CREATE OR REPLACE TEMP MACRO llmlens_ls_epoch_us(x) AS CASE
    WHEN x > 1e17 THEN x / 1000 WHEN x > 1e14 THEN x WHEN x > 1e11 THEN x * 1000 ELSE x * 1000000 END;
CREATE OR REPLACE TEMP MACRO llmlens_ls_time(t) AS CASE
    WHEN json_type(t) = 'VARCHAR' THEN CASE
        WHEN regexp_matches(t->>'$', '\d:\d\d(:\d\d(\.\d*)?)?\s*([zZ]|[+-]\d\d(:?\d\d)?)\s*$')
            THEN TRY_CAST(t->>'$' AS TIMESTAMPTZ)
        ELSE timezone('UTC', TRY_CAST(t->>'$' AS TIMESTAMP)) END
    WHEN json_type(t) IN ('BIGINT', 'UBIGINT', 'DOUBLE') AND TRY_CAST(t->>'$' AS DOUBLE) > 0
        THEN make_timestamp(CAST(llmlens_ls_epoch_us(TRY_CAST(t->>'$' AS DOUBLE)) AS BIGINT))::TIMESTAMPTZ
    END;
CREATE OR REPLACE TEMP MACRO llmlens_ls_text(j) AS CASE
    WHEN j IS NULL OR json_type(j) = 'NULL' THEN NULL
    WHEN json_type(j) = 'VARCHAR' THEN j->>'$'
    ELSE CAST(j AS VARCHAR) END;
CREATE OR REPLACE TEMP MACRO llmlens_ls_map(j) AS
    CASE WHEN json_type(j) = 'OBJECT' THEN from_json(j, '"MAP(VARCHAR, JSON)"') END;
CREATE OR REPLACE TEMP MACRO llmlens_ls_list(j) AS
    CASE WHEN json_type(j) = 'ARRAY' THEN from_json(j, '["JSON"]') ELSE []::JSON[] END;
CREATE OR REPLACE TEMP MACRO llmlens_ls_role(kind) AS CASE regexp_replace(lower(kind), '(message)?(chunk)?$', '')
    WHEN 'human' THEN 'user' WHEN 'user' THEN 'user' WHEN 'ai' THEN 'assistant' WHEN 'assistant' THEN 'assistant'
    WHEN 'system' THEN 'system' WHEN 'tool' THEN 'tool' WHEN 'function' THEN 'function'
    WHEN 'developer' THEN 'developer' END;
CREATE OR REPLACE TEMP MACRO llmlens_ls_tool_calls(calls, openai_calls) AS CASE
    WHEN json_array_length(calls) > 0 THEN to_json(list_transform(from_json(calls, '["JSON"]'), lambda t: CASE
        WHEN json_extract(t, '$.function') IS NOT NULL THEN t
        ELSE json_object('id', json_extract_string(t, '$.id'), 'type', 'function', 'function', json_object(
            'name', json_extract_string(t, '$.name'), 'arguments', llmlens_ls_text(json_extract(t, '$.args')))) END))
    WHEN json_array_length(openai_calls) > 0 THEN openai_calls
    END;
CREATE OR REPLACE TEMP MACRO llmlens_ls_parts(m) AS CASE
    WHEN json_extract_string(m, '$.role') = 'tool' THEN to_json([to_json({
        'type': 'tool_call_response', 'id': json_extract_string(m, '$.tool_call_id'),
        'name': json_extract_string(m, '$.name'), 'response': llmlens_message_content(m)})])
    ELSE llmlens_message_parts(m) END;
-- the messages an LLM run was given
CREATE OR REPLACE TEMP MACRO llmlens_ls_input_messages(i) AS list_concat(
    CASE WHEN json_type(json_extract(i, '$.system')) IN ('VARCHAR', 'ARRAY')
             THEN [json_object('role', 'system', 'content', json_extract(i, '$.system'))]
         WHEN json_type(json_extract(i, '$.instructions')) = 'VARCHAR'
             THEN [json_object('role', 'system', 'content', json_extract(i, '$.instructions'))]
         ELSE []::JSON[] END,
    CASE WHEN json_type(json_extract(i, '$.messages[0][0]')) = 'OBJECT'  -- LangChain: a list per prompt of a batch
             THEN flatten(list_transform(llmlens_ls_list(json_extract(i, '$.messages')), lambda b: llmlens_ls_list(b)))
         WHEN json_type(json_extract(i, '$.messages')) = 'ARRAY' THEN llmlens_ls_list(json_extract(i, '$.messages'))
         WHEN json_type(json_extract(i, '$.prompts')) = 'ARRAY' THEN llmlens_ls_list(json_extract(i, '$.prompts'))
         WHEN json_type(json_extract(i, '$.prompt')) = 'VARCHAR' THEN [json_extract(i, '$.prompt')]
         WHEN json_type(json_extract(i, '$.input')) IN ('ARRAY', 'VARCHAR')
             THEN CASE WHEN json_type(json_extract(i, '$.input')) = 'ARRAY'
                       THEN llmlens_ls_list(json_extract(i, '$.input')) ELSE [json_extract(i, '$.input')] END
         ELSE []::JSON[] END);
"""
"""Macros reading times, ids and LangChain or OpenAI messages (after :data:`llmlens.loaders.messages.MACROS`)."""

STAGE = (
    json_rows.json_docs("llmlens_ls_docs", "a LangSmith run, list of runs or batch")
    + r"""
-- every run and patch: a record is a run, a list of runs, a page {"runs": [...]} or a batch {"post", "patch"}
-- (JSON is kept as text: each JSON function parses it anyway, and a cast to JSON would write it again)
CREATE OR REPLACE TEMP TABLE llmlens_ls_ops AS
WITH tops AS (
    SELECT line, byte_offset, "row", text, first,
           CASE WHEN first = '{' THEN json_transform(text, '{"id": "VARCHAR", "post": "JSON", "patch": "JSON",
                                                           "runs": "JSON"}') END AS top
    FROM llmlens_ls_docs WHERE bad IS NULL
), shaped AS (
    SELECT *, CASE
        WHEN first = '[' THEN 'list'
        WHEN top.id IS NOT NULL THEN 'run'
        WHEN starts_with(CAST(top.post AS VARCHAR), '[') OR starts_with(CAST(top.patch AS VARCHAR), '[') THEN 'batch'
        WHEN starts_with(CAST(top.runs AS VARCHAR), '[') THEN 'page'
        ELSE 'run' END AS shape
    FROM tops
), lists AS (
    SELECT line, byte_offset, "row", 'post' AS op,
           CASE shape WHEN 'list' THEN text WHEN 'page' THEN CAST(top.runs AS VARCHAR)
                      ELSE CAST(top.post AS VARCHAR) END AS items
    FROM shaped WHERE shape IN ('list', 'page', 'batch')
    UNION ALL
    SELECT line, byte_offset, "row", 'patch', CAST(top.patch AS VARCHAR) FROM shaped WHERE shape = 'batch'
)
SELECT line, byte_offset, "row", op, elem, item,
       llmlens_ls_id(coalesce(top_id, CASE WHEN starts_with(item, '{') THEN json_extract_string(item, '$.id') END))
           AS id,
       -- file order: the record, its posts before its patches, the item in its list (then its nested runs)
       (CAST(coalesce(line, "row") AS HUGEINT) << 64)
           + (CASE WHEN op = 'patch' THEN CAST(1 AS HUGEINT) << 63 ELSE 0 END)
           + (CAST(coalesce(elem, 0) AS HUGEINT) << 32) AS ord
FROM (
    SELECT line, byte_offset, "row", 'post' AS op, NULL::BIGINT AS elem, text AS item, top.id AS top_id
    FROM shaped WHERE shape = 'run'
    UNION ALL
    SELECT line, byte_offset, "row", op, generate_subscripts(l, 1) AS elem, CAST(unnest(l) AS VARCHAR) AS item,
           NULL AS top_id
    FROM (SELECT *, from_json(items, '["JSON"]') AS l FROM lists WHERE starts_with(items, '['))
);

-- runs nested in a run's child_runs (a run read with its children): posts, depth first after the run
INSERT INTO llmlens_ls_ops
WITH RECURSIVE nested(line, byte_offset, "row", top, path, item) AS (
    SELECT line, byte_offset, "row", ord, []::BIGINT[], item FROM llmlens_ls_ops
    WHERE op = 'post' AND regexp_matches(item, '"child_runs"\s*:\s*\[\s*\{')
    UNION ALL
    SELECT line, byte_offset, "row", top, list_append(path, i), CAST(c AS VARCHAR)
    FROM (SELECT *, from_json(json_extract(item, '$.child_runs'), '["JSON"]') AS l FROM nested
          WHERE len(path) < 100 AND json_array_length(json_extract(item, '$.child_runs')) > 0),
         LATERAL (SELECT unnest(l) AS c, generate_subscripts(l, 1) AS i)
)
SELECT line, byte_offset, "row", 'post', NULL, item,
       CASE WHEN starts_with(item, '{') THEN llmlens_ls_id(json_extract_string(item, '$.id')) END,
       top + row_number() OVER (PARTITION BY top ORDER BY path)
FROM nested WHERE len(path) > 0;

CREATE OR REPLACE TEMP TABLE llmlens_ls_ids AS
SELECT id, count(*) AS ops, bool_or(op = 'post') AS posted FROM llmlens_ls_ops WHERE id IS NOT NULL GROUP BY id;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, concat_ws(', ', coalesce('line ' || line, $row_word || "row"), op || ' ' || elem), line,
       byte_offset,
       CASE WHEN NOT starts_with(item, '{') THEN 'not a run object: a JSON ' || lower(json_type(item))
            WHEN v.id IS NULL THEN 'a ' || CASE op WHEN 'post' THEN 'run' ELSE 'patch' END || ' without an id'
            ELSE 'a patch for run ' || v.id || $unposted END,
       left(item, 200), encode(rtrim(item, E' \t\r\n'))
FROM llmlens_ls_ops v LEFT JOIN llmlens_ls_ids i USING (id)
WHERE v.id IS NULL OR NOT i.posted;

CREATE OR REPLACE TEMP TABLE llmlens_ls_spans AS
WITH multi AS (
    SELECT o.* FROM llmlens_ls_ops o JOIN llmlens_ls_ids i USING (id) WHERE i.ops > 1 AND i.posted
), fields AS (
    SELECT id, ord, unnest(map_entries(llmlens_ls_map(item))) AS e FROM multi
), latest AS (
    SELECT id, e.key AS key, arg_max(e.value, ord) AS value FROM fields WHERE e.value IS NOT NULL GROUP BY ALL
), first AS (
    SELECT id, arg_min({'ord': ord, 'line': line, 'byte_offset': byte_offset, 'row': "row"}, ord) AS p
    FROM multi WHERE op = 'post' GROUP BY id
), merged AS (
    -- one version of each run: the run as posted, or, where it was posted again or patched, each field's last value
    SELECT id, o.ord, o.line, o.byte_offset, o."row", o.item AS run
    FROM llmlens_ls_ops o JOIN llmlens_ls_ids i USING (id) WHERE i.ops = 1 AND o.op = 'post'
    UNION ALL
    SELECT id, p.ord, p.line, p.byte_offset, p.row, run
    FROM (SELECT id, CAST(json_group_object(key, value) AS VARCHAR) AS run FROM latest GROUP BY id)
    JOIN first USING (id)
), runs AS (
    SELECT *, list_transform(string_split(f.dotted_order, '.'),
                             lambda s: regexp_extract(s, '^(\d{8}T\d{12})Z(.+)$', ['ts', 'id'])) AS segments
    FROM (SELECT ord AS n, line, byte_offset, "row", id, run, json_transform(run, '{FIELDS}') AS f FROM merged)
), parsed AS (
    SELECT *, f.extra.metadata AS md,
           coalesce(list_bool_and(list_transform(segments, lambda s: s.id <> '')), false)
               AND llmlens_ls_id(segments[-1].id) = id AS dotted,
           CASE lower(f.run_type) WHEN 'llm' THEN 'LLM' WHEN 'chain' THEN 'CHAIN' WHEN 'parser' THEN 'CHAIN'
               WHEN 'tool' THEN 'TOOL' WHEN 'retriever' THEN 'RETRIEVER' WHEN 'embedding' THEN 'EMBEDDING'
               WHEN 'prompt' THEN 'PROMPT' ELSE 'UNKNOWN' END AS kind,
           -- inputs (outputs) that are one string under one key (minified JSON: a match ends early when not)
           CASE WHEN regexp_full_match(CAST(f.inputs AS VARCHAR), '\{"(?:[^"\\]|\\.)*":"(?:[^"\\]|\\.)*"\}')
                THEN llmlens_ls_map(f.inputs) END AS input_one,
           CASE WHEN regexp_full_match(CAST(f.outputs AS VARCHAR), '\{"(?:[^"\\]|\\.)*":"(?:[^"\\]|\\.)*"\}')
                THEN llmlens_ls_map(f.outputs) END AS output_one
    FROM runs
), keyed AS (
    SELECT *, map_keys(input_one)[1] AS input_key, map_keys(output_one)[1] AS output_key,
           CASE WHEN kind = 'LLM' THEN json_transform(f.outputs, '{LLM_OUTPUTS}') END AS o
    FROM parsed
)
SELECT n, line, byte_offset, "row", id AS span_id,
    coalesce(llmlens_ls_id(f.trace_id), CASE WHEN dotted THEN llmlens_ls_id(segments[1].id) END) AS trace_id,
    nullif(coalesce(llmlens_ls_id(f.parent_run_id),
                    CASE WHEN dotted AND len(segments) > 1 THEN llmlens_ls_id(segments[-2].id) END), id)
        AS parent_span_id,
    coalesce(f.name, '') AS name, kind, NULL::VARCHAR AS otel_kind,
    coalesce(llmlens_ls_time(f.start_time),
             CASE WHEN dotted THEN timezone('UTC', try_strptime(segments[-1].ts, '%Y%m%dT%H%M%S%f')) END) AS start_time,
    llmlens_ls_time(f.end_time) AS end_time,
    CASE WHEN nullif(llmlens_ls_text(f.error), '') IS NOT NULL OR lower(f.status) = 'error' THEN 'ERROR'
         WHEN f.end_time IS NOT NULL AND json_type(f.end_time) <> 'NULL' OR lower(f.status) = 'success' THEN 'OK'
         ELSE 'UNSET' END AS status_code,
    nullif(llmlens_ls_text(f.error), '') AS status_message,
    CASE WHEN kind IN ('LLM', 'EMBEDDING') THEN coalesce(
        o.model, o.llm_output.model_name, o.llm_output.model,
        json_extract_string(o.generations, '$[0][0].message.kwargs.response_metadata.model_name'),
        json_extract_string(o.generations, '$[0][0].message.response_metadata.model_name'),
        md.ls_model_name, f.extra.invocation_params.model, f.extra.invocation_params.model_name,
        f.extra.invocation_params.model_id, json_extract_string(f.inputs, '$.model'))
        ELSE md.ls_model_name END AS model,
    md.ls_provider AS provider,
    CASE WHEN input_key IS NOT NULL THEN map_values(input_one)[1]->>'$'
         WHEN CAST(f.inputs AS VARCHAR) <> '{}' THEN llmlens_ls_text(f.inputs) END AS input_text,
    CASE WHEN output_key IS NOT NULL THEN map_values(output_one)[1]->>'$'
         WHEN CAST(f.outputs AS VARCHAR) <> '{}' THEN llmlens_ls_text(f.outputs) END AS output_text,
    CASE WHEN kind IN ('LLM', 'EMBEDDING') THEN TRY_CAST(coalesce(
        f.prompt_tokens, json_extract_string(md.usage_metadata, '$.input_tokens'), o.usage_metadata.input_tokens,
        o.usage.prompt_tokens, o.usage.input_tokens, o.llm_output.token_usage.prompt_tokens,
        o.llm_output.usage.input_tokens,
        json_extract_string(o.generations, '$[0][0].message.kwargs.usage_metadata.input_tokens')) AS BIGINT)
        END AS input_tokens,
    CASE WHEN kind IN ('LLM', 'EMBEDDING') THEN TRY_CAST(coalesce(
        f.completion_tokens, json_extract_string(md.usage_metadata, '$.output_tokens'),
        o.usage_metadata.output_tokens, o.usage.completion_tokens, o.usage.output_tokens,
        o.llm_output.token_usage.completion_tokens, o.llm_output.usage.output_tokens,
        json_extract_string(o.generations, '$[0][0].message.kwargs.usage_metadata.output_tokens')) AS BIGINT)
        END AS output_tokens,
    CASE WHEN kind IN ('LLM', 'EMBEDDING') THEN TRY_CAST(coalesce(
        f.total_tokens, json_extract_string(md.usage_metadata, '$.total_tokens'), o.usage_metadata.total_tokens,
        o.usage.total_tokens, o.llm_output.token_usage.total_tokens,
        json_extract_string(o.generations, '$[0][0].message.kwargs.usage_metadata.total_tokens')) AS BIGINT)
        END AS total_tokens,
    CASE WHEN kind IN ('LLM', 'EMBEDDING') THEN coalesce(
        TRY_CAST(f.total_cost AS DOUBLE), TRY_CAST(f.prompt_cost AS DOUBLE) + TRY_CAST(f.completion_cost AS DOUBLE))
        END AS cost_usd,
    coalesce(md.thread_id, md.session_id, md.conversation_id) AS session_id,
    md.user_id AS user_id,
    md.langgraph_node AS agent_name,
    coalesce(f.session_name, f.project_name) AS service_name,
    json_merge_patch(run, json_object('inputs', NULL, 'outputs', NULL, 'events', NULL, 'child_runs', NULL,
                                      'llmlens.input_key', input_key, 'llmlens.output_key', output_key))
        AS attributes,
    CASE WHEN json_type(f.extra.runtime) = 'OBJECT' THEN f.extra.runtime END AS resource,
    CASE WHEN json_array_length(f.events) > 0 THEN to_json(list_transform(llmlens_ls_list(f.events), lambda e:
        CASE WHEN json_type(e) = 'OBJECT' THEN json_object(
            'name', json_extract_string(e, '$.name'), 'time', json_extract(e, '$.time'),
            'attributes', json_merge_patch(e, '{"name": null, "time": null}'))
        ELSE json_object('name', NULL, 'time', NULL, 'attributes', e) END)) END AS events,
    -- what the child tables read, dropped before the spans are written
    f.inputs AS inputs, f.outputs AS outputs, o, f.feedback_stats AS feedback_stats,
    md.langgraph_node AS node, TRY_CAST(md.langgraph_step AS BIGINT) AS step,
    coalesce(md.langgraph_checkpoint_ns, md.checkpoint_ns) AS ns,
    CASE WHEN json_type(md.langgraph_triggers) = 'ARRAY' THEN from_json(md.langgraph_triggers, '["VARCHAR"]')
         WHEN json_type(md.langgraph_triggers) = 'VARCHAR' THEN [md.langgraph_triggers->>'$'] END AS triggers
FROM keyed;

-- runs that name neither their trace nor a dotted order: the trace of the nearest ancestor that does, else the
-- root's id (a parent that never arrives is taken as the root; a cycle's runs share the least id on it)
CREATE OR REPLACE TEMP TABLE llmlens_ls_traces AS
WITH RECURSIVE up(n, cur, parent, trace, least_id, depth) AS (
    SELECT n, span_id, parent_span_id, NULL::VARCHAR, span_id, 0 FROM llmlens_ls_spans WHERE trace_id IS NULL
    UNION ALL
    SELECT up.n, p.span_id, p.parent_span_id, p.trace_id, least(up.least_id, p.span_id), up.depth + 1
    FROM up JOIN llmlens_ls_spans p ON p.span_id = up.parent
    WHERE up.trace IS NULL AND up.depth < 100
)
SELECT n, arg_max(CASE WHEN trace IS NOT NULL THEN trace WHEN parent IS NULL THEN cur
                       WHEN depth >= 100 THEN least_id ELSE parent END, depth) AS trace_id
FROM up GROUP BY n;

UPDATE llmlens_ls_spans s SET trace_id = t.trace_id FROM llmlens_ls_traces t WHERE s.n = t.n;

-- each LLM run's messages as given (LangChain's, OpenAI's, strings), normalised below
CREATE OR REPLACE TEMP TABLE llmlens_ls_items AS
WITH inputs AS (
    SELECT n, llmlens_ls_input_messages(inputs) AS l FROM llmlens_ls_spans WHERE kind = 'LLM'
), outputs AS (
    SELECT n, CASE
        WHEN json_type(o.generations) = 'ARRAY' THEN list_transform(
            flatten(list_transform(llmlens_ls_list(o.generations),
                                   lambda b: CASE WHEN json_type(b) = 'ARRAY' THEN llmlens_ls_list(b) ELSE [b] END)),
            lambda g: {'item': coalesce(json_extract(g, '$.message'),
                                        json_object('role', 'assistant', 'content', json_extract(g, '$.text'))),
                       'finish_reason': coalesce(
                           json_extract_string(g, '$.generation_info.finish_reason'),
                           json_extract_string(g, '$.message.kwargs.response_metadata.finish_reason'),
                           json_extract_string(g, '$.message.response_metadata.finish_reason'),
                           json_extract_string(g, '$.message.kwargs.response_metadata.stop_reason'),
                           json_extract_string(g, '$.message.response_metadata.stop_reason'))})
        WHEN json_type(o.choices) = 'ARRAY' OR o.object = 'response' THEN list_transform(
            llmlens_ls_list(json_extract(llmlens_as_chat(outputs), '$.choices')),
            lambda c: {'item': coalesce(json_extract(c, '$.message'),
                                        json_object('role', 'assistant', 'content', json_extract(c, '$.text'))),
                       'finish_reason': json_extract_string(c, '$.finish_reason')})
        WHEN o.role IS NOT NULL AND o.content IS NOT NULL  -- one message: an Anthropic response, say
            THEN [{'item': outputs, 'finish_reason': o.stop_reason}]
        WHEN json_type(o.message) = 'OBJECT' THEN [{'item': o.message, 'finish_reason': NULL}]
        WHEN json_type(o.messages) = 'ARRAY'
            THEN list_transform(llmlens_ls_list(o.messages), lambda x: {'item': x, 'finish_reason': NULL})
        WHEN json_type(o.output) = 'OBJECT' AND (json_extract(o.output, '$.lc') IS NOT NULL
                                                 OR json_extract(o.output, '$.role') IS NOT NULL
                                                 OR json_extract(o.output, '$.content') IS NOT NULL)
            THEN [{'item': o.output, 'finish_reason': NULL}]
        WHEN json_type(o.output) = 'VARCHAR'
            THEN [{'item': json_object('role', 'assistant', 'content', o.output), 'finish_reason': NULL}]
        END AS l
    FROM llmlens_ls_spans WHERE kind = 'LLM'
)
SELECT n, 'input' AS side, CAST(generate_subscripts(l, 1) - 1 AS INTEGER) AS position, unnest(l) AS item,
       NULL::VARCHAR AS finish_reason
FROM inputs
UNION ALL
SELECT n, 'output', CAST(generate_subscripts(l, 1) - 1 AS INTEGER), unnest(l)['item'], unnest(l)['finish_reason']
FROM outputs WHERE l IS NOT NULL;

-- one message in OpenAI's shape ({role, name, content, tool_calls, tool_call_id}), whatever shape it came in:
-- LangChain's serialised constructor keeps the fields in kwargs, messages_to_dict in data
CREATE OR REPLACE TEMP TABLE llmlens_ls_messages AS
WITH typed AS (
    SELECT *, CASE WHEN starts_with(CAST(item AS VARCHAR), '{') THEN json_transform(item, '{MESSAGE}') END AS t
    FROM llmlens_ls_items
), fields AS (
    SELECT *, CASE WHEN t.lc IS NOT NULL AND starts_with(CAST(t.kwargs AS VARCHAR), '{')
                       THEN json_transform(t.kwargs, '{MESSAGE}')
                   WHEN starts_with(CAST(t.data AS VARCHAR), '{') AND t.content IS NULL AND t.type IS NOT NULL
                       THEN json_transform(t.data, '{MESSAGE}')
                   ELSE t END AS k
    FROM typed
)
SELECT n, side, position, finish_reason, CASE
    WHEN t IS NULL AND json_type(item) = 'VARCHAR' THEN json_object('role', 'user', 'content', item->>'$')
    WHEN t IS NULL AND json_type(item) = 'ARRAY' AND json_type(json_extract(item, '$[0]')) = 'VARCHAR'
        THEN json_object('role', coalesce(llmlens_ls_role(json_extract_string(item, '$[0]')),
                                          json_extract_string(item, '$[0]')),
                         'content', json_extract(item, '$[1]'))
    WHEN t.type = 'function_call' THEN json_object('role', 'assistant', 'tool_calls', json_array(json_object(
        'id', t.call_id, 'type', 'function', 'function', json_object('name', t.name, 'arguments', t.arguments))))
    WHEN t.type = 'function_call_output' THEN json_object('role', 'tool', 'tool_call_id', t.call_id,
                                                           'content', t.output)
    WHEN t IS NOT NULL THEN json_object(
        'role', coalesce(k.role,
                         CASE WHEN t.lc IS NOT NULL THEN llmlens_ls_role(json_extract_string(t.id, '$[#-1]')) END,
                         llmlens_ls_role(k.type), llmlens_ls_role(t.type)),
        'name', k.name, 'content', k.content,
        'tool_calls', llmlens_ls_tool_calls(k.tool_calls, k.additional_kwargs.tool_calls),
        'tool_call_id', k.tool_call_id)
    END AS message
FROM fields;

CREATE OR REPLACE TEMP TABLE llmlens_stage_messages AS
SELECT n, side, position, json_extract_string(message, '$.role') AS role,
       json_extract_string(message, '$.name') AS name, llmlens_message_content(message) AS content,
       llmlens_ls_parts(message) AS parts, finish_reason
FROM llmlens_ls_messages WHERE message IS NOT NULL;

-- an LLM run's output text is its answer's text, where it has one
UPDATE llmlens_ls_spans s SET output_text = m.content
FROM llmlens_stage_messages m
WHERE s.n = m.n AND m.side = 'output' AND m.position = 0 AND nullif(m.content, '') IS NOT NULL;

CREATE OR REPLACE TEMP TABLE llmlens_stage_documents AS
SELECT n, CAST(i - 1 AS INTEGER) AS position,
       coalesce(json_extract_string(d, '$.id'), json_extract_string(d, '$.metadata.id'),
                json_extract_string(d, '$.metadata.doc_id')) AS document_id,
       coalesce(json_extract_string(d, '$.page_content'), json_extract_string(d, '$.content'),
                json_extract_string(d, '$.text')) AS content,
       TRY_CAST(coalesce(json_extract_string(d, '$.metadata.score'),
                         json_extract_string(d, '$.metadata.relevance_score'), json_extract_string(d, '$.score'))
                AS DOUBLE) AS score,
       json_extract(d, '$.metadata') AS metadata
FROM (
    SELECT n, i, CASE WHEN json_extract(d, '$.lc') IS NOT NULL THEN json_extract(d, '$.kwargs') ELSE d END AS d
    FROM (SELECT n, generate_subscripts(l, 1) AS i, unnest(l) AS d
    FROM (SELECT n, llmlens_ls_list(coalesce(json_extract(outputs, '$.documents'), json_extract(outputs, '$.output')))
                 AS l
          FROM llmlens_ls_spans WHERE kind = 'RETRIEVER'))
)
WHERE json_type(d) = 'OBJECT';

-- the raw response (or LangChain's generations, seen as one) of each LLM run with log-probabilities
CREATE OR REPLACE TEMP TABLE llmlens_responses AS
SELECT n, CASE
    WHEN json_type(o.generations) = 'ARRAY' THEN json_object('choices', to_json(list_transform(
        flatten(list_transform(llmlens_ls_list(o.generations),
                               lambda b: CASE WHEN json_type(b) = 'ARRAY' THEN llmlens_ls_list(b) ELSE [b] END)),
        lambda g, i: json_object('index', i - 1, 'logprobs', coalesce(
            json_extract(g, '$.generation_info.logprobs'),
            json_extract(g, '$.message.kwargs.response_metadata.logprobs'),
            json_extract(g, '$.message.response_metadata.logprobs'))))))
    ELSE outputs END AS response
FROM llmlens_ls_spans
WHERE kind = 'LLM' AND contains(CAST(outputs AS VARCHAR), '"logprobs"');

CREATE OR REPLACE TEMP TABLE llmlens_ls_nodes AS
SELECT s.n, s.trace_id, s.span_id, s.parent_span_id, s.node, s.step, s.triggers
FROM llmlens_ls_spans s
LEFT JOIN llmlens_ls_spans p ON p.span_id = s.parent_span_id AND p.trace_id = s.trace_id
WHERE s.node IS NOT NULL
  AND (p.n IS NULL OR p.node IS DISTINCT FROM s.node OR p.step IS DISTINCT FROM s.step OR p.ns IS DISTINCT FROM s.ns);

CREATE OR REPLACE TEMP TABLE llmlens_stage_edges AS
WITH triggers AS (
    SELECT n, trace_id, span_id, parent_span_id, node, step, t AS trigger, CASE
        WHEN t LIKE 'branch:to:%' OR t LIKE '\_\_pregel\_%' ESCAPE '\' THEN NULL
        WHEN t LIKE 'branch:%' THEN [split_part(t, ':', 2)]
        WHEN t LIKE 'join:%' THEN string_split(split_part(t, ':', 2), '+')
        WHEN t LIKE 'start:%' THEN ['__start__']
        ELSE [t] END AS sources
    FROM (SELECT *, unnest(triggers) AS t FROM llmlens_ls_nodes WHERE step IS NOT NULL)
), found AS (
    SELECT t.*, s.span_id AS src_span_id, s.node AS src_node
    FROM triggers t JOIN llmlens_ls_nodes s
      ON s.trace_id = t.trace_id AND s.parent_span_id IS NOT DISTINCT FROM t.parent_span_id AND s.n <> t.n
     AND s.step < t.step AND (t.sources IS NULL OR list_contains(t.sources, s.node))
    QUALIFY s.step = max(s.step) OVER (PARTITION BY t.n, t.trigger, CASE WHEN t.sources IS NOT NULL THEN s.node END)
)
SELECT DISTINCT ON (src_span_id, span_id) 'langgraph_trigger' AS kind,
       trace_id AS src_trace_id, src_span_id, trace_id AS dst_trace_id, span_id AS dst_span_id,
       src_node || ' -> ' || node AS label,
       json_object('trigger', trigger, 'from_node', src_node, 'to_node', node, 'step', step,
                   'inferred', sources IS NULL) AS attributes,
       trace_id AS via_trace_id, span_id AS via_span_id
FROM found
ORDER BY src_span_id, span_id, trigger;
"""
)

ANNOTATIONS = r"""
INSERT INTO llmlens_stage_annotations BY NAME
SELECT 'span' AS target_kind, span_id AS target_id, e.key AS name,
       TRY_CAST(coalesce(json_extract_string(e.value, '$.avg'), json_extract_string(e.value, '$.score'))
                AS DOUBLE) AS score,
       'mean of ' || coalesce(json_extract_string(e.value, '$.n'), '?') || ' LangSmith feedback scores' AS note,
       'langsmith' AS annotator, 'check' AS annotator_kind, e.value AS metadata,
       'langsmith:feedback_stats:' || span_id || ':' || e.key AS external_id
FROM (SELECT span_id, unnest(map_entries(llmlens_ls_map(feedback_stats))) AS e FROM llmlens_ls_spans)
WHERE json_type(e.value) = 'OBJECT';
"""
"""``feedback_stats`` as annotations on the run's span."""

FINISH = """
CREATE OR REPLACE TEMP TABLE llmlens_stage_spans AS
SELECT * EXCLUDE ("row", inputs, outputs, o, feedback_stats, node, step, ns, triggers) FROM llmlens_ls_spans;
"""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the runs of one chunk: spans, messages, documents, tokens, LangGraph edges, feedback annotations and
    rejects (see the module's description).

    >>> import llmlens, json, pathlib, tempfile
    >>> run = {"id": "0195f1c2-0000-7000-8000-000000000001", "name": "answer", "run_type": "llm",
    ...        "dotted_order": "20250304T120000000000Z0195f1c2-0000-7000-8000-000000000001",
    ...        "inputs": {"messages": [{"role": "user", "content": "Hi"}]}, "outputs": {"output": "Hello"}}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "runs.jsonl"
    >>> _ = path.write_text(json.dumps(run) + "\\n")
    >>> with llmlens.open(":memory:") as lens:
    ...     lens.load(path, progress=False).files[0].format
    ...     lens.con.execute("SELECT kind, timezone('UTC', start_time)::VARCHAR, output_text FROM spans").fetchall()
    ...     lens.sql("SELECT side, role, content FROM messages ORDER BY side").values.tolist()
    'langsmith'
    [('LLM', '2025-03-04 12:00:00', 'Hello')]
    [['input', 'user', 'Hi'], ['output', 'assistant', 'Hello']]
    """
    ((uri,),) = con.execute("SELECT uri FROM llmlens_source").fetchall()
    chunked = Path(uri).is_file() and Path(uri).stat().st_size > CHUNK_BYTES
    unposted = ", which is not posted in this file" + (
        f" (or not within the same {CHUNK_BYTES >> 20} MB of it: a patch updates a post read with it)"
        if chunked
        else ""
    )
    kind = json_rows.source_container(con)
    params = {"source_id": source_id, "row_word": json_rows.row_word(kind), "unposted": unposted}
    run_script(con, logprobs.AS_CHAT + messages.MACROS + MACROS)
    script = STAGE.replace("{FIELDS}", FIELDS).replace("{LLM_OUTPUTS}", LLM_OUTPUTS).replace("{MESSAGE}", MESSAGE)
    run_script(con, script, params)
    con.execute(STAGED_ANNOTATIONS)
    run_script(con, ANNOTATIONS)
    run_script(con, FINISH)
    logprobs.stage_tokens(con)
