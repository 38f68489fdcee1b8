"""Ingest benchmark data: OpenAI Agents SDK traces, as its exporters serialise them.

    python benchmarks/ingest_formats.py --only agents_sdk [--all-shapes]   # writes, loads, spans/s against OTLP

Each trace is a support question handed off: the trace object, the SDK's task span, a triage agent (a turn with a
``generation`` span holding chat messages in and out and usage, then a ``handoff``), and a billing agent (a turn
whose ``response`` span calls a ``function`` tool, then a turn answering), as ``Trace.export()`` and
``Span.export()`` write them. ``jsonl`` (the default) is one object per line, in the order the SDK's batch
processor queues them (the trace when it starts, each span when it ends); ``batches`` is JSON Lines of the
``{"data": [...]}`` bodies the ``BackendSpanExporter`` POSTs, 128 objects each. Objects are built from templates,
not by the SDK. The trace object loads as a root span, so ``spans`` counts it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

SPANS_PER_TRACE = 12  # the trace's root span and 11 spans
START = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
BATCH = 128
_dumps = json.JSONEncoder(separators=(",", ":")).encode
INSTRUCTIONS = "Route the customer to the right specialist: billing questions go to the billing agent."
# (name, parent, start µs, length µs) of the spans of a trace, in the order they end
LAYOUT = (
    ("generation", "turn1", 2_000, 700_000),
    ("handoff", "turn1", 703_000, 400),
    ("turn1", "triage", 1_000, 704_000),
    ("triage", "task", 500, 705_000),
    ("response1", "turn2", 707_000, 900_000),
    ("function", "turn2", 1_608_000, 40_000),
    ("turn2", "billing", 706_000, 944_000),
    ("response2", "turn3", 1_651_000, 600_000),
    ("turn3", "billing", 1_650_000, 602_000),
    ("billing", "task", 705_500, 1_547_000),
    ("task", None, 0, 2_253_000),
)


def _iso(t: dt.datetime) -> str:
    return t.isoformat()


def _trace_items(t: int, prompt: int, completion: int) -> list[str]:
    """The exported objects of trace ``t``: the trace, then its spans as they end."""
    trace = f"trace_{t:032x}"
    ids = {name: f"span_{t:016x}{i:08x}" for i, (name, *_) in enumerate(LAYOUT)}
    t0 = START + dt.timedelta(seconds=3 * t)
    question = f"Was invoice INV-{t:06d} paid? I was charged twice this month."
    usage = {"requests": 1, "input_tokens": prompt, "output_tokens": completion,
             "total_tokens": prompt + completion, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens_details": {"reasoning_tokens": 0}}  # fmt: skip
    data = {
        "generation": {"type": "generation", "input": [{"content": INSTRUCTIONS, "role": "system"},
                                                       {"role": "user", "content": question}],
                       "output": [{"content": None, "refusal": None, "role": "assistant", "annotations": None,
                                   "audio": None, "function_call": None, "tool_calls": [{
                                       "id": f"call_{t}", "function": {"arguments": "{}",
                                                                       "name": "transfer_to_billing_agent"},
                                       "type": "function"}]}],
                       "model": "gpt-4o-mini-2024-07-18",
                       "model_config": {"temperature": 0.2, "base_url": "https://api.openai.com/v1/"},
                       "usage": usage},
        "handoff": {"type": "handoff", "from_agent": "Triage agent", "to_agent": "Billing agent"},
        "turn1": {"type": "custom", "name": "turn", "data": {"sdk_span_type": "turn", "turn": 1,
                                                             "agent_name": "Triage agent"}},
        "triage": {"type": "agent", "name": "Triage agent", "handoffs": ["Billing agent"], "tools": [],
                   "output_type": "str"},
        "response1": {"type": "response", "response_id": f"resp_{t:040x}", "usage": usage},
        "function": {"type": "function", "name": "lookup_invoice", "input": f'{{"invoice_id": "INV-{t:06d}"}}',
                     "output": '{"amount": "42.00", "currency": "USD", "status": "paid"}', "mcp_data": None},
        "turn2": {"type": "custom", "name": "turn", "data": {"sdk_span_type": "turn", "turn": 2,
                                                             "agent_name": "Billing agent"}},
        "response2": {"type": "response", "response_id": f"resp_{t:039x}1", "usage": usage},
        "turn3": {"type": "custom", "name": "turn", "data": {"sdk_span_type": "turn", "turn": 3,
                                                             "agent_name": "Billing agent"}},
        "billing": {"type": "agent", "name": "Billing agent", "handoffs": [], "tools": ["lookup_invoice"],
                    "output_type": "str"},
        "task": {"type": "custom", "name": "task", "data": {"sdk_span_type": "task", "name": "Customer support"}},
    }  # fmt: skip
    items = [_dumps({"object": "trace", "id": trace, "workflow_name": "Customer support",
                     "group_id": f"conv-{t // 4}", "metadata": {"channel": "chat", "region": "eu"}})]  # fmt: skip
    for name, parent, start, length in LAYOUT:
        items.append(_dumps({
            "object": "trace.span", "id": ids[name], "trace_id": trace,
            "parent_id": None if parent is None else ids[parent],
            "started_at": _iso(t0 + dt.timedelta(microseconds=start)),
            "ended_at": _iso(t0 + dt.timedelta(microseconds=start + length)),
            "span_data": data[name], "error": None,
        }))  # fmt: skip
    if t % 50 == 0:  # now and then the tool fails
        items[6] = items[6].replace('"error":null', '"error":{"message":"Error running tool (non-fatal)"}')
    return items


def generate(folder: Path, spans: int, *, shape: str = "jsonl", seed: int = 0) -> list[Path]:
    """Write about ``spans`` spans into ``folder`` as ``shape`` (jsonl or batches); return the files to load."""
    traces = max(1, spans // SPANS_PER_TRACE)
    rng = np.random.default_rng(seed)
    prompts, completions = rng.integers(80, 2000, traces).tolist(), rng.integers(5, 300, traces).tolist()
    items = [item for t in range(traces) for item in _trace_items(t, prompts[t], completions[t])]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if shape == "jsonl":
        path = folder / "agents-trace.jsonl"
        path.write_text("\n".join(items) + "\n")
    else:
        path = folder / "agents-batches.jsonl"
        bodies = ('{"data":[' + ",".join(items[i : i + BATCH]) + "]}" for i in range(0, len(items), BATCH))
        path.write_text("\n".join(bodies) + "\n")
    return [path]
