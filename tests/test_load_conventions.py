"""Attribute conventions beyond the basics: Vercel AI SDK ``ai.*``, GenAI message events, agent graphs and handoffs.

Spans are made with the real OpenTelemetry SDK carrying the attributes and events the instrumentations write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

import llmlens
from tests.otel_fixtures import hex_ids, protobuf_json, write_jsonl


@contextmanager
def _tracer() -> Iterator[tuple[Tracer, list[ReadableSpan]]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spans: list[ReadableSpan] = []
    yield provider.get_tracer("fixtures"), spans
    provider.shutdown()
    spans.extend(exporter.get_finished_spans())


def _rows(frame: Any) -> list[list[Any]]:
    """Rows with missing values as None (pandas shows them as NaN or NA)."""
    return frame.astype(object).where(frame.notna(), None).values.tolist()  # type: ignore[no-any-return]


def _load(tmp_path: Path, spans: list[ReadableSpan], name: str = "spans.jsonl") -> llmlens.Lens:
    lens = llmlens.open(tmp_path / "store.duckdb")
    lens.load(write_jsonl(tmp_path / name, [hex_ids(protobuf_json(spans))]), progress=False)
    return lens


VERCEL_DO_GENERATE: dict[str, Any] = {
    "operation.name": "ai.generateText.doGenerate support-bot",
    "ai.operationId": "ai.generateText.doGenerate",
    "ai.telemetry.functionId": "support-bot",
    "ai.telemetry.metadata.sessionId": "sess-1",
    "ai.telemetry.metadata.userId": "user-7",
    "ai.model.provider": "openai.responses",
    "ai.model.id": "gpt-4o-mini",
    "ai.prompt.messages": json.dumps(
        [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": [{"type": "text", "text": "Refund order A1?"}]},
            {
                "role": "assistant",
                "content": [{"type": "tool-call", "toolCallId": "c1", "toolName": "order", "input": {"id": "A1"}}],
            },
            {
                "role": "tool",
                "content": [
                    {
                        "type": "tool-result",
                        "toolCallId": "c1",
                        "toolName": "order",
                        "output": {"type": "json", "value": {"paid": True}},
                    }
                ],
            },
        ]
    ),
    "ai.response.finishReason": "tool-calls",
    "ai.response.text": "Let me refund it.",
    "ai.response.toolCalls": json.dumps([{"toolCallId": "c2", "toolName": "refund", "input": '{"id":"A1"}'}]),
    "ai.response.model": "gpt-4o-mini-2024-07-18",
    "ai.usage.inputTokens": 50,
    "ai.usage.outputTokens": 9,
    "ai.usage.totalTokens": 59,
}


def test_vercel_ai_sdk_spans_fill_columns_and_messages(tmp_path: Path) -> None:
    with _tracer() as (tracer, spans):
        outer = {
            "ai.operationId": "ai.generateText",
            "ai.model.id": "gpt-4o-mini",
            "ai.prompt": json.dumps({"system": "Be brief.", "prompt": "Write a haiku."}),
            "ai.response.text": "Lines of code align",
            "ai.usage.promptTokens": 14,
            "ai.usage.completionTokens": 20,
        }
        with tracer.start_as_current_span("ai.generateText", attributes=outer):
            with tracer.start_as_current_span("ai.generateText.doGenerate", attributes=VERCEL_DO_GENERATE):
                pass
            tool = {
                "ai.operationId": "ai.toolCall",
                "ai.toolCall.name": "refund",
                "ai.toolCall.id": "c2",
                "ai.toolCall.args": '{"id":"A1"}',
                "ai.toolCall.result": '{"ok":true}',
            }
            with tracer.start_as_current_span("ai.toolCall", attributes=tool):
                pass
    with _load(tmp_path, spans) as lens:
        rows = lens.sql(
            "SELECT name, kind, model, provider, input_tokens, output_tokens, total_tokens, session_id, user_id, "
            "output_text FROM spans ORDER BY start_time, name"
        )
        assert _rows(rows) == [
            ["ai.generateText", "CHAIN", "gpt-4o-mini", None, 14, 20, 34, None, None, "Lines of code align"],
            [
                "ai.generateText.doGenerate",
                "LLM",
                "gpt-4o-mini-2024-07-18",
                "openai.responses",
                50,
                9,
                59,
                "sess-1",
                "user-7",
                "Let me refund it.",
            ],
            ["ai.toolCall", "TOOL", None, None, None, None, None, None, None, '{"ok":true}'],
        ]
        messages = lens.sql(
            "SELECT s.name, m.side, m.position, m.role, m.content, m.parts, m.finish_reason "
            "FROM messages m JOIN spans s USING (trace_id, span_id) ORDER BY s.start_time, s.name, m.side, m.position"
        )
        outer_messages = messages[messages.name == "ai.generateText"]
        assert outer_messages[["side", "role", "content"]].values.tolist() == [
            ["input", "system", "Be brief."],
            ["input", "user", "Write a haiku."],
            ["output", "assistant", "Lines of code align"],
        ]
        call = messages[messages.name == "ai.generateText.doGenerate"]
        assert call[["side", "role"]].values.tolist() == [
            ["input", "system"],
            ["input", "user"],
            ["input", "assistant"],
            ["input", "tool"],
            ["output", "assistant"],
        ]
        assert call.content.iloc[1] == "Refund order A1?"
        assert json.loads(call.parts.iloc[2]) == [
            {"type": "tool_call", "id": "c1", "name": "order", "arguments": '{"id":"A1"}'}
        ]
        assert json.loads(call.parts.iloc[3])[0]["type"] == "tool_call_response"
        output = json.loads(call.parts.iloc[4])
        assert output[0] == {"type": "text", "content": "Let me refund it."}
        assert output[1] == {"type": "tool_call", "id": "c2", "name": "refund", "arguments": '"{\\"id\\":\\"A1\\"}"'}
        assert call.finish_reason.iloc[4] == "tool-calls"


def test_genai_message_events_become_messages(tmp_path: Path) -> None:
    with _tracer() as (tracer, spans):
        with tracer.start_as_current_span("chat legacy-events", attributes={"gen_ai.system": "openai"}) as span:
            span.add_event("gen_ai.system.message", {"content": "Be terse."})
            span.add_event("gen_ai.user.message", {"gen_ai.event.content": json.dumps({"content": "Hi?"})})
            span.add_event(
                "gen_ai.assistant.message",
                {
                    "content": "",
                    "tool_calls": json.dumps(
                        [{"id": "t1", "type": "function", "function": {"name": "time", "arguments": "{}"}}]
                    ),
                },
            )
            span.add_event("gen_ai.tool.message", {"content": "12:00", "id": "t1"})
            span.add_event(
                "gen_ai.choice",
                {"index": 0, "finish_reason": "stop", "message": json.dumps({"role": "assistant", "content": "Noon."})},
            )
        with tracer.start_as_current_span("openllmetry content events") as span:
            span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": json.dumps([{"role": "user", "content": "Yo"}])})
            span.add_event("gen_ai.content.completion", {"gen_ai.completion": "Hey there"})
        with tracer.start_as_current_span("details event") as span:
            parts = [{"role": "user", "parts": [{"type": "text", "content": "Sum 2+2"}]}]
            answer = [{"role": "assistant", "parts": [{"type": "text", "content": "4"}], "finish_reason": "stop"}]
            span.add_event(
                "gen_ai.client.inference.operation.details",
                {"gen_ai.input.messages": json.dumps(parts), "gen_ai.output.messages": json.dumps(answer)},
            )
        with tracer.start_as_current_span(
            "attributes win",
            attributes={
                "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "A"}]}])
            },
        ) as span:
            span.add_event("gen_ai.user.message", {"content": "B"})
    with _load(tmp_path, spans) as lens:
        rows = lens.sql(
            "SELECT s.name, m.side, m.position, m.role, m.content, m.finish_reason "
            "FROM messages m JOIN spans s USING (trace_id, span_id) ORDER BY s.name, m.side, m.position"
        )
        assert [tuple(row) for row in _rows(rows)] == [
            ("attributes win", "input", 0, "user", "A", None),
            ("chat legacy-events", "input", 0, "system", "Be terse.", None),
            ("chat legacy-events", "input", 1, "user", "Hi?", None),
            ("chat legacy-events", "input", 2, "assistant", "", None),
            ("chat legacy-events", "input", 3, "tool", "12:00", None),
            ("chat legacy-events", "output", 0, "assistant", "Noon.", "stop"),
            ("details event", "input", 0, "user", "Sum 2+2", None),
            ("details event", "output", 0, "assistant", "4", "stop"),
            ("openllmetry content events", "input", 0, "user", "Yo", None),
            ("openllmetry content events", "output", 0, "assistant", "Hey there", None),
        ]
        tool_calls = lens.sql(
            "SELECT parts FROM messages m JOIN spans s USING (trace_id, span_id) "
            "WHERE s.name = 'chat legacy-events' AND m.role = 'assistant' AND side = 'input'"
        ).parts[0]
        assert {"type": "tool_call", "id": "t1", "name": "time", "arguments": "{}"} in json.loads(tool_calls)


def _agent(tracer: Tracer, name: str, parent_node: str | None = None) -> Any:
    attributes = {"openinference.span.kind": "AGENT", "agent.name": name, "graph.node.id": name}
    if parent_node:
        attributes["graph.node.parent_id"] = parent_node
    return tracer.start_as_current_span(name, attributes=attributes)


def _handoff(tracer: Tracer, source: str, target: str) -> None:
    attributes = {"openinference.span.kind": "TOOL", "input.value": source, "output.value": target}
    with tracer.start_as_current_span(f"handoff to {target}", attributes=attributes):
        time.sleep(0.001)


def test_openinference_agent_graph_and_handoffs_become_edges_even_in_a_loop(tmp_path: Path) -> None:
    """triage -> billing -> triage -> billing, as the OpenAI Agents SDK instrumentor records it."""
    with _tracer() as (tracer, spans), tracer.start_as_current_span("Agent workflow"):
        with _agent(tracer, "triage"):
            _handoff(tracer, "triage", "billing")
        with _agent(tracer, "billing", parent_node="triage"):
            _handoff(tracer, "billing", "triage")
        with _agent(tracer, "triage", parent_node="billing"):
            _handoff(tracer, "triage", "billing")
        with _agent(tracer, "billing", parent_node="triage"):
            pass
    with _load(tmp_path, spans) as lens:
        edges = lens.sql(
            "SELECT e.kind, e.label, src.name AS src, src.start_time AS src_start, dst.name AS dst, "
            "dst.start_time AS dst_start, via.name AS via "
            "FROM edges e JOIN spans src ON src.trace_id = e.src_trace_id AND src.span_id = e.src_span_id "
            "JOIN spans dst ON dst.trace_id = e.dst_trace_id AND dst.span_id = e.dst_span_id "
            "JOIN spans via ON via.trace_id = e.via_trace_id AND via.span_id = e.via_span_id "
            "ORDER BY e.kind, dst.start_time"
        )
        assert edges[["kind", "label", "src", "dst"]].values.tolist() == [
            ["graph_node", "triage -> billing", "triage", "billing"],
            ["graph_node", "billing -> triage", "billing", "triage"],
            ["graph_node", "triage -> billing", "triage", "billing"],
            ["handoff", "triage -> billing", "triage", "billing"],
            ["handoff", "billing -> triage", "billing", "triage"],
            ["handoff", "triage -> billing", "triage", "billing"],
        ]
        assert (edges.src_start < edges.dst_start).all()  # each edge goes from the latest source to the next target
        assert edges[edges.kind == "handoff"].via.str.startswith("handoff to ").all()
        spans_before = lens.tables()["edges"]
        again_path = write_jsonl(tmp_path / "again.jsonl", [hex_ids(protobuf_json(spans))])
        again_path.write_text(again_path.read_text() + "\n")  # other bytes, same spans: an overlapping export
        again = lens.load(again_path, progress=False)
        assert again.rows_added["edges"] == 6 and lens.tables()["edges"] == spans_before  # replaced, not doubled


def test_genai_handoff_attributes_and_unknown_agents(tmp_path: Path) -> None:
    with (
        _tracer() as (tracer, spans),
        tracer.start_as_current_span(
            "invoke_agent router", attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "router"}
        ),
    ):
        handoff = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.agent.handoff.source.name": "router",
            "gen_ai.agent.handoff.target.name": "remote-expert",
        }
        with tracer.start_as_current_span("execute_tool transfer_to_remote-expert", attributes=handoff):
            pass
    with _load(tmp_path, spans) as lens:
        edge = lens.sql(
            "SELECT e.kind, e.label, src.name AS src, dst.name AS dst, e.attributes->>'to_agent' AS target "
            "FROM edges e JOIN spans src ON src.span_id = e.src_span_id JOIN spans dst ON dst.span_id = e.dst_span_id"
        )
        # the target agent is in another process: the handoff span stands in for it
        assert edge.values.tolist() == [
            [
                "handoff",
                "router -> remote-expert",
                "invoke_agent router",
                "execute_tool transfer_to_remote-expert",
                "remote-expert",
            ]
        ]
