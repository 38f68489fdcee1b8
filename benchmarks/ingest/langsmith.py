"""Ingest benchmark data: LangSmith runs, as the SDK sends them to ``/runs/batch`` or as ``Client.list_runs`` gives
them back.

    python benchmarks/ingest_formats.py --only langsmith [--all-shapes]   # writes, loads, spans/s against OTLP

Each trace is a question answered: a root chain, a retriever (documents with metadata), an LLM call (OpenAI-shaped
messages in, the raw chat completion out, usage and LangSmith metadata) and a tool. ``batches`` (the default) is
JSON Lines of batch bodies as the SDK's background thread sends them: the root posted when it starts, then its
children (posted ended) with the root's patch. ``runs`` is JSON Lines of Run objects (``model_dump_json``), ``array``
the same runs in one JSON array. Rows are built from string templates, not by the SDK.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

RUNS_PER_TRACE = 4
START = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
_dumps = json.JSONEncoder(separators=(",", ":")).encode
PATCHED = ("id", "name", "run_type", "trace_id", "parent_run_id", "dotted_order", "tags", "session_name", "start_time",
           "end_time", "outputs", "events", "extra")  # fmt: skip
"""The fields of a run that ``RunTree.patch`` sends when the run ends."""


def _uuid(trace: int, run: int) -> str:
    return f"0196{trace >> 32 & 0xFFFF:04x}-{trace >> 16 & 0xFFFF:04x}-7{trace & 0xFFF:03x}-8{run:03x}-{trace:012x}"


def _traces(traces: int, seed: int) -> list[list[dict[str, object]]]:
    """The runs of each trace, as Python values, each with its dotted order."""
    rng = np.random.default_rng(seed)
    prompt, completion = rng.integers(100, 2000, traces), rng.integers(10, 300, traces)
    offsets = np.array([0, 5_000, 100_000, 720_000])  # µs after the trace's start
    lengths = np.array([900_000, 75_000, 600_000, 10_000]) + rng.integers(0, 50_000, (traces, RUNS_PER_TRACE))
    result = []
    for t in range(traces):
        t0 = START + dt.timedelta(seconds=2 * t)
        starts = [t0 + dt.timedelta(microseconds=int(o)) for o in offsets]
        ends = [s + dt.timedelta(microseconds=int(n)) for s, n in zip(starts, lengths[t], strict=True)]
        ids = [_uuid(t, r) for r in range(RUNS_PER_TRACE)]
        question = f"How do I rotate the API key of workspace {t}?"
        answer = "Open Settings, then API keys, then Rotate. " * 3
        metadata = {"thread_id": f"thread-{t // 3}", "user_id": f"user-{t % 5000}", "revision_id": "v2.3.1"}
        runtime = {"sdk": "langsmith-py", "sdk_version": "0.3.45", "library": "langsmith", "runtime": "python",
                   "platform": "Linux-6.8.0-x86_64", "runtime_version": "3.12.4"}  # fmt: skip
        order = [s.strftime("%Y%m%dT%H%M%S%fZ") + i for s, i in zip(starts, ids, strict=True)]
        usage = {"input_tokens": int(prompt[t]), "output_tokens": int(completion[t]),
                 "total_tokens": int(prompt[t] + completion[t])}  # fmt: skip
        kinds = [
            ("support-rag", "chain", {"question": question}, {"answer": answer}, {}),
            ("search-docs", "retriever", {"query": question}, {"documents": [
                {"page_content": f"Chunk {k} of the key rotation guide.", "type": "Document",
                 "metadata": {"source": f"docs/keys-{(t + k) % 997}.md", "score": round(0.9 - k / 10, 2)}}
                for k in range(3)]}, {}),
            ("ChatOpenAI", "llm",
             {"messages": [{"role": "system", "content": "You are the support assistant."},
                           {"role": "user", "content": question}], "model": "gpt-4o-mini", "temperature": 0.2},
             {"id": f"chatcmpl-{t}", "object": "chat.completion", "created": int(starts[2].timestamp()),
              "model": "gpt-4o-mini-2024-07-18", "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
              "message": {"role": "assistant", "content": answer, "refusal": None}}],
              "usage_metadata": usage},
             {"ls_provider": "openai", "ls_model_type": "chat", "ls_model_name": "gpt-4o-mini",
              "usage_metadata": usage}),
            ("get-settings", "tool", {"workspace": f"ws-{t}"}, {"output": "rotation enabled"}, {}),
        ]  # fmt: skip
        runs = []
        for r, (name, run_type, inputs, outputs, extra_metadata) in enumerate(kinds):
            runs.append({
                "id": ids[r], "start_time": starts[r].isoformat(), "end_time": ends[r].isoformat(),
                "parent_run_id": None if r == 0 else ids[0], "tags": ["prod"],
                "dotted_order": order[0] if r == 0 else order[0] + "." + order[r], "trace_id": ids[0],
                "session_name": "support-bot", "name": name, "run_type": run_type, "inputs": inputs,
                "outputs": outputs, "events": [], "extra": {"metadata": {**metadata, **extra_metadata},
                                                            "runtime": runtime},
            })  # fmt: skip
        result.append(runs)
    return result


def _batches(traces: list[list[dict[str, object]]]) -> str:
    """Two requests per trace: the root's post (not ended), then the children's posts and the root's patch."""
    lines = []
    for runs in traces:
        root = {k: v for k, v in runs[0].items() if k not in ("end_time", "outputs")}
        patch = {k: runs[0][k] for k in PATCHED}
        lines.append(_dumps({"post": [root]}))
        lines.append(_dumps({"post": runs[1:], "patch": [patch]}))
    return "\n".join(lines) + "\n"


def _run_objects(traces: list[list[dict[str, object]]]) -> list[str]:
    """Run objects as ``Run.model_dump_json`` writes them: the project as ``session_id``, status, tokens, costs."""
    objects = []
    for runs in traces:
        usage = runs[2]["extra"]["metadata"]["usage_metadata"]  # type: ignore[index]
        for run in runs:
            fields = {k: v for k, v in run.items() if k != "session_name"}
            objects.append(_dumps({
                **fields, "session_id": "7b8f3c1e-2d4a-4e5b-9c6d-0f1e2d3c4b5a", "status": "success",
                "prompt_tokens": usage["input_tokens"], "completion_tokens": usage["output_tokens"],
                "total_tokens": usage["total_tokens"], "prompt_cost": str(usage["input_tokens"] * 1.5e-7),
                "completion_cost": str(usage["output_tokens"] * 6e-7),
                "total_cost": str(usage["input_tokens"] * 1.5e-7 + usage["output_tokens"] * 6e-7),
                "feedback_stats": {"correctness": {"n": 1, "avg": 1.0}} if run["parent_run_id"] is None else None,
            }))  # fmt: skip
    return objects


def generate(folder: Path, spans: int, *, shape: str = "batches", seed: int = 0) -> list[Path]:
    """Write about ``spans`` runs into ``folder`` as ``shape`` (batches, runs or array); return the files to load."""
    traces = _traces(max(1, spans // RUNS_PER_TRACE), seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if shape == "batches":
        path = folder / "runs-batch.jsonl"
        path.write_text(_batches(traces))
    elif shape == "runs":
        path = folder / "runs.jsonl"
        path.write_text("\n".join(_run_objects(traces)) + "\n")
    else:
        path = folder / "runs.json"
        path.write_text("[" + ",".join(_run_objects(traces)) + "]")
    return [path]
