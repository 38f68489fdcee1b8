"""OTLP/protobuf trace files: one ``ExportTraceServiceRequest``, or a stream of them each prefixed by its size.

Collectors write these. Each message is mapped to protobuf's JSON form and goes through the OTLP/JSON pipeline
(base64 ids and int64-as-string are what that pipeline already reads).
"""

from __future__ import annotations

import struct

from llmlens.loaders.files import Records, records_table

NAME = "otlp-proto"

_SIZE = struct.Struct(">I")


def messages(data: bytes) -> list[tuple[int, bytes]] | None:
    """The serialized requests in ``data`` with their byte offsets: the whole file, or 4-byte big-endian
    size-prefixed messages; None when neither reads as trace data.

    >>> messages(b"not protobuf at all") is None
    True
    """
    if _is_trace_request(data):
        return [(0, data)]
    found, offset = [], 0
    while offset + _SIZE.size <= len(data):
        (size,) = _SIZE.unpack_from(data, offset)
        body = data[offset + _SIZE.size : offset + _SIZE.size + size]
        if len(body) != size or not _is_trace_request(body):
            return None
        found.append((offset, body))
        offset += _SIZE.size + size
    return found if found and offset == len(data) else None


def looks_like(data: bytes) -> bool:
    """True when ``data`` parses as OTLP trace requests whose spans carry 16-byte trace and 8-byte span ids."""
    return bool(data) and not _is_text(data[:4096]) and messages(data) is not None


def read(data: bytes) -> Records:
    """Each message becomes one OTLP/JSON record; a file that does not parse is one rejected record."""
    from google.protobuf.json_format import MessageToJson

    found = messages(data)
    if found is None:
        return Records(records_table([], [], []), [(1, 0, data, "not an OTLP ExportTraceServiceRequest (protobuf)")])
    texts = [MessageToJson(_parse(body), indent=None) for _, body in found]
    offsets = [offset for offset, _ in found]
    return Records(records_table(list(range(1, len(texts) + 1)), offsets, texts), [])


def _parse(body: bytes) -> object:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    return ExportTraceServiceRequest.FromString(body)


def _is_trace_request(body: bytes) -> bool:
    from google.protobuf.message import DecodeError

    try:
        request = _parse(body)
    except (DecodeError, ValueError):
        return False
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]  # type: ignore[attr-defined]
    return bool(spans) and all(len(s.trace_id) == 16 and len(s.span_id) == 8 for s in spans)


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return head.lstrip()[:1] in (b"{", b"[")
