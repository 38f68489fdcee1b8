"""Token log-probabilities from raw OpenAI responses, staged as ``llmlens_stage_tokens``.

A loader first stages ``llmlens_responses(n, response JSON)``: the raw response of each LLM span ``n``.
Chat completions (``choices[].logprobs.content`` and ``.refusal``; ``choices[].prompt_logprobs`` in the same token
shape give the prompt side), legacy completions (parallel arrays) and
Responses API responses (``output[].content[].logprobs`` of ``output_text`` parts, seen as one choice) are read;
raw bytes are kept so characters split across tokens render; ``-9999`` ("outside the top 20") is NULL.
"""

from __future__ import annotations

import duckdb

from llmlens.query import holds, run_script

AS_CHAT = r"""
CREATE OR REPLACE TEMP MACRO llmlens_json_list(j) AS
    CASE WHEN json_type(j) = 'ARRAY' THEN from_json(j, '["JSON"]') ELSE []::JSON[] END;
CREATE OR REPLACE TEMP MACRO llmlens_output_texts(item) AS list_filter(
    llmlens_json_list(json_extract(item, '$.content')), lambda c: json_extract_string(c, '$.type') = 'output_text');
CREATE OR REPLACE TEMP MACRO llmlens_as_chat(r) AS CASE
    WHEN json_type(json_extract(r, '$.output')) = 'ARRAY' AND json_extract(r, '$.choices') IS NULL THEN json_object(
        'id', json_extract(r, '$.id'), 'object', 'response', 'created', json_extract(r, '$.created_at'),
        'model', json_extract(r, '$.model'),
        'status', json_extract(r, '$.status'), 'error', json_extract(r, '$.error'),
        'choices', json_array(json_object(
            'index', 0,
            'finish_reason', coalesce(json_extract_string(r, '$.incomplete_details.reason'),
                                      json_extract_string(r, '$.status')),
            'message', json_object(
                'role', 'assistant',
                'content', nullif(array_to_string(flatten(list_transform(llmlens_json_list(json_extract(r, '$.output')),
                    lambda o: list_transform(llmlens_output_texts(o), lambda c: json_extract_string(c, '$.text')))),
                    ''), ''),
                'tool_calls', to_json(list_transform(
                    list_filter(llmlens_json_list(json_extract(r, '$.output')),
                                lambda o: json_extract_string(o, '$.type') = 'function_call'),
                    lambda o: json_object('id', json_extract(o, '$.call_id'), 'type', 'function',
                                          'function', json_object('name', json_extract(o, '$.name'),
                                                                  'arguments', json_extract(o, '$.arguments')))))),
            'logprobs', json_object('content', to_json(flatten(list_transform(
                llmlens_json_list(json_extract(r, '$.output')),
                lambda o: flatten(list_transform(llmlens_output_texts(o),
                                                 lambda c: llmlens_json_list(json_extract(c, '$.logprobs')))))))))),
        'usage', json_object('prompt_tokens', json_extract(r, '$.usage.input_tokens'),
                             'completion_tokens', json_extract(r, '$.usage.output_tokens'),
                             'total_tokens', json_extract(r, '$.usage.total_tokens')))
    ELSE r END;
"""
"""``llmlens_as_chat(response)``: a Responses API response seen as a chat completion with one choice (text,
function calls as tool calls, logprobs of every ``output_text`` part in order, usage); other responses unchanged."""

TOKENS = (
    AS_CHAT
    + r"""
CREATE OR REPLACE TEMP MACRO llmlens_bytes(list_json, token) AS CASE
    WHEN json_type(list_json) <> 'ARRAY' OR list_json IS NULL THEN encode(token)
    -- a token that is whole UTF-8 text is its own bytes; only pieces of a character need the byte list
    WHEN strpos(token, chr(65533)) = 0 AND json_array_length(list_json) = octet_length(encode(token))
        THEN encode(token)
    ELSE unhex(array_to_string(
        list_transform(from_json(list_json, '["UTINYINT"]'), lambda b: printf('%02x', b)), '')) END;
CREATE OR REPLACE TEMP MACRO llmlens_logprob(value) AS
    CASE WHEN TRY_CAST(value AS DOUBLE) <= -9999 THEN NULL ELSE TRY_CAST(value AS DOUBLE) END;

CREATE OR REPLACE TEMP TABLE llmlens_chat_responses AS
SELECT n, llmlens_as_chat(response) AS response FROM llmlens_responses;

-- statements stay small: a response can be tens of MB, and each JSON function in a statement parses it again
CREATE OR REPLACE TEMP TABLE llmlens_choices AS
SELECT n, CAST(generate_subscripts(choices, 1) - 1 AS INTEGER) AS choice, unnest(choices) AS c
FROM (SELECT n, json_transform(response, '{"choices": ["JSON"]}').choices AS choices FROM llmlens_chat_responses)
WHERE choices IS NOT NULL;

CREATE OR REPLACE TEMP TABLE llmlens_stage_tokens AS
WITH parts AS (
    -- each choice's token lists, parsed once (a list can be tens of MB); minified JSON, so an array starts with [
    SELECT n, choice, json_transform(c, '{"logprobs": {"content": "JSON", "refusal": "JSON"},
                                          "prompt_logprobs": "JSON"}') AS p
    FROM llmlens_choices
), chat AS (
    SELECT n, choice, 'output' AS side, coalesce(
        CASE WHEN starts_with(CAST(p.logprobs.content AS VARCHAR), '[') THEN p.logprobs.content END,
        CASE WHEN starts_with(CAST(p.logprobs.refusal AS VARCHAR), '[') THEN p.logprobs.refusal END
    ) AS items
    FROM parts
    UNION ALL
    -- the prompt side (vLLM-style prompt logprobs in the OpenAI token shape, as Inspect records them); the prompt
    -- is the same for every choice, so the first choice's is kept
    SELECT n, choice, 'input', coalesce(
        CASE WHEN starts_with(CAST(json_extract(p.prompt_logprobs, '$.content') AS VARCHAR), '[')
             THEN json_extract(p.prompt_logprobs, '$.content') END,
        CASE WHEN starts_with(CAST(p.prompt_logprobs AS VARCHAR), '[')
                  AND json_extract(p.prompt_logprobs, '$[0].token') IS NOT NULL
             THEN p.prompt_logprobs END)
    FROM parts WHERE choice = 0 AND p.prompt_logprobs IS NOT NULL
), chat_tokens AS (
    SELECT n, choice, side, CAST(generate_subscripts(tokens, 1) - 1 AS INTEGER) AS position, unnest(tokens) AS t
    FROM (SELECT n, choice, side, from_json(items, '[{"token": "VARCHAR", "logprob": "VARCHAR", "bytes": "JSON",
              "top_logprobs": [{"token": "VARCHAR", "logprob": "VARCHAR", "bytes": "JSON"}]}]') AS tokens
          FROM chat WHERE items IS NOT NULL)
), legacy AS (
    SELECT n, choice, json_extract(c, '$.logprobs') AS l FROM llmlens_choices
    WHERE json_type(json_extract(c, '$.logprobs.tokens')) = 'ARRAY'
)
SELECT n, side, choice, position, t.token, llmlens_bytes(t.bytes, t.token) AS bytes,
       llmlens_logprob(t.logprob) AS logprob,
       list_transform(coalesce(t.top_logprobs, []), lambda a: {'token': a.token,
           'bytes': llmlens_bytes(a.bytes, a.token), 'logprob': llmlens_logprob(a.logprob)}) AS alternatives
FROM chat_tokens
UNION ALL
SELECT n, 'output', choice, CAST(i - 1 AS INTEGER),
       json_extract_string(l, '$.tokens[' || (i - 1) || ']'),
       encode(json_extract_string(l, '$.tokens[' || (i - 1) || ']')),
       llmlens_logprob(json_extract_string(l, '$.token_logprobs[' || (i - 1) || ']')),
       list_transform(list_sort(list_transform(
           json_keys(coalesce(json_extract(l, '$.top_logprobs[' || (i - 1) || ']'), '{}')),
           lambda k: {'rank': -llmlens_logprob(json_extract_string(
                          json_extract(l, '$.top_logprobs[' || (i - 1) || ']'), '$."' || replace(k, '"', '\"') || '"')),
                      'token': k})),
           lambda a: {'token': a.token, 'bytes': encode(a.token), 'logprob': -a.rank})
FROM legacy, LATERAL (SELECT unnest(range(1, CAST(json_array_length(json_extract(l, '$.tokens')) AS BIGINT) + 1)) AS i);
"""
)


def stage_tokens(con: duckdb.DuckDBPyConnection) -> None:
    """Stage ``llmlens_stage_tokens`` from the loader's ``llmlens_responses``, when it holds any (most files have
    no logprobs: planning the token statements would cost more than a small file's whole load)."""
    if holds(con, "llmlens_responses"):
        run_script(con, TOKENS)
