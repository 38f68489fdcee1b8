"""Agent traces: single-agent tool loops with a flaky SQL tool, and a triage network with a handoff loop.

Planted: ``run_sql`` fails for a good share of calls (a made-up column, a made-up table, a 30 s warehouse
timeout); the agent retries once, then apologises. In the network, a question about a refund *and* a plan price
bounces between triage and billing until the run stops with ``MaxTurnsExceeded`` on the root span.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from string import Template
from typing import Any

import numpy as np
import pyarrow as pa

from llmlens.demo.common import WEEK_END, epoch_us, hex_ids, micros, table

N_TOOL_LOOPS = 300
N_NETWORK = 150
N_USERS = 300
MODEL = "gpt-4o"
PRICE = (2.50, 10.00)  # USD per million input / output tokens
MAX_TURNS = 10
SERVICE = "nimbus-agents"
SQL_FAILURE_RATE = 0.4
SQL_TIMEOUT_MS = 30_000
WORKSPACES = ("acme-prod", "globex-eu", "initech", "umbrella-labs", "hooli-data", "stark-ops", "wayne-ent")


@dataclass(frozen=True)
class Call:
    """A tool call: tool name, JSON arguments and JSON result (``$workspace`` is filled in per trace)."""

    tool: str
    arguments: str
    result: str


@dataclass(frozen=True)
class Task:
    """A request to the support agent, the tool calls that serve it and the final answer."""

    ask: str
    calls: tuple[Call, ...]
    answer: str


_ACCOUNT = Call(
    "get_account",
    '{"workspace": "$workspace"}',
    '{"workspace": "$workspace", "plan": "Team", "seats": 42, "billing_cycle": "monthly", '
    '"owner": "ops@$workspace.example"}',
)
TASKS: tuple[Task, ...] = (
    Task(
        "Why was I charged twice this month?",
        (_ACCOUNT, Call(
            "run_sql",
            '{"query": "SELECT invoice_id, amount_usd, created_at FROM invoices WHERE workspace = \'$workspace\' '
            'AND created_at >= date_trunc(\'month\', now())"}',
            '[{"invoice_id": "INV-2231", "amount_usd": 4158.0}, {"invoice_id": "INV-2232", "amount_usd": 4158.0}]',
        )),
        "You were charged twice: invoices INV-2231 and INV-2232 were both issued on November 1 for $4,158. "
        "I've flagged INV-2232 as a duplicate, so it will be refunded.",
    ),
    Task(
        "How many active seats does workspace $workspace have?",
        (Call(
            "run_sql",
            '{"query": "SELECT count(*) AS seats FROM members WHERE workspace = \'$workspace\' AND active"}',
            '[{"seats": 42}]',
        ),),
        "The workspace $workspace has 42 active seats.",
    ),
    Task(
        "Open a ticket: the export button does nothing.",
        (
            Call("search_docs", '{"query": "export button not working"}',
                 '[{"title": "Data export > Export your workspace", "score": 0.71}]'),
            Call("create_ticket", '{"title": "Export button does nothing", "priority": "normal", '
                 '"workspace": "$workspace"}', '{"ticket_id": "SUP-48213", "status": "open"}'),
        ),
        "I've opened ticket SUP-48213. Meanwhile, only workspace admins can start an export: "
        "could you check that you are an admin?",
    ),
    Task(
        "What's our API usage this week?",
        (_ACCOUNT, Call(
            "run_sql",
            '{"query": "SELECT date_trunc(\'day\', ts) AS day, count(*) AS requests FROM api_requests '
            'WHERE workspace = \'$workspace\' AND ts >= now() - INTERVAL 7 DAY GROUP BY day ORDER BY day"}',
            '[{"day": "2026-11-09", "requests": 182311}, {"day": "2026-11-10", "requests": 190877}]',
        )),
        "Your workspace made about 1.3 million API requests this week, 186,000 a day on average, "
        "well under the limit of 600 requests per minute per key.",
    ),
    Task(
        "How do I rotate my API key?",
        (Call("search_docs", '{"query": "rotate API key"}',
              '[{"title": "API rate limits > Limits per key", "score": 0.64}]'),),
        "Create a new key under Settings > API, switch your integration to it, then revoke the old key.",
    ),
    Task(
        "Downgrade us to the Pro plan at the end of the cycle.",
        (_ACCOUNT, Call("create_ticket", '{"title": "Downgrade to Pro at renewal", "priority": "low", '
                        '"workspace": "$workspace"}', '{"ticket_id": "SUP-48230", "status": "open"}')),
        "Done: ticket SUP-48230 schedules the downgrade to Pro at the end of your current billing cycle.",
    ),
)  # fmt: skip
APOLOGY = "Sorry, I couldn't look that up right now: our reporting database isn't responding. Please try again later."

_SQL_FAILURES = (
    'Binder Error: Referenced column "plan_tier" not found in FROM clause!',
    "Timeout: query exceeded 30 s on warehouse replica wh-ro-2",
    "Catalog Error: Table with name $table does not exist!",
)
"""run_sql errors: the model invents a column, the warehouse times out, the model invents a table."""

SPECIALIST_CALLS = {
    "billing": _ACCOUNT,
    "tech_support": Call("search_docs", '{"query": "mobile app crash on open"}',
                         '[{"title": "Mobile app > Install the app", "score": 0.69}]'),
    "refunds": Call("refund_lookup", '{"workspace": "$workspace"}',
                    '[{"invoice_id": "INV-2207", "amount_usd": 1188.0, "refundable": true}, '
                    '{"invoice_id": "INV-2232", "amount_usd": 4158.0, "refundable": true}]'),
}  # fmt: skip
NETWORK_ASKS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("I want a refund for the annual plan I bought yesterday.", ("refunds",),
     "I've started a refund of $1,188 for invoice INV-2207; it reaches your card in 5-10 business days."),
    ("The mobile app crashes when I open a project.", ("tech_support",),
     "That crash was fixed in app version 5.4.2; please update the app from your app store."),
    ("Why did my invoice go up?", ("billing",),
     "Your invoice went up because 6 seats were added on November 3; new seats are prorated."),
    ("I was double charged and want the money back.", ("billing", "refunds"),
     "Invoice INV-2232 was a duplicate; I've refunded $4,158 to your card."),
    ("Is my refund for invoice INV-2231 processed? It's also about my plan price.", ("billing", "triage", "billing"),
     "The refund for INV-2231 was processed on November 12; your plan price is unchanged at $99 per seat."),
)  # fmt: skip
"""What users ask the support network, the specialists it should visit after triage, and the final answer."""
LOOPING_ASK = len(NETWORK_ASKS) - 1
LOOP_RATE = 0.7


@dataclass
class _Rows:
    """Span and edge rows of a group of traces, as column lists."""

    spans: dict[str, list[Any]] = field(default_factory=lambda: {key: [] for key in (
        "trace_id", "span_id", "parent_span_id", "name", "kind", "otel_kind", "start", "end", "status_code",
        "status_message", "model", "provider", "input_text", "output_text", "input_tokens", "output_tokens",
        "total_tokens", "cost_usd", "session_id", "user_id", "agent_name", "service_name", "attributes")})  # fmt: skip
    edges: dict[str, list[Any]] = field(default_factory=lambda: {key: [] for key in (
        "kind", "src_trace_id", "src_span_id", "dst_trace_id", "dst_span_id", "label", "attributes")})  # fmt: skip

    def add(self, columns: dict[str, list[Any]], **values: Any) -> None:
        """Append one row to ``columns`` (``spans`` or ``edges``); a column not in ``values`` gets NULL."""
        for key, column in columns.items():
            column.append(values.get(key))


class _Trace:
    """One trace being written: its id, a clock that advances span by span, its user, and a supply of span ids."""

    def __init__(self, rows: _Rows, rng: np.random.Generator, trace_id: str, start: int, ids: Iterator[str]) -> None:
        self.rows, self.rng, self.trace_id, self.now, self.ids = rows, rng, trace_id, start, ids
        self.user = f"user-{int(rng.integers(0, N_USERS)):04d}"
        self.session = f"sess-{hex_ids(rng, 1, 12)[0]}"
        self.workspace = WORKSPACES[int(rng.integers(0, len(WORKSPACES)))]
        self.context_tokens = int(rng.integers(700, 1_100))  # system prompt and tool schemas
        self.last_message = ""

    def fill(self, text: str) -> str:
        """``text`` with this trace's workspace in place of ``$workspace``."""
        return Template(text).safe_substitute(workspace=self.workspace)

    def take(self, ms: float) -> tuple[int, int]:
        """The next span's start and end: a short gap, then ``ms`` milliseconds."""
        begin = self.now + int(self.rng.integers(500, 3_000))
        self.now = begin + int(ms * 1_000)
        return begin, self.now

    def span(self, **values: Any) -> str:
        """Add a span of this trace (``span_id`` given, or the next free one); status OK unless ``values`` say."""
        span_id = values.pop("span_id", None) or next(self.ids)
        defaults = {"session_id": self.session, "user_id": self.user, "service_name": SERVICE, "status_code": "OK"}
        self.rows.add(self.rows.spans, **{**defaults, **values, "trace_id": self.trace_id, "span_id": span_id})
        return span_id

    def llm(self, parent: str, agent: str, prompt: str, reply: str) -> None:
        """A chat call that reads ``prompt`` (the newest message) and writes ``reply``."""
        self.context_tokens += len(prompt) // 4 + 6
        n_out = len(reply) // 4 + 8
        begin, end = self.take(self.rng.lognormal(np.log(420), 0.35) + n_out * self.rng.lognormal(np.log(22), 0.2))
        self.span(
            parent_span_id=parent, name=f"chat {MODEL}", kind="LLM", otel_kind="CLIENT", start=begin, end=end,
            model=MODEL, provider="openai", input_text=prompt, output_text=reply, input_tokens=self.context_tokens,
            output_tokens=n_out, total_tokens=self.context_tokens + n_out,
            cost_usd=(self.context_tokens * PRICE[0] + n_out * PRICE[1]) / 1e6, agent_name=agent,
            attributes=json.dumps({"gen_ai.operation.name": "chat", "gen_ai.request.model": MODEL}),
        )  # fmt: skip
        self.context_tokens += n_out

    def tool(self, parent: str, agent: str, call: Call, error: str | None, ms: float) -> None:
        """The tool span of ``call``: its result, or ``error`` and no result."""
        begin, end = self.take(ms)
        self.span(
            parent_span_id=parent, name=f"execute_tool {call.tool}", kind="TOOL", otel_kind="INTERNAL", start=begin,
            end=end, status_code="ERROR" if error else "OK", status_message=error, input_text=call.arguments,
            output_text=None if error else call.result, agent_name=agent,
            attributes=json.dumps({"gen_ai.tool.name": call.tool, "gen_ai.tool.call.arguments": call.arguments}),
        )  # fmt: skip

    def call(self, parent: str, agent: str, call: Call, error: str | None = None) -> None:
        """The model asks for ``call``; the tool runs (or fails with ``error``)."""
        filled = Call(call.tool, self.fill(call.arguments), self.fill(call.result))
        request = json.dumps({"tool_calls": [{"name": filled.tool, "arguments": json.loads(filled.arguments)}]})
        prompt = self.last_message
        self.llm(parent, agent, prompt, request)
        ms = self.rng.lognormal(np.log(160), 0.5)
        if error is not None:
            ms = SQL_TIMEOUT_MS + self.rng.uniform(2, 40) if error.startswith("Timeout") else self.rng.uniform(8, 40)
        self.tool(parent, agent, filled, error, ms)
        self.last_message = error or filled.result


def _traces(
    rng: np.random.Generator, count: int, max_spans: int
) -> tuple[list[str], np.ndarray[Any, Any], Iterator[str]]:
    """Trace ids, start instants within the demo week, and a supply of span ids."""
    starts = epoch_us(WEEK_END) - rng.integers(0, 7 * 86_400_000_000, count)
    return hex_ids(rng, count, 32), starts, iter(hex_ids(rng, count * max_spans, 16))


def tool_loops(rng: np.random.Generator) -> _Rows:
    """Single-agent traces: the agent calls tools one by one, retries a failed run_sql once, then answers."""
    rows = _Rows()
    trace_ids, starts, ids = _traces(rng, N_TOOL_LOOPS, max_spans=12)
    for trace_id, start in zip(trace_ids, starts, strict=True):
        trace = _Trace(rows, rng, trace_id, int(start), ids)
        task = TASKS[int(rng.integers(0, len(TASKS)))]
        root, ask = next(ids), trace.fill(task.ask)
        trace.last_message = ask
        answer = trace.fill(task.answer)
        for call in task.calls:
            if not _call_with_retry(trace, root, call):
                answer = APOLOGY
                break
        trace.llm(root, "support_agent", trace.last_message, answer)
        trace.span(
            span_id=root, name="invoke_agent support_agent", kind="AGENT", otel_kind="INTERNAL", start=int(start),
            end=trace.now + 1_500, input_text=ask, output_text=answer, agent_name="support_agent",
            attributes=json.dumps({"gen_ai.agent.name": "support_agent", "gen_ai.operation.name": "invoke_agent"}),
        )  # fmt: skip
    return rows


def _call_with_retry(trace: _Trace, root: str, call: Call) -> bool:
    """Make ``call``; a failing run_sql is tried once more. False when it failed both times."""
    attempts = 2 if call.tool == "run_sql" else 1
    for _ in range(attempts):
        failure = _sql_failure(trace, call)
        attempt = _broken(call, failure)
        trace.call(root, "support_agent", attempt, None if failure is None else _sql_error_text(attempt, failure))
        if failure is None:
            return True
    return False


def _sql_failure(trace: _Trace, call: Call) -> str | None:
    if call.tool != "run_sql" or trace.rng.random() >= SQL_FAILURE_RATE:
        return None
    return _SQL_FAILURES[int(trace.rng.integers(0, len(_SQL_FAILURES)))]


def _broken(call: Call, error: str | None) -> Call:
    """The query the model wrote when ``error`` came back: with an invented column or table where the error says."""
    if error is None or error.startswith("Timeout"):
        return call
    if "column" in error:
        return Call(call.tool, call.arguments.replace("SELECT ", "SELECT plan_tier, ", 1), call.result)
    return Call(call.tool, re.sub(r"FROM (\w+)", r"FROM \1_v2", call.arguments, count=1), call.result)


def _sql_error_text(call: Call, error: str) -> str:
    table_match = re.search(r"FROM (\w+)", call.arguments)
    return Template(error).safe_substitute(table=table_match.group(1) if table_match else "unknown")


def network(rng: np.random.Generator) -> _Rows:
    """Multi-agent traces: triage hands off to specialists; some bounce billing <-> triage until max turns."""
    rows = _Rows()
    trace_ids, starts, ids = _traces(rng, N_NETWORK, max_spans=60)
    for trace_id, start in zip(trace_ids, starts, strict=True):
        trace = _Trace(rows, rng, trace_id, int(start), ids)
        which = int(rng.integers(0, len(NETWORK_ASKS)))
        ask, route, answer = NETWORK_ASKS[which]
        looping = which == LOOPING_ASK and rng.random() < LOOP_RATE
        visits = (["triage", "billing"] * MAX_TURNS)[:MAX_TURNS] if looping else ["triage", *route]
        root = next(ids)
        trace.last_message = ask
        _visit_agents(trace, root, visits, ask, answer, looping)
        trace.span(
            span_id=root, name="agent_run support_network", kind="CHAIN", otel_kind="INTERNAL", start=int(start),
            end=trace.now + 1_000, status_code="ERROR" if looping else "OK",
            status_message=f"MaxTurnsExceeded: Max turns ({MAX_TURNS}) exceeded" if looping else None,
            input_text=ask, output_text=None if looping else answer, agent_name="triage",
            attributes=json.dumps({"workflow": "support_network", "max_turns": MAX_TURNS}),
        )  # fmt: skip
    return rows


def _visit_agents(trace: _Trace, root: str, visits: list[str], ask: str, answer: str, looping: bool) -> None:
    """Each visited agent works, then hands off to the next; the last one answers (or, looping, is cut off)."""
    agent_ids = [next(trace.ids) for _ in visits]
    for hop, (agent, span_id) in enumerate(zip(visits, agent_ids, strict=True)):
        begin = trace.now = trace.now + 300
        target = visits[hop + 1] if hop + 1 < len(visits) else ("triage" if looping else None)
        if agent != "triage":
            trace.call(span_id, agent, SPECIALIST_CALLS[agent])
        reply = answer if target is None else json.dumps({"tool_calls": [{"name": f"transfer_to_{target}"}]})
        trace.llm(span_id, agent, trace.last_message, reply)
        handing_off = target is not None and hop + 1 < len(visits)
        if handing_off:
            _handoff(trace, span_id, agent, str(target), agent_ids[hop + 1])
        trace.span(
            span_id=span_id, parent_span_id=root, name=f"invoke_agent {agent}", kind="AGENT", otel_kind="INTERNAL",
            start=begin, end=trace.now + 500, input_text=ask, output_text=answer if target is None else None,
            agent_name=agent,
            attributes=json.dumps({"gen_ai.agent.name": agent, "handoffs": _handoffs(agent)}),
        )  # fmt: skip
        trace.now += 500


def _handoff(trace: _Trace, parent: str, source: str, target: str, target_span: str) -> None:
    begin, end = trace.take(trace.rng.uniform(1.5, 5))
    trace.span(
        parent_span_id=parent, name=f"handoff {source} -> {target}", kind="HANDOFF", otel_kind="INTERNAL",
        start=begin, end=end, input_text=source, output_text=target, agent_name=source,
        attributes=json.dumps({"from_agent": source, "to_agent": target}),
    )  # fmt: skip
    trace.rows.add(
        trace.rows.edges, kind="handoff", src_trace_id=trace.trace_id, src_span_id=parent,
        dst_trace_id=trace.trace_id, dst_span_id=target_span, label=f"{source} -> {target}",
        attributes=json.dumps({"from_agent": source, "to_agent": target}),
    )  # fmt: skip
    trace.last_message = json.dumps({"assistant": target})


def _handoffs(agent: str) -> list[str]:
    return sorted(SPECIALIST_CALLS) if agent == "triage" else ["triage"]


def generate(rng: np.random.Generator) -> dict[str, pa.Table]:
    """Spans of both agent workloads, and the handoff edges of the network."""
    loops, net = tool_loops(rng), network(rng)
    spans = {key: loops.spans[key] + net.spans[key] for key in loops.spans}
    start, end = micros(np.array(spans.pop("start"))), micros(np.array(spans.pop("end")))
    return {
        "spans": table(spans).append_column("start_time", start).append_column("end_time", end),
        "edges": table(net.edges),
    }
