"""OTLP/protobuf files: one ``ExportTraceServiceRequest`` or ``ExportLogsServiceRequest``, or a stream of them
each prefixed by its size.

Collectors write these. Each message is mapped to protobuf's JSON form and goes through the OTLP/JSON pipeline
(base64 ids and int64-as-string are what that pipeline already reads).
"""

from __future__ import annotations

import contextlib
import struct
from typing import TYPE_CHECKING

from llmlens.loaders.files import Records, records_table

if TYPE_CHECKING:
    from google.protobuf.message import Message

NAME = "otlp-proto"

_SIZE = struct.Struct(">I")


def messages(data: bytes) -> list[tuple[int, Message]] | None:
    """The requests in ``data`` with their byte offsets: the whole file, or 4-byte big-endian size-prefixed
    messages; None when neither reads as trace or log data.

    >>> messages(b"not protobuf at all") is None
    True
    """
    whole = request(data)
    if whole is not None:
        return [(0, whole)]
    found, offset = [], 0
    while offset + _SIZE.size <= len(data):
        (size,) = _SIZE.unpack_from(data, offset)
        body = data[offset + _SIZE.size : offset + _SIZE.size + size]
        parsed = request(body) if len(body) == size else None
        if parsed is None:
            return None
        found.append((offset, parsed))
        offset += _SIZE.size + size
    return found if found and offset == len(data) else None


MAX_BYTES = 1024**3
"""Protobuf files above this size are not tried as OTLP unless ``format=`` says so (a folder of run logs may hold
checkpoints of many GB, and telling protobuf apart takes parsing the whole file)."""


def could_be(head: bytes, size: int) -> bool:
    """Whether a file starting with ``head`` is worth parsing as OTLP protobuf: not text, not too large, and
    starting with the request's first field (tag 0x0a), or with a 4-byte size and then that field.

    >>> could_be(b"\\x0a\\x05", 7), could_be(b"{\\"a\\": 1}", 8), could_be(b"\\x00\\x00\\x00\\x05\\x0a", 9)
    (True, False, True)
    """
    if not head or size > MAX_BYTES or _is_text(head[:4096]):
        return False
    return head[0] == 0x0A or (len(head) > 4 and head[4] == 0x0A)


def looks_like(data: bytes) -> bool:
    """True when ``data`` parses as OTLP trace or log requests (see :func:`request`)."""
    return bool(data) and not _is_text(data[:4096]) and messages(data) is not None


def read(data: bytes) -> Records:
    """Each message becomes one OTLP/JSON record; a file that does not parse is one rejected record."""
    from google.protobuf.json_format import MessageToJson

    found = messages(data)
    if found is None:
        reason = "not an OTLP ExportTraceServiceRequest or ExportLogsServiceRequest (protobuf)"
        return Records(records_table([], [], []), [(1, 0, data, reason)])
    texts = [MessageToJson(message, indent=None) for _, message in found]
    offsets = [offset for offset, _ in found]
    return Records(records_table(list(range(1, len(texts) + 1)), offsets, texts), [])


def request(body: bytes) -> Message | None:
    """``body`` parsed as a trace export whose spans carry 16-byte trace and 8-byte span ids, or else as a logs
    export whose records carry such ids or none; None when it is neither."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    with contextlib.suppress(DecodeError, ValueError):
        traces = ExportTraceServiceRequest.FromString(body)
        spans = [span for rs in traces.resource_spans for ss in rs.scope_spans for span in ss.spans]
        if spans and all(len(s.trace_id) == 16 and len(s.span_id) == 8 for s in spans):
            return traces
    try:
        logs = ExportLogsServiceRequest.FromString(body)
    except (DecodeError, ValueError):
        return None
    records = [record for rl in logs.resource_logs for sl in rl.scope_logs for record in sl.log_records]
    readable = all(len(r.trace_id) in (0, 16) and len(r.span_id) in (0, 8) for r in records)
    return logs if records and readable else None


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return head.lstrip()[:1] in (b"{", b"[")
