"""Messages from Vercel AI SDK spans (``ai.*`` attributes), for spans whose attributes hold no other messages.

Input: ``ai.prompt.messages`` (the provider call's messages) or ``ai.prompt`` (``{system, prompt, messages}`` of the
outer ``ai.generateText``/``ai.streamText`` span). Output: ``ai.response.text`` or ``ai.response.object`` with
``ai.response.toolCalls`` and ``ai.response.finishReason``. Content parts ``tool-call``/``tool-result`` become
``tool_call``/``tool_call_response`` parts. Runs after the OTLP staging.
"""

from __future__ import annotations

from llmlens.loaders import messages

MESSAGES = (
    messages.MACROS
    + r"""
CREATE OR REPLACE TEMP MACRO llmlens_vercel_part(p) AS CASE json_extract_string(p, '$.type')
    WHEN 'tool-call' THEN to_json({'type': 'tool_call', 'id': json_extract_string(p, '$.toolCallId'),
                                   'name': json_extract_string(p, '$.toolName'),
                                   'arguments': CAST(coalesce(json_extract(p, '$.input'), json_extract(p, '$.args'))
                                                     AS VARCHAR)})
    WHEN 'tool-result' THEN to_json({'type': 'tool_call_response', 'id': json_extract_string(p, '$.toolCallId'),
                                     'name': json_extract_string(p, '$.toolName'),
                                     'response': CAST(coalesce(json_extract(p, '$.output'), json_extract(p, '$.result'))
                                                      AS VARCHAR)})
    ELSE p END;

CREATE OR REPLACE TEMP TABLE llmlens_vercel AS
SELECT n, map_from_entries(list(DISTINCT (key, value))) AS a
FROM llmlens_attrs
WHERE key IN ('ai.prompt.messages', 'ai.prompt', 'ai.response.text', 'ai.response.object', 'ai.response.toolCalls',
              'ai.response.finishReason')
  AND n NOT IN (SELECT n FROM llmlens_stage_messages)
GROUP BY n
HAVING count(DISTINCT key) = count(*);

CREATE OR REPLACE TEMP TABLE llmlens_vercel_messages AS
WITH prompts AS (
    SELECT n, coalesce(
        CASE WHEN json_type(TRY_CAST(a['ai.prompt.messages']->>'$' AS JSON)) = 'ARRAY'
             THEN TRY_CAST(a['ai.prompt.messages']->>'$' AS JSON) END,
        to_json(list_concat(
            CASE WHEN json_extract(prompt, '$.system') IS NOT NULL
                 THEN [json_object('role', 'system', 'content', json_extract(prompt, '$.system'))] ELSE [] END,
            CASE WHEN json_extract(prompt, '$.prompt') IS NOT NULL
                 THEN [json_object('role', 'user', 'content', json_extract(prompt, '$.prompt'))] ELSE [] END,
            from_json(coalesce(json_extract(prompt, '$.messages'), '[]'), '["JSON"]')))) AS list
    FROM (SELECT *, TRY_CAST(a['ai.prompt']->>'$' AS JSON) AS prompt FROM llmlens_vercel)
), inputs AS (
    SELECT n, CAST(i - 1 AS INTEGER) AS position, m
    FROM (SELECT n, unnest(from_json(list, '["JSON"]')) AS m, generate_subscripts(from_json(list, '["JSON"]'), 1) AS i
          FROM prompts WHERE json_type(list) = 'ARRAY')
)
SELECT n, 'input' AS side, position, m->>'role' AS role, NULL::VARCHAR AS name, llmlens_message_content(m) AS content,
       CASE WHEN json_type(m->'content') = 'ARRAY'
            THEN to_json(list_transform(from_json(m->'content', '["JSON"]'), lambda p: llmlens_vercel_part(p)))
            ELSE llmlens_message_parts(m) END AS parts,
       NULL::VARCHAR AS finish_reason
FROM inputs
UNION ALL
SELECT n, 'output', 0, 'assistant', NULL,
       coalesce(a['ai.response.text'], a['ai.response.object'])->>'$',
       to_json(list_concat(
           CASE WHEN coalesce(a['ai.response.text'], a['ai.response.object']) IS NOT NULL
                THEN [to_json({'type': 'text',
                               'content': coalesce(a['ai.response.text'], a['ai.response.object'])->>'$'})]
                ELSE [] END,
           list_transform(from_json(coalesce(TRY_CAST(a['ai.response.toolCalls']->>'$' AS JSON), '[]'), '["JSON"]'),
               lambda t: llmlens_vercel_part(json_merge_patch(t, '{"type": "tool-call"}'))))),
       a['ai.response.finishReason']->>'$'
FROM llmlens_vercel
WHERE coalesce(a['ai.response.text'], a['ai.response.object'], a['ai.response.toolCalls']) IS NOT NULL;

INSERT INTO llmlens_stage_messages BY NAME SELECT * FROM llmlens_vercel_messages;
"""
)
"""SQL adding messages from Vercel AI SDK ``ai.*`` attributes to ``llmlens_stage_messages``."""
