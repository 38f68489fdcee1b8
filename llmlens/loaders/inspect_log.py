"""Inspect AI eval logs (``.eval`` zips and ``.json`` logs) into the store.

Each sample (and epoch) becomes a trace, identified by the sample's ``uuid`` (or, in logs without one, an md5 of
the eval id, sample id and epoch). Its root span is the sample (input, target, output, metadata, store, usage,
error and the rest of the sample in ``attributes['inspect.sample']``; the eval's spec, plan, results and stats in
``attributes['inspect.log']``). Below it:

- ``span_begin``/``span_end`` events give the tree (span ids and parent ids as logged): ``solver``/``scorers``/
  ``init``/other spans are CHAIN, ``scorer`` spans EVALUATOR, ``agent`` spans AGENT;
- ``model`` events are LLM spans: input messages (pooled ``input_refs`` resolved), output choices, usage (input
  tokens count cache reads and writes, as Inspect's ``ModelUsage`` says the true input is), cost, and token
  logprobs (``logprobs`` on the output side, ``prompt_logprobs`` on the input side); the raw provider call (pooled
  messages resolved) and the rest of the event stay in ``attributes``;
- ``tool`` events are TOOL spans (arguments, result, error); a ``tool`` span of the same name under the same parent
  is the same call, and merges into it (its span id is kept, so the events inside the call nest under it); a tool
  call that started an agent (``agent_span_id``) gives a ``handoff`` edge to the agent's span;
- every other event (``state``, ``store``, ``sample_init``, ``score``, ``info``, ``logger``, ``error``,
  ``sandbox``, ...) is kept whole in the ``events`` of the span it occurred in (the root when it names none). An
  ``error`` event marks its span ERROR.

Scores become ``annotations`` of the trace: one per scorer (one per key for a dict value), the value as ``label``
and as ``score`` (Inspect's ``value_to_float``: C 1, P 0.5, I and N 0, yes/true 1, no/false 0, numbers as they
are; NaN is no score), the explanation as ``note``, ``annotator_kind`` ``llm`` for scorers that called a model
(a model event inside the scorer's span, model-grader options, or a ``model_graded_*`` name) and ``check``
otherwise, ``external_id`` ``inspect:<eval_id>:<sample_id>:<epoch>:<scorer>``.

``attachment://`` (and the older ``tc://``) references are resolved from the sample's ``attachments``; one that is
missing stays as it is, and a reject row names it (the sample still loads). Records come from
:mod:`llmlens.loaders.inspect_read` (``inspect_ai``'s reader when installed, else llmlens's own).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from llmlens.loaders import inspect_read, logprobs, safezip
from llmlens.query import run_script

NAME = "inspect"

_LOG_MEMBERS = ("header.json", "_journal/start.json", "reductions.json", "summaries.json")


def could_be(path: Path, head: bytes) -> bool:
    """True for a zip whose members look like an Inspect log (``header.json``, ``samples/*.json``,
    ``_journal/``); a ``.json`` log is told by :mod:`llmlens.loaders.detect`'s signature.

    >>> could_be(Path("x"), b'{"version": 2}')
    False
    """
    if not safezip.is_zip(head):
        return False
    if safezip.first_member_name(head) == "_journal/start.json":  # written first: a log cut off still has it
        return True
    names = {m.name for m in safezip.members(path)[0]}
    return bool(names & set(_LOG_MEMBERS)) and any(n.startswith(("samples/", "_journal/")) for n in names)


def read(path: Path) -> inspect_read.Chunks:
    """The log's records (see :func:`llmlens.loaders.inspect_read.read`).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.json"
    >>> _ = path.write_text('{"version": 2, "status": "started", "eval": {"task": "t"}, "samples": []}')
    >>> [r["kind"] for records, _ in read(path) for r in records.table.to_pylist()]
    ['header']
    """
    return inspect_read.read(path)


MACROS = r"""
CREATE OR REPLACE TEMP MACRO llmlens_json_list(j) AS
    CASE WHEN json_type(j) = 'ARRAY' THEN from_json(j, '["JSON"]') ELSE []::JSON[] END;
CREATE OR REPLACE TEMP MACRO llmlens_json_entries(j) AS
    map_entries(json_transform(j, '"MAP(VARCHAR, JSON)"'));
-- objects are edited as text: json_merge_patch(o, '{"k": null}') removes keys and keeps every other value as it
-- is (nulls included; it writes minified JSON); llmlens_json_join(o, pairs) then puts '"k":v,...' (text, or NULL
-- for none) before o's members (a merge patch would drop the nulls inside the values put)
CREATE OR REPLACE TEMP MACRO llmlens_json_join(o, pairs) AS
    '{' || concat_ws(',', nullif(pairs, ''), nullif(substr(CAST(o AS VARCHAR), 2, length(CAST(o AS VARCHAR)) - 2), ''))
    || '}';
CREATE OR REPLACE TEMP MACRO llmlens_json_pair(k, v) AS CAST(to_json(k) AS VARCHAR) || ':' || CAST(v AS VARCHAR);
CREATE OR REPLACE TEMP MACRO llmlens_inspect_time(t) AS TRY_CAST(t AS TIMESTAMPTZ);
CREATE OR REPLACE TEMP MACRO llmlens_inspect_text(content) AS CASE
    WHEN json_type(content) = 'ARRAY' THEN array_to_string(list_transform(
        list_filter(from_json(content, '["JSON"]'), lambda p: json_extract_string(p, '$.type') = 'text'),
        lambda p: json_extract_string(p, '$.text')), '')
    WHEN json_type(content) = 'VARCHAR' THEN json_extract_string(content, '$')
    WHEN content IS NULL OR json_type(content) = 'NULL' THEN NULL
    ELSE CAST(content AS VARCHAR) END;
CREATE OR REPLACE TEMP MACRO llmlens_inspect_part(p) AS CASE json_extract_string(p, '$.type')
    WHEN 'text' THEN CAST(llmlens_json_join(json_merge_patch(p, '{"text": null}'),
                                            llmlens_json_pair('content', to_json(json_extract_string(p, '$.text'))))
                          AS JSON)
    WHEN 'reasoning' THEN CAST(llmlens_json_join(json_merge_patch(p, '{"reasoning": null}'),
                               llmlens_json_pair('content', to_json(json_extract_string(p, '$.reasoning')))) AS JSON)
    ELSE p END;
-- m: a message read into a struct (MESSAGE)
CREATE OR REPLACE TEMP MACRO llmlens_inspect_parts(m) AS to_json(list_concat(
    CASE WHEN m.role = 'tool' THEN [to_json({
             'type': 'tool_call_response', 'id': m.tool_call_id, 'name': m.function,
             'response': llmlens_inspect_text(m.content), 'error': m.error})]
         ELSE [] END,
    CASE WHEN json_type(m.content) = 'ARRAY'
             THEN list_transform(list_filter(from_json(m.content, '["JSON"]'),
                                             lambda p: m.role IS DISTINCT FROM 'tool'
                                                       OR json_extract_string(p, '$.type') <> 'text'),
                                 lambda p: llmlens_inspect_part(p))
         WHEN m.role IS DISTINCT FROM 'tool' AND json_type(m.content) = 'VARCHAR'
             THEN [to_json({'type': 'text', 'content': json_extract_string(m.content, '$')})]
         ELSE [] END,
    list_transform(CASE WHEN json_type(m.tool_calls) = 'ARRAY'
                        THEN from_json(m.tool_calls, '[{"id": "VARCHAR", "function": "VARCHAR", "arguments": "JSON"}]')
                   END,
        lambda t: to_json({'type': 'tool_call', 'id': t.id, 'name': t.function,
                           'arguments': CAST(t.arguments AS VARCHAR)}))));
CREATE OR REPLACE TEMP MACRO llmlens_inspect_score(v) AS CASE
    WHEN json_type(v) = 'BOOLEAN' THEN CASE WHEN CAST(v AS VARCHAR) = 'true' THEN 1.0 ELSE 0.0 END
    WHEN json_type(v) IN ('BIGINT', 'UBIGINT', 'DOUBLE')
        THEN CASE WHEN isnan(TRY_CAST(CAST(v AS VARCHAR) AS DOUBLE)) THEN NULL
                  ELSE TRY_CAST(CAST(v AS VARCHAR) AS DOUBLE) END
    WHEN json_type(v) = 'VARCHAR' THEN CASE
        WHEN json_extract_string(v, '$') = 'C' THEN 1.0
        WHEN json_extract_string(v, '$') = 'P' THEN 0.5
        WHEN json_extract_string(v, '$') IN ('I', 'N') THEN 0.0
        WHEN lower(json_extract_string(v, '$')) IN ('yes', 'true') THEN 1.0
        WHEN lower(json_extract_string(v, '$')) IN ('no', 'false') THEN 0.0
        WHEN isfinite(TRY_CAST(json_extract_string(v, '$') AS DOUBLE))
            THEN TRY_CAST(json_extract_string(v, '$') AS DOUBLE)
        END
    END;
CREATE OR REPLACE TEMP MACRO llmlens_inspect_label(v) AS CASE
    WHEN json_type(v) = 'VARCHAR' THEN json_extract_string(v, '$')
    WHEN json_type(v) = 'BOOLEAN' THEN CAST(v AS VARCHAR)
    WHEN json_type(v) IN ('ARRAY', 'OBJECT') THEN CAST(v AS VARCHAR)
    END;
"""

STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_inspect_records AS
SELECT row_number() OVER () AS r, line, byte_offset, member, kind, text, reason, raw FROM llmlens_records_arrow;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, member, line, byte_offset, reason, left(text, 200), raw
FROM llmlens_inspect_records WHERE kind = 'reject';

-- the log's header: the eval's id and task, and what the root spans keep of it
CREATE OR REPLACE TEMP TABLE llmlens_inspect_header AS
SELECT h.h AS h,
       coalesce(json_extract_string(h.h, '$.eval.eval_id'), json_extract_string(h.h, '$.eval.run_id'),
                json_extract_string(h.h, '$.eval.task_id')) AS eval_id,
       json_extract_string(h.h, '$.eval.task') AS task,
       coalesce(llmlens_json_list(json_extract(h.h, '$.eval.scorers')), []) AS scorers,
       json_merge_patch(h.h, '{"samples": null, "reductions": null, "location": null, "etag": null}') AS info,
       coalesce(h.reductions, json_extract(h.h, '$.reductions')) AS reductions
FROM (SELECT 1) one LEFT JOIN (
    SELECT (SELECT TRY_CAST(text AS JSON) FROM llmlens_inspect_records WHERE kind = 'header' ORDER BY r LIMIT 1) AS h,
           (SELECT TRY_CAST(text AS JSON) FROM llmlens_inspect_records WHERE kind = 'reductions' ORDER BY r LIMIT 1)
               AS reductions
) h ON true;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, member, line, byte_offset, 'the log header is not valid JSON (samples load without it)',
       left(text, 200), encode(text)
FROM llmlens_inspect_records WHERE kind = 'header' AND TRY_CAST(text AS JSON) IS NULL;

-- attachment:// (and older tc://) references: whole JSON string values ("attachment://<hash>"), swapped for the
-- sample's attachment (as JSON text). The text is split at each '"attachment://'; a piece that starts with
-- '<hash>"' followed a reference. Older logs' '"tc://' references are swapped the same way, after.
CREATE OR REPLACE TEMP TABLE llmlens_inspect_resolved AS
SELECT r, line, byte_offset, member, text AS body, []::VARCHAR[] AS missing,
       try(json_transform(json_extract(text, '$.attachments'), '"MAP(VARCHAR, VARCHAR)"')) AS attachments
FROM llmlens_inspect_records
WHERE kind = 'sample';

{SWAP:attachment://}
{SWAP:tc://}
ALTER TABLE llmlens_inspect_resolved DROP COLUMN attachments;

CREATE OR REPLACE TEMP TABLE llmlens_inspect_samples AS
SELECT r, line, byte_offset, member, missing, s, sample_id, epoch,
       coalesce(s.uuid, md5('inspect:' || coalesce((SELECT eval_id FROM llmlens_inspect_header), '') || ':'
                            || sample_id || ':' || epoch)) AS trace_id,
       CASE WHEN sample_id IS NOT NULL
            THEN json_merge_patch(body, '{"events": null, "attachments": null, "events_data": null,
                                          "message_pool": null, "call_pool": null}') END AS sample,
       CASE WHEN sample_id IS NULL THEN body END AS body
FROM (
    SELECT *, json_extract_string(s.id, '$') AS sample_id, coalesce(s.epoch, 1) AS epoch
    FROM (SELECT *, try(json_transform(body, '{SAMPLE}')) AS s FROM llmlens_inspect_resolved)
);

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, member, line, byte_offset,
       CASE WHEN s IS NULL THEN member || ' is not valid JSON (truncated or corrupt)'
            ELSE member || ' is not an Inspect sample (a JSON object with an id)' END,
       left(body, 200), encode(body)
FROM llmlens_inspect_samples WHERE sample_id IS NULL;

DELETE FROM llmlens_inspect_samples WHERE sample_id IS NULL;
ALTER TABLE llmlens_inspect_samples DROP COLUMN body;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, member, line, byte_offset,
       member || ': attachment ''attachment://' || ref || ''' is not in the sample''s attachments; '
       || 'the reference is kept as it is and the sample is loaded',
       'attachment://' || ref, encode('attachment://' || ref)
FROM (SELECT member, line, byte_offset, unnest(missing) AS ref FROM llmlens_inspect_samples);

CREATE OR REPLACE TEMP TABLE llmlens_inspect_pools AS
SELECT r, llmlens_json_list(coalesce(s.events_data.messages, s.message_pool)) AS messages,
       llmlens_json_list(coalesce(s.events_data.calls, s.call_pool)) AS calls
FROM llmlens_inspect_samples
WHERE s.events_data IS NOT NULL OR s.message_pool IS NOT NULL OR s.call_pool IS NOT NULL;

CREATE OR REPLACE TEMP TABLE llmlens_inspect_events AS
SELECT r, trace_id, i, e, json_transform(e, '{EVENT}') AS f
FROM (
    SELECT r, trace_id, CAST(generate_subscripts(s.events, 1) AS INTEGER) AS i, unnest(s.events) AS e
    FROM llmlens_inspect_samples WHERE s.events IS NOT NULL
);

-- spans from span_begin/span_end; a tool span merges into the tool event of its call (same parent and name,
-- in order)
CREATE OR REPLACE TEMP TABLE llmlens_inspect_span_rows AS
WITH ends AS (
    SELECT trace_id, f.id AS id, max(llmlens_inspect_time(f.timestamp)) AS end_time, arg_max(e, i) AS end_event
    FROM llmlens_inspect_events WHERE f.event = 'span_end' AND f.id IS NOT NULL GROUP BY ALL
)
SELECT b.r, b.trace_id, b.i, b.f.id AS span_id, b.f.parent_id AS parent_id, b.f.type AS type, b.f.name AS name,
       llmlens_inspect_time(b.f.timestamp) AS start_time, ends.end_time, b.e AS begin_event, ends.end_event,
       row_number() OVER (PARTITION BY b.trace_id, b.f.parent_id, b.f.name, b.f.type = 'tool'
                          ORDER BY llmlens_inspect_time(b.f.timestamp), b.i) AS k
FROM llmlens_inspect_events b LEFT JOIN ends ON ends.trace_id = b.trace_id AND ends.id = b.f.id
WHERE b.f.event = 'span_begin' AND b.f.id IS NOT NULL;

CREATE OR REPLACE TEMP TABLE llmlens_inspect_tools AS
SELECT t.*, s.span_id AS merged_id, s.begin_event, s.end_event
FROM (
    SELECT r, trace_id, i, e, f,
           row_number() OVER (PARTITION BY trace_id, f.span_id, f.function
                              ORDER BY llmlens_inspect_time(f.timestamp), i) AS k
    FROM llmlens_inspect_events WHERE f.event = 'tool'
) t LEFT JOIN llmlens_inspect_span_rows s
    ON s.trace_id = t.trace_id AND s.type = 'tool' AND s.parent_id IS NOT DISTINCT FROM t.f.span_id
   AND s.name = t.f.function AND s.k = t.k;

-- the spans events can occur in: the span_begin spans, and the tool calls merged with theirs
CREATE OR REPLACE TEMP TABLE llmlens_inspect_known AS
SELECT DISTINCT trace_id, span_id FROM llmlens_inspect_span_rows;

CREATE OR REPLACE TEMP MACRO llmlens_inspect_parent(trace, span, root) AS CASE
    WHEN EXISTS (SELECT 1 FROM llmlens_inspect_known k WHERE k.trace_id = trace AND k.span_id = span) THEN span
    ELSE root END;

CREATE OR REPLACE TEMP TABLE llmlens_inspect_model AS
SELECT v.r, v.trace_id, v.i, v.e, v.f,
       CASE WHEN json_type(v.f.input_refs) = 'ARRAY' AND len(p.messages) > 0
            THEN flatten(list_transform(from_json(v.f.input_refs, '[["BIGINT"]]'),
                                        lambda x: p.messages[greatest(x[1], 0) + 1 : x[2]]))
            ELSE llmlens_json_list(v.f.input) END AS input,
       CASE WHEN len(c.call_refs) > 0 AND len(p.calls) > 0
            THEN llmlens_json_join(
                     json_merge_patch(v.f.call, '{"call_refs": null, "call_key": null, "request": null}'),
                     llmlens_json_pair('request', llmlens_json_join(
                         json_merge_patch(c.request, json_object(coalesce(c.call_key, 'messages'), NULL)),
                         llmlens_json_pair(coalesce(c.call_key, 'messages'), to_json(flatten(list_transform(
                             c.call_refs, lambda x: p.calls[greatest(x[1], 0) + 1 : x[2]])))))))
       END AS call,
       CASE WHEN strpos(CAST(v.f.output AS VARCHAR), 'logprobs"') > 0
            THEN llmlens_json_join(json_merge_patch(v.f.output, '{"choices": null}'), llmlens_json_pair('choices',
                     to_json(list_transform(llmlens_json_list(json_extract(v.f.output, '$.choices')),
                                            lambda c: json_merge_patch(c, '{"logprobs": null,
                                                                           "prompt_logprobs": null}')))))
       END AS output,
       json_transform(v.f.output, '{OUTPUT}') AS o
FROM llmlens_inspect_events v LEFT JOIN llmlens_inspect_pools p USING (r),
     LATERAL (SELECT json_transform(v.f.call, '{"request": "JSON", "call_refs": [["BIGINT"]], "call_key": "VARCHAR"}')
                  AS c)
WHERE v.f.event = 'model';

-- the eval's scores reduced over epochs, by sample
CREATE OR REPLACE TEMP TABLE llmlens_inspect_reductions AS
SELECT json_extract_string(x, '$.sample_id') AS sample_id,
       to_json(list(json_object('scorer', json_extract(red, '$.scorer'), 'reducer', json_extract(red, '$.reducer'),
                                'score', x))) AS reductions
FROM (SELECT unnest(llmlens_json_list(reductions)) AS red FROM llmlens_inspect_header),
     LATERAL (SELECT unnest(llmlens_json_list(json_extract(red, '$.samples'))) AS x)
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE llmlens_inspect_staged AS
-- the sample
SELECT s.r, 0 AS i, s.line, s.byte_offset, s.trace_id, s.trace_id AS span_id, NULL::VARCHAR AS parent_span_id,
       coalesce((SELECT task FROM llmlens_inspect_header), 'sample') || ' ' || s.sample_id || ' (epoch '
           || s.epoch || ')' AS name,
       'CHAIN' AS kind, 'INTERNAL' AS otel_kind,
       least(llmlens_inspect_time(s.s.started_at), t.first) AS start_time,
       greatest(llmlens_inspect_time(s.s.completed_at), t.last) AS end_time,
       CASE WHEN s.s.error IS NOT NULL AND json_type(s.s.error) <> 'NULL' THEN 'ERROR' ELSE 'OK' END AS status_code,
       coalesce(json_extract_string(s.s.error, '$.message'),
                'limit: ' || json_extract_string(s.s."limit", '$.type')) AS status_message,
       NULL::VARCHAR AS model, NULL::VARCHAR AS provider,
       CASE WHEN json_type(s.s.input) = 'VARCHAR' THEN json_extract_string(s.s.input, '$')
            ELSE CAST(s.s.input AS VARCHAR) END AS input_text,
       json_extract_string(s.s.output, '$.completion') AS output_text,
       NULL::BIGINT AS input_tokens, NULL::BIGINT AS output_tokens, NULL::BIGINT AS total_tokens,
       NULL::DOUBLE AS cost_usd,
       CAST(json_object(
           'inspect.eval_id', (SELECT eval_id FROM llmlens_inspect_header),
           'inspect.sample_id', s.s.id, 'inspect.epoch', s.epoch,
           'inspect.sample', s.sample,
           'inspect.log', (SELECT info FROM llmlens_inspect_header),
           'inspect.reductions', red.reductions,
           'inspect.missing_attachments', CASE WHEN len(s.missing) > 0 THEN to_json(s.missing) END) AS VARCHAR)
           AS attributes,
       NULL::VARCHAR AS agent_name, NULL::VARCHAR AS edge_to
FROM llmlens_inspect_samples s LEFT JOIN llmlens_inspect_reductions red USING (sample_id) LEFT JOIN (
    SELECT r, min(llmlens_inspect_time(f.timestamp)) AS first,
           max(coalesce(llmlens_inspect_time(f.completed), llmlens_inspect_time(f.timestamp))) AS last
    FROM llmlens_inspect_events GROUP BY r
) t USING (r)
UNION ALL
-- span_begin spans (those a tool call merged with are staged with it)
SELECT b.r, b.i, s.line, s.byte_offset, b.trace_id, b.span_id,
       CASE WHEN b.parent_id IS NULL THEN b.trace_id
            ELSE llmlens_inspect_parent(b.trace_id, b.parent_id, b.trace_id) END,
       coalesce(b.name, b.type, 'span'),
       CASE b.type WHEN 'scorer' THEN 'EVALUATOR' WHEN 'agent' THEN 'AGENT' WHEN 'tool' THEN 'TOOL'
                   WHEN 'handoff' THEN 'HANDOFF' ELSE 'CHAIN' END,
       'INTERNAL', b.start_time, b.end_time,
       CASE WHEN EXISTS (SELECT 1 FROM llmlens_inspect_events v WHERE v.trace_id = b.trace_id AND v.f.event = 'error'
                                                               AND v.f.span_id = b.span_id) THEN 'ERROR'
            WHEN b.end_time IS NULL THEN 'UNSET' ELSE 'OK' END,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       CAST(json_object('inspect.span_type', b.type, 'inspect.span_begin', b.begin_event,
                        'inspect.span_end', b.end_event) AS VARCHAR),
       CASE WHEN b.type = 'agent' THEN b.name END, NULL
FROM llmlens_inspect_span_rows b JOIN llmlens_inspect_samples s USING (r)
WHERE NOT EXISTS (SELECT 1 FROM llmlens_inspect_tools t WHERE t.trace_id = b.trace_id AND t.merged_id = b.span_id)
UNION ALL
-- model calls
SELECT m.r, m.i, s.line, s.byte_offset, m.trace_id,
       coalesce(m.f.uuid, left(md5(m.trace_id || ':event:' || m.i), 16)),
       llmlens_inspect_parent(m.trace_id, m.f.span_id, m.trace_id),
       coalesce(m.f.model, m.o.model, 'model'), 'LLM', 'CLIENT',
       llmlens_inspect_time(m.f.timestamp),
       coalesce(llmlens_inspect_time(m.f.completed),
                llmlens_inspect_time(m.f.timestamp) + to_microseconds(CAST(m.o.time * 1e6 AS BIGINT))),
       CASE WHEN m.f.error IS NOT NULL AND json_type(m.f.error) <> 'NULL' THEN 'ERROR' ELSE 'OK' END,
       coalesce(json_extract_string(m.f.error, '$.message'), json_extract_string(m.f.error, '$'), m.o.error),
       coalesce(m.o.model, m.f.model),
       CASE WHEN strpos(m.f.model, '/') > 0 THEN split_part(m.f.model, '/', 1) END,
       CAST(to_json(m.input) AS VARCHAR),
       coalesce(m.o.completion, llmlens_inspect_text(json_extract(m.o.choices, '$[0].message.content'))),
       m.o.usage.input_tokens + coalesce(m.o.usage.input_tokens_cache_read, 0)
           + coalesce(m.o.usage.input_tokens_cache_write, 0),
       m.o.usage.output_tokens, m.o.usage.total_tokens, m.o.usage.total_cost,
       -- the event, but for its input (in messages) and the logprobs of its choices (in tokens); the call with its
       -- pooled messages put back
       llmlens_json_join(
           json_merge_patch(m.e, '{"input": null, "input_refs": null'
                                 || CASE WHEN m.call IS NOT NULL THEN ', "call": null' ELSE '' END
                                 || CASE WHEN m.output IS NOT NULL THEN ', "output": null' ELSE '' END || '}'),
           concat_ws(',', llmlens_json_pair('call', m.call), llmlens_json_pair('output', m.output))),
       NULL, NULL
FROM llmlens_inspect_model m JOIN llmlens_inspect_samples s USING (r)
UNION ALL
-- tool calls
SELECT t.r, t.i, s.line, s.byte_offset, t.trace_id,
       coalesce(t.merged_id, t.f.uuid, left(md5(t.trace_id || ':event:' || t.i), 16)),
       llmlens_inspect_parent(t.trace_id, t.f.span_id, t.trace_id),
       coalesce(t.f.function, 'tool'), 'TOOL', 'INTERNAL',
       llmlens_inspect_time(t.f.timestamp),
       coalesce(llmlens_inspect_time(t.f.completed),
                llmlens_inspect_time(json_extract_string(t.end_event, '$.timestamp'))),
       CASE WHEN (t.f.error IS NOT NULL AND json_type(t.f.error) <> 'NULL')
                 OR json_extract_string(t.e, '$.failed') = 'true' THEN 'ERROR' ELSE 'OK' END,
       coalesce(json_extract_string(t.f.error, '$.message'), json_extract_string(t.f.error, '$')),
       NULL, NULL,
       CAST(t.f.arguments AS VARCHAR),
       CASE WHEN json_type(t.f.result) = 'VARCHAR' THEN json_extract_string(t.f.result, '$')
            WHEN json_type(t.f.result) = 'ARRAY' THEN llmlens_inspect_text(t.f.result)
            ELSE CAST(t.f.result AS VARCHAR) END,
       NULL, NULL, NULL, NULL,
       CASE WHEN t.merged_id IS NULL THEN CAST(t.e AS VARCHAR)
            ELSE llmlens_json_join(json_merge_patch(t.e, '{"inspect.span_begin": null, "inspect.span_end": null}'),
                                   concat_ws(',', llmlens_json_pair('inspect.span_begin', t.begin_event),
                                             llmlens_json_pair('inspect.span_end', t.end_event))) END,
       t.f.agent, t.f.agent_span_id
FROM llmlens_inspect_tools t JOIN llmlens_inspect_samples s USING (r);

-- every other event, kept whole in the events of the span it occurred in
CREATE OR REPLACE TEMP TABLE llmlens_inspect_span_events AS
SELECT trace_id, llmlens_inspect_parent(trace_id, f.span_id, trace_id) AS span_id,
       to_json(list({'name': coalesce(f.event, 'unknown'), 'time': f.timestamp, 'attributes': e} ORDER BY i))
           AS events,
       bool_or(f.event = 'error') AS has_error
FROM llmlens_inspect_events
WHERE f.event IS NULL OR f.event NOT IN ('span_begin', 'span_end', 'model', 'tool')
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE llmlens_stage_spans AS
SELECT row_number() OVER (ORDER BY x.r, x.i) AS n, x.line, x.byte_offset, x.trace_id, x.span_id, x.parent_span_id,
       x.name, x.kind, x.otel_kind, x.start_time, x.end_time, x.status_code, x.status_message, x.model, x.provider,
       x.input_text, x.output_text, x.input_tokens, x.output_tokens,
       coalesce(x.total_tokens, x.input_tokens + x.output_tokens) AS total_tokens, x.cost_usd, x.agent_name,
       CAST(x.attributes AS JSON) AS attributes, CAST(e.events AS JSON) AS events, x.edge_to, x.r, x.i
FROM llmlens_inspect_staged x
LEFT JOIN llmlens_inspect_span_events e ON e.trace_id = x.trace_id AND e.span_id = x.span_id;

UPDATE llmlens_stage_spans SET status_code = 'ERROR'
WHERE status_code <> 'ERROR' AND kind = 'CHAIN' AND parent_span_id IS NULL
  AND EXISTS (SELECT 1 FROM llmlens_inspect_span_events e
              WHERE e.trace_id = llmlens_stage_spans.trace_id AND e.span_id = llmlens_stage_spans.span_id
                AND e.has_error);

CREATE OR REPLACE TEMP TABLE llmlens_stage_messages AS
WITH inputs AS (
    SELECT s.n, 'input' AS side, CAST(generate_subscripts(m.input, 1) - 1 AS INTEGER) AS position,
           unnest(m.input) AS msg, NULL::VARCHAR AS finish_reason
    FROM llmlens_inspect_model m JOIN llmlens_stage_spans s ON s.r = m.r AND s.i = m.i AND s.kind = 'LLM'
), outputs AS (
    SELECT n, 'output' AS side, CAST(generate_subscripts(choices, 1) - 1 AS INTEGER) AS position,
           unnest(choices) AS c
    FROM (SELECT s.n, llmlens_json_list(m.o.choices) AS choices
          FROM llmlens_inspect_model m JOIN llmlens_stage_spans s ON s.r = m.r AND s.i = m.i AND s.kind = 'LLM')
)
SELECT n, side, position, m.role, CASE WHEN m.role = 'tool' THEN m.function END AS name,
       llmlens_inspect_text(m.content) AS content, llmlens_inspect_parts(m) AS parts, finish_reason
FROM (SELECT n, side, position, json_transform(msg, '{MESSAGE}') AS m, finish_reason
      FROM (SELECT * FROM inputs
            UNION ALL
            SELECT n, side, position, json_extract(c, '$.message'), json_extract_string(c, '$.stop_reason')
            FROM outputs));

-- token logprobs: the output choices in the OpenAI token shape Inspect keeps them in
CREATE OR REPLACE TEMP TABLE llmlens_responses AS
SELECT s.n, json_object('choices', m.o.choices) AS response
FROM llmlens_inspect_model m JOIN llmlens_stage_spans s ON s.r = m.r AND s.i = m.i AND s.kind = 'LLM'
WHERE strpos(CAST(m.o.choices AS VARCHAR), 'logprobs"') > 0;

CREATE OR REPLACE TEMP TABLE llmlens_stage_edges AS
SELECT 'handoff' AS kind, s.trace_id AS src_trace_id, s.span_id AS src_span_id, s.trace_id AS dst_trace_id,
       s.edge_to AS dst_span_id, coalesce(s.name || ' -> ' || a.name, s.name) AS label,
       json_object('tool', s.name, 'agent', s.agent_name, 'agent_span_id', s.edge_to) AS attributes,
       s.trace_id AS via_trace_id, s.span_id AS via_span_id
FROM llmlens_stage_spans s LEFT JOIN llmlens_stage_spans a ON a.trace_id = s.trace_id AND a.span_id = s.edge_to
WHERE s.edge_to IS NOT NULL;

UPDATE llmlens_stage_spans SET agent_name = NULL WHERE kind = 'TOOL';

-- scores: one annotation per scorer (per key of a dict value)
CREATE OR REPLACE TEMP TABLE llmlens_inspect_scorer_spans AS
WITH RECURSIVE under(trace_id, span_id, scorer) AS (
    SELECT trace_id, span_id, name FROM llmlens_inspect_span_rows WHERE type = 'scorer'
    UNION
    SELECT c.trace_id, c.span_id, u.scorer
    FROM llmlens_inspect_span_rows c JOIN under u ON c.trace_id = u.trace_id AND c.parent_id = u.span_id
)
SELECT * FROM under;

CREATE OR REPLACE TEMP TABLE llmlens_inspect_judges AS
SELECT u.trace_id, u.scorer, arg_min(coalesce(m.o.model, m.f.model), m.i) AS model
FROM llmlens_inspect_scorer_spans u
JOIN llmlens_inspect_model m ON m.trace_id = u.trace_id AND m.f.span_id = u.span_id
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE llmlens_inspect_scores AS
WITH scores AS (
    SELECT s.trace_id, s.sample_id, s.epoch, s.s.completed_at, e.key AS scorer, e.value AS score
    FROM llmlens_inspect_samples s, LATERAL (SELECT unnest(coalesce(llmlens_json_entries(s.s.scores), [])) AS e)
), declared AS (
    SELECT json_extract_string(d, '$.name') AS scorer,
           list_has_any(coalesce(json_keys(json_extract(d, '$.options')), []),
                        ['model', 'models', 'grader_model', 'judge_model', 'judge', 'grader']) AS graded,
           coalesce(json_extract_string(d, '$.options.model.model'), json_extract_string(d, '$.options.model'))
               AS model
    FROM (SELECT unnest(scorers) AS d FROM llmlens_inspect_header)
), timed AS (
    SELECT trace_id, f.scorer AS scorer, max(llmlens_inspect_time(f.timestamp)) AS at
    FROM llmlens_inspect_events
    WHERE f.event = 'score' AND NOT coalesce(f.intermediate, false) AND f.scorer IS NOT NULL
    GROUP BY ALL
)
SELECT s.*, j.model AS judge,
       j.model IS NOT NULL OR coalesce(d.graded, false) OR s.scorer ILIKE '%model_graded%'
           OR s.scorer ILIKE '%judge%' AS llm,
       coalesce(j.model, CASE WHEN d.graded THEN d.model END) AS annotator_model,
       coalesce(t.at, llmlens_inspect_time(s.completed_at)) AS created_at
FROM scores s
LEFT JOIN llmlens_inspect_judges j ON j.trace_id = s.trace_id AND j.scorer = s.scorer
LEFT JOIN (SELECT DISTINCT ON (scorer) * FROM declared) d ON d.scorer = s.scorer
LEFT JOIN timed t ON t.trace_id = s.trace_id AND t.scorer = s.scorer;
"""

SWAP_REFERENCES = r"""
CREATE OR REPLACE TEMP TABLE llmlens_inspect_swapped AS
WITH pieces AS (
    SELECT r, attachments, CAST(generate_subscripts(pieces, 1) AS INTEGER) AS k, unnest(pieces) AS piece
    FROM (SELECT r, attachments, string_split(body, '"{PREFIX}') AS pieces
          FROM llmlens_inspect_resolved WHERE strpos(body, '"{PREFIX}') > 0)
), refs AS (
    SELECT *, CASE WHEN k > 1 THEN regexp_extract(piece, '^([0-9A-Za-z_-]{1,128})"', 1) END AS ref FROM pieces
)
SELECT r, string_agg(CASE
           WHEN k = 1 THEN piece
           WHEN ref <> '' AND attachments[ref] IS NOT NULL
               THEN CAST(to_json(attachments[ref]) AS VARCHAR) || substr(piece, length(ref) + 2)
           WHEN ref <> '' THEN '"attachment://' || piece
           ELSE '"{PREFIX}' || piece END, '' ORDER BY k) AS body,
       list(DISTINCT ref) FILTER (WHERE ref <> '' AND attachments[ref] IS NULL) AS missing
FROM refs
GROUP BY r;

UPDATE llmlens_inspect_resolved SET body = w.body,
    missing = list_distinct(list_concat(llmlens_inspect_resolved.missing, w.missing))
FROM llmlens_inspect_swapped w WHERE llmlens_inspect_resolved.r = w.r;
"""
"""Swap one kind of reference (``{PREFIX}``: ``attachment://`` or the older ``tc://``) in each sample's text for the
sample's attachment; a reference without its attachment stays, as ``attachment://``, and is named in ``missing``."""


ANNOTATIONS = r"""
INSERT INTO llmlens_stage_annotations BY NAME
WITH valued AS (
    SELECT s.*, json_extract(s.score, '$.value') AS value FROM llmlens_inspect_scores s
), keyed AS (
    SELECT *, scorer AS name, value AS v FROM valued WHERE json_type(value) IS DISTINCT FROM 'OBJECT'
    UNION ALL
    SELECT v.*, v.scorer || '/' || e.key, e.value
    FROM valued v, LATERAL (SELECT unnest(llmlens_json_entries(v.value)) AS e)
    WHERE json_type(v.value) = 'OBJECT'
)
SELECT 'trace' AS target_kind, trace_id AS target_id, name, llmlens_inspect_label(v) AS label,
       llmlens_inspect_score(v) AS score, json_extract_string(score, '$.explanation') AS note,
       coalesce(CASE WHEN llm THEN annotator_model END, scorer) AS annotator,
       CASE WHEN llm THEN 'llm' ELSE 'check' END AS annotator_kind, created_at,
       CAST(json_object('value', v, 'answer', json_extract(score, '$.answer'),
                        'metadata', json_extract(score, '$.metadata'), 'history', json_extract(score, '$.history'),
                        'scorer', scorer, 'sample_id', sample_id, 'epoch', epoch) AS JSON) AS metadata,
       'inspect:' || coalesce((SELECT eval_id FROM llmlens_inspect_header), '') || ':' || sample_id || ':' || epoch
           || ':' || name AS external_id
FROM keyed;

ALTER TABLE llmlens_stage_spans DROP COLUMN edge_to;
ALTER TABLE llmlens_stage_spans DROP COLUMN r;
ALTER TABLE llmlens_stage_spans DROP COLUMN i;
"""

SAMPLE = json.dumps(
    {
        "id": "JSON",
        "epoch": "BIGINT",
        "uuid": "VARCHAR",
        "input": "JSON",
        "output": "JSON",
        "scores": "JSON",
        "events": ["JSON"],
        "events_data": {"messages": "JSON", "calls": "JSON"},
        "message_pool": "JSON",
        "call_pool": "JSON",
        "started_at": "VARCHAR",
        "completed_at": "VARCHAR",
        "error": "JSON",
        "limit": "JSON",
    }
)
"""The fields of a sample the stage reads (the whole sample, but for its events and pools, stays in attributes)."""

EVENT = json.dumps(
    {
        "event": "VARCHAR",
        "uuid": "VARCHAR",
        "span_id": "VARCHAR",
        "timestamp": "VARCHAR",
        "completed": "VARCHAR",
        "id": "VARCHAR",
        "parent_id": "VARCHAR",
        "type": "VARCHAR",
        "name": "VARCHAR",
        "function": "VARCHAR",
        "model": "VARCHAR",
        "error": "JSON",
        "input": "JSON",
        "input_refs": "JSON",
        "output": "JSON",
        "call": "JSON",
        "arguments": "JSON",
        "result": "JSON",
        "agent": "VARCHAR",
        "agent_span_id": "VARCHAR",
        "scorer": "VARCHAR",
        "intermediate": "BOOLEAN",
    }
)
"""The fields of an event the stage reads (each event is kept whole besides)."""

MESSAGE = json.dumps(
    {
        "role": "VARCHAR",
        "content": "JSON",
        "tool_calls": "JSON",
        "tool_call_id": "VARCHAR",
        "function": "VARCHAR",
        "error": "JSON",
    }
)
"""The fields of a chat message the stage reads."""

OUTPUT = json.dumps(
    {
        "model": "VARCHAR",
        "choices": "JSON",
        "completion": "VARCHAR",
        "time": "DOUBLE",
        "error": "VARCHAR",
        "usage": {
            "input_tokens": "BIGINT",
            "output_tokens": "BIGINT",
            "total_tokens": "BIGINT",
            "input_tokens_cache_read": "BIGINT",
            "input_tokens_cache_write": "BIGINT",
            "total_cost": "DOUBLE",
        },
    }
)


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage spans, messages, tokens, edges and annotations from the registered records; what cannot be used
    goes to ``rejects``."""
    from llmlens.loaders.writes import STAGED_ANNOTATIONS

    run_script(con, MACROS.replace("{MESSAGE}", MESSAGE))
    script = STAGE.replace("{SAMPLE}", SAMPLE).replace("{EVENT}", EVENT).replace("{OUTPUT}", OUTPUT)
    script = script.replace("{MESSAGE}", MESSAGE)
    for prefix in ("attachment://", "tc://"):
        script = script.replace(f"{{SWAP:{prefix}}}", SWAP_REFERENCES.replace("{PREFIX}", prefix))
    run_script(con, script, {"source_id": source_id})
    logprobs.stage_tokens(con)
    con.execute(STAGED_ANNOTATIONS)
    run_script(con, ANNOTATIONS)


__all__ = ["NAME", "could_be", "read", "stage"]
