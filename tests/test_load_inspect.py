from __future__ import annotations

import contextlib
import json
import shutil
import struct
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmlens
from llmlens.loaders import LoadError, inspect_read, safezip
from tests.inspect_fixtures import EPOCHS, GRADER_REPLY, SAMPLES, write_logs

pytest.importorskip("inspect_ai")
pytestmark = pytest.mark.filterwarnings("ignore:The 'initial' parameter is deprecated:DeprecationWarning")  # tenacity

TRACES = SAMPLES * EPOCHS
SPANS = 86  # per log: (15 + 13 + 15) spans per epoch (see the trace shapes below)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A ``.eval`` and a ``.json`` log written by inspect_ai (each its own eval run)."""
    return write_logs(tmp_path_factory.mktemp("inspect-logs"))


@pytest.fixture
def lens() -> Iterator[llmlens.Lens]:
    with llmlens.open(":memory:") as lens:
        yield lens


@pytest.fixture
def without_inspect_ai(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import inspect_ai`` fails, as where it is not installed: llmlens's own reader reads the logs."""
    monkeypatch.setitem(sys.modules, "inspect_ai", None)
    assert inspect_read.inspect_log_module() is None


def _members(path: Path) -> dict[str, bytes]:
    """The members of a ``.eval``, inflated by llmlens's reader (inspect_ai writes them with Zstandard)."""
    found, problem = safezip.members(path)
    assert problem is None
    with path.open("rb") as file:
        return {m.name: safezip.read_member(file, m) for m in found}


def _rezip(path: Path, members: dict[str, bytes]) -> Path:
    """The members written again as a deflate zip (the compression older Inspect versions used)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _raw_samples(logs: dict[str, Path]) -> list[dict[str, Any]]:
    return json.loads(logs["json"].read_text())["samples"]


def test_eval_and_json_logs_load_one_trace_per_sample_and_epoch(lens: llmlens.Lens, logs: dict[str, Path]) -> None:
    report = lens.load(*logs.values(), progress=False)
    assert [f.format for f in report.files] == ["inspect", "inspect"]
    for file in report.files:
        assert file.rows_added["spans"] == SPANS
        assert file.rows_added["annotations"] == TRACES * 3
        assert file.rejected == 0
    assert lens.sql("SELECT count(*) AS n FROM traces").n[0] == 2 * TRACES
    kinds = lens.sql("SELECT kind, count(*) AS n FROM spans GROUP BY kind").set_index("kind").n.to_dict()
    per_log = {"LLM": EPOCHS * (3 + 2 + 3), "TOOL": EPOCHS * 2, "EVALUATOR": TRACES * 3, "CHAIN": 48}
    assert sum(per_log.values()) == SPANS
    assert kinds == {kind: 2 * n for kind, n in per_log.items()}
    assert lens.sql("SELECT count(*) AS n FROM orphan_spans").n[0] == 0
    # every trace is a sample: its root carries the task, sample id and epoch, and each trace has one root
    roots = lens.sql("SELECT name, input_text, output_text FROM spans WHERE parent_span_id IS NULL ORDER BY name")
    assert len(roots) == 2 * TRACES
    assert set(roots.name) == {f"task {i} (epoch {e})" for i in ("add", "2", "div") for e in (1, 2)}
    assert set(zip(roots.input_text, roots.output_text, strict=True)) == {
        ("What is 1+2?", "3"), ("Capital of France?", "Paris"), ("What is 1/0?", "undefined")}  # fmt: skip


def test_trace_ids_are_the_sample_uuids_and_span_ids_are_the_logs(lens: llmlens.Lens, logs: dict[str, Path]) -> None:
    lens.load(logs["json"], progress=False)
    for sample in _raw_samples(logs):
        stored = set(lens.sql("SELECT span_id FROM spans WHERE trace_id = ?", [sample["uuid"]]).span_id)
        begun = {e["id"] for e in sample["events"] if e["event"] == "span_begin"}
        models = {e["uuid"] for e in sample["events"] if e["event"] == "model"}
        assert stored == {sample["uuid"]} | begun | models  # the tool calls merged with their tool spans
        parents = lens.sql("SELECT span_id, parent_span_id FROM spans WHERE trace_id = ?", [sample["uuid"]])
        parent_of = dict(zip(parents.span_id, parents.parent_span_id, strict=True))
        for event in sample["events"]:
            if event["event"] == "span_begin":
                assert parent_of[event["id"]] == event.get("parent_id", sample["uuid"])
            elif event["event"] == "model":
                assert parent_of[event["uuid"]] == event["span_id"]


def test_model_events_become_llm_spans_with_messages_usage_and_logprobs(
    lens: llmlens.Lens, logs: dict[str, Path]
) -> None:
    lens.load(logs["eval"], progress=False)
    llm = lens.sql(
        "SELECT s.* FROM spans s JOIN spans p ON p.trace_id = s.trace_id AND p.span_id = s.parent_span_id "
        "WHERE s.kind = 'LLM' AND p.name = 'generate' AND s.output_text = 'Paris'"
    )
    assert len(llm) == EPOCHS
    span = llm.iloc[0]
    assert (span.model, span.provider, span.otel_kind, span.status_code) == ("mockllm/model", "mockllm", "CLIENT", "OK")
    assert (span.input_tokens, span.output_tokens, span.total_tokens) == (24, 5, 25)  # 20 + 4 read from cache
    assert span.end_time >= span.start_time
    messages = lens.sql(
        "SELECT side, position, role, content, coalesce(finish_reason, '-') FROM messages WHERE span_id = ? "
        "ORDER BY side, position",
        [span.span_id],
    )
    assert messages.values.tolist() == [
        ["input", 0, "user", "Capital of France?", "-"], ["output", 0, "assistant", "Paris", "stop"]]  # fmt: skip
    tokens = lens.sql(
        "SELECT side, position, token, bytes, logprob, alternatives FROM tokens WHERE span_id = ? "
        "ORDER BY side DESC, position",
        [span.span_id],
    )
    assert tokens[["side", "token", "logprob"]].values.tolist() == [
        ["output", "Par", -0.25], ["output", "is", -0.5],
        ["input", "Capital", -6.0], ["input", " of", -1.5], ["input", " France", -0.75]]  # fmt: skip
    assert bytes(tokens.bytes[0]) == b"Par"
    assert [a["token"] for a in tokens.alternatives[0]] == ["Par", "?"]
    attributes = json.loads(span.attributes)
    assert attributes["event"] == "model" and "input" not in attributes and "input_refs" not in attributes
    assert "logprobs" not in attributes["output"]["choices"][0]  # in tokens
    assert attributes["call"]["request"]["messages"][0]["content"] == "Capital of France?"  # pooled, resolved


def test_a_conversation_with_tool_calls_keeps_calls_and_results_as_message_parts(
    lens: llmlens.Lens, logs: dict[str, Path]
) -> None:
    lens.load(logs["eval"], progress=False)
    second = lens.sql("SELECT span_id FROM spans WHERE kind = 'LLM' AND output_text = '3' LIMIT 1").span_id[0]
    messages = lens.sql("SELECT role, name, content, parts FROM messages WHERE span_id = ? AND side = 'input' "
                        "ORDER BY position", [second])  # fmt: skip
    assert messages.role.tolist() == ["user", "assistant", "tool"]
    call = [p for p in json.loads(messages.parts[1]) if p["type"] == "tool_call"]
    assert [(c["name"], json.loads(c["arguments"])) for c in call] == [("add", {"x": 1, "y": 2})]
    (result,) = json.loads(messages.parts[2])
    assert (messages.name[2], messages.content[2]) == ("add", "3")
    assert (result["type"], result["id"], result["response"]) == ("tool_call_response", call[0]["id"], "3")


def test_tool_events_become_tool_spans_with_arguments_result_and_error(
    lens: llmlens.Lens, logs: dict[str, Path]
) -> None:
    lens.load(logs["json"], progress=False)
    tools = lens.sql("SELECT * FROM spans WHERE kind = 'TOOL' ORDER BY name, start_time")
    assert tools.name.tolist() == ["add"] * EPOCHS + ["divide"] * EPOCHS
    add, divide = tools.iloc[0], tools.iloc[-1]
    assert (json.loads(add.input_text), add.output_text, add.status_code) == ({"x": 1, "y": 2}, "3", "OK")
    assert (divide.status_code, divide.status_message) == ("ERROR", "division by zero")
    # the tool span inspect opened for the call is the same span: merged, keeping its id
    assert lens.sql("SELECT count(*) AS n FROM spans WHERE kind <> 'TOOL' AND name IN ('add', 'divide')").n[0] == 0
    attributes = json.loads(add.attributes)
    assert attributes["inspect.span_begin"]["id"] == add.span_id and attributes["function"] == "add"
    parent = lens.sql("SELECT name FROM spans WHERE trace_id = ? AND span_id = ?", [add.trace_id, add.parent_span_id])
    assert parent.name[0] == "generate"


def test_every_other_event_is_kept_in_the_events_of_its_span(lens: llmlens.Lens, logs: dict[str, Path]) -> None:
    lens.load(logs["json"], progress=False)
    kept = {"span_begin", "span_end", "model", "tool"}
    expected = sum(1 for s in _raw_samples(logs) for e in s["events"] if e["event"] not in kept)
    stored = lens.sql("SELECT sum(json_array_length(events)) AS n FROM spans").n[0]
    assert stored == expected > 0
    info = lens.sql(
        "SELECT e->>'name' AS name, e->'attributes'->'data' AS data "
        "FROM (SELECT unnest(from_json(events, '[\"JSON\"]')) AS e FROM spans "
        "      WHERE name = 'look_up' AND json_extract_string(attributes, '$.\"inspect.span_type\"') = 'retrieval') "
        "WHERE e->>'name' = 'info'"
    )
    assert len(info) == TRACES
    assert {json.loads(d)["looked_up"] for d in info.data} == {"What is 1+2?", "Capital of France?", "What is 1/0?"}
    names = set(lens.sql("SELECT DISTINCT unnest(from_json(events, '[\"JSON\"]'))->>'name' AS n FROM spans").n)
    assert {"sample_init", "state", "store", "score", "info"} <= names


def test_the_sample_is_kept_on_the_root_span(lens: llmlens.Lens, logs: dict[str, Path]) -> None:
    lens.load(logs["json"], progress=False)
    sample = next(s for s in _raw_samples(logs) if s["id"] == "add")
    root = json.loads(lens.sql("SELECT attributes FROM spans WHERE span_id = ?", [sample["uuid"]]).attributes[0])
    kept = root["inspect.sample"]
    assert (kept["id"], kept["epoch"], kept["target"], kept["metadata"]) == ("add", sample["epoch"], "3",
                                                                            {"topic": "arithmetic"})  # fmt: skip
    assert kept["store"] == sample["store"] and kept["scores"]["match"]["value"] == "C"
    assert kept["messages"] == sample["messages"] and kept["output"] == sample["output"]
    assert "events" not in kept and "attachments" not in kept
    assert root["inspect.log"]["eval"]["task"] == "task" and root["inspect.log"]["status"] == "success"
    assert root["inspect.log"]["results"]["scores"][0]["name"] == "match"
    assert {r["scorer"] for r in root["inspect.reductions"]} == {"match", "includes", "model_graded_qa"}


def test_scores_become_annotations_with_model_graded_ones_marked_llm(lens: llmlens.Lens, logs: dict[str, Path]) -> None:
    lens.load(logs["json"], progress=False)
    eval_id = json.loads(logs["json"].read_text())["eval"]["eval_id"]
    rows = lens.sql("SELECT a.*, s.name AS trace FROM annotations a JOIN spans s ON s.span_id = a.target_id "
                    "ORDER BY trace, a.name")  # fmt: skip
    assert set(rows.target_kind) == {"trace"}
    add = rows[rows.trace == "task add (epoch 1)"]
    assert add[["name", "label", "score", "annotator", "annotator_kind"]].values.tolist() == [
        ["includes", "C", 1.0, "includes", "check"],
        ["match", "C", 1.0, "match", "check"],
        ["model_graded_qa", "C", 1.0, "mockllm/model", "llm"],
    ]
    assert add.note.tolist()[-1] == GRADER_REPLY
    assert add.external_id.tolist() == [f"inspect:{eval_id}:add:1:{n}" for n in ("includes", "match",
                                                                                 "model_graded_qa")]  # fmt: skip
    div = rows[rows.trace == "task div (epoch 2)"].set_index("name")
    assert (div.label["match"], div.score["match"]) == ("I", 0.0)
    assert json.loads(div.metadata["match"])["answer"] == "undefined"
    assert rows.created_at.notna().all()


@pytest.mark.parametrize("case", [
    ("C", "C", 1.0), ("P", "P", 0.5), ("N", "N", 0.0), ("yes", "yes", 1.0), ("0.25", "0.25", 0.25), (0.75, None, 0.75),
    (True, "true", 1.0), ("NaN-ish", "NaN-ish", None), (float("nan"), None, None),
])  # fmt: skip
def test_score_values_map_as_inspect_maps_them(
    lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path, case: tuple[Any, str | None, float | None]
) -> None:
    value, label, score = case
    log = json.loads(logs["json"].read_text())
    log["samples"] = log["samples"][:1]
    log["samples"][0]["scores"] = {"custom": {"value": value}, "parts": {"value": {"a": "C", "b": 2}}}
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(log))
    lens.load(path, progress=False)
    rows = lens.sql("SELECT name, label, score, annotator_kind FROM annotations ORDER BY name").set_index("name")
    assert rows.label["custom"] == label or (label is None and rows.label.isna()["custom"])
    assert rows.score["custom"] == score or (score is None and rows.score.isna()["custom"])
    assert (rows.label["parts/a"], rows.score["parts/a"], rows.score["parts/b"]) == ("C", 1.0, 2.0)
    assert set(rows.annotator_kind) == {"check"}


@pytest.mark.parametrize("log_format", ["eval", "json"])
def test_inspect_ai_and_llmlens_readers_give_the_same_rows(
    logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, log_format: str
) -> None:
    import inspect_ai.log

    calls: list[str] = []
    for name in ("read_eval_log", "read_eval_log_samples_by_id"):
        original = getattr(inspect_ai.log, name)
        monkeypatch.setattr(inspect_ai.log, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    with llmlens.open(":memory:") as lens:
        lens.load(logs[log_format], progress=False)
        theirs = _rows(lens)
    assert calls, "inspect_ai's reader was not used"
    monkeypatch.setitem(sys.modules, "inspect_ai", None)
    calls.clear()
    with llmlens.open(":memory:") as lens:
        lens.load(logs[log_format], progress=False)
        ours = _rows(lens)
    assert not calls
    assert ours["spans"] and ours["messages"] and ours["tokens"] and ours["annotations"]
    assert ours == theirs


def _rows(lens: llmlens.Lens) -> dict[str, list[str]]:
    """Every row of the trace tables, JSON columns parsed (so key order does not count), as sorted text."""
    rows = {}
    for table in ("spans", "messages", "tokens", "annotations", "edges", "rejects"):
        frame = lens.sql(f"SELECT * EXCLUDE (source_id) FROM {table}")
        frame = frame.drop(columns=[c for c in ("annotation_id",) if c in frame])
        text = []
        for record in frame.to_dict("records"):
            for key, value in record.items():
                if isinstance(value, str) and value[:1] in "[{":
                    with contextlib.suppress(ValueError):
                        record[key] = json.loads(value)
            text.append(json.dumps(record, sort_keys=True, default=repr))
        rows[table] = sorted(text)
    return rows


def test_attachments_and_pooled_messages_are_resolved(
    lens: llmlens.Lens, logs: dict[str, Path], without_inspect_ai: None
) -> None:
    raw = _members(logs["eval"])
    sample = json.loads(next(v for k, v in raw.items() if k.startswith("samples/div_epoch_1")))
    assert sample["attachments"] and any("input_refs" in e for e in sample["events"])  # what the log holds
    lens.load(logs["eval"], progress=False)
    assert lens.sql("SELECT count(*) AS n FROM messages WHERE content LIKE 'attachment://%'").n[0] == 0
    assert lens.sql("SELECT count(*) AS n FROM spans WHERE strpos(CAST(attributes AS VARCHAR), 'attachment://') > 0"
                    " OR strpos(CAST(events AS VARCHAR), 'attachment://') > 0").n[0] == 0  # fmt: skip
    graders = lens.sql("SELECT content FROM messages WHERE side = 'input' AND content LIKE '%assessing a submitted%'")
    assert len(graders) == TRACES and all("[Task]:" in c for c in graders.content)
    assert lens.sql("SELECT count(*) AS n FROM rejects").n[0] == 0


def test_older_tc_references_resolve_as_attachments(lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path) -> None:
    members = {k: v.replace(b'"attachment://', b'"tc://') for k, v in _members(logs["eval"]).items()}
    path = _rezip(tmp_path / "tc.eval", members)
    lens.load(path, progress=False)
    assert lens.sql("SELECT count(*) AS n FROM messages WHERE content LIKE '%://%'").n[0] == 0
    assert lens.sql("SELECT count(*) AS n FROM rejects").n[0] == 0
    assert lens.sql("SELECT count(*) AS n FROM spans").n[0] == SPANS


@pytest.mark.parametrize("reader", ["inspect_ai", "llmlens"])
def test_a_missing_attachment_keeps_its_reference_and_is_named(
    lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    if reader == "llmlens":
        monkeypatch.setitem(sys.modules, "inspect_ai", None)
    members = _members(logs["eval"])
    name = "samples/add_epoch_1.json"
    sample = json.loads(members[name])
    (missing,) = list(sample["attachments"])
    sample["attachments"] = {}
    members[name] = json.dumps(sample).encode()
    path = _rezip(tmp_path / "missing.eval", members)
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == SPANS  # the sample still loads
    (reject,) = lens.sql("SELECT location, reason, excerpt FROM rejects").itertuples()
    assert reject.location == name and missing in reject.reason and "kept" in reject.reason
    assert reject.excerpt == f"attachment://{missing}"
    kept = lens.sql("SELECT content FROM messages WHERE content = ?", [f"attachment://{missing}"])
    assert len(kept) == 1  # the grader's prompt, still a reference
    root = lens.sql("SELECT attributes FROM spans WHERE span_id = ?", [sample["uuid"]]).attributes[0]
    assert json.loads(root)["inspect.missing_attachments"] == [missing]


def _zip(members: list[tuple[str, bytes, dict[str, int]]]) -> bytes:
    """A zip built by hand, each member deflated, with what its headers declare overridable (``size``,
    ``offset``: a central directory entry pointing at another member's data)."""
    body, directory = bytearray(), bytearray()
    for name, data, override in members:
        packed = zlib.compressobj(9, zlib.DEFLATED, -15)
        compressed = packed.compress(data) + packed.flush()
        size, crc = override.get("size", len(data)), zlib.crc32(data)
        offset = override.get("offset", len(body))
        if "offset" not in override:
            body += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(compressed), size,
                                len(name), 0) + name.encode() + compressed  # fmt: skip
        directory += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(compressed), size,
                                 len(name), 0, 0, 0, 0, 0, offset) + name.encode()  # fmt: skip
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0)
    return bytes(body + directory + end)


@pytest.mark.parametrize("reader", ["inspect_ai", "llmlens"])
def test_zip_bombs_are_refused_without_being_inflated(
    lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    if reader == "llmlens":
        monkeypatch.setitem(sys.modules, "inspect_ai", None)
    inflated: list[int] = []
    original = safezip._inflate
    monkeypatch.setattr(safezip, "_inflate", lambda m, d, cap: inflated.append(cap) or original(m, d, cap))
    members = _members(logs["eval"])
    good = "samples/2_epoch_1.json"
    zeros = bytes(64 * 1024 * 1024)
    path = tmp_path / "bomb.eval"
    path.write_bytes(_zip([
        ("header.json", members["header.json"], {}),
        (good, members[good], {}),
        ("samples/claims_epoch_1.json", b"{}", {"size": 3 * 1024**3}),  # claims 3 GiB
        ("samples/ratio_epoch_1.json", zeros, {}),  # honest, but 64 MiB from ~64 KiB
        ("samples/lies_epoch_1.json", zeros, {"size": 1000}),  # declares 1000 bytes, inflates to 64 MiB
        ("samples/overlap_epoch_1.json", members[good], {"offset": 0}),  # shares the header's data
    ]))  # fmt: skip
    report = lens.load(path, progress=False)
    assert report.files[0].format == "inspect"
    assert report.rows_added["spans"] == 13  # the good sample
    rejects = lens.sql("SELECT location, reason FROM rejects").set_index("location").reason
    assert "over the 1,073,741,824-byte limit" in rejects["samples/claims_epoch_1.json"]
    assert "more than 1000:1" in rejects["samples/ratio_epoch_1.json"]
    assert "inflates past the 1,000 bytes it declares" in rejects["samples/lies_epoch_1.json"]
    assert "overlaps another member" in rejects["samples/overlap_epoch_1.json"]
    assert all("zip bomb" in r for r in rejects)
    assert max(inflated) <= max(len(m) for m in members.values()) + 1  # nothing inflated past a real member


def test_a_truncated_eval_loads_every_complete_sample(
    lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path
) -> None:
    data = logs["eval"].read_bytes()
    found, _ = safezip.members(logs["eval"])
    cut_in = sorted((m for m in found if m.name.startswith("samples/")), key=lambda m: m.offset)[3]
    path = tmp_path / "cut.eval"
    path.write_bytes(data[: cut_in.offset + 40 + cut_in.compressed_size // 2])
    report = lens.load(path, progress=False)
    assert report.files[0].format == "inspect"
    assert lens.sql("SELECT count(*) AS n FROM traces").n[0] == 3  # the three complete samples before the cut
    rejects = lens.sql("SELECT location, reason FROM rejects ORDER BY location")
    reasons = dict(zip(rejects.location, rejects.reason, strict=True))
    assert "central directory cannot be read" in reasons["archive"]
    assert "cut off" in reasons[cut_in.name]
    eval_id = json.loads(_members(logs["eval"])["header.json"])["eval"]["eval_id"]
    # the header is written last; _journal/start.json, written first, names the eval
    assert lens.sql("SELECT DISTINCT split_part(external_id, ':', 2) AS e FROM annotations").e.tolist() == [eval_id]


@pytest.mark.parametrize("reader", ["inspect_ai", "llmlens"])
def test_a_json_log_with_a_broken_sample_loads_the_others(
    lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    if reader == "llmlens":
        monkeypatch.setitem(sys.modules, "inspect_ai", None)
    text = logs["json"].read_text()
    broken = text.replace('"input": "Capital of France?"', '"input": "Capital of France?" oops', 1)
    path = tmp_path / "broken.json"
    path.write_text(broken)
    report = lens.load(path, progress=False)
    assert report.files[0].format == "inspect"
    assert lens.sql("SELECT count(*) AS n FROM traces").n[0] == TRACES - 1
    (reject,) = lens.sql("SELECT * FROM rejects").itertuples()
    assert "is not valid JSON" in reject.reason and "skipped to the next sample" in reject.reason
    before = broken.encode()[: reject.byte_offset]
    assert broken.encode()[reject.byte_offset : reject.byte_offset + 1] == b"{"
    assert before.count(b"\n") + 1 == reject.line and reject.location.startswith("samples[")
    assert b"oops" in reject.raw
    assert report.rows_added["annotations"] == (TRACES - 1) * 3


def test_a_json_log_cut_off_keeps_the_samples_before_the_cut(lens: llmlens.Lens, logs: dict[str, Path],
                                                             tmp_path: Path) -> None:  # fmt: skip
    data = logs["json"].read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(data[: int(len(data) * 0.6)])
    lens.load(path, progress=False)
    loaded = lens.sql("SELECT count(*) AS n FROM traces").n[0]
    assert 0 < loaded < TRACES
    reasons = lens.sql("SELECT reason FROM rejects").reason.tolist()
    assert len(reasons) == 1 and "cut off" in reasons[0]


def test_reloading_replaces_instead_of_duplicating(lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path) -> None:
    lens.load(logs["eval"], progress=False)
    again = lens.load(logs["eval"], progress=False)
    assert again.files[0].skipped and not again.rows_added.get("spans")
    copy = _rezip(tmp_path / "deflated.eval", _members(logs["eval"]))  # same log, other bytes
    report = lens.load(copy, progress=False)
    assert report.rows_added["spans"] == SPANS and report.rejected == 0
    counts = lens.sql("SELECT (SELECT count(*) FROM spans) AS s, (SELECT count(*) FROM annotations) AS a, "
                      "(SELECT count(*) FROM messages) AS m, (SELECT count(*) FROM traces) AS t")  # fmt: skip
    assert counts.values.tolist() == [[SPANS, TRACES * 3, report.rows_added["messages"], TRACES]]


@pytest.mark.parametrize("chunk_bytes", [1, 10_000_000])
def test_chunks_give_the_same_rows(logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, chunk_bytes: int) -> None:
    monkeypatch.setitem(sys.modules, "inspect_ai", None)
    with llmlens.open(":memory:") as lens:
        lens.load(logs["eval"], progress=False)
        whole = _rows(lens)
    monkeypatch.setattr(inspect_read, "CHUNK_BYTES", chunk_bytes)
    with llmlens.open(":memory:") as lens:
        lens.load(logs["eval"], progress=False)
        assert _rows(lens) == whole


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage\xff", b'{"version": 2, "eval": {"task": "t"}, "samples": '
                                     b'[{"id": 1, "events": [{"event": "model", "input_refs": [[-5, 2]]}]}, 7, "x", '
                                     b'{"epoch": 1}, {"id": 3, "events": 5, "attachments": {"a": 1}}]}',
                                     b"PK\x03\x04" + bytes(100)])  # fmt: skip
def test_odd_inputs_forced_as_inspect_do_not_crash(lens: llmlens.Lens, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "odd"
    path.write_bytes(content)
    report = lens.load(path, format="inspect", progress=False)
    assert report.files[0].format == "inspect"
    if b'"id": 1' in content:
        assert report.rows_added["spans"] == 3  # samples 1 (with its model call) and 3
        assert len(lens.sql("SELECT * FROM rejects")) == 3  # 7, "x" and the sample without an id


def test_only_inspect_logs_are_detected(lens: llmlens.Lens, tmp_path: Path, logs: dict[str, Path]) -> None:
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("header.json", "{}")
        archive.writestr("data/x.csv", "a,b\n")
    with pytest.raises(LoadError, match="cannot tell the format"):
        lens.load(other, progress=False)
    named = tmp_path / "log.bin"  # the name does not matter
    shutil.copy(logs["eval"], named)
    assert lens.load(named, progress=False).files[0].format == "inspect"


def test_a_tool_call_that_starts_an_agent_gives_a_handoff_edge(
    lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path
) -> None:
    log = json.loads(logs["json"].read_text())
    sample = next(s for s in log["samples"] if s["id"] == "add")
    log["samples"] = [sample]
    agent = next(e for e in sample["events"] if e["event"] == "span_begin" and e.get("type") == "retrieval")
    agent["type"] = "agent"
    tool = next(e for e in sample["events"] if e["event"] == "tool")
    tool.update(agent="look_up", agent_span_id=agent["id"])
    path = tmp_path / "handoff.json"
    path.write_text(json.dumps(log))
    lens.load(path, progress=False)
    edges = lens.sql("SELECT kind, src_span_id, dst_span_id, label, via_span_id FROM edges")
    tool_span = lens.sql("SELECT span_id FROM spans WHERE kind = 'TOOL'").span_id[0]
    assert edges.values.tolist() == [["handoff", tool_span, agent["id"], "add -> look_up", tool_span]]
    assert lens.sql("SELECT agent_name FROM spans WHERE kind = 'AGENT'").agent_name.tolist() == ["look_up"]


def test_logs_without_uuids_or_spans_still_load_every_event(
    lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path
) -> None:
    log = json.loads(logs["json"].read_text())
    for sample in log["samples"]:
        sample.pop("uuid")
        sample["events"] = [{k: v for k, v in e.items() if k not in ("uuid", "span_id")} for e in sample["events"]
                            if e["event"] not in ("span_begin", "span_end")]  # fmt: skip
    path = tmp_path / "old.json"
    path.write_text(json.dumps(log))
    lens.load(path, progress=False)
    traces = lens.sql("SELECT trace_id FROM traces").trace_id
    assert len(traces) == TRACES and all(len(t) == 32 for t in traces)  # md5 of eval, sample and epoch
    spans = lens.sql(
        "SELECT kind, count(*) AS n, count(DISTINCT span_id) AS ids, "
        "count(*) FILTER (WHERE parent_span_id = trace_id) AS under_root FROM spans GROUP BY kind"
    )
    by_kind = spans.set_index("kind")
    assert by_kind.n["LLM"] == by_kind.ids["LLM"] == by_kind.under_root["LLM"] == EPOCHS * 8
    assert by_kind.n["TOOL"] == by_kind.under_root["TOOL"] == EPOCHS * 2
    kept = sum(1 for s in log["samples"] for e in s["events"] if e["event"] not in ("model", "tool"))
    assert lens.sql("SELECT sum(json_array_length(events)) AS n FROM spans").n[0] == kept


def test_pools_under_their_older_names_are_resolved(
    lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path, without_inspect_ai: None
) -> None:
    members = _members(logs["eval"])
    for name in [n for n in members if n.startswith("samples/")]:
        sample = json.loads(members[name])
        pools = sample.pop("events_data")
        sample["message_pool"], sample["call_pool"] = pools["messages"], pools["calls"]
        members[name] = json.dumps(sample).encode()
    lens.load(_rezip(tmp_path / "pools.eval", members), progress=False)
    inputs = lens.sql("SELECT count(*) AS n FROM messages WHERE side = 'input'").n[0]
    with llmlens.open(":memory:") as other:
        other.load(logs["eval"], progress=False)
        assert inputs == other.sql("SELECT count(*) AS n FROM messages WHERE side = 'input'").n[0] > 0


@pytest.mark.parametrize("reader", ["inspect_ai", "llmlens"])
def test_a_sample_member_that_is_not_json_is_rejected_and_the_others_load(
    lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    if reader == "llmlens":
        monkeypatch.setitem(sys.modules, "inspect_ai", None)
    members = _members(logs["eval"])
    members["samples/div_epoch_2.json"] = members["samples/div_epoch_2.json"][:500]  # cut inside its JSON
    path = _rezip(tmp_path / "corrupt.eval", members)
    report = lens.load(path, progress=False)
    assert lens.sql("SELECT count(*) AS n FROM traces").n[0] == TRACES - 1
    (reject,) = lens.sql("SELECT location, reason, raw FROM rejects").itertuples()
    assert reject.location == "samples/div_epoch_2.json" and "not valid JSON" in reject.reason
    assert reject.raw == members["samples/div_epoch_2.json"]
    assert report.rows_added["annotations"] == (TRACES - 1) * 3


def test_a_span_parent_cycle_loads_and_does_not_hang(lens: llmlens.Lens, logs: dict[str, Path], tmp_path: Path) -> None:
    log = json.loads(logs["json"].read_text())
    sample = log["samples"][0]
    at = sample["events"][0]["timestamp"]
    sample["events"] = [
        {"event": "span_begin", "id": "a", "parent_id": "b", "type": "scorer", "name": "a", "timestamp": at},
        {"event": "span_begin", "id": "b", "parent_id": "a", "type": "scorer", "name": "b", "timestamp": at},
        {"event": "model", "uuid": "m", "span_id": "a", "model": "mockllm/model", "input": [], "timestamp": at,
         "output": {"choices": []}},
    ]  # fmt: skip
    log["samples"] = [sample]
    path = tmp_path / "cycle.json"
    path.write_text(json.dumps(log))
    lens.load(path, progress=False)
    parents = lens.sql("SELECT span_id, parent_span_id FROM spans WHERE span_id IN ('a', 'b', 'm') ORDER BY span_id")
    assert parents.values.tolist() == [["a", "b"], ["b", "a"], ["m", "a"]]
    assert lens.sql("SELECT count(*) AS n FROM traces").n[0] == 1


def test_only_an_eval_spec_makes_a_json_object_an_inspect_log() -> None:
    from llmlens.loaders.detect import sniff

    history_row = b'{"eval": {"loss": 0.5}, "_step": 10, "_runtime": 2.0, "_timestamp": 1700000000.0}'
    assert sniff(history_row) == "wandb-history", "a W&B history row may open with an object of eval metrics"
    assert sniff(b'{"version": 2, "status": "success", "eval": {"eval_id": "e1", "run_id": "r1"}}') == "inspect"
