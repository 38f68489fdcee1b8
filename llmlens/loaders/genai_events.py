"""Messages carried by OpenTelemetry GenAI span events, for spans whose attributes hold none.

Older instrumentations put the conversation into span events rather than attributes:

- ``gen_ai.system.message``, ``gen_ai.user.message``, ``gen_ai.assistant.message``, ``gen_ai.tool.message``
  (one input message each, in event order) and ``gen_ai.choice`` (one output message per ``index``), with the
  body in ``gen_ai.event.content`` / ``event.body`` / ``body`` as JSON, or as flat ``content``, ``role``,
  ``tool_calls``, ``message``, ``index`` and ``finish_reason`` attributes;
- ``gen_ai.content.prompt`` / ``gen_ai.content.completion`` with ``gen_ai.prompt`` / ``gen_ai.completion``
  (a JSON list of messages, or plain text);
- ``gen_ai.client.inference.operation.details`` with ``gen_ai.input.messages`` / ``gen_ai.output.messages``
  (the current parts format).

Runs after the OTLP staging and adds rows to ``llmlens_stage_messages``. The same events arrive as OTLP log
records from OpenTelemetry's own instrumentations; :mod:`llmlens.loaders.otlp_logs` reads them with the same SQL.
"""

from __future__ import annotations

from llmlens.loaders import messages

MACROS = (
    messages.MACROS
    + r"""
CREATE OR REPLACE TEMP MACRO llmlens_event_text(attrs, name) AS
    list_filter(attrs, lambda a: a.key = name)[-1].value->>'$';
CREATE OR REPLACE TEMP MACRO llmlens_event_json(attrs, name) AS
    coalesce(TRY_CAST(llmlens_event_text(attrs, name) AS JSON), list_filter(attrs, lambda a: a.key = name)[-1].value);
"""
)
"""Macros reading one event's attributes (a list of ``{key, value JSON}``) and messages."""

EVENTS_FROM_SPANS = r"""
CREATE OR REPLACE TEMP TABLE llmlens_genai_events AS
SELECT n, CAST(i AS INTEGER) AS i, json_extract_string(e, '$.name') AS name,
       list_transform(from_json(coalesce(json_extract(e, '$.attributes'), '[]'), '["JSON"]'),
           lambda a: {'key': json_extract_string(a, '$.key'),
                      'value': llmlens_anyvalue(json_extract(a, '$.value'))}) AS attrs
FROM (
    SELECT n, unnest(from_json(events, '["JSON"]')) AS e, generate_subscripts(from_json(events, '["JSON"]'), 1) AS i
    FROM llmlens_stage_spans
    WHERE events IS NOT NULL AND CAST(events AS VARCHAR) LIKE '%"gen\_ai.%' ESCAPE '\'
      AND n NOT IN (SELECT n FROM llmlens_stage_messages)
)
WHERE json_extract_string(e, '$.name') LIKE 'gen\_ai.%' ESCAPE '\';
"""
"""The GenAI events of staged spans without messages from attributes: ``llmlens_genai_events(n, i, name, attrs)``."""

EVENT_MESSAGES = r"""
CREATE OR REPLACE TEMP TABLE llmlens_event_messages AS
WITH bodies AS (
    SELECT n, i, name, coalesce(
        CASE WHEN json_type(llmlens_event_json(attrs, 'gen_ai.event.content')) = 'OBJECT'
             THEN llmlens_event_json(attrs, 'gen_ai.event.content') END,
        CASE WHEN json_type(llmlens_event_json(attrs, 'event.body')) = 'OBJECT'
             THEN llmlens_event_json(attrs, 'event.body') END,
        CASE WHEN json_type(llmlens_event_json(attrs, 'body')) = 'OBJECT' THEN llmlens_event_json(attrs, 'body') END,
        json_object('content', llmlens_event_json(attrs, 'content'), 'role', llmlens_event_text(attrs, 'role'),
                    'tool_calls', llmlens_event_json(attrs, 'tool_calls'),
                    'message', llmlens_event_json(attrs, 'message'), 'index', llmlens_event_text(attrs, 'index'),
                    'finish_reason', llmlens_event_text(attrs, 'finish_reason'))) AS body
    FROM llmlens_genai_events
    WHERE name IN ('gen_ai.system.message', 'gen_ai.user.message', 'gen_ai.assistant.message',
                   'gen_ai.tool.message', 'gen_ai.choice')
), one_each AS (
    SELECT n, i, name = 'gen_ai.choice' AS is_choice, body->>'index' AS choice_index,
           CASE WHEN name = 'gen_ai.choice' AND json_type(body->'message') = 'OBJECT' THEN body->'message'
                ELSE body END AS m,
           coalesce(body->>'role', body->'message'->>'role',
                    CASE WHEN name = 'gen_ai.choice' THEN 'assistant'
                         ELSE regexp_extract(name, '^gen_ai\.(\w+)\.message$', 1) END) AS role,
           body->>'finish_reason' AS finish_reason
    FROM bodies
), lists AS (
    SELECT n, i, CASE WHEN name = 'gen_ai.content.completion' OR key = 'gen_ai.output.messages' THEN 'output'
                      ELSE 'input' END AS side,
           key, llmlens_event_json(attrs, key) AS value
    FROM llmlens_genai_events, (VALUES ('gen_ai.prompt'), ('gen_ai.completion'), ('gen_ai.input.messages'),
                                       ('gen_ai.output.messages')) AS k(key)
    WHERE name IN ('gen_ai.content.prompt', 'gen_ai.content.completion', 'gen_ai.client.inference.operation.details')
      AND llmlens_event_text(attrs, key) IS NOT NULL
)
SELECT n, CASE WHEN is_choice THEN 'output' ELSE 'input' END AS side,
       CAST(CASE WHEN is_choice THEN coalesce(TRY_CAST(choice_index AS INTEGER),
                                              row_number() OVER (PARTITION BY n, is_choice ORDER BY i) - 1)
                 ELSE row_number() OVER (PARTITION BY n, is_choice ORDER BY i) - 1 END AS INTEGER) AS position,
       role, m->>'name' AS name, llmlens_message_content(m) AS content, llmlens_message_parts(m) AS parts,
       finish_reason
FROM one_each
UNION ALL
SELECT n, side, CAST(row_number() OVER (PARTITION BY n, side ORDER BY i, j) - 1 AS INTEGER), m->>'role', m->>'name',
       CASE WHEN json_type(m->'parts') = 'ARRAY'
            THEN (SELECT string_agg(p->>'content', '') FROM unnest(from_json(m->'parts', '["JSON"]')) AS u(p)
                  WHERE p->>'type' = 'text')
            ELSE llmlens_message_content(m) END,
       CASE WHEN json_type(m->'parts') = 'ARRAY' THEN m->'parts' ELSE llmlens_message_parts(m) END,
       m->>'finish_reason'
FROM (
    SELECT n, i, side, unnest(from_json(value, '["JSON"]')) AS m,
           generate_subscripts(from_json(value, '["JSON"]'), 1) AS j
    FROM lists WHERE json_type(value) = 'ARRAY'
    UNION ALL
    SELECT n, i, side, json_object('role', CASE side WHEN 'output' THEN 'assistant' ELSE 'user' END,
                                   'content', value->>'$'), 1
    FROM lists WHERE json_type(value) IS DISTINCT FROM 'ARRAY'
);
"""
"""Messages of the events in ``llmlens_genai_events``, as ``llmlens_event_messages(n, side, position, ...)``: the
span events of staged spans, or the log records of stored ones (:mod:`llmlens.loaders.otlp_logs`)."""

MESSAGES = (
    MACROS
    + EVENTS_FROM_SPANS
    + EVENT_MESSAGES
    + "INSERT INTO llmlens_stage_messages BY NAME SELECT * FROM llmlens_event_messages;"
)
"""SQL adding messages from GenAI span events to ``llmlens_stage_messages``."""
