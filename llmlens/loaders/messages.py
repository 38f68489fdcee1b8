"""SQL macros reading one chat message in the OpenAI shape (``{role, content, tool_calls}``) into message rows.

``content`` may be a string or a list of parts (``text``, ``input_text``, ``output_text`` and others, which are
kept as they are); ``tool_calls`` become ``tool_call`` parts. Loaders of OpenAI logs and of GenAI span events
share them.
"""

from __future__ import annotations

MACROS = r"""
CREATE OR REPLACE TEMP MACRO llmlens_message_content(m) AS CASE
    WHEN json_type(json_extract(m, '$.content')) = 'ARRAY' THEN array_to_string(list_transform(
        list_filter(from_json(json_extract(m, '$.content'), '["JSON"]'),
                    lambda p: json_extract_string(p, '$.type') IN ('text', 'input_text', 'output_text')),
        lambda p: json_extract_string(p, '$.text')), '')
    ELSE coalesce(json_extract_string(m, '$.content'), json_extract_string(m, '$.refusal')) END;
CREATE OR REPLACE TEMP MACRO llmlens_message_parts(m) AS to_json(list_concat(
    CASE WHEN json_type(json_extract(m, '$.content')) = 'ARRAY' THEN from_json(json_extract(m, '$.content'), '["JSON"]')
         WHEN json_extract_string(m, '$.content') IS NOT NULL
             THEN [to_json({'type': 'text', 'content': json_extract_string(m, '$.content')})]
         ELSE [] END,
    list_transform(from_json(coalesce(json_extract(m, '$.tool_calls'), '[]'), '["JSON"]'),
        lambda t: to_json({'type': 'tool_call', 'id': json_extract_string(t, '$.id'),
                           'name': json_extract_string(t, '$.function.name'),
                           'arguments': json_extract_string(t, '$.function.arguments')}))));
"""
"""``llmlens_message_content(m)`` (the text) and ``llmlens_message_parts(m)`` (the parts as JSON)."""
