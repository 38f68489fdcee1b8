"""The Python OpenTelemetry SDK's ``ConsoleSpanExporter`` output: pretty-printed span objects one after another.

Common in notebooks. Each object is rewritten into an OTLP ``TracesData`` record (ids without ``0x``,
attributes as typed key/values, ISO times as nanoseconds) and goes through the OTLP/JSON pipeline.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from llmlens.loaders.files import Records, records_table

NAME = "otel-console"

_DECODER = json.JSONDecoder()


def read(data: bytes) -> Records:
    """Split the stream into span objects; what is not a span object is kept as a rejected record.

    >>> read(b'{"name": "a", "context": {"trace_id": "0x01", "span_id": "0x02"}}\\n{broken').rejected[0][3]
    'not a JSON object (truncated or corrupt)'
    """
    text = data.decode("utf-8", errors="surrogateescape")
    lines: list[int] = []
    offsets: list[int] = []
    texts: list[str] = []
    rejected: list[tuple[int, int, bytes, str]] = []
    position, line, byte_offset = 0, 1, 0
    while True:
        start = _skip_space(text, position)
        line += text.count("\n", position, start)
        byte_offset += _byte_length(text[position:start])
        if start >= len(text):
            break
        try:
            span, end = _DECODER.raw_decode(text, start)
        except ValueError:
            end = _next_object(text, start)
            rejected.append((line, byte_offset, text[start:end].encode("utf-8", "surrogateescape"),
                             "not a JSON object (truncated or corrupt)"))  # fmt: skip
        else:
            if isinstance(span, dict) and isinstance(span.get("context"), dict):
                lines.append(line)
                offsets.append(byte_offset)
                texts.append(json.dumps(to_otlp(span)))
            else:
                rejected.append((line, byte_offset, text[start:end].encode("utf-8", "surrogateescape"),
                                 "not a console span object: no context"))  # fmt: skip
        line += text.count("\n", start, end)
        byte_offset += _byte_length(text[start:end])
        position = end
    return Records(records_table(lines, offsets, texts), rejected)


def to_otlp(span: dict[str, Any]) -> dict[str, Any]:
    """One console span object as an OTLP ``TracesData`` document.

    >>> to_otlp({"name": "a", "context": {"trace_id": "0x01", "span_id": "0x02"}, "kind": "SpanKind.CLIENT"})[
    ...     "resourceSpans"][0]["scopeSpans"][0]["spans"][0]["kind"]
    'SpanKind.CLIENT'
    """
    context = span.get("context") or {}
    status = span.get("status") or {}
    otlp_span = {
        "traceId": _strip_0x(context.get("trace_id")),
        "spanId": _strip_0x(context.get("span_id")),
        "parentSpanId": _strip_0x(span.get("parent_id")),
        "name": span.get("name"),
        "kind": span.get("kind"),
        "startTimeUnixNano": _iso_to_ns(span.get("start_time")),
        "endTimeUnixNano": _iso_to_ns(span.get("end_time")),
        "attributes": key_values(span.get("attributes")),
        "events": [
            {
                "name": e.get("name"),
                "timeUnixNano": _iso_to_ns(e.get("timestamp")),
                "attributes": key_values(e.get("attributes")),
            }
            for e in span.get("events") or []
            if isinstance(e, dict)
        ],
        "links": [
            {
                "traceId": _strip_0x((link.get("context") or {}).get("trace_id")),
                "spanId": _strip_0x((link.get("context") or {}).get("span_id")),
                "attributes": key_values(link.get("attributes")),
            }
            for link in span.get("links") or []
            if isinstance(link, dict)
        ],
        "status": {"code": status.get("status_code"), "message": status.get("description")},
    }
    resource = {"attributes": key_values((span.get("resource") or {}).get("attributes"))}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [otlp_span]}]}]}


def key_values(attributes: object) -> list[dict[str, Any]]:
    """A flat attribute dict as OTLP key/values with typed values.

    >>> key_values({"n": 3, "ok": True})
    [{'key': 'n', 'value': {'intValue': '3'}}, {'key': 'ok', 'value': {'boolValue': True}}]
    """
    if not isinstance(attributes, dict):
        return []
    return [{"key": str(key), "value": _any_value(value)} for key, value in attributes.items()]


def _any_value(value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [_any_value(item) for item in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": key_values(value)}}
    return {"stringValue": "" if value is None else str(value)}


def _strip_0x(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value[2:] if value[:2].lower() == "0x" else value


def _iso_to_ns(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return str((delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _next_object(text: str, start: int) -> int:
    """Where the next object starts: the next line that begins with ``{``, or the end."""
    found = text.find("\n{", start + 1)
    return len(text) if found == -1 else found + 1


def _byte_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))
