from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import llmlens
from llmlens.loaders import LoadError
from tests import langsmith_fixtures as fx

TRACE = "0195f1c2-0000-7000-8000-00000000000a"
T = "2025-03-04T12:00:00.{:06d}+00:00"


@pytest.fixture(scope="module")
def rag() -> list[bytes]:
    return fx.rag_batches()


@pytest.fixture(scope="module")
def graph() -> list[bytes]:
    return fx.langgraph_batches()


@pytest.fixture
def lens() -> Iterator[llmlens.Lens]:
    with llmlens.open(":memory:") as lens:
        yield lens


def _lines(path: Path, bodies: list[bytes]) -> Path:
    path.write_bytes(b"".join(body + b"\n" for body in bodies))
    return path


def _run(id: str, name: str, run_type: str = "chain", parent: str | None = None, order: int = 0, **fields: Any) -> dict:
    """A hand-made run of trace TRACE (ids are UUID-shaped), with a dotted order built from its ancestry."""
    return {"id": id, "trace_id": TRACE, "parent_run_id": parent, "name": name, "run_type": run_type,
            "start_time": T.format(order), "end_time": T.format(order + 500), **fields}  # fmt: skip


def _rows(lens: llmlens.Lens, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows as DuckDB gives them (None stays None)."""
    return lens.con.execute(query, params).fetchall()


def _uuid(n: int) -> str:
    return f"0195f1c2-0000-7000-8000-{n:012x}"


def test_sdk_batch_requests_load_with_their_patches_applied(
    rag: list[bytes], lens: llmlens.Lens, tmp_path: Path
) -> None:
    report = lens.load(_lines(tmp_path / "batches.jsonl", rag), progress=False)
    assert report.files[0].format == "langsmith" and report.rejected == 0
    assert {k: v for k, v in report.rows_added.items() if v} == {
        "spans": 4, "messages": 3, "documents": 2, "tokens": 3}  # fmt: skip
    spans = lens.sql("SELECT * FROM spans ORDER BY start_time").set_index("name")
    assert spans.kind.to_dict() == {"support-rag": "CHAIN", "search-docs": "RETRIEVER", "ChatOpenAI": "LLM",
                                    "send-email": "TOOL"}  # fmt: skip
    root = spans.loc["support-rag"]
    assert pd_isna(root.parent_span_id) and set(spans.trace_id) == {root.span_id}
    assert set(spans.drop("support-rag").parent_span_id) == {root.span_id}
    # the root's and the retriever's end, outputs and status came in later requests (patches)
    assert root.input_text == fx.QUESTION and root.output_text == fx.ANSWER and root.status_code == "OK"
    assert spans.loc["search-docs"].duration_ms == pytest.approx(75)
    assert str(spans.loc["support-rag"].start_time) == "2025-03-04 12:00:00.250000+00:00"
    tool = spans.loc["send-email"]
    assert (tool.status_code, tool.status_message) == ("ERROR", "TimeoutError: SMTP server did not answer")
    assert set(spans.session_id) == {"thread-7"} and set(spans.user_id) == {"u-42"}
    assert set(spans.service_name) == {"support-bot"}
    llm = spans.loc["ChatOpenAI"]
    assert (llm.model, llm.provider) == ("gpt-4o-mini-2024-07-18", "openai")
    assert (llm.input_tokens, llm.output_tokens, llm.total_tokens) == (41, 9, 50)
    assert llm.output_text == fx.ANSWER
    attributes = json.loads(root.attributes)
    assert attributes["llmlens.input_key"] == "question" and attributes["tags"] == ["prod"]
    assert "inputs" not in attributes and attributes["dotted_order"].endswith(root.span_id)
    assert json.loads(root.resource)["sdk"] == "langsmith-py"
    messages = _rows(lens, "SELECT side, position, role, content, finish_reason FROM messages ORDER BY side, position")
    assert messages == [("input", 0, "system", "Answer from the docs.", None), ("input", 1, "user", fx.QUESTION, None),
                        ("output", 0, "assistant", fx.ANSWER, "stop")]  # fmt: skip
    documents = lens.sql("SELECT position, content, score, metadata->>'source' AS source FROM documents ORDER BY 1")
    assert documents.values.tolist() == [[0, "API keys are rotated under Settings.", 0.91, "keys.md"],
                                         [1, "Billing FAQ.", 0.42, "billing.md"]]  # fmt: skip
    tokens = lens.sql("SELECT token, logprob, alternatives FROM tokens ORDER BY position")
    assert tokens.token.tolist() == ["Open", " Settings", "é"]
    assert tokens.logprob[0] == -0.02 and pd_isna(tokens.logprob[2])  # -9999: outside the top 20
    assert [a["token"] for a in tokens.alternatives[0]] == ["Open", "Go"]
    assert lens.sql("SELECT root_name, n_spans, n_errors FROM traces").values.tolist() == [["support-rag", 4, 1]]


def pd_isna(value: Any) -> bool:
    return bool(pd.isna(value))


def test_one_batch_document_and_run_objects_load_like_the_requests(
    rag: list[bytes], lens: llmlens.Lens, tmp_path: Path
) -> None:
    columns = ("trace_id, span_id, parent_span_id, name, kind, start_time, end_time, status_code, status_message, "
               "model, input_text, output_text, input_tokens, session_id")  # fmt: skip
    lens.load(_lines(tmp_path / "batches.jsonl", rag), progress=False)
    expected = lens.sql(f"SELECT {columns} FROM spans ORDER BY span_id")
    batches = [json.loads(body) for body in rag]
    one = {"post": [r for b in batches for r in b.get("post", [])],
           "patch": [r for b in batches for r in b.get("patch", [])]}  # fmt: skip
    objects = fx.run_objects(rag)
    runs = [run.model_dump(mode="json") for run in objects]
    root = next(run for run in objects if run.parent_run_id is None)  # as read_run(load_child_runs=True) gives it
    tree = root.model_copy(update={"child_runs": [run for run in objects if run.parent_run_id == root.id]})
    for name, content in (("batch.json", json.dumps(one, indent=2)), ("runs.json", json.dumps(runs, indent=1)),
                          ("page.json", json.dumps({"runs": runs, "cursors": {"next": None}})),
                          ("tree.json", tree.model_dump_json(indent=2))):  # fmt: skip
        with llmlens.open(":memory:") as other:
            report = other.load(_write(tmp_path / name, content), progress=False)
            assert report.files[0].format == "langsmith" and report.rejected == 0, name
            assert other.sql(f"SELECT {columns} FROM spans ORDER BY span_id").equals(expected), name
            assert all("child_runs" not in json.loads(a) for a in other.sql("SELECT attributes FROM spans").attributes)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_langgraph_runs_give_nodes_trigger_edges_and_langchain_messages(
    graph: list[bytes], lens: llmlens.Lens, tmp_path: Path
) -> None:
    report = lens.load(_lines(tmp_path / "graph.jsonl", graph), progress=False)
    assert report.rejected == 0 and report.rows_added["spans"] == 9
    spans = lens.sql("SELECT * FROM spans ORDER BY start_time")
    assert spans.name.tolist() == ["LangGraph", "agent", "GenericFakeChatModel", "route", "tools", "weather", "agent",
                                   "GenericFakeChatModel", "route"]  # fmt: skip
    assert spans.kind.tolist() == ["CHAIN", "CHAIN", "LLM", "CHAIN", "CHAIN", "TOOL", "CHAIN", "LLM", "CHAIN"]
    assert spans.agent_name.tolist()[1:] == ["agent"] * 3 + ["tools"] * 2 + ["agent"] * 3
    assert set(spans.session_id) == {"conv-1"}
    ids = dict(enumerate(spans.span_id))
    edges = lens.sql("SELECT kind, src_span_id, dst_span_id, label, via_span_id, attributes FROM edges ORDER BY label")
    assert edges[["kind", "src_span_id", "dst_span_id", "label", "via_span_id"]].values.tolist() == [
        ["langgraph_trigger", ids[1], ids[4], "agent -> tools", ids[4]],
        ["langgraph_trigger", ids[4], ids[6], "tools -> agent", ids[6]]]  # fmt: skip
    assert json.loads(edges.attributes[0]) == {"trigger": "branch:to:tools", "from_node": "agent",
                                                "to_node": "tools", "step": 2, "inferred": True}  # fmt: skip
    llm = spans[spans.kind == "LLM"].reset_index()
    assert llm.model.tolist() == ["gpt-4o-2024-08-06"] * 2 and llm.provider.tolist() == ["genericfakechatmodel"] * 2
    assert llm[["input_tokens", "output_tokens", "total_tokens"]].values.tolist() == [[30, 7, 37], [52, 8, 60]]
    assert llm.output_text[1] == "It is sunny in Paris."
    messages = lens.sql(
        "SELECT side, position, role, name, content, parts, finish_reason FROM messages WHERE span_id = ? "
        "ORDER BY side, position",
        [llm.span_id[1]],
    )
    assert messages[["side", "role", "content"]].values.tolist() == [
        ["input", "system", "Be brief."], ["input", "user", "Weather in Paris?"], ["input", "assistant", ""],
        ["input", "tool", "sunny in Paris"], ["output", "assistant", "It is sunny in Paris."]]  # fmt: skip
    call = json.loads(messages.parts[2])[-1]
    assert call == {"type": "tool_call", "id": "call_w1", "name": "weather", "arguments": '{"city":"Paris"}'}
    assert json.loads(messages.parts[3]) == [{"type": "tool_call_response", "id": "call_w1", "name": "weather",
                                              "response": "sunny in Paris"}]  # fmt: skip
    first = lens.sql("SELECT finish_reason FROM messages WHERE span_id = ? AND side = 'output'", [llm.span_id[0]])
    assert first.finish_reason.tolist() == ["tool_calls"]
    # the first call's logprobs, kept by LangChain in the message's response_metadata
    tokens = lens.sql("SELECT span_id, token, logprob, alternatives FROM tokens")
    assert tokens.span_id.tolist() == [llm.span_id[0]] and tokens.token.tolist() == ["call"]
    assert [a["token"] for a in tokens.alternatives[0]] == ["call", "Sun"]


def test_run_objects_keep_costs_and_tokens_of_llm_runs_only_and_feedback_becomes_annotations(
    graph: list[bytes], lens: llmlens.Lens, tmp_path: Path
) -> None:
    runs = fx.run_objects(graph)
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(run.model_dump_json() + "\n" for run in runs))
    assert lens.load(path, progress=False).rejected == 0
    spans = lens.sql("SELECT kind, input_tokens, output_tokens, cost_usd, attributes FROM spans")
    llm, other = spans[spans.kind == "LLM"], spans[spans.kind != "LLM"]
    assert sorted(llm.input_tokens) == [30, 52] and llm.cost_usd.sum() == pytest.approx(82 * 2.5e-6 + 15 * 1e-5)
    assert other.input_tokens.isna().all() and other.cost_usd.isna().all()
    root = json.loads(spans.attributes[spans.kind == "CHAIN"].iloc[0])
    assert root["session_id"] == "7b8f3c1e-2d4a-4e5b-9c6d-0f1e2d3c4b5a"  # the project, kept as given
    trace = lens.sql("SELECT input_tokens, output_tokens, cost_usd FROM traces")
    assert trace.values.tolist()[0][:2] == [82, 15]
    assert trace.cost_usd[0] == pytest.approx(82 * 2.5e-6 + 15 * 1e-5)  # the root's summed cost is not added again
    notes = lens.sql("SELECT target_kind, target_id, name, score, annotator_kind, external_id FROM annotations")
    root_id = next(str(run.id) for run in runs if run.parent_run_id is None)
    assert notes.values.tolist() == [["span", root_id, "correctness", 0.5, "check",
                                      f"langsmith:feedback_stats:{root_id}:correctness"]]  # fmt: skip
    # the same runs saved as users save list_runs results (times as str(datetime)), in a JSON array: replaced
    array = tmp_path / "runs.json"
    array.write_text(json.dumps([run.model_dump() for run in runs], default=str))
    assert lens.load(array, progress=False).rejected == 0
    assert lens.sql("SELECT count(*) AS n FROM spans").n[0] == 9
    assert lens.sql("SELECT count(*) AS n FROM annotations").n[0] == 1
    assert lens.sql("SELECT count(DISTINCT start_time) AS n FROM spans").n[0] == 9


def test_loading_the_same_file_twice_adds_nothing_and_overlapping_files_replace(
    rag: list[bytes], lens: llmlens.Lens, tmp_path: Path
) -> None:
    path = _lines(tmp_path / "batches.jsonl", rag)
    lens.load(path, progress=False)
    second = lens.load(path, progress=False)
    assert second.files[0].skipped.startswith("same content")
    # the first request again (the root, not yet ended), in a file of its own: the root is replaced by it
    lens.load(_lines(tmp_path / "first.jsonl", rag[:1]), progress=False)
    counts = lens.sql("SELECT (SELECT count(*) FROM spans) AS s, (SELECT count(*) FROM documents) AS d, "
                      "(SELECT count(*) FROM tokens) AS t").values.tolist()  # fmt: skip
    assert counts == [[4, 2, 3]]
    assert lens.sql("SELECT status_code FROM spans WHERE parent_span_id IS NULL").status_code[0] == "UNSET"


def test_a_patch_for_a_run_never_posted_is_rejected_and_the_posts_load(lens: llmlens.Lens, tmp_path: Path) -> None:
    root, child = _uuid(1), _uuid(2)
    batch = {"post": [_run(root, "root")],
             "patch": [{"id": child, "trace_id": TRACE, "end_time": T.format(9), "outputs": {"x": 1}},
                       {"id": root, "outputs": {"answer": "42"}}]}  # fmt: skip
    report = lens.load(_write(tmp_path / "batch.json", json.dumps(batch)), progress=False)
    assert report.rows_added["spans"] == 1 and report.rejected == 1
    reject = lens.sql("SELECT location, line, reason, raw FROM rejects")
    assert reject.location[0] == "line 1, patch 1" and reject.line[0] == 1
    assert reject.reason[0] == f"a patch for run {child}, which is not posted in this file"
    assert json.loads(reject.raw[0])["id"] == child
    assert lens.sql("SELECT output_text FROM spans").output_text[0] == "42"


def test_bad_records_are_rejected_with_their_line_and_the_rest_loads(lens: llmlens.Lens, tmp_path: Path) -> None:
    good = [json.dumps(_run(_uuid(i), f"run {i}", order=i)) for i in (1, 2, 3)]
    path = tmp_path / "runs.jsonl"
    path.write_bytes(
        good[0].encode() + b"\n"
        + b'{"name": "no id", "run_type": "llm", "trace_id": "x"}\n'
        + b"[1, " + good[1].encode() + b"]\n"
        + b'{"id": "\xff\xfe bad utf-8"}\n'
        + b"42\n"
        + good[2].encode()[:40] + b"\n"
    )  # fmt: skip
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 2
    rejects = lens.sql("SELECT location, line, reason FROM rejects ORDER BY line, location")
    assert rejects.values.tolist() == [
        ["line 2", 2, "a run without an id"],
        ["line 3, post 1", 3, "not a run object: a JSON ubigint"],
        ["line 4", 4, "not valid UTF-8 text"],
        ["line 5", 5, "not a LangSmith run, list of runs or batch: a JSON ubigint"],
        ["line 6", 6, "not valid JSON (truncated or corrupt record)"]]  # fmt: skip


def test_a_cut_json_array_keeps_its_whole_runs(lens: llmlens.Lens, tmp_path: Path) -> None:
    text = json.dumps([_run(_uuid(i), f"run {i}", order=i) for i in (1, 2, 3)], indent=1)
    path = _write(tmp_path / "runs.json", text[: text.rindex('"end_time"')])
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 2 and report.rejected == 1
    assert lens.sql("SELECT reason FROM rejects").reason[0].startswith("not valid JSON")


def test_empty_and_garbage_files_are_refused_or_reject_everything(lens: llmlens.Lens, tmp_path: Path) -> None:
    empty = _write(tmp_path / "empty.json", "")
    with pytest.raises(LoadError, match="cannot tell the format"):
        lens.load(empty, progress=False)
    assert lens.load(empty, format="langsmith", progress=False).rows_added["spans"] == 0
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 50)
    report = lens.load(garbage, format="langsmith", progress=False)
    assert report.rows_added["spans"] == 0 and report.rejected >= 1


def test_dotted_order_gives_the_tree_when_parent_and_trace_are_missing(lens: llmlens.Lens, tmp_path: Path) -> None:
    a, b, c = _uuid(10), _uuid(11), _uuid(12)
    da = f"20250304T120000000000Z{a}"
    db, dc = f"{da}.20250304T120001000000Z{b}", f"{da}.20250304T120001000000Z{b}.20250304T120002500000Z{c}"
    runs = [{"id": a, "name": "a", "run_type": "chain", "dotted_order": da},
            {"id": b, "name": "b", "run_type": "tool", "dotted_order": db},
            {"id": c.upper(), "name": "c", "run_type": "llm", "dotted_order": dc[: -len(c)] + c.upper()}]  # fmt: skip
    report = lens.load(_write(tmp_path / "dotted.jsonl", "\n".join(map(json.dumps, runs))), progress=False)
    assert report.rejected == 0
    spans = _rows(
        lens,
        "SELECT trace_id, span_id, parent_span_id, strftime(start_time AT TIME ZONE 'UTC', '%S.%f') "
        "FROM spans ORDER BY name",
    )
    assert spans == [(a, a, None, "00.000000"), (a, b, a, "01.000000"), (a, c, b, "02.500000")]


def test_garbage_dotted_orders_and_cycles_load_and_nothing_hangs(lens: llmlens.Lens, tmp_path: Path) -> None:
    a, b, c = _uuid(20), _uuid(21), _uuid(22)
    runs = [
        {"id": a, "name": "a", "parent_run_id": b, "run_type": "chain", "dotted_order": "not.a.dotted.order"},
        {"id": b, "name": "b", "parent_run_id": a, "run_type": "chain", "dotted_order": f"20250304T120000000000Z{c}"},
        {"id": c, "name": "c", "run_type": "chain", "parent_run_id": c, "trace_id": c},  # its own parent
    ]
    report = lens.load(_write(tmp_path / "cycle.jsonl", "\n".join(map(json.dumps, runs))), progress=False)
    assert report.rows_added["spans"] == 3 and report.rejected == 0
    assert _rows(lens, "SELECT parent_span_id FROM spans ORDER BY name") == [(b,), (a,), (None,)]
    assert lens.sql("SELECT sum(n_spans) AS n FROM traces").n[0] == 3
    assert lens.sql("SELECT count(*) AS n FROM orphan_spans").n[0] == 0


def test_runs_whose_parent_never_arrives_are_kept_as_orphans(lens: llmlens.Lens, tmp_path: Path) -> None:
    root, child = _uuid(30), _uuid(31)
    lens.load(_write(tmp_path / "child.json", json.dumps(_run(child, "child", "tool", parent=root))), progress=False)
    assert lens.sql("SELECT name, parent_span_id FROM orphan_spans").values.tolist() == [["child", root]]
    lens.load(_write(tmp_path / "root.json", json.dumps(_run(root, "root"))), progress=False)
    assert lens.sql("SELECT count(*) AS n FROM orphan_spans").n[0] == 0


def test_run_types_times_and_hand_made_message_shapes(lens: llmlens.Lens, tmp_path: Path) -> None:
    ids = [_uuid(40 + i) for i in range(8)]
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
    runs = [
        _run(ids[0], "root", start_time=1741089600123, end_time="2025-03-04 12:00:01.5"),  # epoch ms; naive ISO
        _run(ids[1], "parse", "parser", ids[0]),
        _run(ids[2], "template", "prompt", ids[0]),
        _run(ids[3], "embed", "embedding", ids[0], extra={"invocation_params": {"model": "text-embedding-3-small"}}),
        _run(ids[4], "custom", "judge", ids[0]),
        _run(ids[5], "chat", "llm", ids[0], inputs={"messages": [
            {"type": "system", "data": {"content": "Be terse.", "type": "system"}},  # messages_to_dict
            {"role": "user", "content": [{"type": "text", "text": "Look "}, {"type": "text", "text": "it up"}]}]},
             outputs={"message": {"role": "assistant", "content": None, "tool_calls": [call]}}),
        _run(ids[6], "complete", "llm", ids[0], inputs={"prompts": ["Say hi"]},
             outputs={"generations": [[{"text": "hi", "generation_info": {"finish_reason": "length", "logprobs": {
                 "tokens": ["hi"], "token_logprobs": [-0.5], "top_logprobs": [{"hi": -0.5, "yo": -1.5}]}}}]],
                 "llm_output": {"token_usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
                                "model_name": "gpt-3.5-turbo-instruct"}}),
        _run(ids[7], "respond", "llm", ids[0], inputs={"input": "Hi", "instructions": "Be nice."},
             outputs={"object": "response", "id": "resp_1", "model": "gpt-4.1", "status": "completed",
                      "output": [{"type": "message", "role": "assistant", "content": [
                          {"type": "output_text", "text": "Hello", "logprobs": [
                              {"token": "Hello", "logprob": -0.1, "bytes": [72, 101, 108, 108, 111],
                               "top_logprobs": []}]}]}],
                      "usage": {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6}}),
    ]  # fmt: skip
    assert lens.load(_write(tmp_path / "runs.json", json.dumps(runs)), progress=False).rejected == 0
    spans = lens.sql("SELECT * FROM spans ORDER BY span_id").set_index("name")
    assert spans.kind.to_dict() == {"root": "CHAIN", "parse": "CHAIN", "template": "PROMPT",
                                    "embed": "EMBEDDING", "custom": "UNKNOWN", "chat": "LLM", "complete": "LLM",
                                    "respond": "LLM"}  # fmt: skip
    assert json.loads(spans.loc["custom"].attributes)["run_type"] == "judge"
    assert str(spans.loc["root"].start_time) == "2025-03-04 12:00:00.123000+00:00"
    assert str(spans.loc["root"].end_time) == "2025-03-04 12:00:01.500000+00:00"  # no zone: UTC
    assert spans.loc["embed"].model == "text-embedding-3-small"
    assert spans.loc["complete"].model == "gpt-3.5-turbo-instruct" and spans.loc["complete"].total_tokens == 4
    assert (spans.loc["respond"].model, spans.loc["respond"].input_tokens) == ("gpt-4.1", 5)
    messages = _rows(
        lens,
        "SELECT s.name, m.side, m.role, m.content, m.finish_reason, m.parts FROM messages m "
        "JOIN spans s USING (span_id) ORDER BY s.name, m.side, m.position",
    )
    assert [row[:5] for row in messages] == [
        ("chat", "input", "system", "Be terse.", None), ("chat", "input", "user", "Look it up", None),
        ("chat", "output", "assistant", None, None),
        ("complete", "input", "user", "Say hi", None), ("complete", "output", "assistant", "hi", "length"),
        ("respond", "input", "system", "Be nice.", None), ("respond", "input", "user", "Hi", None),
        ("respond", "output", "assistant", "Hello", "completed")]  # fmt: skip
    assert json.loads(messages[2][5]) == [{"type": "tool_call", "id": "call_1", "name": "lookup",
                                              "arguments": '{"q": "x"}'}]  # fmt: skip
    tokens = lens.sql("SELECT s.name, t.token, t.logprob FROM tokens t JOIN spans s USING (span_id) ORDER BY 1")
    assert tokens.values.tolist() == [["complete", "hi", -0.5], ["respond", "Hello", -0.1]]


def test_langsmith_files_are_detected_and_do_not_take_other_formats(tmp_path: Path) -> None:
    from llmlens.loaders import _format_of

    run = _run(_uuid(50), "r", "llm", outputs={"object": "chat.completion", "choices": []})
    pretty = _write(tmp_path / "pretty.json", json.dumps({"id": _uuid(50), "run_type": "llm",
                                                          "trace_id": TRACE}, indent=2))  # fmt: skip
    assert _format_of(_write(tmp_path / "run.json", json.dumps(run)), None, named=True) == "langsmith"
    assert _format_of(pretty, None, named=True) == "langsmith"
    # Run objects put their ids and dotted order last, after inputs and outputs that may be larger than the sniff
    big = fx.run_objects(fx_bodies_with_big_inputs())
    dumped = _write(tmp_path / "big.jsonl", "".join(run.model_dump_json() + "\n" for run in big))
    assert dumped.read_text().index('"trace_id"') > 70_000
    assert _format_of(dumped, None, named=True) == "langsmith"
    assert _format_of(_write(tmp_path / "big.json", json.dumps([r.model_dump() for r in big], default=str, indent=2)),
                      None, named=True) == "langsmith"  # fmt: skip
    openai = {"id": "chatcmpl-1", "object": "chat.completion", "choices": [], "trace_id": "x", "run_type": "x"}
    assert _format_of(_write(tmp_path / "openai.jsonl", json.dumps(openai)), None, named=True) == "openai-log"
    quoted = {"resourceSpans": [{"scopeSpans": [{"spans": [{"attributes": [
        {"key": "metadata", "value": {"stringValue": json.dumps(run)}}]}]}]}]}  # fmt: skip
    assert _format_of(_write(tmp_path / "otlp.json", json.dumps(quoted)), None, named=True) == "otlp-json"


def test_older_langgraph_triggers_name_their_source_nodes(lens: llmlens.Lens, tmp_path: Path) -> None:
    graph, start, agent, tools, agent2, a, b, join = (_uuid(60 + i) for i in range(8))

    def node(id: str, name: str, step: int, triggers: list[str], order: int) -> dict[str, Any]:
        metadata = {"langgraph_node": name, "langgraph_step": step, "langgraph_triggers": triggers,
                    "langgraph_checkpoint_ns": f"{name}:{id}"}  # fmt: skip
        return _run(id, name, parent=graph, order=order, extra={"metadata": metadata})

    runs = [
        _run(graph, "LangGraph"),
        node(start, "__start__", 0, ["__start__"], 1),
        node(agent, "agent", 1, ["start:agent"], 2),
        node(tools, "tools", 2, ["branch:agent:should_continue:tools"], 3),
        node(agent2, "agent", 3, ["tools"], 4),
        node(a, "a", 4, ["branch:to:a"], 5),  # parallel nodes of one step, then a join
        node(b, "b", 4, ["branch:to:b"], 6),
        node(join, "c", 5, ["join:a+b:c"], 7),
        # a run inside a node carries the node's metadata: it is not a node of its own
        _run(_uuid(70), "ChatOpenAI", "llm", agent, 8, extra={"metadata": {
            "langgraph_node": "agent", "langgraph_step": 1, "langgraph_triggers": ["start:agent"],
            "langgraph_checkpoint_ns": f"agent:{agent}", "ls_provider": "anthropic"}},
             outputs={"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-sonnet-20241022",
                      "content": [{"type": "text", "text": "Calling tools."}], "stop_reason": "tool_use",
                      "usage": {"input_tokens": 12, "output_tokens": 4}}),
    ]  # fmt: skip
    assert lens.load(_write(tmp_path / "graph.jsonl", "\n".join(map(json.dumps, runs))), progress=False).rejected == 0
    edges = _rows(lens, "SELECT src_span_id, dst_span_id, label, attributes->>'inferred' FROM edges ORDER BY ALL")
    assert sorted(edges) == sorted([
        (start, agent, "__start__ -> agent", "false"), (agent, tools, "agent -> tools", "false"),
        (tools, agent2, "tools -> agent", "false"), (agent2, a, "agent -> a", "true"),
        (agent2, b, "agent -> b", "true"),
        (a, join, "a -> c", "false"), (b, join, "b -> c", "false")])  # fmt: skip
    llm = _rows(lens, "SELECT agent_name, model, provider, input_tokens, output_tokens, output_text FROM spans "
                      "WHERE kind = 'LLM'")  # fmt: skip
    assert llm == [("agent", "claude-3-5-sonnet-20241022", "anthropic", 12, 4, "Calling tools.")]
    assert _rows(lens, "SELECT role, content, finish_reason FROM messages") == [
        ("assistant", "Calling tools.", "tool_use")
    ]


def test_a_patch_read_in_a_later_chunk_than_its_post_is_rejected_and_says_why(
    rag: list[bytes], lens: llmlens.Lens, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmlens.loaders import langsmith_runs

    monkeypatch.setattr(langsmith_runs, "CHUNK_BYTES", 4096)  # a file of batches read 4 KB at a time
    report = lens.load(_lines(tmp_path / "batches.jsonl", rag), progress=False)
    reasons = lens.sql("SELECT reason FROM rejects").reason.tolist()
    assert report.rejected == len(reasons) >= 1 and report.rows_added["spans"] == 4
    assert all(r.endswith("MB of it: a patch updates a post read with it)") for r in reasons)


def fx_bodies_with_big_inputs() -> list[bytes]:
    """One batch request whose only run has 80 KB of inputs."""
    run = _run(_uuid(80), "big", "llm", inputs={"messages": [{"role": "user", "content": "x" * 80_000}]},
               dotted_order=f"20250304T120000000000Z{_uuid(80)}")  # fmt: skip
    run["trace_id"] = _uuid(80)
    return [json.dumps({"post": [run]}).encode()]
