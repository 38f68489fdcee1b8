"""Ingest benchmark data: Inspect AI eval logs (``.eval`` zips, members compressed with Zstandard as Inspect
writes them, or ``.json`` logs), built from string templates, not by ``inspect_ai``.

    python benchmarks/ingest_formats.py --only inspect_eval [--all-shapes]   # writes, loads, spans/s against OTLP

Each sample is an agent answering with a tool: an ``init`` span (``sample_init``), ``solvers`` > ``generate``
with four model calls (inputs pooled in ``events_data`` and referenced by ``input_refs``, raw calls by
``call_refs``, the system prompt an ``attachment://``, output logprobs on the last) and three tool calls (each
with its ``tool`` span), state and store events, then ``scorers`` > ``match`` with a ``score`` event. A sample
loads as 13 spans: the sample, init, solvers, generate, 4 LLM, 3 TOOL, scorers and match.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import zlib
from pathlib import Path

SPANS_PER_SAMPLE = 13
SAMPLES_PER_FILE = 1000
TOOL_TURNS = 3
START = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
SYSTEM = (
    "You are a careful support agent for a cloud platform. Use the tools to look up the account before you "
    "answer, cite the settings you read, and never guess a value you did not look up."
)
ATTACHMENT = "3f1d2c0b9a8e7d6c5b4a39281706f5e4"


def generate(folder: Path, spans: int, *, log_format: str = "eval") -> list[Path]:
    """Write about ``spans`` spans' worth of Inspect logs (``.eval`` or ``.json``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = max(1, round(spans / SPANS_PER_SAMPLE))
    paths = []
    for number, first in enumerate(range(0, samples, SAMPLES_PER_FILE)):
        count = min(SAMPLES_PER_FILE, samples - first)
        eval_id = f"bencheval{number:013d}"
        header = _header(eval_id, [f"s{first + i}" for i in range(count)])
        bodies = [_sample(eval_id, first + i) for i in range(count)]
        if log_format == "json":
            path = folder / f"log-{number:03d}.json"
            head = json.dumps(header, indent=2)
            path.write_text(head[: head.rindex("}")].rstrip() + ',\n  "samples": [\n' + ",\n".join(bodies) + "\n  ]\n}")
        else:
            path = folder / f"log-{number:03d}.eval"
            names = [f"samples/s{first + i}_epoch_1.json" for i in range(count)]
            members = [("_journal/start.json", json.dumps({"version": 2, "eval": header["eval"]}))]
            members += list(zip(names, bodies, strict=True))
            members.append(("header.json", json.dumps(header)))
            path.write_bytes(_zip([(name, text.encode()) for name, text in members]))
        paths.append(path)
    return paths


def _header(eval_id: str, ids: list[str]) -> dict[str, object]:
    count = len(ids)
    return {
        "version": 2,
        "status": "success",
        "eval": {
            "eval_id": eval_id, "run_id": "benchrun", "created": START.isoformat(), "task": "support_agent",
            "task_id": eval_id, "task_version": 0, "dataset": {"samples": count, "sample_ids": ids},
            "model": "openai/gpt-4o-mini",
            "config": {"epochs": 1}, "packages": {"inspect_ai": "0.3.285"},
            "scorers": [{"name": "match", "options": {}, "metrics": [{"name": "inspect_ai/accuracy", "options": {}}]}],
        },
        "plan": {"name": "plan", "steps": [{"solver": "use_tools", "params": {}},
                                           {"solver": "generate", "params": {}}]},
        "results": {"total_samples": count, "completed_samples": count, "scores": []},
        "stats": {"started_at": START.isoformat(), "completed_at": START.isoformat(), "model_usage": {}},
    }  # fmt: skip


def _at(ms: float) -> str:
    return (START + dt.timedelta(milliseconds=ms)).isoformat()


def _sample(eval_id: str, i: int) -> str:
    """One sample's JSON text."""
    base = i * 5000.0
    uid = f"u{i:020d}"
    question = f"Which region is workspace {i} deployed in, and is its API key older than 90 days?"
    pool = [{"id": f"m{i}-0", "content": f"attachment://{ATTACHMENT}", "role": "system"},
            {"id": f"m{i}-1", "content": question, "source": "input", "role": "user"}]  # fmt: skip
    calls_pool = [{"role": "system", "content": f"attachment://{ATTACHMENT}"}, {"role": "user", "content": question}]
    events: list[dict[str, object]] = []

    def event(kind: str, span: str | None, ms: float, **fields: object) -> None:
        events.append({"uuid": f"e{i}-{len(events)}", "span_id": span, "timestamp": _at(base + ms),
                       "working_start": ms / 1000, "event": kind, **fields})  # fmt: skip

    event("span_begin", f"init{i}", 0, id=f"init{i}", type="init", name="init")
    event("sample_init", f"init{i}", 1, sample={"input": question, "target": "eu-west-1", "id": f"s{i}"},
          state={"messages": [], "tools": [], "store": {}})  # fmt: skip
    event("span_end", f"init{i}", 2, id=f"init{i}")
    event("span_begin", f"solvers{i}", 3, id=f"solvers{i}", type="solvers", name="solvers")
    event("span_begin", f"generate{i}", 4, id=f"generate{i}", parent_id=f"solvers{i}", type="solver", name="generate")
    ms = 5.0
    for turn in range(TOOL_TURNS + 1):
        last = turn == TOOL_TURNS
        tool_id = f"call_{i}_{turn}"
        if last:
            text = f"Workspace {i} is in eu-west-1; its key is {30 + i % 120} days old."
            message = {"id": f"a{i}-{turn}", "content": text, "source": "generate", "role": "assistant"}
            choice = {"message": message, "stop_reason": "stop", "logprobs": {"content": [
                {"token": w, "logprob": -0.05 * (k + 1), "bytes": list(w.encode()),
                 "top_logprobs": [{"token": w, "logprob": -0.05 * (k + 1)}, {"token": " the", "logprob": -3.2}]}
                for k, w in enumerate(text.split(" ")[:16])]}}  # fmt: skip
        else:
            message = {"id": f"a{i}-{turn}", "content": "", "source": "generate", "role": "assistant",
                       "tool_calls": [{"id": tool_id, "function": ["get_workspace", "get_key", "get_region"][turn],
                                       "arguments": {"workspace": i}, "type": "function"}]}  # fmt: skip
            choice = {"message": message, "stop_reason": "tool_calls"}
        usage = {"input_tokens": 350 + 40 * turn, "output_tokens": 25, "total_tokens": 375 + 40 * turn}
        event("model", f"generate{i}", ms, model="openai/gpt-4o-mini", input=[], input_refs=[[0, len(pool)]],
              tools=[], tool_choice="auto", config={"temperature": 0.0},
              output={"model": "gpt-4o-mini-2024-07-18", "choices": [choice], "completion": message["content"],
                      "usage": usage, "time": 0.6},
              call={"request": {"model": "gpt-4o-mini", "temperature": 0.0},
                    "response": {"id": f"chatcmpl-{i}-{turn}", "object": "chat.completion"},
                    "call_refs": [[0, len(calls_pool)]], "call_key": "messages"},
              completed=_at(base + ms + 600), working_time=0.6)  # fmt: skip
        ms += 610
        pool.append(message)
        calls_pool.append({"role": "assistant", "content": message["content"]})
        if last:
            break
        function = message["tool_calls"][0]["function"]  # type: ignore[index]
        result = json.dumps({"workspace": i, "region": "eu-west-1", "key_age_days": 30 + i % 120})
        event("tool", f"generate{i}", ms, type="function", id=tool_id, function=function,
              arguments={"workspace": i}, result=result, events=[], completed=_at(base + ms + 40),
              working_time=0.04, message_id=f"t{i}-{turn}")  # fmt: skip
        event("span_begin", f"tool{i}-{turn}", ms + 1, id=f"tool{i}-{turn}", parent_id=f"generate{i}", type="tool",
              name=function)  # fmt: skip
        event("span_end", f"tool{i}-{turn}", ms + 39, id=f"tool{i}-{turn}")
        tool_message = {"id": f"t{i}-{turn}", "content": result, "role": "tool", "tool_call_id": tool_id,
                        "function": function}  # fmt: skip
        pool.append(tool_message)
        calls_pool.append({"role": "tool", "content": result, "tool_call_id": tool_id})
        event("state", f"generate{i}", ms + 41, changes=[{"op": "add", "path": f"/messages/{len(pool) - 1}",
                                                          "value": tool_message}])  # fmt: skip
        ms += 50
    event("store", f"generate{i}", ms, changes=[{"op": "add", "path": "/answered", "value": True}])
    event("span_end", f"generate{i}", ms + 1, id=f"generate{i}")
    event("span_end", f"solvers{i}", ms + 2, id=f"solvers{i}")
    score = {"value": "C" if i % 4 else "I", "answer": "eu-west-1", "explanation": pool[-1]["content"], "history": []}
    for offset, kind, span, fields in _scoring(i, score):
        event(kind, span, ms + offset, **fields)
    sample = {
        "id": f"s{i}", "epoch": 1, "input": question, "target": "eu-west-1", "messages": pool,
        "output": {"model": "gpt-4o-mini-2024-07-18", "choices": [], "completion": pool[-1]["content"]},
        "scores": {"match": score}, "metadata": {"workspace": i, "tier": ["free", "pro", "enterprise"][i % 3]},
        "store": {"answered": True}, "events": events, "model_usage": {}, "started_at": _at(base),
        "completed_at": _at(base + ms + 8), "total_time": (ms + 8) / 1000, "working_time": (ms + 8) / 1000,
        "uuid": uid, "attachments": {ATTACHMENT: SYSTEM}, "events_data": {"messages": pool, "calls": calls_pool},
    }  # fmt: skip
    return json.dumps(sample)


def _scoring(i: int, score: dict[str, object]) -> list[tuple[float, str, str, dict[str, object]]]:
    """The scorers span of sample ``i``: (ms after the solvers, event, span id, fields) of each event."""
    return [
        (3, "span_begin", f"scorers{i}", {"id": f"scorers{i}", "type": "scorers", "name": "scorers"}),
        (4, "span_begin", f"match{i}", {"id": f"match{i}", "parent_id": f"scorers{i}", "type": "scorer",
                                        "name": "match"}),
        (5, "score", f"match{i}", {"score": score, "target": "eu-west-1", "intermediate": False, "scorer": "match"}),
        (6, "span_end", f"match{i}", {"id": f"match{i}"}),
        (7, "span_end", f"scorers{i}", {"id": f"scorers{i}"}),
    ]  # fmt: skip


_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    """A zip of ``members``, compressed with Zstandard (method 93) as Inspect writes them, else deflated."""
    try:
        import zstandard

        method, compress = 93, zstandard.ZstdCompressor(level=3).compress
    except ImportError:
        method = 8

        def compress(data: bytes) -> bytes:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            return packer.compress(data) + packer.flush()

    body, directory = bytearray(), bytearray()
    for name, data in members:
        packed, crc, raw_name = compress(data), zlib.crc32(data), name.encode()
        offset = len(body)
        body += _LOCAL.pack(b"PK\x03\x04", 63, 0, method, 0, 0, crc, len(packed), len(data), len(raw_name), 0)
        body += raw_name + packed
        directory += _CENTRAL.pack(b"PK\x01\x02", 63, 63, 0, method, 0, 0, crc, len(packed), len(data),
                                   len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name  # fmt: skip
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0)
    return bytes(body + directory + end)
