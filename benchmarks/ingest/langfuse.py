"""Ingest benchmark data: a Langfuse blob-storage export (``observations_v2/`` enriched observations and
``scores/``), as Langfuse writes it.

    python benchmarks/ingest_formats.py --only langfuse [--all-shapes]   # writes, loads, spans/s against OTLP

Each trace is a question answered: a root SPAN, a RETRIEVER, a GENERATION (chat messages in and out, usage and
cost details) and a TOOL, and one score per trace. Rows are built from string templates (JSON Lines, JSON, CSV) or
column arrays (Parquet), not by the Langfuse SDK. A trace loads as its observations plus a root span for the
trace, so ``spans`` counts both.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OBSERVATIONS_PER_TRACE = 4
SPANS_PER_TRACE = OBSERVATIONS_PER_TRACE + 1  # and the trace's own root span
START = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
COLUMNS = (
    "id", "trace_id", "project_id", "environment", "type", "parent_observation_id", "start_time", "end_time", "name",
    "metadata", "level", "status_message", "version", "input", "output", "provided_model_name", "model_parameters",
    "usage_details", "cost_details", "completion_start_time", "prompt_name", "prompt_version", "total_cost",
    "latency", "time_to_first_token", "model_id", "created_at", "updated_at", "prompt_id", "tool_calls",
    "tool_call_names", "tool_definitions", "user_id", "session_id", "trace_name", "tags", "release", "bookmarked",
    "public",
)  # fmt: skip
"""The columns of ``observations_v2/`` (every field group), in the export's order."""


def _rows(traces: int, seed: int) -> dict[str, list[object]]:
    """The export's columns for ``traces`` traces, as Python values (maps as dicts, times as text)."""
    rng = np.random.default_rng(seed)
    n = traces * OBSERVATIONS_PER_TRACE
    trace = np.repeat(np.arange(traces), OBSERVATIONS_PER_TRACE)
    step = np.tile(np.arange(OBSERVATIONS_PER_TRACE), traces)
    start_ms = trace * 2000 + np.array([0, 5, 100, 720])[step]
    end_ms = start_ms + np.array([900, 75, 600, 10])[step] + rng.integers(0, 50, n)
    prompt, completion = rng.integers(100, 2000, n), rng.integers(10, 300, n)
    times = [(START + dt.timedelta(milliseconds=int(ms))).strftime("%Y-%m-%d %H:%M:%S.%f") for ms in start_ms]
    ends = [(START + dt.timedelta(milliseconds=int(ms))).strftime("%Y-%m-%d %H:%M:%S.%f") for ms in end_ms]
    types = ["SPAN", "RETRIEVER", "GENERATION", "TOOL"]
    columns: dict[str, list[object]] = {name: [] for name in COLUMNS}
    for i in range(n):
        t, s = int(trace[i]), int(step[i])
        generation = s == 2
        question = f"How do I rotate the API key of workspace {t}?"
        values = {
            "id": f"{t:012x}{s:04x}", "trace_id": f"{t:032x}", "project_id": "cm1proj", "environment": "production",
            "type": types[s], "parent_observation_id": "" if s == 0 else f"{t:012x}{0:04x}" if s < 3
            else f"{t:012x}{2:04x}", "start_time": times[i], "end_time": ends[i],
            "name": ["answer", "search-docs", "OpenAI-generation", "get_settings"][s],
            "metadata": {"resourceAttributes": '{"service.name":"support-bot"}'}, "level": "DEFAULT",
            "status_message": "", "version": "",
            "input": json.dumps([{"role": "system", "content": "You are the support assistant."},
                                 {"role": "user", "content": question}]) if generation
            else json.dumps({"query": question}),
            "output": json.dumps({"role": "assistant", "content": "Open Settings, then API keys, then Rotate. " * 3})
            if generation else json.dumps({"documents": [f"doc-{t % 997}", f"doc-{t % 991}"]}),
            "provided_model_name": "gpt-4o-mini" if generation else "",
            "model_parameters": '{"temperature":0.2,"max_tokens":512}' if generation else "",
            "usage_details": {"input": int(prompt[i]), "output": int(completion[i]),
                              "total": int(prompt[i] + completion[i])} if generation else {},
            "cost_details": {"input": prompt[i] * 1.5e-7, "output": completion[i] * 6e-7,
                             "total": prompt[i] * 1.5e-7 + completion[i] * 6e-7} if generation else {},
            "completion_start_time": times[i] if generation else None, "prompt_name": "", "prompt_version": None,
            "total_cost": float(prompt[i] * 1.5e-7 + completion[i] * 6e-7) if generation else 0.0,
            "latency": float(end_ms[i] - start_ms[i]) / 1000, "time_to_first_token": 0.0 if generation else None,
            "model_id": "", "created_at": ends[i], "updated_at": ends[i], "prompt_id": "", "tool_calls": [],
            "tool_call_names": [], "tool_definitions": {}, "user_id": f"user-{t % 5000}",
            "session_id": f"session-{t // 3}", "trace_name": "support-question", "tags": ["support"],
            "release": "v2.3.1", "bookmarked": False, "public": False,
        }  # fmt: skip
        for name in COLUMNS:
            columns[name].append(values[name])
    return columns


def _scores(traces: int) -> list[dict[str, object]]:
    when = START.strftime("%Y-%m-%d %H:%M:%S.%f")
    return [{"id": f"score-{t}", "timestamp": when, "project_id": "cm1proj", "environment": "production",
             "trace_id": f"{t:032x}", "observation_id": None, "session_id": None, "dataset_run_id": None,
             "name": "helpfulness", "value": (t % 5) / 4, "source": "EVAL", "comment": "judged by gpt-4o",
             "data_type": "NUMERIC", "string_value": None, "created_at": when, "updated_at": when}
            for t in range(traces)]  # fmt: skip


def _write(path: Path, columns: dict[str, list[object]], container: str) -> Path:
    names = list(columns)
    rows = len(columns[names[0]])
    if container == "parquet":
        kinds = {"usage_details": pa.map_(pa.string(), pa.uint64()), "cost_details": pa.map_(pa.string(), pa.float64()),
                 "metadata": pa.map_(pa.string(), pa.string()), "tool_definitions": pa.map_(pa.string(), pa.string()),
                 "tags": pa.list_(pa.string()), "tool_calls": pa.list_(pa.string()),
                 "tool_call_names": pa.list_(pa.string())}  # fmt: skip
        arrays = {}
        for name in names:
            values = columns[name]
            if name in kinds and pa.types.is_map(kinds[name]):
                values = [None if v is None else list(v.items()) for v in values]  # type: ignore[attr-defined]
            arrays[name] = pa.array(values, kinds.get(name))
        pq.write_table(pa.table(arrays), path)
        return path
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    if container == "csv":

        def cell(v: object) -> str:
            text = "" if v is None else v if isinstance(v, str) else dumps(v)
            return '"' + text.replace('"', '""') + '"'

        lines = [",".join(cell(n) for n in names)]
        lines += [",".join(cell(columns[n][i]) for n in names) for i in range(rows)]
        path.write_text("\n".join(lines) + "\n")
        return path
    objects = [dumps({n: columns[n][i] for n in names}) for i in range(rows)]
    path.write_text("[" + ",".join(objects) + "]" if container == "json" else "\n".join(objects) + "\n")
    return path


def generate(folder: Path, spans: int, *, container: str = "jsonl", seed: int = 0) -> list[Path]:
    """Write an export of about ``spans`` spans into ``folder`` (``observations_v2/`` and ``scores/``, as
    ``container``: jsonl, json, csv or parquet); return the files to load."""
    traces = max(1, spans // SPANS_PER_TRACE)
    folder = Path(folder)
    (folder / "observations_v2").mkdir(parents=True, exist_ok=True)
    (folder / "scores").mkdir(parents=True, exist_ok=True)
    observations = _write(folder / "observations_v2" / f"2026-05-01.{container}", _rows(traces, seed), container)
    scores = _scores(traces)
    score_columns = {name: [row[name] for row in scores] for name in scores[0]}
    kept = "jsonl" if container == "parquet" else container  # score values are plain: any container
    return [observations, _write(folder / "scores" / f"2026-05-01.{kept}", score_columns, kept)]
