"""OpenAI logs: JSON Lines of chat/completion responses, or of ``{request, response}`` pairs (what gateways log).

Each response becomes an LLM span (ids derived from the response id, so a reload replaces rather than
duplicates), with its request and response messages and, when the response has them, token logprobs.
"""

from __future__ import annotations

import duckdb

from llmlens.loaders import logprobs
from llmlens.query import run_script

NAME = "openai-log"

STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_openai AS
SELECT line, byte_offset, text, json, coalesce(
           CASE WHEN json_type(json_extract(json, '$.response')) = 'OBJECT' THEN json_extract(json, '$.response') END,
           json) AS response,
       json_extract(json, '$.request') AS request
FROM (
    SELECT line, byte_offset, text, CASE WHEN json_valid(text) THEN CAST(text AS JSON) END AS json
    FROM llmlens_records
);

INSERT INTO rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line, line, byte_offset,
       CASE WHEN json IS NULL THEN 'not valid JSON (truncated or corrupt record)'
            ELSE 'not an OpenAI completion: no choices list' END,
       left(text, 200), encode(text)
FROM llmlens_openai
WHERE json IS NULL OR json_type(json_extract(response, '$.choices')) IS DISTINCT FROM 'ARRAY';

CREATE OR REPLACE TEMP TABLE llmlens_stage_spans AS
SELECT row_number() OVER () AS n, line, byte_offset,
    md5(coalesce(response->>'id', text)) AS trace_id,
    left(md5('span:' || coalesce(response->>'id', text)), 16) AS span_id,
    NULL::VARCHAR AS parent_span_id,
    CASE WHEN response->>'object' = 'text_completion' THEN 'completion' ELSE 'chat' END
        || coalesce(' ' || (response->>'model'), '') AS name,
    'LLM' AS kind, 'CLIENT' AS otel_kind,
    to_timestamp(TRY_CAST(response->>'created' AS BIGINT)) AS start_time,
    NULL::TIMESTAMPTZ AS end_time,
    'OK' AS status_code, NULL::VARCHAR AS status_message,
    response->>'model' AS model, 'openai' AS provider,
    coalesce(request->>'prompt', CAST(request->'messages' AS VARCHAR)) AS input_text,
    coalesce(response->'choices'->0->'message'->>'content', response->'choices'->0->>'text',
             response->'choices'->0->'message'->>'refusal') AS output_text,
    TRY_CAST(response->'usage'->>'prompt_tokens' AS BIGINT) AS input_tokens,
    TRY_CAST(response->'usage'->>'completion_tokens' AS BIGINT) AS output_tokens,
    TRY_CAST(response->'usage'->>'total_tokens' AS BIGINT) AS total_tokens,
    request->>'user' AS user_id,
    CAST(json_object('openai.request', request, 'openai.response.id', response->>'id',
                     'openai.system_fingerprint', response->>'system_fingerprint') AS JSON) AS attributes
FROM llmlens_openai
WHERE json_type(json_extract(response, '$.choices')) = 'ARRAY';

CREATE OR REPLACE TEMP TABLE llmlens_responses AS
SELECT s.n, o.response FROM llmlens_stage_spans s JOIN llmlens_openai o USING (line);

CREATE OR REPLACE TEMP TABLE llmlens_stage_messages AS
WITH inputs AS (
    SELECT s.n, 'input' AS side, CAST(i - 1 AS INTEGER) AS position,
           from_json(o.request->'messages', '["JSON"]')[i] AS m, NULL::VARCHAR AS finish_reason
    FROM llmlens_stage_spans s JOIN llmlens_openai o USING (line),
         LATERAL (SELECT unnest(range(1, CAST(json_array_length(o.request->'messages') AS BIGINT) + 1)) AS i)
    WHERE json_type(o.request->'messages') = 'ARRAY'
), outputs AS (
    SELECT s.n, 'output' AS side, CAST(i - 1 AS INTEGER) AS position,
           coalesce(json_extract(c, '$.message'),
                    json_object('role', 'assistant', 'content', json_extract_string(c, '$.text'))) AS m,
           json_extract_string(c, '$.finish_reason') AS finish_reason
    FROM (SELECT s.n, from_json(o.response->'choices', '["JSON"]') AS choices
          FROM llmlens_stage_spans s JOIN llmlens_openai o USING (line)) s,
         LATERAL (SELECT unnest(range(1, CAST(len(choices) AS BIGINT) + 1)) AS i, choices[i] AS c)
)
SELECT n, side, position, m->>'role' AS role, m->>'name' AS name,
       CASE WHEN json_type(m->'content') = 'ARRAY'
            THEN array_to_string(list_transform(
                     list_filter(from_json(m->'content', '["JSON"]'),
                                 lambda p: json_extract_string(p, '$.type') = 'text'),
                     lambda p: json_extract_string(p, '$.text')), '')
            ELSE coalesce(m->>'content', m->>'refusal') END AS content,
       to_json(list_concat(
           CASE WHEN json_type(m->'content') = 'ARRAY' THEN from_json(m->'content', '["JSON"]')
                WHEN m->>'content' IS NOT NULL THEN [to_json({'type': 'text', 'content': m->>'content'})]
                ELSE [] END,
           list_transform(from_json(coalesce(m->'tool_calls', '[]'), '["JSON"]'),
               lambda t: to_json({'type': 'tool_call', 'id': json_extract_string(t, '$.id'),
                                  'name': json_extract_string(t, '$.function.name'),
                                  'arguments': json_extract_string(t, '$.function.arguments')})))) AS parts,
       finish_reason
FROM (SELECT * FROM inputs UNION ALL SELECT * FROM outputs);
"""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage spans, messages and tokens from the registered ``llmlens_records``; bad records go to ``rejects``."""
    run_script(con, STAGE, {"source_id": source_id})
    run_script(con, logprobs.TOKENS)
