"""OpenAI logs: JSON Lines of responses, of ``{request, response}`` pairs (what gateways log), or streams.

Chat completions, legacy completions and Responses API responses are read; a stream (``chat.completion.chunk``
records, or Responses API events, as JSON Lines or as recorded server-sent events ``data: {...}``) is merged into
one response. Each response becomes an LLM span (ids derived from the response id, so a reload replaces rather
than duplicates), with its request and response messages and, when the response has them, token logprobs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import duckdb

from llmlens.loaders import logprobs, messages
from llmlens.loaders.files import Records, decoded_records, json_records
from llmlens.query import run_script

NAME = "openai-log"

STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_openai_records AS
SELECT line, byte_offset, text, json,
       CASE WHEN starts_with(CAST(f.response AS VARCHAR), '{') THEN f.response ELSE json END AS response,
       f.request AS request,
       coalesce(f.object = 'chat.completion.chunk', false) AS is_chunk,
       -- Responses API stream events: the terminal ones carry the whole response, the others are covered by it
       coalesce(f.type LIKE 'response.%', false) AS is_event
FROM (
    -- one parse per record for the few top-level fields (a record can be tens of MB)
    SELECT line, byte_offset, text, json,
           json_transform(json, '{"response": "JSON", "request": "JSON", "object": "VARCHAR", "type": "VARCHAR"}') AS f
    FROM (SELECT line, byte_offset, text, TRY_CAST(text AS JSON) AS json FROM llmlens_records)
);

CREATE OR REPLACE TEMP TABLE llmlens_chunk_choices AS
WITH deltas AS (
    SELECT line, json->>'id' AS id, CAST(c->>'index' AS INTEGER) AS idx, c
    FROM llmlens_openai_records, unnest(from_json(coalesce(json->'choices', '[]'), '["JSON"]')) AS u(c)
    WHERE is_chunk
), tool_calls AS (
    SELECT id, idx, CAST(t->>'index' AS INTEGER) AS i,
           json_object('id', max(t->>'id'), 'type', 'function', 'function', json_object(
               'name', string_agg(t->'function'->>'name', '' ORDER BY line),
               'arguments', string_agg(t->'function'->>'arguments', '' ORDER BY line))) AS call
    FROM deltas, unnest(from_json(coalesce(c->'delta'->'tool_calls', '[]'), '["JSON"]')) AS u(t)
    GROUP BY ALL
)
SELECT id, idx, json_object(
    'index', idx,
    'message', json_object(
        'role', coalesce(max(c->'delta'->>'role'), 'assistant'),
        'content', string_agg(c->'delta'->>'content', '' ORDER BY line),
        'refusal', string_agg(c->'delta'->>'refusal', '' ORDER BY line),
        'tool_calls', (SELECT to_json(list(t.call ORDER BY t.i)) FROM tool_calls t
                       WHERE t.id = d.id AND t.idx = d.idx)),
    'logprobs', json_object(
        'content', to_json(flatten(list(from_json(c->'logprobs'->'content', '["JSON"]') ORDER BY line)
                                   FILTER (WHERE json_type(c->'logprobs'->'content') = 'ARRAY'))),
        'refusal', to_json(flatten(list(from_json(c->'logprobs'->'refusal', '["JSON"]') ORDER BY line)
                                   FILTER (WHERE json_type(c->'logprobs'->'refusal') = 'ARRAY')))),
    'finish_reason', max_by(c->>'finish_reason', line) FILTER (WHERE c->>'finish_reason' IS NOT NULL)) AS choice
FROM deltas d
GROUP BY id, idx;

CREATE OR REPLACE TEMP MACRO llmlens_request_messages(request) AS CASE
    WHEN json_type(json_extract(request, '$.messages')) = 'ARRAY' THEN json_extract(request, '$.messages')
    WHEN json_extract(request, '$.input') IS NOT NULL THEN to_json(list_concat(
        CASE WHEN json_extract_string(request, '$.instructions') IS NOT NULL
             THEN [json_object('role', 'system', 'content', json_extract(request, '$.instructions'))] ELSE [] END,
        CASE WHEN json_type(json_extract(request, '$.input')) = 'VARCHAR'
             THEN [json_object('role', 'user', 'content', json_extract(request, '$.input'))]
             ELSE list_transform(llmlens_json_list(json_extract(request, '$.input')), lambda item: CASE
                 WHEN json_extract_string(item, '$.type') = 'function_call_output' THEN json_object(
                     'role', 'tool', 'tool_call_id', json_extract(item, '$.call_id'),
                     'content', json_extract(item, '$.output'))
                 WHEN json_extract_string(item, '$.type') = 'function_call' THEN json_object(
                     'role', 'assistant', 'tool_calls', json_array(json_object(
                         'id', json_extract(item, '$.call_id'), 'type', 'function', 'function', json_object(
                             'name', json_extract(item, '$.name'), 'arguments', json_extract(item, '$.arguments')))))
                 ELSE item END) END))
    END;

CREATE OR REPLACE TEMP TABLE llmlens_openai AS
SELECT line, byte_offset, text, json, llmlens_as_chat(response) AS response, request
FROM llmlens_openai_records
WHERE NOT is_chunk AND (NOT is_event OR json_type(json_extract(json, '$.response')) = 'OBJECT')
UNION ALL
SELECT min(line), min(byte_offset), any_value(text ORDER BY line), NULL, json_object(
    'id', id, 'object', 'chat.completion', 'created', min(json->'created'), 'model', min(json->>'model'),
    'system_fingerprint', min(json->>'system_fingerprint'),
    'choices', (SELECT to_json(list(c.choice ORDER BY c.idx)) FROM llmlens_chunk_choices c WHERE c.id = r.id),
    'usage', max_by(json->'usage', line) FILTER (WHERE json_type(json->'usage') = 'OBJECT')), NULL
FROM (SELECT *, json->>'id' AS id FROM llmlens_openai_records WHERE is_chunk) r
GROUP BY id;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line, line, byte_offset,
       CASE WHEN json IS NULL THEN 'not valid JSON (truncated or corrupt record)'
            WHEN is_event THEN 'a Responses API stream event, and the stream has no final response event'
            ELSE 'not an OpenAI response: no choices or output list' END,
       left(text, 200), encode(text)
FROM llmlens_openai_records
WHERE json IS NULL
   OR (is_event AND json_type(json_extract(json, '$.response')) IS DISTINCT FROM 'OBJECT'
       AND NOT EXISTS (SELECT 1 FROM llmlens_openai_records t WHERE t.is_event
                       AND json_extract_string(t.json, '$.type') IN ('response.completed', 'response.failed',
                                                                      'response.incomplete')))
   OR (NOT is_chunk AND NOT is_event
       AND json_type(json_extract(llmlens_as_chat(response), '$.choices')) IS DISTINCT FROM 'ARRAY');

DELETE FROM llmlens_openai WHERE json_type(json_extract(response, '$.choices')) IS DISTINCT FROM 'ARRAY';

-- every field but the logprobs, parsed once: a response with 100,000 tokens of logprobs is tens of MB of JSON,
-- and each field read from it would parse all of it again
ALTER TABLE llmlens_openai ADD COLUMN head JSON;
UPDATE llmlens_openai SET head = to_json(json_transform(response, '{HEAD}'));

CREATE OR REPLACE TEMP TABLE llmlens_stage_spans AS
SELECT row_number() OVER () AS n, line, byte_offset,
    md5(coalesce(head->>'id', text)) AS trace_id,
    left(md5('span:' || coalesce(head->>'id', text)), 16) AS span_id,
    NULL::VARCHAR AS parent_span_id,
    CASE head->>'object' WHEN 'text_completion' THEN 'completion' WHEN 'response' THEN 'response' ELSE 'chat' END
        || coalesce(' ' || (head->>'model'), '') AS name,
    'LLM' AS kind, 'CLIENT' AS otel_kind,
    to_timestamp(TRY_CAST(head->>'created' AS DOUBLE)) AS start_time,
    NULL::TIMESTAMPTZ AS end_time,
    CASE WHEN head->>'status' = 'failed' OR json_type(head->'error') = 'OBJECT' THEN 'ERROR' ELSE 'OK' END
        AS status_code,
    head->'error'->>'message' AS status_message,
    head->>'model' AS model, 'openai' AS provider,
    coalesce(request->>'prompt', CAST(llmlens_request_messages(request) AS VARCHAR)) AS input_text,
    coalesce(head->'choices'->0->'message'->>'content', head->'choices'->0->>'text',
             head->'choices'->0->'message'->>'refusal') AS output_text,
    TRY_CAST(head->'usage'->>'prompt_tokens' AS BIGINT) AS input_tokens,
    TRY_CAST(head->'usage'->>'completion_tokens' AS BIGINT) AS output_tokens,
    TRY_CAST(head->'usage'->>'total_tokens' AS BIGINT) AS total_tokens,
    request->>'user' AS user_id,
    CAST(json_object('openai.request', request, 'openai.response.id', head->>'id',
                     'openai.system_fingerprint', head->>'system_fingerprint') AS JSON) AS attributes
FROM llmlens_openai
WHERE json_type(json_extract(head, '$.choices')) = 'ARRAY';

CREATE OR REPLACE TEMP TABLE llmlens_responses AS
SELECT s.n, o.response FROM llmlens_stage_spans s JOIN llmlens_openai o USING (line);

CREATE OR REPLACE TEMP TABLE llmlens_stage_messages AS
WITH inputs AS (
    SELECT s.n, 'input' AS side, CAST(i - 1 AS INTEGER) AS position,
           from_json(o.messages, '["JSON"]')[i] AS m, NULL::VARCHAR AS finish_reason
    FROM llmlens_stage_spans s JOIN (SELECT line, llmlens_request_messages(request) AS messages FROM llmlens_openai) o
         USING (line), LATERAL (SELECT unnest(range(1, CAST(json_array_length(o.messages) AS BIGINT) + 1)) AS i)
    WHERE json_type(o.messages) = 'ARRAY'
), outputs AS (
    SELECT s.n, 'output' AS side, CAST(i - 1 AS INTEGER) AS position,
           CASE WHEN json_type(json_extract(c, '$.message')) = 'OBJECT' THEN json_extract(c, '$.message')
                ELSE json_object('role', 'assistant', 'content', json_extract_string(c, '$.text')) END AS m,
           json_extract_string(c, '$.finish_reason') AS finish_reason
    FROM (SELECT s.n, from_json(o.head->'choices', '["JSON"]') AS choices
          FROM llmlens_stage_spans s JOIN llmlens_openai o USING (line)) s,
         LATERAL (SELECT unnest(range(1, CAST(len(choices) AS BIGINT) + 1)) AS i, choices[i] AS c)
)
SELECT n, side, position, m->>'role' AS role, m->>'name' AS name,
       llmlens_message_content(m) AS content, llmlens_message_parts(m) AS parts, finish_reason
FROM (SELECT * FROM inputs UNION ALL SELECT * FROM outputs);
"""


HEAD = json.dumps(
    {
        "id": "VARCHAR",
        "object": "VARCHAR",
        "created": "DOUBLE",
        "model": "VARCHAR",
        "status": "VARCHAR",
        "error": "JSON",
        "system_fingerprint": "VARCHAR",
        "usage": "JSON",
        "choices": [{"index": "INTEGER", "text": "VARCHAR", "message": "JSON", "finish_reason": "VARCHAR"}],
    }
)
"""The fields of a (chat-shaped) response that spans and messages read: everything but the logprobs."""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage spans, messages and tokens from the registered ``llmlens_records``; bad records go to ``rejects``."""
    run_script(con, logprobs.AS_CHAT + messages.MACROS)
    run_script(con, STAGE.replace("{HEAD}", HEAD), {"source_id": source_id})
    logprobs.stage_tokens(con)


def read(data: bytes) -> Records:
    """JSON Lines records, or the ``data:`` payloads of recorded server-sent events (``[DONE]`` and ``event:``,
    ``id:`` and comment lines skipped), each with its line and byte offset.

    >>> read(b'event: response.completed\\ndata: {"type": "response.completed"}\\n\\ndata: [DONE]\\n').table.to_pylist()
    [{'line': 2, 'byte_offset': 32, 'text': '{"type": "response.completed"}'}]
    """
    first = data.lstrip()[:6]
    if not (first.startswith((b"data:", b"event:", b":")) or first == b"id: "):
        return json_records(data)
    return decoded_records(_sse_payloads(data))


def _sse_payloads(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Line, byte offset and bytes of each ``data:`` payload but ``[DONE]``."""
    offset = 0
    for number, raw in enumerate(data.split(b"\n"), start=1):
        payload = raw[5:].strip() if raw.startswith(b"data:") else b""
        if payload and payload != b"[DONE]":
            yield number, offset + len(raw) - len(raw[5:].lstrip()), payload
        offset += len(raw) + 1
