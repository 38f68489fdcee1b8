"""Ingest benchmark data: an Arize Phoenix SQLite database (``phoenix.db``), or a span DataFrame saved as Parquet.

    python benchmarks/ingest_formats.py --only phoenix [--all-shapes]   # writes, loads, spans/s against OTLP

Each trace is a question answered in project ``support-rag``: a CHAIN root, an EMBEDDING (a 16-number vector), a
RETRIEVER (three documents with metadata), an LLM call (chat messages in and out, token counts, invocation
parameters) and a TOOL (every 50th fails, with an exception event); each root gets a span annotation, every tenth
retriever two document annotations, and each LLM span the cost Phoenix priced it at. The database is Phoenix's own:
the schema (every table, index and ``alembic_version``) comes from the real server's database in
``tests/fixtures/phoenix/phoenix.db.gz`` (Phoenix 20.26), emptied and filled with rows as Phoenix writes them
(attributes nested, as Phoenix unflattens them; times in UTC to the microsecond). ``parquet`` is the span DataFrame
``get_spans_dataframe`` returns, as ``DataFrame.to_parquet`` writes it (one ``attributes.*`` column per key, lists of
messages and documents as lists of structs). Rows are built from templates, not by Phoenix.

Phoenix's own ``get_spans_dataframe`` is not timed here: ``arize-phoenix`` is not a dev dependency (it pins its own
versions); ``python tests/fixtures/make_phoenix.py --time-spans 100000``, in a venv with it, times it against a
server started offline.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SPANS_PER_TRACE = 5
START = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "phoenix" / "phoenix.db.gz"
PROJECT = 2  # the fixture's ``support-rag`` project
_dumps = json.JSONEncoder(separators=(",", ":")).encode
# (name, kind, start µs, length µs) of a trace's spans, the root first
LAYOUT = (
    ("answer", "CHAIN", 0, 1_900_000),
    ("embed-query", "EMBEDDING", 1_000, 60_000),
    ("search-docs", "RETRIEVER", 62_000, 90_000),
    ("ChatCompletion", "LLM", 160_000, 1_500_000),
    ("send-email", "TOOL", 1_670_000, 200_000),
)
SYSTEM = "Answer from the documents. Cite the document you used."
DOCUMENTS = ("API keys are rotated under Settings, then Keys.", "Old keys stop working after 24 hours.",
             "Billing questions go to the billing team.")  # fmt: skip
_EMPTIED = (
    "span_cost_details", "span_costs", "document_annotations", "span_annotations", "trace_annotations",
    "project_session_annotations", "spans", "traces", "project_sessions",
)  # fmt: skip


def _time(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def _trace(t: int, prompt: int, completion: int, vector: list[float]) -> dict[str, Any]:
    """Trace ``t``: its ids, times and each span's attributes as Phoenix stores them (nested)."""
    trace_id = f"{t:032x}"
    ids = [f"{t:012x}{i:04x}" for i in range(len(LAYOUT))]
    t0 = START + dt.timedelta(seconds=2 * t)
    question = f"How do I rotate API key {t}? It expired during deploy {t % 97}."
    answer = f"Rotate key {t} under Settings, then Keys; the old one stops working after 24 hours."
    common = {"session": {"id": f"session-{t // 4}"}, "user": {"id": f"user-{t % 1000}"},
              "metadata": {"tier": "pro" if t % 3 else "free", "region": "eu"},
              "tag": {"tags": ["support", "rag"]}}  # fmt: skip
    documents = [{"document": {"id": f"doc-{(t + i) % 5000}", "content": DOCUMENTS[i], "score": 0.9 - 0.2 * i,
                               "metadata": {"source": f"docs/{i}.md", "section": "keys"}}}
                 for i in range(3)]  # fmt: skip
    invocation = _dumps({"model": "gpt-4o-mini", "temperature": 0.2})
    attributes = [
        {**common, "openinference": {"span": {"kind": "CHAIN"}},
         "input": {"value": question, "mime_type": "text/plain"},
         "output": {"value": answer, "mime_type": "text/plain"}},
        {**common, "openinference": {"span": {"kind": "EMBEDDING"}},
         "embedding": {"model_name": "text-embedding-3-small",
                       "embeddings": [{"embedding": {"text": question, "vector": vector}}]}},
        {**common, "openinference": {"span": {"kind": "RETRIEVER"}},
         "input": {"value": question, "mime_type": "text/plain"}, "retrieval": {"documents": documents}},
        {**common, "openinference": {"span": {"kind": "LLM"}},
         "input": {"value": _dumps({"model": "gpt-4o-mini", "messages": [{"role": "system", "content": SYSTEM},
                                                                         {"role": "user", "content": question}]}),
                   "mime_type": "application/json"},
         "output": {"value": answer, "mime_type": "text/plain"},
         "llm": {"model_name": "gpt-4o-mini-2024-07-18", "system": "openai", "provider": "openai",
                 "invocation_parameters": invocation,
                 "token_count": {"prompt": prompt, "completion": completion, "total": prompt + completion},
                 "input_messages": [{"message": {"role": "system", "content": SYSTEM}},
                                    {"message": {"role": "user", "content": question}}],
                 "output_messages": [{"message": {"role": "assistant", "content": answer}}]}},
        {**common, "openinference": {"span": {"kind": "TOOL"}},
         "tool": {"name": "send_email", "parameters": {"to": {"type": "string"}}},
         "input": {"value": _dumps({"to": f"user-{t % 1000}@example.com"}), "mime_type": "application/json"}},
    ]  # fmt: skip
    failed = t % 50 == 0
    spans = []
    for i, ((name, kind, start, length), attrs) in enumerate(zip(LAYOUT, attributes, strict=True)):
        begin, end = t0 + dt.timedelta(microseconds=start), t0 + dt.timedelta(microseconds=start + length)
        error = failed and kind == "TOOL"
        events = [{"name": "exception", "timestamp": (end - dt.timedelta(microseconds=5)).isoformat(),
                   "attributes": {"exception.type": "TimeoutError", "exception.message": "SMTP server did not answer",
                                  "exception.escaped": "False"}}] if error else []  # fmt: skip
        spans.append({
            "span_id": ids[i], "parent_id": None if i == 0 else ids[0], "name": name, "kind": kind,
            "start": begin, "end": end, "attributes": attrs, "events": events,
            "status_code": "ERROR" if error else "OK", "status_message": "TimeoutError: SMTP server did not answer"
            if error else "",
        })  # fmt: skip
    return {"trace_id": trace_id, "start": t0, "end": t0 + dt.timedelta(microseconds=LAYOUT[0][3]), "spans": spans,
            "session": f"session-{t // 4}", "failed": failed, "prompt": prompt, "completion": completion}  # fmt: skip


def _traces(spans: int, seed: int) -> list[dict[str, Any]]:
    traces = max(1, spans // SPANS_PER_TRACE)
    rng = np.random.default_rng(seed)
    prompts, completions = rng.integers(80, 2000, traces).tolist(), rng.integers(5, 300, traces).tolist()
    vectors = np.round(rng.normal(size=(traces, 16)), 4).tolist()
    return [_trace(t, prompts[t], completions[t], vectors[t]) for t in range(traces)]


def _write_sqlite(path: Path, traces: list[dict[str, Any]]) -> None:
    """Phoenix's database (the fixture's schema, emptied) holding ``traces``, as Phoenix writes its rows."""
    with gzip.open(FIXTURE) as source, path.open("wb") as sink:
        shutil.copyfileobj(source, sink)
    con = sqlite3.connect(path)
    try:
        for table in _EMPTIED:
            con.execute(f"DELETE FROM {table}")  # the module's own names
        sessions: dict[str, int] = {}
        span_rows, trace_rows, cost_rows, span_notes, document_notes = [], [], [], [], []
        row = 0
        for number, trace in enumerate(traces, start=1):
            session = sessions.setdefault(trace["session"], len(sessions) + 1)
            trace_rows.append((number, PROJECT, trace["trace_id"], _time(trace["start"]), _time(trace["end"]), session))
            for span in trace["spans"]:
                row += 1
                llm = span["kind"] == "LLM"
                span_rows.append((
                    row, number, span["span_id"], span["parent_id"], span["name"], span["kind"], _time(span["start"]),
                    _time(span["end"]), _dumps(span["attributes"]), _dumps(span["events"]), span["status_code"],
                    span["status_message"], int(trace["failed"]) if span["parent_id"] is None else 0,
                    trace["prompt"], trace["completion"], trace["prompt"] if llm else None,
                    trace["completion"] if llm else None,
                ))  # fmt: skip
                if llm:
                    prompt, completion = trace["prompt"] * 1.5e-07, trace["completion"] * 6e-07
                    cost_rows.append((len(cost_rows) + 1, row, number, 98, _time(span["start"]), prompt + completion,
                                      trace["prompt"] + trace["completion"], prompt, trace["prompt"], completion,
                                      trace["completion"]))  # fmt: skip
                if span["parent_id"] is None:
                    span_notes.append((len(span_notes) + 1, row, "correctness", "correct" if number % 7 else "wrong",
                                       1.0 if number % 7 else 0.0, "Matches the docs.", '{"reviewer":"ana"}', "HUMAN",
                                       _time(trace["end"]), _time(trace["end"]), None, "", "APP"))  # fmt: skip
                if span["kind"] == "RETRIEVER" and number % 10 == 0:
                    for position in range(2):
                        document_notes.append((len(document_notes) + 1, row, position, "relevance",
                                               "relevant" if position == 0 else "irrelevant", 1.0 - position,
                                               f"document {position}", "{}", "LLM", _time(trace["end"]),
                                               _time(trace["end"]), None, "", "API"))  # fmt: skip
        first = min(t["start"] for t in traces)
        con.executemany(
            "INSERT INTO project_sessions (id, session_id, project_id, start_time, end_time) VALUES (?, ?, ?, ?, ?)",
            [(n, s, PROJECT, _time(first), _time(first)) for s, n in sessions.items()],
        )
        con.executemany("INSERT INTO traces (id, project_rowid, trace_id, start_time, end_time, project_session_rowid) "
                        "VALUES (?, ?, ?, ?, ?, ?)", trace_rows)  # fmt: skip
        con.executemany(
            "INSERT INTO spans (id, trace_rowid, span_id, parent_id, name, span_kind, start_time, end_time, "
            "attributes, events, status_code, status_message, cumulative_error_count, "
            "cumulative_llm_token_count_prompt, cumulative_llm_token_count_completion, llm_token_count_prompt, "
            "llm_token_count_completion) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            span_rows,
        )
        con.executemany(
            "INSERT INTO span_costs (id, span_rowid, trace_rowid, model_id, span_start_time, total_cost, "
            "total_tokens, prompt_cost, prompt_tokens, completion_cost, completion_tokens) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            cost_rows,
        )
        con.executemany(
            "INSERT INTO span_annotations (id, span_rowid, name, label, score, explanation, metadata, annotator_kind, "
            "created_at, updated_at, user_id, identifier, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            span_notes,
        )
        con.executemany(
            "INSERT INTO document_annotations (id, span_rowid, document_position, name, label, score, explanation, "
            "metadata, annotator_kind, created_at, updated_at, user_id, identifier, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            document_notes,
        )
        con.commit()
    finally:
        con.close()


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested attributes as the DataFrame's column of each key: ``{"llm": {"model_name": x}}`` -> ``llm.model_name``;
    a list of objects stays a list, its objects flattened to one level (``message.role``)."""
    if not isinstance(value, dict):
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return {prefix: [_flat(item) for item in value]}
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else key
        if key in ("metadata", "parameters") and isinstance(item, dict):
            flat[name] = item  # Phoenix's JSON-string attributes: a struct column
        else:
            flat.update(_flat(item, name))
    return flat


def _write_parquet(path: Path, traces: list[dict[str, Any]]) -> None:
    """The span DataFrame of ``traces``: context and span columns, then one ``attributes.*`` column per key."""
    rows: list[dict[str, Any]] = []
    for trace in traces:
        for span in trace["spans"]:
            rows.append({
                "name": span["name"], "span_kind": span["kind"], "parent_id": span["parent_id"],
                "start_time": span["start"], "end_time": span["end"], "status_code": span["status_code"],
                "status_message": span["status_message"], "events": span["events"],
                "context.span_id": span["span_id"], "context.trace_id": trace["trace_id"],
                **{f"attributes.{k}": v for k, v in _flat(span["attributes"]).items()},
            })  # fmt: skip
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns = {name: [row.get(name) for row in rows] for name in names}
    for name in ("start_time", "end_time"):
        columns[name] = pa.array(columns[name], pa.timestamp("ns", tz="UTC"))
    pq.write_table(pa.table(columns), path)


def generate(folder: Path, spans: int, *, container: str = "sqlite", seed: int = 0) -> list[Path]:
    """Write about ``spans`` spans into ``folder`` as ``container`` (sqlite: Phoenix's database; parquet: its span
    DataFrame); return the files to load."""
    traces = _traces(spans, seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if container == "sqlite":
        path = folder / "phoenix.db"
        _write_sqlite(path, traces)
    else:
        path = folder / "spans.parquet"
        _write_parquet(path, traces)
    return [path]
