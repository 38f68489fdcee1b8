"""Langfuse exports: blob-storage exports (enriched observations, legacy traces and observations, scores) in JSON,
JSON Lines, CSV and Parquet, the UI's batch exports, and API objects from the ``langfuse`` SDK's own models."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from langfuse.api import (
    GetScoresV3Meta,
    GetScoresV3Response,
    ObservationLevel,
    ObservationsV2Meta,
    ObservationsV2Response,
    ObservationV2,
    Score_Numeric,
    Score_Text,
    ScoreSource,
    ScoreSubjectV3_Observation,
    ScoreSubjectV3_Session,
    ScoreV3_Boolean,
    ScoreV3_Categorical,
)

import llmlens
from llmlens.loaders import LoadError
from tests import langfuse_fixtures as lf
from tests.langfuse_fixtures import TRACE

ROOT, RETRIEVER, GENERATION, PRICE_TOOL, DISCOUNT_TOOL, EVENT = (
    "a1b2c3d4e5f60708", "1111111111111111", "2222222222222222", "3333333333333333", "4444444444444444",
    "5555555555555555",
)  # fmt: skip


@pytest.fixture
def lens() -> llmlens.Lens:
    return llmlens.open(":memory:")


def spans_of(lens: llmlens.Lens) -> pd.DataFrame:
    return lens.sql("SELECT * FROM spans ORDER BY start_time, span_id").set_index("span_id")


def parents(spans: pd.DataFrame) -> dict[str, str | None]:
    return {span: None if pd.isna(parent) else parent for span, parent in spans.parent_span_id.items()}


# ---- the enriched export, in every container


@pytest.mark.parametrize("container", ["json", "jsonl", "csv", "parquet"])
def test_enriched_observations_load_alike_from_json_jsonl_csv_and_parquet(
    lens: llmlens.Lens, tmp_path: Path, container: str
) -> None:
    path = lf.WRITERS[container](tmp_path / f"observations_v2.{container}", lf.trace_tree())
    report = lens.load(path, progress=False)
    assert report.files[0].format == "langfuse" and report.rejected == 0
    assert report.rows_added["spans"] == 7  # six observations and the trace's root span
    spans = spans_of(lens)
    kinds = spans.kind.to_dict()
    assert kinds == {TRACE: "CHAIN", ROOT: "CHAIN", RETRIEVER: "RETRIEVER", GENERATION: "LLM", PRICE_TOOL: "TOOL",
                     DISCOUNT_TOOL: "TOOL", EVENT: "UNKNOWN"}  # fmt: skip
    assert parents(spans) == {TRACE: None, ROOT: TRACE, RETRIEVER: ROOT, GENERATION: ROOT, PRICE_TOOL: GENERATION,
                       DISCOUNT_TOOL: ROOT, EVENT: ROOT}  # fmt: skip
    llm = spans.loc[GENERATION]
    assert (llm.model, llm.input_tokens, llm.output_tokens, llm.total_tokens) == ("gpt-4o-2024-08-06", 64, 18, 82)
    assert llm.cost_usd == pytest.approx(0.0003225)
    assert (llm.session_id, llm.user_id, llm.service_name) == ("session-1", "user-7", "pricing-bot")
    assert llm.start_time == pd.Timestamp("2024-05-29 13:46:20.063", tz="UTC")
    assert llm.end_time == pd.Timestamp("2024-05-29 13:46:20.663", tz="UTC")
    attributes = json.loads(llm.attributes)
    assert "input" not in attributes and "output" not in attributes
    assert attributes["usage_details"] == {"input": 50, "input_cached_tokens": 14, "output": 18, "total": 82}
    assert attributes["model_parameters"] == '{"temperature": 0.2, "max_tokens": 256}'  # text, as exported
    failed = spans.loc[DISCOUNT_TOOL]
    assert (failed.status_code, failed.status_message) == ("ERROR", "discount service down")
    assert spans.loc[EVENT].end_time == spans.loc[EVENT].start_time  # an event is a point in time
    root = spans.loc[ROOT]
    assert root.output_text == "Pro costs $59."  # a JSON-encoded string is its text
    trace = spans.loc[TRACE]
    assert (trace["name"], trace.input_text, trace.output_text) == (
        "pricing-question", root.input_text, "Pro costs $59.")  # fmt: skip
    assert json.loads(trace.attributes)["langfuse.derived"] is True
    row = lens.sql("SELECT * FROM traces").iloc[0]
    assert (row.root_span_id, row.root_name, row.n_spans, row.n_llm_calls, row.status) == (
        TRACE, "pricing-question", 7, 1, "ERROR")  # fmt: skip
    assert (row.session_id, row.user_id, row.duration_ms) == ("session-1", "user-7", 900.0)
    messages = lens.sql("SELECT side, position, role, content, parts FROM messages ORDER BY side, position")
    assert messages[["side", "position", "role"]].values.tolist() == [
        ["input", 0, "system"], ["input", 1, "user"], ["output", 0, "assistant"]]  # fmt: skip
    assert messages.content[1] == "How much is Pro?"
    call = json.loads(messages.parts[2])[0]
    assert (call["type"], call["name"], call["arguments"]) == ("tool_call", "get_price", '{"plan":"pro"}')


def test_a_trace_row_becomes_the_root_whichever_file_loads_first(lens: llmlens.Lens, tmp_path: Path) -> None:
    observations = lf.write_csv(tmp_path / "observations.csv", lf.trace_tree(enriched=False))
    traces = lf.write_jsonl(tmp_path / "traces.jsonl", [lf.trace_row()])
    lens.load(observations, progress=False)
    derived = spans_of(lens).loc[TRACE]
    assert derived["name"] == "answer"  # no trace name in the legacy observations: the top-level observation's
    assert lens.sql("SELECT count(*) AS n FROM orphan_spans").n[0] == 0
    assert lens.load(traces, progress=False).rows_added["spans"] == 1
    spans = spans_of(lens)
    assert len(spans) == 7
    trace = spans.loc[TRACE]
    assert (trace["name"], trace.input_text, trace.output_text) == (
        "pricing-question", '{"question": "How much is Pro?"}', "Pro costs $59.")  # fmt: skip
    assert (trace.session_id, trace.user_id) == ("session-1", "user-7")
    assert trace.end_time == pd.Timestamp("2024-05-29 13:46:20.863", tz="UTC")  # from the stored observations
    attributes = json.loads(trace.attributes)
    assert attributes["langfuse.object"] == "trace" and attributes["tags"] == ["faq"] and "input" not in attributes
    assert spans.loc[ROOT].parent_span_id == TRACE

    other = llmlens.open(":memory:")  # the other order: the derived span never replaces the trace row
    other.load(traces, progress=False)
    other.load(observations, progress=False)
    first = spans_of(other)
    assert len(first) == 7 and first.loc[TRACE]["name"] == "pricing-question"
    assert first.loc[TRACE].input_text == trace.input_text
    assert first.loc[TRACE].end_time == trace.end_time  # written again when its observations came
    assert other.sql("SELECT root_name, n_spans FROM traces").values.tolist() == [["pricing-question", 7]]


SECOND = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.mark.parametrize("container", ["jsonl", "csv", "parquet"])
def test_traces_cut_across_chunks_load_as_in_one_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, container: str
) -> None:
    from llmlens.loaders import json_rows, langfuse_export

    rows = [row for pair in zip(lf.trace_tree(), lf.trace_tree(SECOND), strict=True) for row in pair]
    if container == "jsonl":  # a table of one kind of row in CSV and Parquet; JSON Lines can mix them
        rows.append(lf.trace_row(SECOND, name="second-question", timestamp=lf.ts(-50)))
    path = lf.WRITERS[container](tmp_path / f"o.{container}", rows)
    whole = llmlens.open(":memory:")
    whole.load(path, progress=False)
    monkeypatch.setattr(json_rows, "ROWS_PER_CHUNK", 2)  # CSV and Parquet: two rows a chunk
    monkeypatch.setattr(langfuse_export, "CHUNK_BYTES", 600)  # JSON Lines: a line or two a chunk
    cut = llmlens.open(":memory:")
    cut.load(path, progress=False)
    columns = "trace_id, span_id, parent_span_id, name, kind, start_time, end_time, input_text, output_text"
    query = f"SELECT {columns} FROM spans ORDER BY trace_id, span_id"
    assert len(whole.sql(query)) == 14
    pd.testing.assert_frame_equal(cut.sql(query), whole.sql(query))
    second = spans_of(cut).loc[SECOND]
    start, name = (-50, "second-question") if container == "jsonl" else (0, "pricing-question")
    assert (second["name"], second.start_time) == (name, pd.Timestamp(lf.ts(start), tz="UTC"))
    assert second.end_time == pd.Timestamp(lf.ts(900), tz="UTC")
    assert second.input_text == ('{"question": "How much is Pro?"}' if container == "jsonl"
                                 else '{"args": ["How much is Pro?"], "kwargs": {}}')  # fmt: skip


def test_legacy_and_enriched_copies_of_the_same_observations_keep_one_tree(lens: llmlens.Lens, tmp_path: Path) -> None:
    lens.load(lf.write_jsonl(tmp_path / "observations.jsonl", lf.trace_tree(enriched=False)), progress=False)
    lens.load(lf.write_jsonl(tmp_path / "observations_v2.jsonl", lf.trace_tree()), progress=False)
    lens.load(lf.write_jsonl(tmp_path / "traces.jsonl", [lf.trace_row()]), progress=False)
    spans = spans_of(lens)
    assert len(spans) == 7 and spans.loc[ROOT].parent_span_id == TRACE
    assert spans.loc[TRACE]["name"] == "pricing-question"


def test_an_observation_repeated_in_a_file_keeps_its_latest_update(lens: llmlens.Lens, tmp_path: Path) -> None:
    newer = lf.observation("6666666666666666", "SPAN", ROOT, name="final", updated_at=lf.ts(5000))
    older = lf.observation("6666666666666666", "SPAN", ROOT, name="draft", updated_at=lf.ts(10))
    lens.load(lf.write_jsonl(tmp_path / "o.jsonl", [*lf.trace_tree(), newer, older]), progress=False)
    assert spans_of(lens).loc["6666666666666666"]["name"] == "final"


def test_loading_an_export_again_adds_nothing_and_a_new_version_replaces(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = lf.write_parquet(tmp_path / "o.parquet", lf.trace_tree())
    scores = lf.write_jsonl(tmp_path / "scores.jsonl", [lf.score("s1", "correctness", "NUMERIC", 0.9)])
    lens.load(path, scores, progress=False)
    again = lens.load(path, scores, progress=False)
    assert [f.status for f in again.files] == ["skipped", "skipped"]
    lf.write_jsonl(tmp_path / "o2.jsonl", lf.trace_tree())  # the same spans in another file: replaced, not added
    lf.write_jsonl(tmp_path / "scores2.jsonl", [lf.score("s1", "correctness", "NUMERIC", 0.5)])
    lens.load(tmp_path / "o2.jsonl", tmp_path / "scores2.jsonl", progress=False)
    counts = lens.sql(
        "SELECT (SELECT count(*) FROM spans) AS spans, (SELECT count(*) FROM messages) AS messages, "
        "(SELECT count(*) FROM annotations) AS annotations, (SELECT score FROM annotations) AS score"
    )
    assert counts.values.tolist() == [[7, 3, 1, 0.5]]


# ---- scores


def test_scores_become_annotations_of_every_data_type_and_target(lens: llmlens.Lens, tmp_path: Path) -> None:
    rows = [
        lf.score("s1", "correctness", "NUMERIC", 0.9, source="EVAL", comment="grounded in doc-3"),
        lf.score("s2", "helpful", "BOOLEAN", 1, "True", observation=GENERATION, source="ANNOTATION"),
        lf.score("s3", "tone", "CATEGORICAL", 2, "friendly"),
        lf.score("s4", "feedback", "TEXT", 0, "shorter please", source="ANNOTATION"),
        lf.score("s5", "csat", "NUMERIC", 4, trace="a-trace-not-loaded"),
        lf.score("s6", "session-rating", "NUMERIC", 5, trace=None, session_id="session-1"),
        lf.score("s7", "exact-match", "NUMERIC", 1, trace=None, dataset_run_id="run-42"),
    ]  # fmt: skip
    for container in ("csv", "parquet"):
        lf.WRITERS[container](tmp_path / f"scores.{container}", rows)
    report = lens.load(tmp_path / "scores.csv", progress=False)
    assert report.rows_added["annotations"] == 7 and report.rejected == 0
    notes = lens.sql("SELECT * FROM annotations ORDER BY external_id").set_index("external_id")
    assert notes.index.tolist() == [f"langfuse:score:s{i}" for i in range(1, 8)]
    s1, s2, s3, s4 = (notes.loc[f"langfuse:score:s{i}"] for i in range(1, 5))
    assert (s1.target_kind, s1.target_id, s1["name"], s1.score, s1.note) == (
        "trace", TRACE, "correctness", 0.9, "grounded in doc-3")  # fmt: skip
    assert (s1.annotator, s1.annotator_kind) == ("langfuse:eval", "llm")
    assert (s2.target_kind, s2.target_id, s2.score, s2.label, s2.annotator, s2.annotator_kind) == (
        "span", GENERATION, 1.0, "True", "langfuse:annotation", "human")  # fmt: skip
    assert json.loads(s2.metadata)["trace_id"] == TRACE
    assert (s3.label, s3.score, s3.annotator_kind) == ("friendly", 2.0, "check")
    assert (s4.label, pd.isna(s4.score)) == ("shorter please", True)
    assert notes.loc["langfuse:score:s5"].target_id == "a-trace-not-loaded"  # kept: its trace may load later
    assert tuple(notes.loc["langfuse:score:s6", ["target_kind", "target_id"]]) == ("session", "session-1")
    assert tuple(notes.loc["langfuse:score:s7", ["target_kind", "target_id"]]) == ("run", "run-42")
    assert s1.created_at == pd.Timestamp("2024-05-29 13:46:20.963", tz="UTC")
    assert json.loads(s1.metadata)["source"] == "EVAL"

    lens.load(tmp_path / "scores.parquet", progress=False)  # the same scores again: replaced, not added
    assert lens.sql("SELECT count(*) AS n FROM annotations").n[0] == 7


def test_a_score_without_a_target_or_with_a_value_that_is_not_a_number_is_rejected(
    lens: llmlens.Lens, tmp_path: Path
) -> None:
    rows = [lf.score("ok", "correctness", "NUMERIC", 1), lf.score("none", "x", "NUMERIC", 1, trace=None),
            lf.score("nan", "x", "NUMERIC", "high")]  # type: ignore[arg-type]  # fmt: skip
    report = lens.load(lf.write_csv(tmp_path / "scores.csv", rows), progress=False)
    assert report.rows_added["annotations"] == 1 and report.rejected == 2
    reasons = lens.sql("SELECT location, reason FROM rejects ORDER BY location").values.tolist()
    assert reasons == [["row 2", "a Langfuse score without a trace, observation, session or dataset run"],
                       ["row 3", "a Langfuse score whose value is not a number: high"]]  # fmt: skip


# ---- the UI's batch exports and the API's objects


@pytest.mark.parametrize("writer", [lf.write_ui_json, lf.write_ui_csv], ids=["json", "csv"])
def test_the_ui_batch_exports_of_traces_observations_and_scores_load(
    lens: llmlens.Lens, tmp_path: Path, writer: Any
) -> None:
    score = lf.ui_score("s9", "helpful", "BOOLEAN", 1, "True", observationId=GENERATION)
    for name, rows in (("traces", [lf.ui_trace()]), ("observations", lf.ui_observations()), ("scores", [score])):
        report = lens.load(writer(tmp_path / f"{name}.export", rows), progress=False)
        assert report.files[0].format == "langfuse" and report.rejected == 0
    spans = spans_of(lens)
    assert parents(spans) == {
        TRACE: None, ROOT: TRACE, GENERATION: ROOT}  # fmt: skip
    trace = spans.loc[TRACE]
    assert (trace["name"], trace.start_time) == ("pricing-question", pd.Timestamp("2024-05-29 13:46:19.963", tz="UTC"))
    assert json.loads(trace.input_text) == {"question": "How much is Pro?"} and trace.output_text == "Pro costs $59."
    kept = json.loads(trace.attributes)["correctness"]  # a flattened score column is kept (as CSV gives it)
    assert kept == ([0.9] if writer is lf.write_ui_json else "[0.9]")
    llm = spans.loc[GENERATION]
    assert (llm.model, llm.input_tokens, llm.output_tokens, llm.total_tokens, llm.cost_usd) == (
        "gpt-4o-2024-08-06", 50, 18, 68, 0.0003)  # fmt: skip
    assert pd.isna(spans.loc[ROOT].input_tokens)  # no usage details: no tokens (not the UI's 0)
    assert lens.sql("SELECT count(*) AS n FROM messages").n[0] == 3
    note = lens.sql("SELECT * FROM annotations").iloc[0]
    assert (note.target_kind, note.target_id, note.annotator, note.annotator_kind) == (
        "span", GENERATION, "Anna", "human")  # fmt: skip


def test_api_objects_from_the_sdk_load_pages_scores_and_a_trace_download(lens: llmlens.Lens, tmp_path: Path) -> None:
    t0 = lf.T0
    later = t0 + dt.timedelta(seconds=1)
    call = {"name": "lookup", "args": {"order": 1}, "id": "call_9", "type": "tool_call"}  # LangChain's shape
    page = ObservationsV2Response(data=[
        ObservationV2(id="agent-1", trace_id="trace-api", start_time=t0, end_time=later, project_id="p", type="AGENT",
                      name="triage", trace_name="support", user_id="u", session_id="s"),
        ObservationV2(id="gen-1", trace_id="trace-api", parent_observation_id="agent-1", start_time=t0,
                      end_time=later, project_id="p", type="GENERATION", model="claude-sonnet-4",
                      input={"messages": [{"role": "user", "content": "where is my order?"}]},
                      output={"role": "assistant", "content": "", "tool_calls": [call]},
                      usage_details={"input": 7, "output": 3, "total": 10}, cost_details={"total": 0.01},
                      level=ObservationLevel.WARNING, status_message="slow"),
    ], meta=ObservationsV2Meta(cursor=None))  # fmt: skip
    (tmp_path / "page.json").write_text(page.json())
    common: dict[str, Any] = {"timestamp": t0, "created_at": t0, "updated_at": t0, "environment": "default"}
    scores = GetScoresV3Response(data=[
        ScoreV3_Boolean(id="b1", project_id="p", name="resolved", source=ScoreSource.EVAL, value=True,
                        subject=ScoreSubjectV3_Observation(id="gen-1", trace_id="trace-api"), **common),
        ScoreV3_Categorical(id="c1", project_id="p", name="topic", source=ScoreSource.API, value="orders",
                            subject=ScoreSubjectV3_Session(id="s"), **common),
    ], meta=GetScoresV3Meta(limit=50))  # fmt: skip
    (tmp_path / "scores.json").write_text(scores.json())
    v1 = [Score_Numeric(id="n1", trace_id="trace-api", name="accuracy", source=ScoreSource.API, value=0.5,
                        author_user_id="u-anna", queue_id="queue-1", **common),
          Score_Text(id="t1", trace_id="trace-api", name="note", source=ScoreSource.ANNOTATION,
                     string_value="escalate", **common)]  # fmt: skip
    (tmp_path / "scores-v1.jsonl").write_text("".join(score.json() + "\n" for score in v1))
    download = {"trace": lf._js(lf.ui_trace()), "observations": [lf._js(o) for o in lf.ui_observations()]}
    (tmp_path / "trace-download.json").write_text(json.dumps(download, indent=2))

    report = lens.load(tmp_path, progress=False)
    assert {Path(f.path).name: f.rows_added.get("spans", 0) for f in report.files} == {
        "page.json": 3, "scores.json": 0, "scores-v1.jsonl": 0, "trace-download.json": 3}  # fmt: skip
    assert report.rejected == 0 and report.rows_added["annotations"] == 4
    spans = spans_of(lens)
    gen = spans.loc["gen-1"]
    assert (gen.kind, gen.model, gen.input_tokens, gen.status_code, gen.status_message) == (
        "LLM", "claude-sonnet-4", 7, "UNSET", "slow")  # fmt: skip
    agent = spans.loc["agent-1"]
    assert (agent.kind, agent.agent_name, agent.parent_span_id) == ("AGENT", "triage", "trace-api")
    assert spans.loc["trace-api"]["name"] == "support"
    tool = json.loads(lens.sql("SELECT parts FROM messages WHERE span_id = 'gen-1' AND side = 'output'").parts[0])
    assert tool[-1] == {"type": "tool_call", "id": "call_9", "name": "lookup", "arguments": '{"order":1}'}
    assert spans.loc[TRACE]["name"] == "pricing-question" and spans.loc[ROOT].parent_span_id == TRACE
    notes = lens.sql("SELECT external_id, target_kind, target_id, coalesce(label, '-'), coalesce(score, -1), "
                     "annotator, coalesce(queue, '-') FROM annotations ORDER BY external_id")  # fmt: skip
    assert notes.values.tolist() == [
        ["langfuse:score:b1", "span", "gen-1", "True", 1.0, "langfuse:eval", "-"],
        ["langfuse:score:c1", "session", "s", "orders", -1.0, "langfuse:api", "-"],
        ["langfuse:score:n1", "trace", "trace-api", "-", 0.5, "u-anna", "queue-1"],
        ["langfuse:score:t1", "trace", "trace-api", "escalate", -1.0, "langfuse:annotation", "-"],
    ]


def test_logprobs_in_a_raw_openai_response_become_tokens(lens: llmlens.Lens, tmp_path: Path) -> None:
    token = {
        "token": "Hi",
        "logprob": -0.25,
        "bytes": [72, 105],
        "top_logprobs": [
            {"token": "Hi", "logprob": -0.25, "bytes": [72, 105]},
            {"token": "Hello", "logprob": -1.5, "bytes": None},
        ],
    }
    response = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1716990379, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop",
                             "logprobs": {"content": [token], "refusal": None}}]}  # fmt: skip
    row = lf.generation(GENERATION, ROOT, output=json.dumps(response))
    lens.load(lf.write_jsonl(tmp_path / "o.jsonl", [lf.trace_tree()[0], row]), progress=False)
    tokens = lens.sql("SELECT token, logprob, alternatives FROM tokens")
    assert tokens.token.tolist() == ["Hi"] and tokens.logprob[0] == -0.25
    output = lens.sql("SELECT role, content, finish_reason FROM messages WHERE side = 'output'")
    assert output.values.tolist() == [["assistant", "Hi", "stop"]]


# ---- what does not load, and what loads around it


def test_a_csv_row_with_a_broken_quote_is_rejected_with_its_line_and_the_rest_loads(
    lens: llmlens.Lens, tmp_path: Path
) -> None:
    path = lf.write_csv(tmp_path / "observations.csv", lf.trace_tree())
    lines = path.read_bytes().split(b"\n")
    assert b"\n" not in lines[3]
    lines[3] = lines[3].replace(b'"GENERATION"', b'"GENER"ATION"', 1)  # line 4: the generation
    path.write_bytes(b"\n".join(lines) + b'"cut","' + TRACE.encode() + b'","SPAN","a broken')  # and a cut last row
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 6 and report.rejected == 2  # five observations and the trace
    rejects = lens.sql("SELECT line, byte_offset, location, reason, raw FROM rejects ORDER BY line")
    assert rejects.line.tolist() == [4, 8] and rejects.location.tolist() == ["line 4", "line 8"]
    assert "unterminated quote" in rejects.reason[0] and rejects.raw[0] == lines[3]
    assert rejects.byte_offset[0] == len(b"\n".join(lines[:3])) + 1
    assert rejects.raw[1].endswith(b"a broken")
    assert GENERATION not in spans_of(lens).index


def test_a_broken_quote_after_a_cell_with_line_breaks_rejects_that_row_from_its_first_line(
    lens: llmlens.Lens, tmp_path: Path
) -> None:
    rows = lf.trace_tree()
    rows[2]["input"] = json.dumps([{"role": "user", "content": "How much\nis Pro?"}]).replace("\\n", "\n")
    path = lf.write_csv(tmp_path / "o.csv", rows)
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"gpt-4o-2024-08-06"', b'"gpt-4o"-2024-08-06"', 1))
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 6 and report.rejected == 1
    reject = lens.sql("SELECT line, byte_offset, raw FROM rejects").iloc[0]
    start = data.index(b'"2222222222222222"')
    assert (reject.line, reject.byte_offset) == (data.count(b"\n", 0, start) + 1, start) == (4, start)
    assert reject.raw.startswith(b'"2222222222222222",') and GENERATION not in spans_of(lens).index


def test_a_csv_row_longer_than_the_reader_takes_is_rejected_with_its_line(
    lens: llmlens.Lens, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmlens.loaders import langfuse_export

    # the module the loader reads with (doctest collection may have imported json_rows a second time)
    monkeypatch.setattr(langfuse_export.json_rows, "MAX_ROW_BYTES", 1 << 20)
    rows = lf.trace_tree()
    rows[1]["output"] = json.dumps({"documents": ["chunk " * 400_000]})  # a 2.4 MB retrieval output
    report = lens.load(lf.write_csv(tmp_path / "o.csv", rows), progress=False)
    assert report.rows_added["spans"] == 6 and report.rejected == 1
    reject = lens.sql("SELECT line, reason, raw FROM rejects").iloc[0]
    assert reject.line == 3 and "a row longer than 1 MiB" in reject.reason and len(reject.raw) > 2_400_000
    assert reject.raw.startswith(b'"1111111111111111",') and RETRIEVER not in spans_of(lens).index


def test_a_truncated_json_lines_file_keeps_every_complete_row(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = lf.write_jsonl(tmp_path / "o.jsonl", lf.trace_tree())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 6 and report.rejected == 1
    reject = lens.sql("SELECT line, reason, raw FROM rejects").iloc[0]
    assert (reject.line, reject.reason) == (6, "not valid JSON (truncated or corrupt record)")
    assert reject.raw == data.split(b"\n")[5][: len(data.split(b"\n")[5]) - 39]


def test_a_cut_json_array_keeps_the_elements_before_the_cut(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = lf.write_json(tmp_path / "o.json", lf.trace_tree())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 6 and report.rejected == 1
    reject = lens.sql("SELECT line, byte_offset, reason, raw FROM rejects").iloc[0]
    assert reject.line == 1 and "truncated or corrupt element" in reject.reason
    assert data[reject.byte_offset :].startswith(reject.raw) and reject.raw.startswith(b'{"id":"5555555555555555"')


@pytest.mark.parametrize("container", ["jsonl", "csv", "json"])
def test_a_row_that_is_not_utf8_is_rejected_and_the_others_load(
    lens: llmlens.Lens, tmp_path: Path, container: str
) -> None:
    path = lf.WRITERS[container](tmp_path / f"o.{container}", lf.trace_tree())
    data = path.read_bytes()
    marker = b"search-docs"
    path.write_bytes(data.replace(marker, b"search-\xff\xfedocs", 1))
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 6 and report.rejected == 1
    reject = lens.sql("SELECT reason, raw FROM rejects").iloc[0]
    assert "UTF-8" in reject.reason or "utf-8" in reject.reason
    assert b"search-\xff\xfedocs" in reject.raw
    assert RETRIEVER not in spans_of(lens).index


def test_an_empty_file_is_refused_by_detection_and_adds_nothing_when_forced(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(LoadError, match="cannot tell the format"):
        lens.load(path, progress=False)
    report = lens.load(path, format="langfuse", progress=False)
    assert report.files[0].status == "loaded" and report.rejected == 0 and not any(report.rows_added.values())


def test_objects_that_are_not_langfuse_rows_are_rejected_and_the_rows_load(lens: llmlens.Lens, tmp_path: Path) -> None:
    no_trace = {k: v for k, v in lf.observation("7777777777777777", "SPAN").items() if k != "trace_id"}
    rows = [*lf.trace_tree(), {"hello": "world"}, no_trace, [1, 2]]
    path = tmp_path / "o.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 7 and report.rejected == 4
    reasons = lens.sql("SELECT location, reason FROM rejects ORDER BY line, location").values.tolist()
    assert reasons == [
        ["line 7", "not a Langfuse trace, observation or score (no type, timestamp or data_type field)"],
        ["line 8", "a Langfuse observation without a trace_id"],
        ["line 9, element 1", "not a JSON object but a number"],
        ["line 9, element 2", "not a JSON object but a number"],
    ]


def test_an_observation_whose_parent_never_arrives_is_kept_as_an_orphan(lens: llmlens.Lens, tmp_path: Path) -> None:
    child = lf.observation("8888888888888888", "TOOL", "9999999999999999", start=50, name="lost-parent")
    lens.load(lf.write_jsonl(tmp_path / "o.jsonl", [*lf.trace_tree(), child]), progress=False)
    orphans = lens.sql("SELECT span_id, parent_span_id FROM orphan_spans").values.tolist()
    assert orphans == [["8888888888888888", "9999999999999999"]]


# ---- detection


def test_langfuse_exports_are_told_by_content_and_other_formats_are_not_taken(
    lens: llmlens.Lens, tmp_path: Path
) -> None:
    from llmlens.loaders import _format_of

    for container, writer in lf.WRITERS.items():
        for name, rows in (("obs", lf.trace_tree(enriched=False)), ("traces", [lf.trace_row()]),
                           ("scores", [lf.score("s1", "x", "NUMERIC", 1)])):  # fmt: skip
            path = writer(tmp_path / f"{name}.{container}.data", rows)
            assert _format_of(path, None, named=True) == "langfuse", path.name
    response = {"id": "chatcmpl-1", "object": "chat.completion", "choices": []}  # a generation's output, parsed
    ui = lf.write_ui_json(tmp_path / "ui.json", [lf.ui_observations()[1] | {"output": response}])
    assert _format_of(ui, None, named=True) == "langfuse"
    others = {
        "otlp.json": json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
            {"traceId": TRACE, "spanId": ROOT, "name": "x", "attributes": [
                {"key": "parent_observation_id", "value": {"stringValue": ""}}]}]}]}]}),
        "metrics.csv": "run,step,loss\nr1,1,0.5\n",
        "long.jsonl": '{"run": "r1", "key": "loss", "step": 1, "value": 0.5, "timestamp": 1}\n',
    }  # fmt: skip
    expected = {"otlp.json": "otlp-json", "metrics.csv": "metrics-wide", "long.jsonl": "metrics-long"}
    for name, text in others.items():
        (tmp_path / name).write_text(text)
        assert _format_of(tmp_path / name, None, named=True) == expected[name]


@pytest.mark.parametrize("container", ["jsonl", "json", "csv", "parquet"])
def test_the_benchmark_export_loads_whole(lens: llmlens.Lens, tmp_path: Path, container: str) -> None:
    from benchmarks.ingest import langfuse as bench

    paths = bench.generate(tmp_path / "export", 200, container=container)
    report = lens.load(*paths, progress=False)
    assert report.rejected == 0 and [f.format for f in report.files] == ["langfuse", "langfuse"]
    assert report.rows_added["spans"] == 200 and report.rows_added["annotations"] == 40
    row = lens.sql("SELECT root_name, n_spans, n_llm_calls, input_text FROM traces ORDER BY trace_id LIMIT 1")
    question = '{"query": "How do I rotate the API key of workspace 0?"}'
    assert row.values.tolist() == [["support-question", 5, 1, question]]
