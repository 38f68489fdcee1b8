"""Agent traces: single-agent tool loops with a flaky SQL tool, and a triage network with a handoff loop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from llmlens.demo.common import WEEK_END, epoch_us, hex_ids, micros, table

N_TOOL_LOOPS = 300
N_NETWORK = 150
MODEL = "gpt-4o"
PRICE = (2.50, 10.00)  # USD per million input / output tokens
MAX_TURNS = 10

_TASKS = (
    ("Why was I charged twice this month?", ["get_account", "run_sql"]),
    ("How many active seats does workspace acme-prod have?", ["run_sql"]),
    ("Open a ticket: the export button does nothing.", ["search_docs", "create_ticket"]),
    ("What's our API usage this week?", ["get_account", "run_sql"]),
    ("How do I rotate my API key?", ["search_docs"]),
    ("Downgrade us to the Pro plan at the end of the cycle.", ["get_account", "create_ticket"]),
)
_SQL_ERRORS = (
    'Binder Error: Referenced column "plan_tier" not found in FROM clause!',
    "Timeout: query exceeded 30 s on warehouse replica",
    'Catalog Error: Table with name "invoices_v2" does not exist!',
)
_ROUTES = {
    "billing": ("get_account", "refund_lookup"),
    "tech_support": ("search_docs", "create_ticket"),
    "refunds": ("refund_lookup", "issue_refund"),
}
_NETWORK_ASKS = (
    ("I want a refund for the annual plan I bought yesterday.", ["refunds"]),
    ("The mobile app crashes when I open a project.", ["tech_support"]),
    ("Why did my invoice go up?", ["billing"]),
    ("I was double charged and want the money back.", ["billing", "refunds"]),
    ("Is my refund for invoice INV-2231 processed? It's also about my plan price.", ["billing", "triage", "billing"]),
)


@dataclass
class _Rows:
    """Accumulates span and edge rows for a group of traces."""

    spans: dict[str, list[Any]] = field(default_factory=lambda: {key: [] for key in (
        "trace_id", "span_id", "parent_span_id", "name", "kind", "otel_kind", "start", "end", "status_code",
        "status_message", "model", "provider", "input_text", "output_text", "input_tokens", "output_tokens",
        "total_tokens", "cost_usd", "session_id", "user_id", "agent_name", "service_name", "attributes")})  # fmt: skip
    edges: dict[str, list[Any]] = field(default_factory=lambda: {key: [] for key in (
        "kind", "src_trace_id", "src_span_id", "dst_trace_id", "dst_span_id", "label", "attributes")})  # fmt: skip

    def span(self, **values: Any) -> None:
        for key, column in self.spans.items():
            column.append(values.get(key))


class _Clock:
    """Hands out span ids and advancing times within one trace."""

    def __init__(self, rng: np.random.Generator, start_us: int) -> None:
        self.rng, self.now = rng, start_us

    def take(self, ms_median: float, sigma: float = 0.4) -> tuple[int, int]:
        begin = self.now + 1_000
        self.now = begin + int(self.rng.lognormal(np.log(ms_median), sigma) * 1000)
        return begin, self.now


def _llm(rows: _Rows, rng: np.random.Generator, clock: _Clock, trace: str, parent: str, span: str, agent: str,
         prompt: str, reply: str, user: str) -> None:  # fmt: skip
    n_in, n_out = int(rng.integers(400, 2400)), int(rng.integers(20, 220))
    begin, end = clock.take(300 + 14 * n_out)
    rows.span(
        trace_id=trace, span_id=span, parent_span_id=parent, name=f"chat {MODEL}", kind="LLM", otel_kind="CLIENT",
        start=begin, end=end, status_code="OK", model=MODEL, provider="openai", input_text=prompt, output_text=reply,
        input_tokens=n_in, output_tokens=n_out, total_tokens=n_in + n_out,
        cost_usd=(n_in * PRICE[0] + n_out * PRICE[1]) / 1e6, user_id=user, agent_name=agent,
        service_name="nimbus-agents", attributes=json.dumps({"gen_ai.operation.name": "chat"}),
    )  # fmt: skip


def _tool(rows: _Rows, clock: _Clock, trace: str, parent: str, span: str, agent: str, tool: str, args: str,
          result: str, user: str, error: str | None = None, ms: float = 120) -> None:  # fmt: skip
    begin, end = clock.take(ms)
    rows.span(
        trace_id=trace, span_id=span, parent_span_id=parent, name=f"execute_tool {tool}", kind="TOOL",
        otel_kind="INTERNAL", start=begin, end=end, status_code="ERROR" if error else "OK", status_message=error,
        input_text=args, output_text=None if error else result, user_id=user, agent_name=agent,
        service_name="nimbus-agents",
        attributes=json.dumps({"gen_ai.tool.name": tool, "gen_ai.tool.call.arguments": args}),
    )  # fmt: skip


def _new_traces(
    rng: np.random.Generator, count: int, *, max_spans: int
) -> tuple[list[str], np.ndarray[Any, Any], Iterator[str]]:
    """Trace ids, start instants within the demo week, and a supply of span ids."""
    starts = epoch_us(WEEK_END) - rng.integers(0, 7 * 86_400_000_000, count)
    return hex_ids(rng, count, 32), starts, iter(hex_ids(rng, count * max_spans, 16))


def tool_loops(rng: np.random.Generator) -> _Rows:
    """Single-agent traces: think, call tools, answer; run_sql fails often and the agent retries once."""
    rows = _Rows()
    traces, starts, ids = _new_traces(rng, N_TOOL_LOOPS, max_spans=12)
    for trace, start in zip(traces, starts, strict=True):
        ask, tools = _TASKS[rng.integers(0, len(_TASKS))]
        user = f"user-{int(rng.integers(0, 300)):04d}"
        clock = _Clock(rng, int(start))
        root = next(ids)
        failed_for_good = False
        for tool in tools:
            _llm(rows, rng, clock, trace, root, next(ids), "support_agent", ask, f"call {tool}", user)
            attempts = 2 if tool == "run_sql" else 1
            for attempt in range(attempts):
                error = (
                    _SQL_ERRORS[rng.integers(0, len(_SQL_ERRORS))]
                    if tool == "run_sql" and rng.random() < 0.45
                    else None
                )
                ms = 30_000 if error and error.startswith("Timeout") else 150
                _tool(rows, clock, trace, root, next(ids), "support_agent", tool, json.dumps({"request": ask}),
                      f"{tool} ok", user, error, ms)  # fmt: skip
                if error is None:
                    break
                if attempt == attempts - 1:
                    failed_for_good = True
        answer = "Sorry, I couldn't look that up right now." if failed_for_good else "Done: here is what I found."
        _llm(rows, rng, clock, trace, root, next(ids), "support_agent", ask, answer, user)
        rows.span(
            trace_id=trace, span_id=root, name="invoke_agent support_agent", kind="AGENT", otel_kind="SERVER",
            start=int(start), end=clock.now + 2_000, status_code="ERROR" if failed_for_good else "OK",
            status_message="tool run_sql failed after retry" if failed_for_good else None, input_text=ask,
            output_text=answer, user_id=user, agent_name="support_agent", service_name="nimbus-agents",
            attributes=json.dumps({"gen_ai.agent.name": "support_agent"}),
        )  # fmt: skip
    return rows


def _agent_span(rows: _Rows, trace: str, span: str, root: str, agent: str, start: int, end: int, ask: str,
                user: str) -> None:  # fmt: skip
    rows.span(
        trace_id=trace, span_id=span, parent_span_id=root, name=f"invoke_agent {agent}", kind="AGENT",
        otel_kind="INTERNAL", start=start, end=end, status_code="OK", input_text=ask, user_id=user, agent_name=agent,
        service_name="nimbus-agents", attributes=json.dumps({"gen_ai.agent.name": agent, "handoffs": _handoffs(agent)}),
    )  # fmt: skip


def _handoffs(agent: str) -> list[str]:
    return sorted(_ROUTES) if agent == "triage" else ["triage"]


def network(rng: np.random.Generator) -> _Rows:
    """Multi-agent traces: triage hands off to specialists; some bounce billing <-> triage until max turns."""
    rows = _Rows()
    traces, starts, ids = _new_traces(rng, N_NETWORK, max_spans=60)
    for trace, start in zip(traces, starts, strict=True):
        ask, route = _NETWORK_ASKS[rng.integers(0, len(_NETWORK_ASKS))]
        looping = len(route) == 3 and rng.random() < 0.7
        if looping:
            route = ["billing", "triage"] * (MAX_TURNS // 2)
        user = f"user-{int(rng.integers(0, 300)):04d}"
        clock = _Clock(rng, int(start))
        root = next(ids)
        agent, agent_span = "triage", next(ids)
        agent_start = clock.now
        _llm(rows, rng, clock, trace, agent_span, next(ids), agent, ask, f"handoff to {route[0]}", user)
        for hop, target in enumerate(route):
            handoff, target_span = next(ids), next(ids)
            _agent_span(rows, trace, agent_span, root, agent, agent_start, clock.now + 500, ask, user)
            begin, end = clock.take(3, 0.2)
            rows.span(
                trace_id=trace, span_id=handoff, parent_span_id=agent_span, name=f"handoff {agent} -> {target}",
                kind="HANDOFF", otel_kind="INTERNAL", start=begin, end=end, status_code="OK", input_text=agent,
                output_text=target, user_id=user, agent_name=agent, service_name="nimbus-agents",
                attributes=json.dumps({"from_agent": agent, "to_agent": target}),
            )  # fmt: skip
            rows.edges["kind"].append("handoff")
            rows.edges["src_trace_id"].append(trace)
            rows.edges["src_span_id"].append(agent_span)
            rows.edges["dst_trace_id"].append(trace)
            rows.edges["dst_span_id"].append(target_span)
            rows.edges["label"].append(f"{agent} -> {target}")
            rows.edges["attributes"].append(json.dumps({"from_agent": agent, "to_agent": target, "hop": hop}))
            agent, agent_span, agent_start = target, target_span, clock.now
            tool = _ROUTES.get(agent, ("search_docs",))[0]
            last = hop == len(route) - 1
            reply = "handoff to triage: this is about the plan price" if looping else "Resolved."
            answer = reply if not last or looping else "Resolved."
            _llm(rows, rng, clock, trace, agent_span, next(ids), agent, ask, answer, user)
            if agent != "triage":
                request = json.dumps({"request": ask})
                _tool(rows, clock, trace, agent_span, next(ids), agent, tool, request, f"{tool} ok", user)
        _agent_span(rows, trace, agent_span, root, agent, agent_start, clock.now + 500, ask, user)
        rows.span(
            trace_id=trace, span_id=root, name="agent_run support_network", kind="CHAIN", otel_kind="SERVER",
            start=int(start), end=clock.now + 1_000, status_code="ERROR" if looping else "OK",
            status_message=f"MaxTurnsExceeded: max_turns={MAX_TURNS}" if looping else None, input_text=ask,
            output_text=None if looping else "Resolved.", user_id=user, agent_name="triage",
            service_name="nimbus-agents",
            attributes=json.dumps({"workflow": "support_network", "max_turns": MAX_TURNS}),
        )  # fmt: skip
    return rows


def generate(rng: np.random.Generator) -> dict[str, pa.Table]:
    """Spans of both agent workloads, and the handoff edges of the network."""
    loops, net = tool_loops(rng), network(rng)
    spans = {key: loops.spans[key] + net.spans[key] for key in loops.spans}
    start, end = spans.pop("start"), spans.pop("end")
    result = table(spans)
    result = result.append_column("start_time", micros(np.array(start))).append_column(
        "end_time", micros(np.array(end))
    )
    return {"spans": result, "edges": table(net.edges)}
