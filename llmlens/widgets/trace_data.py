"""The data behind the trace view, as plain functions over the store: one trace's spans in tree order (Arrow, for
the browser), its summary, and the detail of one span (messages, documents, attributes, events, tokens) with long
values cut to a preview that can be asked for in full."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from llmlens.analysis.trace_tree import span_tree
from llmlens.errors import LensError
from llmlens.widgets.token_data import span_tokens

SPAN_CAP = 200_000
"""Most spans of one trace sent to the browser (the first ones in tree order); the rest are counted."""

CUT = 2_000
"""Longest text (characters) or list (items) sent whole in a span's detail; longer ones are cut to a preview."""

LIST_PREVIEW = 20

SPAN_SCHEMA = pa.schema(
    [
        ("span_id", pa.string()),
        ("parent", pa.int32()),
        ("depth", pa.int32()),
        ("end", pa.int32()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("start_ms", pa.float64()),
        ("duration_ms", pa.float64()),
        ("status", pa.string()),
        ("model", pa.string()),
        ("tokens", pa.float64()),
        ("cost_usd", pa.float64()),
        ("agent", pa.string()),
        ("critical", pa.bool_()),
        ("orphan", pa.bool_()),
        ("has_tokens", pa.bool_()),
    ]
)
"""One row per span in depth-first order (children by start): ``parent`` is the parent's row (-1 for a root),
``[row, end)`` the span's subtree, ``start_ms`` the offset from the trace's start; unknown numbers are NaN."""

_SPANS = """
SELECT span_id, parent_span_id, name, kind,
       epoch_us(start_time)::DOUBLE AS start_us, epoch_us(end_time)::DOUBLE AS end_us,
       status_code AS status, model,
       coalesce(total_tokens, input_tokens + output_tokens, input_tokens, output_tokens)::DOUBLE AS tokens,
       cost_usd, agent_name AS agent,
       span_id IN (SELECT DISTINCT span_id FROM tokens WHERE trace_id = $trace) AS has_tokens
FROM spans WHERE trace_id = $trace
"""


def find_trace(con: duckdb.DuckDBPyConnection, trace_id: str) -> str:
    """The id of the trace named by ``trace_id`` (a unique prefix of 6 or more characters is enough).

    >>> import llmlens
    >>> with llmlens.open(":memory:") as lens:
    ...     find_trace(lens.con, "nope")
    Traceback (most recent call last):
    llmlens.errors.LensError: no trace 'nope' in the store
    """
    rows = con.execute(
        "SELECT trace_id FROM traces WHERE trace_id = $id "
        "UNION SELECT trace_id FROM (SELECT trace_id FROM traces "
        "  WHERE length($id) >= 6 AND starts_with(trace_id, lower($id)) LIMIT 6) ORDER BY trace_id",
        {"id": trace_id},
    ).fetchall()
    exact = [row for row in rows if row[0] == trace_id]
    if exact or len(rows) == 1:
        return str((exact or rows)[0][0])
    if not rows:
        raise LensError(f"no trace {trace_id!r} in the store")
    shown = ", ".join(str(row[0]) for row in rows[:5])
    raise LensError(f"trace id {trace_id!r} matches several traces ({shown}); give more of it")


def trace_spans(con: duckdb.DuckDBPyConnection, trace_id: str, cap: int = SPAN_CAP) -> tuple[pa.Table, int]:
    """The spans of one trace in tree order (:data:`SPAN_SCHEMA`), at most ``cap`` of them, and how many it has.

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> trace = lens.sql("SELECT trace_id FROM traces ORDER BY n_spans DESC LIMIT 1").trace_id[0]
    >>> spans, total = trace_spans(lens.con, trace)
    >>> spans.num_rows == total, spans["parent"][0].as_py(), spans["depth"][0].as_py()
    (True, -1, 0)
    """
    rows = con.sql(_SPANS, params={"trace": trace_id}).to_arrow_table()
    total = rows.num_rows
    starts = rows["start_us"].to_numpy(zero_copy_only=False).astype(np.float64)
    ends = rows["end_us"].to_numpy(zero_copy_only=False).astype(np.float64)
    tree = span_tree(rows["span_id"].to_pylist(), rows["parent_span_id"].to_pylist(), starts, ends)
    keep = min(cap, total)
    order = tree.order[:keep]
    picked = rows.take(pa.array(order))
    origin = np.nanmin(starts) if total and not np.isnan(starts).all() else 0.0
    columns = {
        "span_id": picked["span_id"],
        "parent": pa.array(np.where(tree.parent[:keep] < keep, tree.parent[:keep], -1), pa.int32()),
        "depth": pa.array(tree.depth[:keep], pa.int32()),
        "end": pa.array(np.minimum(tree.end[:keep], keep), pa.int32()),
        "name": picked["name"],
        "kind": picked["kind"],
        "start_ms": pa.array((starts[order] - origin) / 1000.0, pa.float64()),
        "duration_ms": pa.array((ends[order] - starts[order]) / 1000.0, pa.float64()),
        "status": picked["status"],
        "model": picked["model"],
        "tokens": _floats(picked["tokens"]),
        "cost_usd": _floats(picked["cost_usd"]),
        "agent": picked["agent"],
        "critical": pa.array(tree.critical[:keep], pa.bool_()),
        "orphan": pa.array(tree.orphan[:keep], pa.bool_()),
        "has_tokens": picked["has_tokens"].fill_null(False),
    }
    return pa.table(columns, schema=SPAN_SCHEMA), total


def _floats(column: pa.ChunkedArray) -> pa.Array:
    """A numeric column as float64 with NaN for nulls (a typed array has no nulls)."""
    return pa.array(column.to_numpy(zero_copy_only=False).astype(np.float64), pa.float64())


_META = """
SELECT trace_id, root_name, strftime(start_time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS start_time,
       duration_ms, n_spans, n_errors, input_tokens, output_tokens, cost_usd, session_id, user_id
FROM traces WHERE trace_id = $trace
"""


def trace_meta(con: duckdb.DuckDBPyConnection, trace_id: str, shown: int) -> dict[str, Any]:
    """The trace's summary row as a plain dict, with ``shown`` (spans sent) and ``truncated``.

    >>> import llmlens
    >>> with llmlens.open(":memory:") as lens:
    ...     trace_meta(lens.con, "none", 0)["n_spans"]
    0
    """
    frame = con.sql(_META, params={"trace": trace_id}).fetchall()
    names = ["trace_id", "root_name", "start_time", "duration_ms", "n_spans", "n_errors", "input_tokens"]
    names += ["output_tokens", "cost_usd", "session_id", "user_id"]
    row = dict(zip(names, frame[0], strict=True)) if frame else {"trace_id": trace_id, "n_spans": 0}
    meta = {name: _plain(row.get(name)) for name in names}
    meta["n_spans"] = int(meta["n_spans"] or 0)
    meta.update(shown=shown, truncated=shown < meta["n_spans"])
    return meta


def _plain(value: Any) -> Any:
    """A value JSON can carry: NaN and infinities become None."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


_OF_SPANS = "trace_id = $trace AND span_id IN (SELECT unnest($spans))"

_DETAIL = f"""
SELECT span_id, trace_id, name, kind, status_code, status_message, model, provider,
       strftime(start_time AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS start_time, duration_ms,
       input_tokens, output_tokens, cost_usd, agent_name AS agent, input_text, output_text,
       CAST(attributes AS VARCHAR) AS attributes, CAST(events AS VARCHAR) AS events
FROM spans WHERE {_OF_SPANS}
"""

_MESSAGES = f"""
SELECT span_id, side, position, role, name, content, CAST(parts AS VARCHAR) AS parts, finish_reason
FROM messages WHERE {_OF_SPANS} ORDER BY span_id, side <> 'input', position
"""

_DOCUMENTS = f"""
SELECT span_id, position, document_id, content, score, CAST(metadata AS VARCHAR) AS metadata
FROM documents WHERE {_OF_SPANS} ORDER BY span_id, position
"""

_WITH_TOKENS = f"SELECT DISTINCT span_id FROM tokens WHERE {_OF_SPANS}"


def span_detail(con: duckdb.DuckDBPyConnection, trace_id: str, span_id: str, cut: int = CUT) -> dict[str, Any]:
    """Everything shown for one span: its columns, messages (with tool calls), documents, attributes and events,
    texts and lists longer than ``cut`` replaced by ``{"__cut__": True, "preview": ..., "length": n}`` (the full
    value is :func:`attribute_value`), and a summary of its tokens (None when it has none).

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> trace, span = lens.sql("SELECT trace_id, span_id FROM spans WHERE kind = 'RETRIEVER' LIMIT 1").iloc[0]
    >>> detail = span_detail(lens.con, trace, span)
    >>> detail["kind"], len(detail["documents"]) > 0, detail["tokens"]
    ('RETRIEVER', True, None)
    """
    details = span_details(con, trace_id, [span_id], cut)
    if span_id not in details:
        raise LensError(f"no span {span_id!r} in trace {trace_id!r}")
    return details[span_id]


def span_details(
    con: duckdb.DuckDBPyConnection, trace_id: str, span_ids: Sequence[str], cut: int = CUT
) -> dict[str, dict[str, Any]]:
    """:func:`span_detail` of many spans of one trace at once (a query per table, not per span), by span id, in
    the order of ``span_ids``; ids not in the trace are left out.

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> trace = lens.sql("SELECT trace_id FROM traces WHERE n_spans > 2 LIMIT 1").trace_id[0]
    >>> spans = lens.sql("SELECT span_id FROM spans WHERE trace_id = ? ORDER BY start_time", [trace]).span_id
    >>> details = span_details(lens.con, trace, [*spans, "nowhere"])
    >>> list(details) == list(spans), details[spans[0]] == span_detail(lens.con, trace, spans[0])
    (True, True)
    """
    ids = {"trace": trace_id, "spans": list(span_ids)}
    relation = con.sql(_DETAIL, params=ids)
    columns = relation.columns
    found = {row[0]: dict(zip(columns, row, strict=True)) for row in relation.fetchall()}
    messages: dict[str, list[dict[str, Any]]] = {}
    for span, *row in con.execute(_MESSAGES, ids).fetchall():
        messages.setdefault(span, []).append(_message(row, cut))
    documents: dict[str, list[dict[str, Any]]] = {}
    for span, position, document_id, content, score, metadata in con.execute(_DOCUMENTS, ids).fetchall():
        documents.setdefault(span, []).append(
            {
                "position": position,
                "document_id": document_id,
                "content": _cut_value(content, cut),
                "score": _plain(score),
                "metadata": _cut_tree(_json(metadata, None), cut),
            }
        )
    with_tokens = {row[0] for row in con.execute(_WITH_TOKENS, ids).fetchall()}
    details = {}
    for span in dict.fromkeys(span_ids):
        if span not in found:
            continue
        detail = found[span]
        for name in ("duration_ms", "cost_usd"):
            detail[name] = _plain(detail[name])
        attributes = _json(detail.pop("attributes"), {})
        events = _json(detail.pop("events"), [])
        detail["input_text"] = _cut_value(detail["input_text"], cut)
        detail["output_text"] = _cut_value(detail["output_text"], cut)
        detail["messages"] = messages.get(span, [])
        detail["documents"] = documents.get(span, [])
        detail["attributes"] = _cut_tree(attributes, cut)
        detail["events"] = [
            {
                "name": event.get("name") if isinstance(event, dict) else None,
                "time": event.get("time") if isinstance(event, dict) else None,
                "attributes": _cut_tree(event.get("attributes") if isinstance(event, dict) else event, cut),
            }
            for event in (events if isinstance(events, list) else [events])
        ]
        detail["cut"] = [name for name in ("input_text", "output_text") if _is_cut(detail[name])]
        detail["tokens"] = _token_summary(con, trace_id, span) if span in with_tokens else None
        details[span] = detail
    return details


def _message(row: Sequence[Any], cut: int) -> dict[str, Any]:
    side, position, role, name, content, parts, finish_reason = row
    calls = [
        {
            "id": part.get("id"),
            "name": part.get("name"),
            "arguments": _cut_value(_text(part.get("arguments")), cut),
        }
        for part in _json(parts, [])
        if isinstance(part, dict) and part.get("type") == "tool_call"
    ]
    return {
        "side": side,
        "position": position,
        "role": role,
        "name": name,
        "content": _cut_value(content, cut),
        "finish_reason": finish_reason,
        "tool_calls": calls,
    }


def _text(value: Any) -> str | None:
    """A tool call's arguments as text (JSON for structured ones)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _token_summary(con: duckdb.DuckDBPyConnection, trace_id: str, span_id: str) -> dict[str, Any]:
    """Title, note and counts of a span's tokens (the tokens travel as Arrow)."""
    data = span_tokens(con, span_id, trace_id)
    return {
        "title": data.title,
        "count": data.count,
        "alternative_count": data.alternatives.num_rows,
        "messages": data.messages,
    }


def attribute_value(con: duckdb.DuckDBPyConnection, trace_id: str, span_id: str, path: Sequence[str | int]) -> str:
    """The full text of one value of a span's detail, by its path: ``["input_text"]``, ``["output_text"]``,
    ``["attributes", "llm.input_messages", ...]``, ``["messages", 3, "content"]``, ``["messages", 2, "tool_calls", 0,
    "arguments"]`` or ``["documents", 0, "content"]``
    (structured values as JSON).

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> trace, span = lens.sql("SELECT trace_id, span_id FROM spans WHERE input_text IS NOT NULL LIMIT 1").iloc[0]
    >>> attribute_value(lens.con, trace, span, ["input_text"]) == lens.sql(
    ...     "SELECT input_text FROM spans WHERE span_id = ?", [span]).input_text[0]
    True
    """
    ids = {"trace": trace_id, "span": span_id}
    of_span = {"trace": trace_id, "spans": [span_id]}
    if not path:
        raise LensError("attribute_value needs a path, e.g. ['attributes', 'input.value']")
    head, rest = path[0], list(path[1:])
    value: Any
    if head in ("input_text", "output_text", "attributes", "events"):
        rows = con.execute(
            f"SELECT CAST({head} AS VARCHAR) FROM spans WHERE trace_id = $trace AND span_id = $span", ids
        ).fetchall()  # head is one of the four names above, never user text
        if not rows:
            raise LensError(f"no span {span_id!r} in trace {trace_id!r}")
        value = rows[0][0] if head.endswith("_text") else _json(rows[0][0], None)
    elif head == "messages":  # whole, with their tool calls (["messages", 2, "tool_calls", 0, "arguments"])
        rows = [row[1:] for row in con.execute(_MESSAGES, of_span).fetchall()]  # without the span id
        value = [_message(row, sys.maxsize) | {"parts": _json(row[5], None)} for row in rows]
    elif head == "documents":
        relation = con.sql(_DOCUMENTS, params=of_span)
        value = [dict(zip(relation.columns[1:], row[1:], strict=True)) for row in relation.fetchall()]
        for item in value:
            item["metadata"] = _json(item["metadata"], None)
    else:
        raise LensError(f"no value {head!r} in a span's detail")
    for step in rest:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            raise LensError(f"no value at {list(path)!r} in span {span_id!r}") from None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1)


def _json(text: str | None, default: Any) -> Any:
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return text


def _cut_value(value: Any, cut: int) -> Any:
    """A long string, or a long list, replaced by its preview."""
    if isinstance(value, str) and len(value) > cut:
        return {"__cut__": True, "preview": value[:cut], "length": len(value)}
    if isinstance(value, list) and len(value) > cut:
        shown = json.dumps(value[:LIST_PREVIEW], ensure_ascii=False)
        return {"__cut__": True, "preview": shown[:cut], "length": len(value)}
    return value


def _cut_tree(value: Any, cut: int) -> Any:
    """Every long string and list within ``value`` replaced by its preview."""
    value = _cut_value(value, cut)
    if isinstance(value, dict) and not value.get("__cut__"):
        return {str(key): _cut_tree(item, cut) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut_tree(item, cut) for item in value]
    return value


def _is_cut(value: Any) -> bool:
    return isinstance(value, dict) and bool(value.get("__cut__"))
