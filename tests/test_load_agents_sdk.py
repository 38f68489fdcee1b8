"""The OpenAI Agents SDK loader, on what the real SDK exported (``tests/fixtures/agents_sdk/``, written by
``tests/fixtures/make_agents_sdk.py``: a triage agent handing off to a billing agent that calls a function tool,
a run stopped by its guardrail, a one-agent run) and on hand-made bad inputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmlens
from llmlens.loaders import LoadError
from llmlens.loaders.detect import sniff

FIXTURES = Path(__file__).parent / "fixtures" / "agents_sdk"
EXPORT = FIXTURES / "support.jsonl"
BATCH = FIXTURES / "support-batch.json"


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXPORT.read_text().splitlines()]


@pytest.fixture
def lens() -> Iterator[llmlens.Lens]:
    with llmlens.open(":memory:") as lens:
        yield lens


def _rows(lens: llmlens.Lens, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return lens.con.execute(query, params).fetchall()


def _jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def _support(items: list[dict[str, Any]]) -> str:
    """The id of the trace in which the triage agent hands off to the billing agent."""
    return next(i["id"] for i in items if i["object"] == "trace" and i["workflow_name"] == "Customer support")


def test_the_sdk_export_loads_as_a_tree_of_kinds_with_handoffs_tools_and_model_calls(
    items: list[dict[str, Any]], lens: llmlens.Lens
) -> None:
    report = lens.load(EXPORT, progress=False)
    assert report.files[0].format == "openai-agents" and report.rejected == 0
    assert {k: v for k, v in report.rows_added.items() if v} == {"spans": 28, "messages": 6, "edges": 1}
    kinds = dict(_rows(lens, "SELECT kind, count(*) FROM spans GROUP BY kind"))
    assert kinds == {"CHAIN": 12, "AGENT": 4, "LLM": 5, "TOOL": 2, "HANDOFF": 1, "GUARDRAIL": 2, "UNKNOWN": 2}
    trace = _support(items)
    spans = {row[0]: row[1:] for row in _rows(
        lens, "SELECT span_id, name, kind, parent_span_id, agent_name, status_code, status_message, session_id, "
              "input_text, output_text FROM spans WHERE trace_id = ?", [trace])}  # fmt: skip
    assert len(spans) == 18
    # the trace is the root span: its workflow name, its group as session; the SDK's task span hangs under it
    root = spans[trace]
    assert root[:3] == ("Customer support", "CHAIN", None) and root[6] == "conv-7f3a9c"
    assert root[7:] == ("Was my invoice INV-1001 paid?", None)  # the last answer came from a response span
    task = [k for k, v in spans.items() if v[2] == trace]
    assert len(task) == 1 and spans[task[0]][:2] == ("Customer support", "CHAIN")
    by_name: dict[str, list[tuple[Any, ...]]] = {}
    for span_id, row in spans.items():
        by_name.setdefault(row[0], []).append((span_id, *row))
    (triage,), (billing,) = by_name["Triage agent"], by_name["Billing agent"]
    assert triage[2] == billing[2] == "AGENT" and (triage[4], billing[4]) == ("Triage agent", "Billing agent")
    (handoff,) = by_name["handoff to Billing agent"]
    assert handoff[2] == "HANDOFF" and handoff[8:] == ("Triage agent", "Billing agent")
    # the tool failed once (the SDK's non-fatal error), then answered; each span below an agent is the agent's
    failed, answered = sorted(by_name["lookup_invoice"], key=lambda r: r[5])
    assert failed[2] == "TOOL" and failed[5:7] == ("ERROR", "Error running tool (non-fatal)")
    assert answered[5] == "OK" and json.loads(answered[8]) == {"invoice_id": "INV-1001"}
    assert json.loads(answered[9])["status"] == "paid"
    assert {r[4] for r in by_name["lookup_invoice"] + by_name["response"]} == {"Billing agent"}
    assert {r[4] for r in by_name["generation"]} == {"Triage agent"}
    (query, _) = by_name["billing.db.query"]
    assert query[2] == "UNKNOWN" and query[3] in {failed[0], answered[0]}
    attributes = json.loads(_rows(lens, "SELECT attributes FROM spans WHERE span_id = ?", [query[0]])[0][0])
    assert attributes["span_data"]["data"]["table"] == "invoices"
    (guardrail,) = by_name["no_card_numbers"]
    assert guardrail[2] == "GUARDRAIL" and guardrail[5] == "OK"
    # the handoff is an edge from the triage agent's span to the billing agent's
    edges = _rows(lens, "SELECT kind, src_span_id, dst_span_id, label, via_span_id FROM edges")
    assert edges == [("handoff", triage[0], billing[0], "Triage agent -> Billing agent", handoff[0])]
    assert _rows(lens, "SELECT count(*) FROM orphan_spans") == [(0,)]


def test_model_calls_keep_model_usage_and_messages(items: list[dict[str, Any]], lens: llmlens.Lens) -> None:
    lens.load(EXPORT, progress=False)
    trace = _support(items)
    generation = _rows(
        lens, "SELECT span_id, model, provider, input_tokens, output_tokens, total_tokens FROM spans "
              "WHERE trace_id = ? AND name = 'generation'", [trace])  # fmt: skip
    assert [row[1:] for row in generation] == [("gpt-4o-mini-2024-07-18", "openai", 96, 14, 110)]
    messages = _rows(lens, "SELECT side, position, role, content, parts FROM messages WHERE span_id = ? "
                           "ORDER BY side, position", [generation[0][0]])  # fmt: skip
    assert [m[:4] for m in messages] == [
        ("input", 0, "system", "Route the customer to the right specialist."),
        ("input", 1, "user", "Was my invoice INV-1001 paid?"),
        ("output", 0, "assistant", None),
    ]
    assert json.loads(messages[2][4]) == [
        {"type": "tool_call", "id": "call_t1", "name": "transfer_to_billing_agent", "arguments": "{}"}]  # fmt: skip
    responses = _rows(lens, "SELECT model, input_tokens, output_tokens, attributes FROM spans "
                            "WHERE trace_id = ? AND name = 'response' ORDER BY start_time", [trace])  # fmt: skip
    assert [r[1:3] for r in responses] == [(212, 19), (259, 19), (301, 22)] and responses[0][0] is None
    assert json.loads(responses[0][3])["span_data"]["response_id"].startswith("resp_")
    traces = _rows(lens, "SELECT n_llm_calls, input_tokens, output_tokens FROM traces WHERE trace_id = ?", [trace])
    assert traces == [(4, 868, 74)]  # as the SDK's own run usage (the task span's) counts them
    greeting = _rows(lens, "SELECT root_name, input_text, output_text FROM traces WHERE root_name = 'Greeting'")
    assert greeting == [("Greeting", "hi", "Hello! How can I help you today?")]


def test_a_tripped_guardrail_is_an_error(lens: llmlens.Lens) -> None:
    lens.load(EXPORT, progress=False)
    tripped = _rows(lens, "SELECT s.status_code, s.status_message, t.status FROM spans s JOIN traces t "
                          "USING (trace_id) WHERE s.kind = 'GUARDRAIL' AND s.status_code = 'ERROR'")  # fmt: skip
    assert tripped == [("ERROR", "guardrail triggered", "ERROR")]


def test_the_backend_exporters_batch_a_json_array_and_jsonl_of_batches_load_the_same_spans(
    items: list[dict[str, Any]], tmp_path: Path
) -> None:
    query = "SELECT trace_id, span_id, parent_span_id, name, kind, agent_name, start_time FROM spans ORDER BY ALL"
    array = tmp_path / "array.json"
    array.write_text(json.dumps(items, indent=1))
    batches = _jsonl(tmp_path / "batches.jsonl", [{"data": items[:10]}, {"data": items[10:]}])
    found = []
    for path in (EXPORT, BATCH, array, batches):
        with llmlens.open(":memory:") as lens:
            report = lens.load(path, progress=False)
            assert report.files[0].format == "openai-agents" and report.rejected == 0, path.name
            found.append((_rows(lens, query), report.rows_added["edges"]))
    assert len(found[0][0]) == 28 and all(f == found[0] for f in found[1:])


def test_loading_again_adds_nothing_and_overlapping_exports_keep_one_copy(
    items: list[dict[str, Any]], lens: llmlens.Lens, tmp_path: Path
) -> None:
    lens.load(EXPORT, progress=False)
    again = lens.load(EXPORT, progress=False)
    assert again.files[0].skipped and not again.rows_added.get("spans")
    lens.load(BATCH, progress=False)  # the same spans, as the backend exporter sent them
    counts = _rows(lens, "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM messages), "
                         "(SELECT count(*) FROM edges), (SELECT count(*) FROM traces)")  # fmt: skip
    assert counts == [(28, 6, 1, 3)]


def test_spans_whose_trace_never_arrived_are_kept_until_it_does(
    items: list[dict[str, Any]], lens: llmlens.Lens, tmp_path: Path
) -> None:
    trace = _support(items)
    spans = [i for i in items if i.get("trace_id") == trace]
    report = lens.load(_jsonl(tmp_path / "spans.jsonl", spans), progress=False)
    assert report.rows_added["spans"] == 17 and report.rejected == 0
    assert _rows(lens, "SELECT name, parent_span_id FROM orphan_spans") == [("Customer support", trace)]
    head = [i for i in items if i.get("id") == trace]
    lens.load(_jsonl(tmp_path / "trace.jsonl", head), progress=False)
    assert _rows(lens, "SELECT count(*) FROM orphan_spans") == [(0,)]
    # the trace object has no times: its span covers the spans loaded before it
    root = _rows(lens, "SELECT s.start_time = t.start_time, s.end_time = t.end_time, t.root_name FROM spans s "
                       "JOIN traces t ON t.root_span_id = s.span_id WHERE s.span_id = ?", [trace])  # fmt: skip
    assert root == [(True, True, "Customer support")]


def test_unknown_span_types_are_kept_with_their_data(lens: llmlens.Lens, tmp_path: Path) -> None:
    span = {"object": "trace.span", "id": "span_x", "trace_id": "trace_x", "parent_id": None,
            "started_at": "2025-03-04T12:00:00.000001", "ended_at": None,
            "span_data": {"type": "sandbox_exec", "command": "ls", "exit_code": 0}, "error": None}  # fmt: skip
    mcp = {
        **span,
        "id": "span_m",
        "ended_at": "2025-03-04T12:00:01Z",
        "span_data": {"type": "mcp_tools", "server": "files", "result": ["read", "ls"]},
    }
    report = lens.load(_jsonl(tmp_path / "odd.jsonl", [span, mcp]), progress=False)
    assert report.rows_added["spans"] == 2 and report.rejected == 0
    rows = _rows(lens, "SELECT span_id, name, kind, status_code, timezone('UTC', start_time)::VARCHAR, output_text, "
                       "attributes FROM spans ORDER BY span_id")  # fmt: skip
    assert rows[0][1:6] == ("list tools: files", "TOOL", "OK", "2025-03-04 12:00:00.000001", '["read","ls"]')
    assert rows[1][1:5] == ("sandbox_exec", "UNKNOWN", "UNSET", "2025-03-04 12:00:00.000001")
    assert json.loads(rows[1][6])["span_data"] == {"type": "sandbox_exec", "command": "ls", "exit_code": 0}


def test_responses_api_input_items_become_tool_call_messages(lens: llmlens.Lens, tmp_path: Path) -> None:
    items = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "18C"},
    ]
    span = {"object": "trace.span", "id": "span_g", "trace_id": "trace_g", "parent_id": None,
            "started_at": "2025-03-04T12:00:00+00:00", "ended_at": "2025-03-04T12:00:01+00:00",
            "span_data": {"type": "generation", "input": items, "output": [{"role": "assistant", "content": "18C."}],
                          "model": "llama-3", "usage": {"input_tokens": 5, "output_tokens": 2}}}  # fmt: skip
    lens.load(_jsonl(tmp_path / "g.jsonl", [span]), progress=False)
    rows = _rows(lens, "SELECT side, position, role, content, parts FROM messages ORDER BY side, position")
    assert [r[:4] for r in rows] == [("input", 0, "user", "Weather in Paris?"), ("input", 1, "assistant", None),
                                     ("input", 2, "tool", "18C"), ("output", 0, "assistant", "18C.")]  # fmt: skip
    assert json.loads(rows[1][4])[0] == {"type": "tool_call", "id": "c1", "name": "get_weather",
                                         "arguments": '{"city":"Paris"}'}  # fmt: skip
    assert json.loads(rows[2][4])[0]["type"] == "tool_call_response"
    assert _rows(lens, "SELECT provider, total_tokens, output_text FROM spans") == [(None, 7, "18C.")]


def test_bad_records_are_rejected_with_their_line_and_the_rest_loads(
    items: list[dict[str, Any]], lens: llmlens.Lens, tmp_path: Path
) -> None:
    good = [json.dumps(i) for i in items[:5]]
    lines = [
        good[0].encode(),
        b'{"object": "trace.span", "trace_id": "trace_1", "span_data": {"type": "agent", "name": "no id"}}',
        good[1].encode(),
        b'{"object": "thread.message", "id": "msg_1"}',
        b"\xff\xfe not utf-8",
        b'[{"object": "trace.span", "id": "span_l", "trace_id": "trace_l", "span_data": {"type": "function"}}, 7]',
        b'{"object": "trace.span", "id": "span_n", "span_data": {"type": "agent", "name": "no trace"}}',
        b'"just a string"',
        *(line.encode() for line in good[2:]),
        good[4][: len(good[4]) // 2].encode(),  # a truncated last line
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines))
    report = lens.load(path, progress=False)
    assert report.files[0].format == "openai-agents" and report.rows_added["spans"] == 6
    rejects = _rows(lens, "SELECT line, location, reason, raw FROM rejects ORDER BY line, location")
    assert [(r[0], r[1]) for r in rejects] == [(2, "line 2"), (4, "line 4"), (5, "line 5"), (6, "line 6, item 2"),
                                               (7, "line 7"), (8, "line 8"), (12, "line 12")]  # fmt: skip
    reasons = [r[2] for r in rejects]
    assert reasons[0] == "a span without an id"
    assert reasons[1] == 'not an Agents SDK trace or span (object "thread.message")'
    assert reasons[2] == "not valid UTF-8 text" and rejects[2][3] == lines[4]
    assert reasons[3] == "not a trace or span object: a JSON ubigint"
    assert reasons[4] == "a span without a trace_id"
    assert reasons[5] == "not an Agents SDK trace, span, list or batch: a JSON varchar"
    assert reasons[6] == "not valid JSON (truncated or corrupt record)" and rejects[6][3] == lines[-1]
    assert _rows(lens, "SELECT count(*) FROM spans WHERE span_id = 'span_l'") == [(1,)]


def test_a_cut_json_array_keeps_its_whole_elements(
    items: list[dict[str, Any]], lens: llmlens.Lens, tmp_path: Path
) -> None:
    text = json.dumps(items[:6], indent=1)
    path = tmp_path / "cut.json"
    path.write_text(text[: text.rindex('"span_data"')])
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 5 and report.rejected == 1
    assert "not valid JSON" in _rows(lens, "SELECT reason FROM rejects")[0][0]


def test_a_parent_cycle_loads_and_does_not_hang(lens: llmlens.Lens, tmp_path: Path) -> None:
    def span(id: str, parent: str) -> dict[str, Any]:
        return {"object": "trace.span", "id": id, "trace_id": "trace_c", "parent_id": parent,
                "started_at": "2025-03-04T12:00:00Z", "span_data": {"type": "function", "name": id}}  # fmt: skip

    report = lens.load(_jsonl(tmp_path / "cycle.jsonl", [span("span_a", "span_b"), span("span_b", "span_a")]),
                       progress=False)  # fmt: skip
    assert report.rows_added["spans"] == 2
    assert _rows(lens, "SELECT count(*), count(agent_name) FROM spans") == [(2, 0)]


def test_detection_is_by_content_and_an_empty_file_adds_nothing(lens: llmlens.Lens, tmp_path: Path) -> None:
    assert sniff(EXPORT.read_bytes()[:65536]) == sniff(BATCH.read_bytes()[:65536]) == "openai-agents"
    assert sniff(b'{"note": "the \\"object\\": \\"trace.span\\" key, quoted"}') is None
    assert sniff(b'{"object": "response", "id": "resp_1"}') == "openai-log"
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with pytest.raises(LoadError, match="cannot tell the format"):
        lens.load(path, progress=False)
    report = lens.load(path, format="openai-agents", progress=False)
    assert report.rows_added["spans"] == 0 and report.rejected == 0
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 8)
    report = lens.load(garbage, format="openai-agents", progress=False)
    assert report.rows_added["spans"] == 0 and report.rejected >= 1


def _span(id: str, parent: str | None, second: int, data: dict[str, Any], trace: str = "trace_h") -> dict[str, Any]:
    return {"object": "trace.span", "id": id, "trace_id": trace, "parent_id": parent,
            "started_at": f"2025-03-04T12:00:{second:02d}+00:00",
            "ended_at": f"2025-03-04T12:00:{second + 1:02d}+00:00", "span_data": data, "error": None}  # fmt: skip


def test_handoffs_back_and_forth_are_edges_between_the_agents_spans_in_turn(lens: llmlens.Lens, tmp_path: Path) -> None:
    """Triage hands off to Billing, Billing hands back to Triage (a loop in the agent graph, not in the span
    tree), and Triage hands off to an agent whose span the export does not hold."""
    trace = {"object": "trace", "id": "trace_h", "workflow_name": "Loop", "group_id": None, "metadata": None}
    spans = [
        _span("span_t1", None, 0, {"type": "agent", "name": "Triage", "handoffs": ["Billing"], "tools": []}),
        _span("span_h1", "span_t1", 1, {"type": "handoff", "from_agent": "Triage", "to_agent": "Billing"}),
        _span("span_b1", None, 2, {"type": "agent", "name": "Billing", "handoffs": ["Triage"], "tools": []}),
        _span("span_h2", "span_b1", 3, {"type": "handoff", "from_agent": "Billing", "to_agent": "Triage"}),
        _span("span_t2", None, 4, {"type": "agent", "name": "Triage", "handoffs": ["Refunds"], "tools": []}),
        _span("span_h3", "span_t2", 5, {"type": "handoff", "from_agent": "Triage", "to_agent": "Refunds"}),
    ]
    report = lens.load(_jsonl(tmp_path / "loop.jsonl", [trace, *spans]), progress=False)
    assert report.rows_added["spans"] == 7 and report.rows_added["edges"] == 3 and report.rejected == 0
    edges = _rows(lens, "SELECT via_span_id, src_span_id, dst_span_id, label FROM edges ORDER BY via_span_id")
    assert edges == [("span_h1", "span_t1", "span_b1", "Triage -> Billing"),
                     ("span_h2", "span_b1", "span_t2", "Billing -> Triage"),
                     ("span_h3", "span_t2", "span_h3", "Triage -> Refunds")]  # fmt: skip
    # each handoff span belongs to the agent handing off
    assert _rows(lens, "SELECT span_id, agent_name FROM spans WHERE kind = 'HANDOFF' ORDER BY 1") == [
        ("span_h1", "Triage"), ("span_h2", "Billing"), ("span_h3", "Triage")]  # fmt: skip
    # loading the file again adds nothing; the edges stay three
    lens.load(tmp_path / "loop.jsonl", progress=False)
    assert _rows(lens, "SELECT count(*) FROM edges") == [(3,)]


def test_a_persisted_traces_tracing_api_key_is_not_kept(lens: llmlens.Lens, tmp_path: Path) -> None:
    trace = {"object": "trace", "id": "trace_k", "workflow_name": "Keys", "group_id": "g", "metadata": {"a": 1},
             "tracing_api_key": "sk-secret"}  # fmt: skip
    lens.load(_jsonl(tmp_path / "keys.jsonl", [trace]), progress=False)
    (attributes,) = _rows(lens, "SELECT attributes FROM spans WHERE span_id = 'trace_k'")[0]
    assert "sk-secret" not in attributes and json.loads(attributes)["metadata"] == {"a": 1}
