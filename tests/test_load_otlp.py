from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from opentelemetry.trace import format_span_id, format_trace_id

import llmlens
from llmlens.loaders import LoadError
from tests.otel_fixtures import hex_ids, protobuf_json, rag_spans, write_jsonl


@pytest.fixture(scope="module")
def sdk_spans() -> list:  # type: ignore[type-arg]
    return rag_spans()


@pytest.fixture
def lens() -> llmlens.Lens:
    return llmlens.open(":memory:")


def test_protobuf_json_from_the_sdk_loads_with_base64_ids_normalised_to_hex(
    sdk_spans: list,
    lens: llmlens.Lens,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(protobuf_json(sdk_spans), indent=2))
    report = lens.load(path, progress=False)
    assert report.files[0].format == "otlp-json"
    assert report.rows_added["spans"] == len(sdk_spans) == 4
    assert report.rejected == 0
    stored = lens.sql("SELECT * FROM spans").set_index("name")
    for span in sdk_spans:
        row = stored.loc[span.name]
        assert row.trace_id == format_trace_id(span.context.trace_id)
        assert row.span_id == format_span_id(span.context.span_id)
        expected_parent = format_span_id(span.parent.span_id) if span.parent else None
        assert (None if pd.isna(row.parent_span_id) else row.parent_span_id) == expected_parent
        assert row.start_time.value // 1000 == span.start_time // 1000
        assert row.end_time.value // 1000 == span.end_time // 1000


def test_openinference_and_genai_attributes_fill_the_canonical_columns(
    sdk_spans: list,
    lens: llmlens.Lens,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    path = write_jsonl(tmp_path / "export.jsonl", [hex_ids(protobuf_json(sdk_spans))])
    lens.load(path, progress=False)
    spans = lens.sql("SELECT * FROM spans").set_index("name")
    llm = spans.loc["ChatCompletion"]
    assert (llm.kind, llm.otel_kind, llm.model, llm.provider) == ("LLM", "CLIENT", "gpt-4o-mini", "openai")
    assert (llm.input_tokens, llm.output_tokens, llm.total_tokens) == (97, 12, 109)
    assert llm.cost_usd == pytest.approx(0.0000217)
    assert llm.output_text == "Pro costs $59."
    assert json.loads(llm.attributes)["tag.tags"] == ["pricing", "faq"]
    genai = spans.loc["chat gpt-4o"]
    assert (genai.kind, genai.model, genai.provider, genai.agent_name) == (
        "LLM",
        "gpt-4o-2024-08-06",
        "openai",
        "pricing_agent",
    )
    assert (genai.input_tokens, genai.output_tokens, genai.total_tokens) == (40, 8, 48)
    assert (genai.status_code, genai.status_message) == ("ERROR", "rate limited")
    root = spans.loc["rag"]
    assert (root.kind, root.session_id, root.user_id, root.input_text) == ("CHAIN", "s-1", "u-7", "How much is Pro?")
    assert root.service_name == "support-bot"
    resource = json.loads(root.resource)
    assert resource["deployment.environment"] == "ci"
    assert resource["otel.scope.name"] == "openinference.instrumentation.test"
    events = json.loads(spans.loc["retrieve"].events)
    assert events[0]["name"] == "cache_miss"


def test_span_links_become_edges(sdk_spans: list, lens: llmlens.Lens, tmp_path: Path) -> None:  # type: ignore[type-arg]
    lens.load(write_jsonl(tmp_path / "export.jsonl", [protobuf_json(sdk_spans)]), progress=False)
    edge = lens.sql(
        "SELECT e.kind, s.name AS src, d.name AS dst, e.attributes FROM edges e "
        "JOIN spans s ON s.span_id = e.src_span_id JOIN spans d ON d.span_id = e.dst_span_id"
    )
    assert edge[["kind", "src", "dst"]].values.tolist() == [["link", "ChatCompletion", "retrieve"]]
    assert json.loads(edge.attributes[0]) == {"link.reason": "grounding"}


def _span(trace: str, span: str, name: str, **extra: object) -> dict[str, object]:
    return {"traceId": trace, "spanId": span, "name": name, "startTimeUnixNano": 1_700_000_000_000_000_000,
            "endTimeUnixNano": 1_700_000_001_000_000_000, **extra}  # fmt: skip


def _doc(*spans: dict[str, object]) -> dict[str, object]:
    return {"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}


TRACE = "5B8EFFF798038103D269B633813FC60C"


@pytest.mark.parametrize("chunk_bytes", [None, 100], ids=["one-chunk", "a-chunk-per-line"])
def test_bad_lines_are_quarantined_and_the_valid_ones_load(
    lens: llmlens.Lens, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int | None
) -> None:
    from llmlens import loaders

    if chunk_bytes:  # large files are read in chunks: lines, offsets and rejects must not depend on where they fall
        monkeypatch.setattr(loaders, "CHUNK_BYTES", chunk_bytes)
    path = tmp_path / "mixed.jsonl"
    good = json.dumps(_doc(_span(TRACE, "EEE19B7EC3C1B174", "ok", kind=2, status={"code": "STATUS_CODE_OK"})))
    lines = [
        good.encode(),
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "0102030405060708"}]}]}]}',
        b'{"hello": "world"}',
        b"\xff\xfe not utf-8",
        json.dumps(_doc(_span(TRACE, "0x00000000000000AA", "console-style id", kind="SPAN_KIND_CLIENT"))).encode(),
        good[: len(good) // 2].encode(),  # truncated last line
    ]
    path.write_bytes(b"\n".join(lines))
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 2
    assert report.files[0].status == "partly"
    rejects = lens.sql("SELECT line, location, reason, excerpt, raw FROM rejects ORDER BY line")
    assert rejects.line.tolist() == [2, 3, 4, 6]
    assert "traceId" in rejects.reason[0] and "'zz'" not in rejects.reason[0] and "zz" in rejects.reason[0]
    assert "no resourceSpans" in rejects.reason[1]
    assert rejects.reason[2] == "not valid UTF-8 text"
    assert rejects.raw[2] == lines[3]
    assert "not valid JSON" in rejects.reason[3]
    assert rejects.raw[3] == lines[5]
    spans = lens.sql("SELECT span_id, otel_kind, status_code FROM spans ORDER BY span_id")
    assert spans.values.tolist() == [["00000000000000aa", "CLIENT", "UNSET"], ["eee19b7ec3c1b174", "SERVER", "OK"]]


def test_trace_data_without_spans_is_not_rejected_beside_a_record_that_is_not_trace_data(
    lens: llmlens.Lens, tmp_path: Path
) -> None:
    lines = [
        json.dumps(_doc(_span(TRACE, "0000000000000001", "one"))),
        '{"resourceSpans": []}',
        '{"resourceSpans": [{"scopeSpans": [{"spans": [null]}]}]}',
        '{"resourceSpans": [{"scopeSpans": []}]}',
        '{"spans": []}',
    ]
    path = tmp_path / "empty.jsonl"
    path.write_text("\n".join(lines))
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 1
    rejects = lens.con.execute("SELECT line, reason FROM rejects").fetchall()
    assert [line for line, _ in rejects] == [5] and "no resourceSpans" in rejects[0][1]


def test_loading_the_same_content_twice_adds_nothing(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [_doc(_span(TRACE, "0000000000000001", "one"))])
    lens.load(path, progress=False)  # a size not loaded before: hashed while it loads
    (content_hash,) = lens.con.execute("SELECT content_hash FROM sources").fetchone()  # type: ignore[misc]
    assert content_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    copy = shutil.copy(path, tmp_path / "copy.jsonl")
    again = lens.load(path, copy, progress=False)
    assert [file.skipped for file in again.files] == ["same content already loaded as source 1"] * 2
    assert lens.sql("SELECT count(*) AS n FROM spans").n[0] == 1


def test_overlapping_exports_keep_one_copy_and_the_latest_version_wins(lens: llmlens.Lens, tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "a.jsonl", [_doc(_span(TRACE, "0000000000000001", "draft"),
                                                    _span(TRACE, "0000000000000002", "two"))])  # fmt: skip
    second = write_jsonl(tmp_path / "b.jsonl", [_doc(_span(TRACE, "0000000000000001", "final"),
                                                     _span(TRACE, "0000000000000003", "three"))])  # fmt: skip
    lens.load(first, second, progress=False)
    names = lens.sql("SELECT span_id, name FROM spans ORDER BY span_id").values.tolist()
    assert names == [["0000000000000001", "final"], ["0000000000000002", "two"], ["0000000000000003", "three"]]


def test_duplicate_spans_inside_one_file_keep_the_last(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "dup.jsonl", [_doc(_span(TRACE, "0000000000000001", "old")),
                                                _doc(_span(TRACE, "0000000000000001", "new"))])  # fmt: skip
    assert lens.load(path, progress=False).rows_added["spans"] == 1
    assert lens.sql("SELECT name FROM spans").name.tolist() == ["new"]


def test_an_attribute_repeated_in_a_span_maps_its_last_value(lens: llmlens.Lens, tmp_path: Path) -> None:
    model = [{"key": "llm.model_name", "value": {"stringValue": name}} for name in ("first", "last")]
    tokens = [{"key": "llm.token_count.prompt", "value": {"intValue": "7"}}]
    spans = [_span(TRACE, "0000000000000001", "a", attributes=model),
             _span(TRACE, "0000000000000002", "b", attributes=tokens)]  # fmt: skip
    path = write_jsonl(tmp_path / "repeat.jsonl", [_doc(*spans)])
    lens.load(path, progress=False)
    rows = lens.con.execute("SELECT name, model, input_tokens FROM spans ORDER BY name").fetchall()
    assert rows == [("a", "last", None), ("b", None, 7)]


def test_timestamps_in_seconds_milliseconds_or_as_strings_are_understood(lens: llmlens.Lens, tmp_path: Path) -> None:
    spans = [
        {**_span(TRACE, "0000000000000001", "seconds"), "startTimeUnixNano": 1_700_000_000,
         "endTimeUnixNano": 1_700_000_002},
        {**_span(TRACE, "0000000000000002", "millis"), "startTimeUnixNano": 1_700_000_000_000,
         "endTimeUnixNano": "1700000002000"},
        {**_span(TRACE, "0000000000000003", "nanos"), "startTimeUnixNano": "1700000000000000000",
         "endTimeUnixNano": "1700000002000000000"},
    ]  # fmt: skip
    lens.load(write_jsonl(tmp_path / "t.jsonl", [_doc(*spans)]), progress=False)
    durations = lens.sql("SELECT name, duration_ms FROM spans ORDER BY name").set_index("name").duration_ms
    assert durations.tolist() == [2000.0, 2000.0, 2000.0]


def test_a_file_in_no_known_format_is_refused_with_its_first_bytes(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("lr: 0.1\nwarmup: 500\n")
    with pytest.raises(LoadError, match=r"cannot tell the format of .*notes\.txt.*lr: 0\.1.*format="):
        lens.load(path, progress=False)
    assert lens.info().sources == 0


def test_forcing_the_wrong_format_rejects_every_record_and_loses_none(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text('{"a": 1}\n{"b": 2}\n')
    report = lens.load(path, format="otlp-json", progress=False)
    assert report.files[0].status == "rejected" and report.rejected == 2
    assert lens.sql("SELECT raw FROM rejects ORDER BY line").raw.tolist() == [b'{"a": 1}', b'{"b": 2}']


def test_unknown_format_names_are_refused(lens: llmlens.Lens, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="unknown format 'otlp-xml'"):
        lens.load(tmp_path, format="otlp-xml")


def test_an_interrupted_load_leaves_nothing_of_the_file(
    lens: llmlens.Lens, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmlens import loaders

    def interrupted(*_: object) -> dict[str, int]:
        raise KeyboardInterrupt

    monkeypatch.setattr(loaders, "write_staged", interrupted)
    path = write_jsonl(tmp_path / "a.jsonl", [_doc(_span(TRACE, "0000000000000001", "one")), {"bad": 1}])
    with pytest.raises(KeyboardInterrupt):
        lens.load(path, progress=False)
    assert lens.sql("SELECT (SELECT count(*) FROM sources) + (SELECT count(*) FROM rejects) AS n").n[0] == 0


def test_a_trace_whose_spans_fall_in_several_chunks_gets_one_whole_row(
    lens: llmlens.Lens, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmlens import loaders

    monkeypatch.setattr(loaders, "CHUNK_BYTES", 100)  # a chunk per line
    child = {"parentSpanId": "0000000000000002", "status": {"code": 2}}
    lines = [_doc(_span(TRACE, "0000000000000001", "tool", **child)), _doc(_span(TRACE, "0000000000000002", "root")),
             _doc(_span(TRACE, "0000000000000003", "llm", **child))]  # fmt: skip
    lens.load(write_jsonl(tmp_path / "chunks.jsonl", lines), progress=False)
    row = lens.con.execute("SELECT root_name, n_spans, n_errors, status FROM traces").fetchall()
    assert row == [("root", 3, 2, "ERROR")]
    assert lens.con.execute("SELECT * FROM traces EXCEPT SELECT * FROM trace_rollup").fetchall() == []


def test_a_load_interrupted_after_some_chunks_leaves_nothing_of_the_file(
    lens: llmlens.Lens, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmlens import loaders

    written = loaders.write_staged
    calls: list[int] = []

    def fails_on_the_third_chunk(con: object, source_id: int, rows: object) -> None:
        calls.append(source_id)
        if len(calls) == 3:
            raise KeyboardInterrupt
        written(con, source_id, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(loaders, "CHUNK_BYTES", 200)
    monkeypatch.setattr(loaders, "write_staged", fails_on_the_third_chunk)
    documents = [_doc(_span(TRACE, f"{i:016x}", f"span {i}")) for i in range(1, 6)]
    path = write_jsonl(tmp_path / "chunks.jsonl", documents)
    with pytest.raises(KeyboardInterrupt):
        lens.load(path, progress=False)
    assert lens.tables()["spans"] == 0 and lens.tables()["sources"] == 0
    monkeypatch.setattr(loaders, "write_staged", written)
    assert lens.load(path, progress=False).rows_added["spans"] == 5


def test_folders_and_globs_expand_and_sources_record_each_file(lens: llmlens.Lens, tmp_path: Path) -> None:
    (tmp_path / "day1").mkdir()
    write_jsonl(tmp_path / "day1" / "a.jsonl", [_doc(_span(TRACE, "0000000000000001", "a"))])
    write_jsonl(tmp_path / "day1" / "b.jsonl", [_doc(_span(TRACE, "0000000000000002", "b"))])
    report = lens.load(tmp_path / "day1", progress=False)
    assert [Path(f.path).name for f in report.files] == ["a.jsonl", "b.jsonl"]
    sources = lens.sql("SELECT uri, format, rows_added['spans'] AS spans, content_hash FROM sources ORDER BY uri")
    assert sources.format.tolist() == ["otlp-json"] * 2 and sources.spans.tolist() == [1, 1]
    assert sources.content_hash.str.len().tolist() == [64, 64]
    with pytest.raises(LoadError, match="no file matches"):
        lens.load(str(tmp_path / "day2" / "*.jsonl"))


def test_the_report_shows_per_file_results_escaped(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "<b>x<i>.jsonl", [_doc(_span(TRACE, "0000000000000001", "a")), {"bad": 1}])
    report = lens.load(path, progress=False)
    text = str(report)
    assert "1 spans" in text and "1 records rejected" in text and "no resourceSpans" in text
    html = report._repr_html_()
    assert "&lt;b&gt;x&lt;i&gt;.jsonl" in html and "<b>x" not in html


def test_the_load_magic_and_command(tmp_path: Path, capsys: pytest.CaptureFixture[str], shell: Any) -> None:
    from llmlens.cli import main

    path = write_jsonl(tmp_path / "a.jsonl", [_doc(_span(TRACE, "0000000000000001", "a"))])
    shell.run_line_magic("lens", f"open {tmp_path / 'magic.duckdb'}")
    report = shell.run_line_magic("lens", f"load {path}")
    assert report.rows_added["spans"] == 1
    shell.run_line_magic("lens", "close")
    assert main(["load", "--db", str(tmp_path / "cli.duckdb"), str(path)]) == 0
    assert "1 spans" in capsys.readouterr().out
    with llmlens.open(tmp_path / "cli.duckdb", read_only=True) as lens:
        assert lens.info().tables["spans"] == 1


@pytest.fixture
def conventions(lens: llmlens.Lens, tmp_path: Path) -> llmlens.Lens:
    from tests.otel_fixtures import conversation_spans

    lens.load(write_jsonl(tmp_path / "c.jsonl", [protobuf_json(conversation_spans())]), progress=False)
    return lens


def _messages(lens: llmlens.Lens, span: str) -> list[dict[str, object]]:
    frame = lens.sql(
        "SELECT m.side, m.position, m.role, m.content, m.parts, m.finish_reason FROM messages m "
        "JOIN spans s USING (trace_id, span_id) WHERE s.name = ? ORDER BY m.side, m.position",
        [span],
    )
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in rows:
        row["parts"] = json.loads(str(row["parts"])) if row["parts"] else None
    return rows


def test_openinference_flattened_messages_become_rows_with_parts(conventions: llmlens.Lens) -> None:
    rows = _messages(conventions, "openinference llm")
    assert [(r["side"], r["position"], r["role"]) for r in rows] == [
        ("input", 0, "system"), ("input", 1, "user"), ("output", 0, "assistant")
    ]  # fmt: skip
    assert rows[0]["content"] == "You are terse."
    assert rows[1]["content"] == "Weather in Paris?"
    assert [p["content"] for p in rows[1]["parts"]] == ["Weather in ", "Paris?"]
    assert rows[2]["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    ]


def test_genai_structured_and_deprecated_messages_become_rows(conventions: llmlens.Lens) -> None:
    current = _messages(conventions, "chat gpt-4o")
    assert [(r["side"], r["position"], r["role"]) for r in current] == [
        ("input", 0, "user"),
        ("output", 0, "assistant"),
    ]
    assert current[1]["content"] == "Let me check."
    assert current[1]["finish_reason"] == "tool_call"
    assert current[1]["parts"][1] == {
        "type": "tool_call",
        "id": "1234",
        "name": "get_weather",
        "arguments": {"location": "Paris"},
    }
    deprecated = _messages(conventions, "openllmetry chat")
    assert [(r["side"], r["role"], r["content"], r["finish_reason"]) for r in deprecated] == [
        ("input", "user", "hello", None), ("output", "assistant", "hi there", "stop")
    ]  # fmt: skip


def test_retrieved_documents_and_embeddings_are_kept(conventions: llmlens.Lens) -> None:
    docs = conventions.sql(
        "SELECT s.name, d.position, d.document_id, d.content, d.score, d.metadata FROM documents d "
        "JOIN spans s USING (trace_id, span_id) ORDER BY s.name, d.position"
    )
    assert docs[["name", "position", "document_id"]].values.tolist() == [
        ["genai retrieval", 0, "a"], ["genai retrieval", 1, "b"], ["retrieve", 0, "doc-7"], ["retrieve", 1, "doc-2"]
    ]  # fmt: skip
    assert docs.score.tolist() == [0.5, 0.25, 0.91, 0.42]
    assert json.loads(docs.metadata[2]) == {"source": "wiki"}
    vectors = conventions.sql(
        "SELECT e.text, e.model, e.vector FROM embeddings e JOIN spans s USING (trace_id, span_id)"
    )
    assert vectors.text[0] == "Weather in Paris?" and vectors.model[0] == "text-embedding-3-small"
    assert list(vectors.vector[0]) == [0.25, -0.5, 1.0]


def test_reloading_a_span_replaces_its_messages_too(lens: llmlens.Lens, tmp_path: Path) -> None:
    def attr(key: str, value: str) -> dict[str, object]:
        return {"key": key, "value": {"stringValue": value}}

    first = _span(TRACE, "0000000000000001", "chat", attributes=[attr("llm.input_messages.0.message.content", "v1")])
    second = _span(TRACE, "0000000000000001", "chat", attributes=[attr("llm.input_messages.0.message.content", "v2")])
    lens.load(write_jsonl(tmp_path / "a.jsonl", [_doc(first)]), write_jsonl(tmp_path / "b.jsonl", [_doc(second)]),
              progress=False)  # fmt: skip
    assert lens.sql("SELECT content FROM messages").content.tolist() == ["v2"]


def test_spans_whose_parent_never_arrived_are_kept_and_found(lens: llmlens.Lens, tmp_path: Path) -> None:
    child = _span(TRACE, "0000000000000002", "child", parentSpanId="0000000000000001")
    lens.load(write_jsonl(tmp_path / "a.jsonl", [_doc(child)]), progress=False)
    assert lens.sql("SELECT name FROM orphan_spans").name.tolist() == ["child"]
    lens.load(write_jsonl(tmp_path / "b.jsonl", [_doc(_span(TRACE, "0000000000000001", "root"))]), progress=False)
    assert lens.sql("SELECT count(*) AS n FROM orphan_spans").n[0] == 0


def test_a_parent_cycle_loads_and_nothing_that_reads_the_tree_hangs(lens: llmlens.Lens, tmp_path: Path) -> None:
    a = _span(TRACE, "000000000000000a", "a", parentSpanId="000000000000000b")
    b = _span(TRACE, "000000000000000b", "b", parentSpanId="000000000000000a")
    assert lens.load(write_jsonl(tmp_path / "cycle.jsonl", [_doc(a, b)]), progress=False).rows_added["spans"] == 2
    assert lens.sql("SELECT n_spans FROM traces").n_spans.tolist() == [2]
    assert lens.sql("SELECT count(*) AS n FROM orphan_spans").n[0] == 0


def test_hostile_inputs_load_what_is_valid(lens: llmlens.Lens, tmp_path: Path) -> None:
    nan = {"key": "score", "value": {"doubleValue": "NaN"}}
    good = _doc(_span(TRACE, "0000000000000001", "good", attributes=[nan]))
    deep = '{"resourceSpans": [{"scopeSpans": [{"spans": [' + '{"a":' * 10_000 + "1" + "}" * 10_000 + "]}]}]}"
    literal = json.dumps(_doc(_span(TRACE, "0000000000000002", "literals", attributes=[
        {"key": "x", "value": {"doubleValue": 1.5}}]))).replace("1.5", "Infinity")  # fmt: skip
    huge = _doc(
        _span(
            TRACE, "0000000000000003", "huge", attributes=[{"key": "blob", "value": {"stringValue": "x" * 50_000_000}}]
        )
    )
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join([deep, json.dumps(good), literal, json.dumps(huge)]) + "\n")
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 3
    assert lens.sql("SELECT line FROM rejects").line.tolist() == [1]
    values = lens.sql("SELECT name, attributes FROM spans ORDER BY span_id").set_index("name").attributes
    assert values["good"] == '{"score":NaN}' and values["literals"] == '{"x":Infinity}'
    assert len(values["huge"]) > 50_000_000


def test_an_empty_file_is_refused_by_detection_and_adds_nothing_when_forced(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with pytest.raises(LoadError, match="cannot tell the format"):
        lens.load(path, progress=False)
    report = lens.load(path, format="otlp-json", progress=False)
    assert report.rows_added["spans"] == 0 and report.rejected == 0


def test_a_user_table_named_like_the_loaders_data_does_not_change_what_loads(
    lens: llmlens.Lens, tmp_path: Path
) -> None:
    lens.sql("CREATE TABLE rows AS SELECT 1 AS x")
    lens.sql("CREATE VIEW written AS SELECT 'x' AS trace_id, 'y' AS span_id")
    path = write_jsonl(tmp_path / "a.jsonl", [_doc(_span(TRACE, "0000000000000001", "one"))])
    assert lens.load(path, progress=False).rows_added["spans"] == 1
    assert lens.sql("SELECT name FROM spans").name.tolist() == ["one"]


def test_windows_line_ends_load_and_rejects_keep_no_line_end(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = tmp_path / "crlf.jsonl"
    good = json.dumps(_doc(_span(TRACE, "EEE19B7EC3C1B174", "ok"))).encode()
    path.write_bytes(good + b"  \r\n" + b'{"hello": "world"}\r\n' + good.replace(b"EEE19B7E", b"AAA19B7E") + b"\r\n")
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 2 and report.rejected == 1
    reject = lens.sql("SELECT line, excerpt, raw FROM rejects").iloc[0]
    assert (reject.line, reject.excerpt, bytes(reject.raw)) == (2, '{"hello": "world"}', b'{"hello": "world"}')
    assert lens.sql("SELECT count(*) AS n FROM spans WHERE name = 'ok'").n[0] == 2
