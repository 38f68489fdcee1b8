"""The data behind the token viewer, as plain functions over the store: tokens and their alternatives as Arrow
tables (sent to the browser as Arrow IPC bytes), and the messages around them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from llmlens.errors import LensError

TOKEN_SCHEMA = pa.schema(
    [
        ("side", pa.string()),
        ("choice", pa.int32()),
        ("token", pa.string()),
        ("bytes", pa.binary()),
        ("logprob", pa.float32()),
        ("alt_start", pa.int32()),
        ("alt_end", pa.int32()),
    ]
)
"""One row per token, input side first, then by choice and position; ``alt_start:alt_end`` index the
alternatives. ``bytes`` is the truth; ``token`` is sent only when bytes are unknown. Unknown logprobs are NaN (a
typed array has no nulls)."""

ALTERNATIVE_SCHEMA = pa.schema([("token", pa.string()), ("bytes", pa.binary()), ("logprob", pa.float32())])

NO_TOKENS = (
    "No token data: this span carries no logprobs (the provider returns none, as Anthropic does, or the call did "
    "not ask for them). Its text is shown instead."
)


@dataclass
class TokenData:
    """What the token viewer shows for one span."""

    tokens: pa.Table
    alternatives: pa.Table
    messages: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""

    @property
    def count(self) -> int:
        return int(self.tokens.num_rows)


_TOKENS = """
WITH t AS (
    SELECT row_number() OVER (ORDER BY side <> 'input', choice, position) AS k, side, choice, token, bytes,
           coalesce(logprob, 'NaN')::FLOAT AS logprob, coalesce(alternatives, []) AS alternatives
    FROM tokens WHERE trace_id = $trace_id AND span_id = $span_id
)
SELECT side, choice, CASE WHEN bytes IS NULL THEN token END AS token, bytes, logprob,
       CAST(coalesce(sum(len(alternatives)) OVER (ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
            AS INTEGER) AS alt_start,
       CAST(sum(len(alternatives)) OVER (ORDER BY k ROWS UNBOUNDED PRECEDING) AS INTEGER) AS alt_end
FROM t ORDER BY k
"""

_ALTERNATIVES = """
SELECT CASE WHEN a.bytes IS NULL THEN a.token END AS token, a.bytes, coalesce(a.logprob, 'NaN')::FLOAT AS logprob
FROM (
    SELECT row_number() OVER (ORDER BY side <> 'input', choice, position) AS k,
           unnest(alternatives) AS a, generate_subscripts(alternatives, 1) AS i
    FROM tokens WHERE trace_id = $trace_id AND span_id = $span_id AND alternatives IS NOT NULL
)
ORDER BY k, i
"""


def find_span(con: duckdb.DuckDBPyConnection, span_id: str, trace_id: str | None = None) -> tuple[str, str]:
    """(trace_id, span_id) of the span, from its id (a prefix of 6 or more hex digits is enough when unique).

    >>> import llmlens
    >>> with llmlens.open(":memory:") as lens:
    ...     find_span(lens.con, "nope")
    Traceback (most recent call last):
    llmlens.errors.LensError: no span 'nope' in the store
    """
    rows = con.execute(
        "SELECT DISTINCT trace_id, span_id FROM ("
        "  SELECT trace_id, span_id FROM spans UNION ALL SELECT trace_id, span_id FROM tokens) "
        "WHERE (span_id = $id OR (length($id) >= 6 AND starts_with(span_id, lower($id)))) "
        "  AND ($trace IS NULL OR trace_id = $trace) LIMIT 6",
        {"id": span_id, "trace": trace_id},
    ).fetchall()
    if not rows:
        raise LensError(f"no span {span_id!r} in the store")
    if len(rows) > 1:
        shown = ", ".join(f"{t}/{s}" for t, s in rows[:5])
        raise LensError(f"span id {span_id!r} matches several spans ({shown}); pass trace_id=... or a longer id")
    return str(rows[0][0]), str(rows[0][1])


def span_tokens(con: duckdb.DuckDBPyConnection, span_id: str, trace_id: str | None = None) -> TokenData:
    """Tokens, alternatives, messages and a title for one span of the store.

    >>> import llmlens, json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "calls.jsonl"
    >>> _ = path.write_text(json.dumps({"object": "chat.completion", "id": "c1", "model": "m", "choices": [
    ...     {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "logprobs": {"content": [
    ...     {"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}]}}]}))
    >>> with llmlens.open(":memory:") as lens:
    ...     _ = lens.load(path, progress=False)
    ...     span = lens.sql("SELECT span_id FROM tokens").span_id[0]
    ...     data = span_tokens(lens.con, span)
    ...     data.count, data.tokens.schema == TOKEN_SCHEMA
    (1, True)
    """
    trace, span = find_span(con, span_id, trace_id)
    ids = {"trace_id": trace, "span_id": span}
    tokens = con.sql(_TOKENS, params=ids).to_arrow_table().cast(TOKEN_SCHEMA)
    alternatives = con.sql(_ALTERNATIVES, params=ids).to_arrow_table().cast(ALTERNATIVE_SCHEMA)
    messages = [
        {"side": side, "position": position, "role": role, "content": content}
        for side, position, role, content in con.execute(
            "SELECT side, position, role, content FROM messages WHERE trace_id = $trace_id AND span_id = $span_id "
            "ORDER BY side <> 'input', position",
            ids,
        ).fetchall()
    ]
    named = con.execute(
        "SELECT name, model FROM spans WHERE trace_id = $trace_id AND span_id = $span_id", ids
    ).fetchall()
    name, model = named[0] if named else (span, None)
    title = name if not model or model in name else f"{name} · {model}"
    return TokenData(tokens, alternatives, messages, title)


def response_tokens(response: Any) -> TokenData:
    """Tokens of one OpenAI response in hand: a chat completion, legacy completion or Responses API object (the
    openai package's types, or their dicts), read by the same loader as OpenAI log files.

    >>> data = response_tokens({"object": "chat.completion", "model": "m", "choices": [{"index": 0,
    ...     "message": {"role": "assistant", "content": "Hi"}, "logprobs": {"content": [
    ...     {"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}]}}]})
    >>> data.count, data.tokens["bytes"].to_pylist()
    (1, [b'Hi'])
    """
    import llmlens
    from llmlens.loaders import Source, load_records, openai_log

    text = _json_text(response)
    with llmlens.open(":memory:") as lens:
        records = openai_log.read(text.encode("utf-8"))
        report = load_records(lens.con, Source("<response>", openai_log.NAME, "", len(text)), records)
        if report.rejected and not report.rows_added.get("spans"):
            raise LensError(f"not an OpenAI response: {report.reasons[0] if report.reasons else 'unreadable'}")
        (span,) = lens.con.execute("SELECT span_id FROM spans LIMIT 1").fetchall()[0]
        return span_tokens(lens.con, str(span))


def _json_text(response: Any) -> str:
    if isinstance(response, str | bytes):
        return response.decode("utf-8") if isinstance(response, bytes) else response
    if hasattr(response, "model_dump_json"):
        return str(response.model_dump_json())
    return json.dumps(response)


def ipc_bytes(table: pa.Table) -> bytes:
    """``table`` as Arrow IPC stream bytes (what the widgets decode in the browser)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())
