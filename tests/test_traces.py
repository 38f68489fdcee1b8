"""The trace explorer's data: the traces table kept current by loads, span trees, span details, and the trace
table's paging, sorting, search and filters; the widgets over them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import llmlens
from llmlens.analysis.trace_tree import span_tree
from llmlens.errors import LensError
from llmlens.widgets.trace_data import CUT, attribute_value, span_detail, trace_spans
from llmlens.widgets.trace_table_data import TraceQuery, count_traces, trace_page

TRACE = "5b8efff798038103d269b633813fc60c"


def _span(span_id: str, parent: str | None, name: str, start: int, end: int, **extra: Any) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": extra.pop("trace", TRACE),
        "spanId": span_id,
        "name": name,
        "startTimeUnixNano": str(1_700_000_000_000_000_000 + start * 1_000_000),
        "endTimeUnixNano": str(1_700_000_000_000_000_000 + end * 1_000_000),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in extra.pop("attributes", {}).items()],
        **extra,
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def _write(path: Path, spans: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    return path


def test_the_traces_table_follows_every_load(tmp_path: Path) -> None:
    with llmlens.open(tmp_path / "t.duckdb") as lens:
        root = _span("00000000000000a1", None, "agent", 0, 100, attributes={"input.value": "refund please"})
        child = _span("00000000000000a2", "00000000000000a1", "llm", 10, 60)
        lens.load(_write(tmp_path / "one.json", [root, child]), progress=False)
        row = lens.sql("SELECT * FROM traces").iloc[0]
        assert (row.n_spans, row.root_name, row.status, row.input_text) == (2, "agent", "UNSET", "refund please")
        failing = _span("00000000000000a3", "00000000000000a1", "tool", 60, 140, status={"code": 2, "message": "x"})
        other = _span("00000000000000b1", None, "other", 0, 5, trace="6b8efff798038103d269b633813fc60c")
        lens.load(_write(tmp_path / "two.json", [failing, other]), progress=False)
        rows = lens.sql("SELECT trace_id, n_spans, n_errors, status, duration_ms FROM traces ORDER BY trace_id")
        assert rows.values.tolist() == [
            [TRACE, 3, 1, "ERROR", 140.0],
            ["6b8efff798038103d269b633813fc60c", 1, 0, "UNSET", 5.0],
        ]
        rollup = lens.sql("SELECT * FROM trace_rollup ORDER BY trace_id")
        stored = lens.sql("SELECT * FROM traces ORDER BY trace_id")
        assert rollup.equals(stored), "the stored rows are what the rollup computes"
        other = "6b8efff798038103d269b633813fc60c"
        given = lens.con.execute("SELECT * FROM trace_rows([?])", [other]).fetchall()
        assert given == lens.con.execute("SELECT * FROM trace_rollup WHERE trace_id = ?", [other]).fetchall()
        assert len(given) == 1, "trace_rows: the rows of the traces given, only"
        lens.load(_write(tmp_path / "again.json", [root, child, failing]), progress=False)  # a reload
        assert lens.sql("SELECT count(*) AS n FROM traces").n[0] == 2


def test_span_tree_orders_depth_first_and_survives_bad_parents() -> None:
    tree = span_tree(
        ["root", "b", "a", "a1", "lost", "x", "y"],
        [None, "root", "root", "a", "nowhere", "y", "x"],
        [0, 50, 10, 12, 5, 1, 2],
        [100, 100, 50, 20, 6, 3, 4],
    )
    ids = np.array(["root", "b", "a", "a1", "lost", "x", "y"])[tree.order].tolist()
    assert ids == ["root", "a", "a1", "b", "lost", "x", "y"], "children by start; orphans and cycles as roots"
    assert tree.parent.tolist() == [-1, 0, 1, 0, -1, -1, 5]
    assert tree.end.tolist() == [4, 3, 3, 4, 5, 7, 7]
    assert tree.orphan.tolist() == [False, False, False, False, True, True, False]
    # critical path: b ended last, a ended before b started; a1 inside a
    assert tree.critical.tolist()[:4] == [True, True, True, True]


def test_span_tree_of_a_deep_chain_needs_no_recursion() -> None:
    count = 20_000
    ids = [f"s{i}" for i in range(count)]
    tree = span_tree(ids, [None, *ids[:-1]], np.arange(count), np.arange(count) + count)
    assert tree.depth[-1] == count - 1 and tree.end[0] == count


def test_critical_path_skips_children_that_overlap_the_last_one() -> None:
    tree = span_tree(["r", "early", "mid", "last"], [None, "r", "r", "r"], [0, 0, 10, 40], [100, 30, 45, 100])
    marked = dict(zip(np.array(["r", "early", "mid", "last"])[tree.order], tree.critical, strict=True))
    assert marked == {"r": True, "early": True, "mid": False, "last": True}


def test_trace_spans_are_a_consistent_tree(demo: llmlens.Lens) -> None:
    trace = demo.sql("SELECT trace_id FROM traces ORDER BY n_spans DESC LIMIT 1").trace_id[0]
    spans, total = trace_spans(demo.con, trace)
    assert spans.num_rows == total == demo.sql("SELECT n_spans FROM traces WHERE trace_id = ?", [trace]).n_spans[0]
    parent = spans["parent"].to_numpy()
    depth = spans["depth"].to_numpy()
    end = spans["end"].to_numpy()
    rows = np.arange(total)
    assert (parent < rows).all() and (end > rows).all() and (end <= total).all()
    children = parent >= 0
    assert (depth[children] == depth[parent[children]] + 1).all()
    assert (end[rows[children]] <= end[parent[children]]).all(), "a subtree sits inside its parent's"
    assert spans["critical"][0].as_py() and spans["start_ms"][0].as_py() == 0.0
    capped, _ = trace_spans(demo.con, trace, cap=3)
    assert capped.num_rows == 3 and (capped["end"].to_numpy() <= 3).all() and (capped["parent"].to_numpy() < 3).all()


def test_span_detail_cuts_long_values_and_gives_them_in_full(tmp_path: Path) -> None:
    huge = "x" * (CUT * 10)
    attributes = {"input.value": huge, "note": "<img src=x onerror=alert(1)>", "openinference.span.kind": "LLM"}
    span = _span("00000000000000c1", None, "llm", 0, 10, attributes=attributes)
    with llmlens.open(tmp_path / "t.duckdb") as lens:
        lens.load(_write(tmp_path / "huge.json", [span]), progress=False)
        detail = span_detail(lens.con, TRACE, "00000000000000c1")
        assert detail["input_text"] == {"__cut__": True, "preview": huge[:CUT], "length": len(huge)}
        assert detail["attributes"]["input.value"]["length"] == len(huge)
        assert detail["attributes"]["note"] == "<img src=x onerror=alert(1)>", "kept as text, never parsed"
        assert detail["cut"] == ["input_text"]
        assert attribute_value(lens.con, TRACE, "00000000000000c1", ["attributes", "input.value"]) == huge
        assert attribute_value(lens.con, TRACE, "00000000000000c1", ["input_text"]) == huge
        with pytest.raises(LensError, match="no value"):
            attribute_value(lens.con, TRACE, "00000000000000c1", ["attributes", "missing"])
        with pytest.raises(LensError, match="no value 'spans'"):
            attribute_value(lens.con, TRACE, "00000000000000c1", ["spans"])


def test_a_long_tool_call_is_cut_and_given_in_full(tmp_path: Path) -> None:
    arguments = json.dumps({"query": "q" * CUT * 2})
    prefix = "llm.output_messages.0.message"
    attributes = {
        "openinference.span.kind": "LLM",
        f"{prefix}.role": "assistant",
        f"{prefix}.tool_calls.0.tool_call.id": "call_1",
        f"{prefix}.tool_calls.0.tool_call.function.name": "search",
        f"{prefix}.tool_calls.0.tool_call.function.arguments": arguments,
    }
    span = _span("00000000000000c2", None, "llm", 0, 10, attributes=attributes)
    with llmlens.open(tmp_path / "t.duckdb") as lens:
        lens.load(_write(tmp_path / "calls.json", [span]), progress=False)
        [message] = span_detail(lens.con, TRACE, "00000000000000c2")["messages"]
        [call] = message["tool_calls"]
        assert call["name"] == "search" and call["arguments"]["length"] == len(arguments)
        path = ["messages", 0, "tool_calls", 0, "arguments"]
        assert attribute_value(lens.con, TRACE, "00000000000000c2", path) == arguments


def test_span_detail_has_messages_documents_and_tokens(demo: llmlens.Lens) -> None:
    trace, span = demo.sql(
        "SELECT trace_id, span_id FROM spans WHERE span_id IN (SELECT span_id FROM tokens) LIMIT 1"
    ).iloc[0]
    detail = span_detail(demo.con, trace, span)
    assert detail["tokens"]["count"] == demo.sql("SELECT count(*) AS n FROM tokens WHERE span_id = ?", [span]).n[0]
    assert {m["side"] for m in detail["messages"]} == {"input", "output"}
    retriever = demo.sql("SELECT trace_id, span_id FROM spans WHERE kind = 'RETRIEVER' LIMIT 1").iloc[0]
    documents = span_detail(demo.con, *retriever)["documents"]
    assert [d["position"] for d in documents] == sorted(d["position"] for d in documents)
    assert all(isinstance(d["score"], float) for d in documents)
    json.dumps(detail)  # everything in it travels as JSON


def test_trace_pages_follow_the_sort_and_cover_every_trace(demo: llmlens.Lens) -> None:
    query = TraceQuery(sort="duration_ms", descending=False)
    total = count_traces(demo.con, query)
    pages = [trace_page(demo.con, query, offset, 7) for offset in range(0, total, 7)]
    ids = [i for page in pages for i in page["trace_id"].to_pylist()]
    expected = demo.sql("SELECT trace_id FROM traces ORDER BY duration_ms NULLS LAST, trace_id").trace_id.tolist()
    assert ids == expected
    with pytest.raises(LensError, match="cannot sort"):
        trace_page(demo.con, TraceQuery(sort="duration_ms; DROP TABLE spans"), 0, 10)
    with pytest.raises(LensError, match="a page is"):
        trace_page(demo.con, query, 0, 100_000)


def test_search_matches_text_literally_and_where_is_checked(demo: llmlens.Lens) -> None:
    some = demo.sql("SELECT input_text FROM traces WHERE input_text IS NOT NULL LIMIT 1").input_text[0]
    word = some.split()[0]
    found = count_traces(demo.con, TraceQuery(search=word.upper()))
    assert (
        found
        == demo.sql(
            "SELECT count(*) AS n FROM traces WHERE input_text ILIKE ? OR output_text ILIKE ? OR root_name ILIKE ?",
            [f"%{word}%"] * 3,
        ).n[0]
    )
    assert count_traces(demo.con, TraceQuery(search="%")) == 0, "a wildcard is a literal character here"
    assert count_traces(demo.con, TraceQuery(search="'; DROP TABLE traces; --")) == 0
    for hostile in ["true) UNION (SELECT 1", "1=1; DELETE FROM traces", "trace_id IN (SELECT 1)", "read_csv('x')"]:
        with pytest.raises(LensError):
            count_traces(demo.con, TraceQuery(where=hostile))
    with pytest.raises(LensError, match="the columns are"):
        count_traces(demo.con, TraceQuery(where="no_such_column > 1"))
    errors = count_traces(demo.con, TraceQuery(where="n_errors > 0"))
    assert errors == demo.sql("SELECT count(*) AS n FROM traces WHERE n_errors > 0").n[0] > 0


def test_pages_carry_labels_and_check_results(tmp_path: Path) -> None:
    with llmlens.open(tmp_path / "t.duckdb") as lens:
        lens.load(_write(tmp_path / "one.json", [_span("00000000000000a1", None, "agent", 0, 10)]), progress=False)
        lens.sql(
            "INSERT INTO annotations (target_kind, target_id, name, label, score, annotator, annotator_kind) VALUES "
            "('trace', $t, 'correctness', 'bad', NULL, 'ana', 'human'), "
            "('trace', $t, 'valid_json', NULL, 1, 'valid_json', 'check'), "
            "('trace', $t, 'short', 'fail', NULL, 'short', 'check')",
            {"t": TRACE},
        )
        page = trace_page(lens.con, TraceQuery(), 0, 10).to_pylist()[0]
        assert (page["labels"], page["checks_passed"], page["checks_failed"]) == (["correctness=bad"], 1, 1)


def test_trace_table_widget_pages_filters_and_selects(demo: llmlens.Lens) -> None:
    table = demo.traces()
    assert table.count == table.total == demo.sql("SELECT count(*) AS n FROM traces").n[0]
    first = pa.ipc.open_stream(table._first_page).read_all()
    assert first.num_rows == min(100, table.count)
    generation = table.generation
    table.where = "n_errors > 0"
    assert table.generation == generation + 1 and 0 < table.count < table.total and table.error == ""
    table.where = "nope >"
    assert "where" in table.error and table.count > 0, "a bad filter is reported; the rows stay"
    table.where = ""
    reply, buffers = table.rows({"offset": 5, "limit": 3}, [])
    assert reply["generation"] == table.generation
    assert pa.ipc.open_stream(buffers[0]).read_all()["trace_id"].to_pylist() == table.page(5, 3).trace_id.tolist()
    table.selected_ids = table.page(0, 3).trace_id.tolist()[::-1]
    assert table.selected.trace_id.tolist() == table.selected_ids
    table.trace_id = table.selected_ids[0]
    assert table._spans and table._trace_meta["trace_id"] == table.selected_ids[0]
    with pytest.raises(LensError, match="where"):
        demo.traces(where="true) UNION (SELECT 1")


def test_trace_view_opens_by_prefix_and_answers_the_front_end(demo: llmlens.Lens) -> None:
    trace = demo.sql("SELECT trace_id FROM spans WHERE span_id IN (SELECT span_id FROM tokens) LIMIT 1").trace_id[0]
    view = demo.trace(trace[:10])
    assert view.trace_id == trace and view._trace_meta["n_spans"] == len(view.spans)
    span = view.spans[view.spans.has_tokens].span_id.iloc[0]
    detail, buffers = view.span_detail({"span_id": span}, [])
    assert detail["tokens"] and len(buffers) == 2
    assert pa.ipc.open_stream(buffers[0]).read_all().num_rows == detail["tokens"]["count"]
    view.selected_span = span
    assert set(view.span_rows("tokens").span_id) == {span}
    with pytest.raises(LensError, match="no span rows"):
        view.span_rows("sources")
    state = view.exported_state()
    assert span in state["_details"] and state["_details"][span]["tokens"]["tokens_b64"]
    with pytest.raises(LensError, match="no trace"):
        demo.trace("ffffffffffffffffffff")


def test_the_agent_network_counts_handoffs_tool_calls_and_finds_loops(demo: llmlens.Lens) -> None:
    from llmlens.analysis.agents import agent_network

    network = agent_network(demo.con)
    handoffs = network.edges[network.edges.kind == "handoff"]
    stored = demo.sql("SELECT label, count(*) AS n FROM edges WHERE kind = 'handoff' GROUP BY label")
    assert dict(zip(handoffs.source + " -> " + handoffs.target, handoffs["count"], strict=True)) == dict(
        zip(stored.label, stored.n, strict=True)
    )
    tools = network.edges[network.edges.kind == "tool_call"]
    failing = demo.sql(
        "SELECT count(*) AS n FROM spans WHERE kind = 'TOOL' AND status_code = 'ERROR' AND name NOT LIKE 'handoff%'"
    ).n[0]
    assert tools.failures.sum() == failing > 0
    assert ["billing", "triage"] in network.cycles()
    looped = demo.sql(
        "SELECT src_trace_id FROM edges WHERE kind = 'handoff' GROUP BY 1 "
        "HAVING bool_or(label = 'triage -> billing') AND bool_or(label = 'billing -> triage') LIMIT 1"
    ).src_trace_id[0]
    graph = demo.trace(looped).agents()
    assert graph.cycles == [["billing", "triage"]], "one trace's loop shows as a cycle"
    assert {e["kind"] for e in graph.edges} >= {"handoff"} and all("count" in e for e in graph.edges)
    json.dumps([graph.nodes, graph.edges])  # what the front end gets is plain JSON
    none = agent_network(demo.con, where="root_name = 'rag_pipeline'")
    assert none.nodes.empty and none.cycles() == []
    with pytest.raises(LensError):
        agent_network(demo.con, where="1=1; DROP TABLE spans")


def test_trace_magics(demo: llmlens.Lens, shell: Any) -> None:
    """The demo store, opened last, is the current one."""
    table = shell.run_line_magic("lens", "traces --where 'n_errors > 0' --sort duration_ms")
    assert table.count > 0 and table.sort == "duration_ms"
    view = shell.run_line_magic("lens", f"trace {table.page(0, 1).trace_id[0][:12]}")
    assert view.trace_id == table.page(0, 1).trace_id[0]
    graph = shell.run_line_magic("lens", "agents")
    assert graph.cycles


def test_a_session_lists_its_turns_oldest_first(demo: llmlens.Lens) -> None:
    session = demo.sql("SELECT session_id FROM traces GROUP BY 1 HAVING count(*) > 2 LIMIT 1").session_id[0]
    turns = demo.session(session)
    expected = demo.sql(
        "SELECT trace_id FROM traces WHERE session_id = ? ORDER BY start_time, trace_id", [session]
    ).trace_id.tolist()
    assert turns.page(0, 100).trace_id.tolist() == expected and turns.count == len(expected)
    assert demo.session("'); DROP TABLE traces; --").count == 0, "the id is bound, never SQL"
