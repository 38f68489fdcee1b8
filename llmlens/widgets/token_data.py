"""The data behind the token viewer, as plain functions over the store: tokens and their alternatives as Arrow
tables (sent to the browser as Arrow IPC bytes), and the messages around them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

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
SELECT side, choice, CASE WHEN bytes IS NULL THEN token END AS token, bytes,
       coalesce(logprob, 'NaN')::FLOAT AS logprob,
       list_transform(coalesce(alternatives, []), lambda a: {
           'token': CASE WHEN a.bytes IS NULL THEN a.token END, 'bytes': a.bytes,
           'logprob': coalesce(a.logprob, 'NaN')::FLOAT}) AS alternatives
FROM tokens WHERE trace_id = $trace_id AND span_id = $span_id
ORDER BY side <> 'input', choice, position
"""
"""A span's tokens in display order, each with its alternatives as a list (split into two tables in Arrow)."""


def _split_alternatives(rows: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The token table with ``alt_start``/``alt_end`` in place of the alternatives list, and the alternatives
    flattened into their own table: read off the Arrow list offsets, no per-row work (and no compute kernels,
    whose first use in a session costs a quarter of a second)."""
    lists = rows["alternatives"].combine_chunks()
    offsets = lists.offsets.to_numpy() - (lists.offsets[0].as_py() if len(lists) else 0)
    tokens = rows.drop_columns(["alternatives"])
    tokens = tokens.append_column("alt_start", pa.array(offsets[:-1], pa.int32()))
    tokens = tokens.append_column("alt_end", pa.array(offsets[1:], pa.int32()))
    flat = lists.flatten()
    alternatives = pa.Table.from_batches([pa.RecordBatch.from_struct_array(flat)]) if len(flat) else None
    return _as(tokens, TOKEN_SCHEMA), _as(alternatives, ALTERNATIVE_SCHEMA)


def _as(table: pa.Table | None, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema`` (a cast only when a type differs); an empty table for None."""
    if table is None:
        return schema.empty_table()
    return table if table.schema.equals(schema) else table.cast(schema)


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
    tokens, alternatives = _split_alternatives(con.sql(_TOKENS, params=ids).to_arrow_table())
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


ALIGNMENT_SCHEMA = pa.schema(
    [
        ("op", pa.string()),
        ("a_start", pa.int32()),
        ("a_end", pa.int32()),
        ("b_start", pa.int32()),
        ("b_end", pa.int32()),
        ("a_logprob_of_b", pa.float32()),
        ("b_logprob_of_a", pa.float32()),
    ]
)
"""Opcodes aligning two completions token by token (``equal``, ``replace``, ``delete``, ``insert``; indices into
each completion's output tokens), with, where they diverge, the logprob each gave the other's token (NaN when
that token was not among its alternatives)."""


def _output(data: TokenData) -> tuple[pa.Table, pa.Table]:
    """The output tokens of choice 0, with their alternatives re-indexed from 0."""
    tokens = data.tokens
    chosen = tokens.filter(pc.and_(pc.equal(tokens["side"], "output"), pc.equal(tokens["choice"], 0)))
    if not chosen.num_rows:
        return chosen, data.alternatives.slice(0, 0)
    first, last = chosen["alt_start"][0].as_py(), chosen["alt_end"][-1].as_py()
    return _shift_alternatives(chosen, -first), data.alternatives.slice(first, last - first)


def _shift_alternatives(tokens: pa.Table, by: int) -> pa.Table:
    """``tokens`` with their ``alt_start``/``alt_end`` moved by ``by`` (alternatives sliced or concatenated)."""
    for name in ("alt_start", "alt_end"):
        moved = pc.add(tokens[name], by).cast(pa.int32())
        tokens = tokens.set_column(tokens.schema.get_field_index(name), name, moved)
    return tokens


def token_bytes(token: str | None, raw: bytes | None) -> bytes:
    """A token's bytes: as sent, else its text encoded (bytes are the truth when there are any)."""
    return raw if raw is not None else (token or "").encode()


def token_text(token: str | None, raw: bytes | None) -> str | None:
    """A token's text: as the provider spelled it, else its bytes decoded (split characters show as U+FFFD)."""
    return token if token is not None or raw is None else raw.decode("utf-8", errors="replace")


def _sequence(tokens: pa.Table) -> list[bytes]:
    return [token_bytes(t, b) for t, b in zip(tokens["token"].to_pylist(), tokens["bytes"].to_pylist(), strict=True)]


def _logprob_of(target: bytes, alternatives: pa.Table, tokens: pa.Table, i: int) -> float:
    """The logprob the completion gave ``target`` at token ``i``, from its alternatives; NaN when not among them."""
    if i >= tokens.num_rows:
        return math.nan
    start, end = tokens["alt_start"][i].as_py(), tokens["alt_end"][i].as_py()
    window = alternatives.slice(start, end - start)
    for token, raw, logprob in zip(*(window[c].to_pylist() for c in ("token", "bytes", "logprob")), strict=True):
        if token_bytes(token, raw) == target:
            return float(logprob)
    return math.nan


def diff_tokens(a: TokenData, b: TokenData) -> tuple[TokenData, pa.Table]:
    """Align the outputs of two completions of the same prompt token by token.

    Returns both outputs as one :class:`TokenData` (``a`` as choice 0, ``b`` as choice 1) and the alignment
    (:data:`ALIGNMENT_SCHEMA`).

    >>> def data(*words):
    ...     n = len(words)
    ...     tokens = pa.table({"side": ["output"] * n, "choice": [0] * n, "token": [None] * n,
    ...                        "bytes": [w.encode() for w in words], "logprob": [-0.1] * n,
    ...                        "alt_start": [0] * n, "alt_end": [0] * n}).cast(TOKEN_SCHEMA)
    ...     return TokenData(tokens, ALTERNATIVE_SCHEMA.empty_table())
    >>> both, alignment = diff_tokens(data("The", " sky", " is", " blue"), data("The", " sea", " is", " blue"))
    >>> alignment["op"].to_pylist(), alignment["a_start"].to_pylist()
    (['equal', 'replace', 'equal'], [0, 1, 2])
    """
    from difflib import SequenceMatcher

    (a_tokens, a_alts), (b_tokens, b_alts) = _output(a), _output(b)
    a_seq, b_seq = _sequence(a_tokens), _sequence(b_tokens)
    rows = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a_seq, b_seq, autojunk=False).get_opcodes():
        a_of_b = _logprob_of(b_seq[j1], a_alts, a_tokens, i1) if op != "equal" and j1 < len(b_seq) else math.nan
        b_of_a = _logprob_of(a_seq[i1], b_alts, b_tokens, j1) if op != "equal" and i1 < len(a_seq) else math.nan
        rows.append((op, i1, i2, j1, j2, a_of_b, b_of_a))
    alignment = pa.Table.from_pylist(
        [dict(zip(ALIGNMENT_SCHEMA.names, row, strict=True)) for row in rows], schema=ALIGNMENT_SCHEMA
    )
    b_second = b_tokens.set_column(1, "choice", pa.array([1] * b_tokens.num_rows, pa.int32()))
    b_second = _shift_alternatives(b_second, a_alts.num_rows)
    tokens = pa.concat_tables([a_tokens.cast(TOKEN_SCHEMA), b_second.cast(TOKEN_SCHEMA)])
    alternatives = pa.concat_tables([a_alts, b_alts])
    messages = [m for m in a.messages if m["side"] == "input"]
    return TokenData(tokens, alternatives, messages, f"{a.title or 'a'} vs {b.title or 'b'}"), alignment
