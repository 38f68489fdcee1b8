"""The Arize Phoenix loaders, on what a real Phoenix server wrote (``tests/fixtures/phoenix/``, written by
``tests/fixtures/make_phoenix.py``: its SQLite database with two projects and five annotations, a span DataFrame
saved as Parquet, and the OTLP export of the same spans) and on hand-made bad inputs."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import llmlens
from llmlens.loaders import LoadError, phoenix_store

FIXTURES = Path(__file__).parent / "fixtures" / "phoenix"
DATAFRAME = FIXTURES / "spans.parquet"
OTLP = FIXTURES / "otlp.json"
TRACE, AGENTS_TRACE = "67e81001723cd10cb7ded04ddfb30495", "b7a28cecc3727f4e0a593c80c5c3c3b5"
ROOT, RETRIEVER, LLM = "63eb4cedd509f639", "d7cbb70d41a90048", "cee3bb2df84aabb4"
COLUMNS = (
    "trace_id, span_id, parent_span_id, name, kind, status_code, status_message, model, provider, input_text, "
    "output_text, input_tokens, output_tokens, total_tokens, session_id, user_id, agent_name"
)
"""The span columns a span has alike from Phoenix's database, its DataFrame and the OTLP export Phoenix received
(Phoenix keeps no OpenTelemetry span kind and no resource but the project; it stores times to the microsecond)."""


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("phoenix") / "phoenix.db"
    with gzip.open(FIXTURES / "phoenix.db.gz") as source, path.open("wb") as sink:
        shutil.copyfileobj(source, sink)
    return path


@pytest.fixture
def db(database: Path, tmp_path: Path) -> Path:
    """A copy of the database this test may change."""
    path = tmp_path / "phoenix.db"
    shutil.copy(database, path)
    return path


@pytest.fixture
def lens() -> Iterator[llmlens.Lens]:
    with llmlens.open(":memory:") as lens:
        yield lens


def _rows(lens: llmlens.Lens, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return lens.con.execute(query, params).fetchall()


def _counts(report: llmlens.loaders.LoadReport) -> dict[str, int]:
    return {table: n for table, n in report.rows_added.items() if n}


def _change(path: Path, *statements: str) -> None:
    """Run SQL on a Phoenix database as a newer Phoenix, or a damaged disk, might have left it (without the
    indexes on ``json_extract(attributes, ...)`` that would refuse attributes that are not JSON)."""
    with sqlite3.connect(path) as con:
        indexes = con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%JSON%'").fetchall()
        for (index,) in indexes:
            con.execute(f"DROP INDEX {index}")
        for statement in statements:
            con.execute(statement)
    con.close()


# ---- the database


def test_the_database_loads_every_project_with_its_spans_and_annotations(database: Path, lens: llmlens.Lens) -> None:
    report = lens.load(database, progress=False)
    assert report.files[0].format == "phoenix-sqlite" and report.rejected == 0
    assert _counts(report) == {"spans": 10, "messages": 3, "documents": 3, "tokens": 5, "embeddings": 1,
                               "edges": 2, "annotations": 5}  # fmt: skip
    kinds = dict(_rows(lens, "SELECT kind, count(*) FROM spans GROUP BY kind"))
    assert kinds == {"CHAIN": 2, "EMBEDDING": 1, "RETRIEVER": 1, "RERANKER": 1, "LLM": 1, "TOOL": 2, "AGENT": 2}
    traces = _rows(lens, "SELECT trace_id, root_name, service_name, n_spans, n_errors, session_id, user_id, "
                         "input_text, output_text FROM traces ORDER BY start_time")  # fmt: skip
    assert traces == [
        (TRACE, "answer", "support-rag", 6, 1, "session-42", "user-7", "How do I rotate my API key?",
         "Rotate it in Settings."),
        (AGENTS_TRACE, "Agent workflow", "agents", 4, 0, None, None, "Was my invoice paid?", "Yes, on 3 March."),
    ]  # fmt: skip
    # the OpenAI instrumentor's span: model, provider, usage, the cost Phoenix priced it at, messages and logprobs
    (llm,) = _rows(lens, "SELECT model, provider, input_tokens, output_tokens, total_tokens, cost_usd FROM spans "
                         "WHERE span_id = ?", [LLM])  # fmt: skip
    assert llm[:5] == ("gpt-4o-mini-2024-07-18", "openai", 42, 5, 47) and llm[5] == pytest.approx(9.3e-06)
    messages = _rows(lens, "SELECT side, position, role, content FROM messages ORDER BY side, position")
    assert messages == [("input", 0, "system", "Answer from the documents."),
                        ("input", 1, "user", "How do I rotate my API key?"),
                        ("output", 0, "assistant", "Rotate it in Settings.")]  # fmt: skip
    tokens = _rows(
        lens, "SELECT token, logprob, alternatives[2].token FROM tokens WHERE span_id = ? ORDER BY position", [LLM]
    )
    assert [t[0] for t in tokens] == ["Rotate", " it", " in", " Settings", "."] and tokens[3][1:] == (-0.4, " Admin")
    documents = _rows(lens, "SELECT span_id, position, document_id, score, metadata FROM documents "
                            "ORDER BY span_id, position")  # fmt: skip
    assert [d[:4] for d in documents] == [(RETRIEVER, 0, "keys-1", 0.91), (RETRIEVER, 1, "keys-7", 0.62),
                                          ("f4cf5f8d45ae6aa9", 0, "keys-1", 0.91)]  # fmt: skip
    assert json.loads(documents[1][4]) == {"source": "docs/keys.md", "section": "expiry"}
    assert _rows(lens, "SELECT role, text, vector FROM embeddings") == [
        ("query", "How do I rotate my API key?", [0.25, -0.5, 0.125, 1.0])]  # fmt: skip
    # the failed tool keeps its status and its exception event
    (tool,) = _rows(lens, "SELECT status_code, status_message, events FROM spans WHERE name = 'send-email'")
    assert tool[:2] == ("ERROR", "TimeoutError: SMTP server did not answer")
    (event,) = json.loads(tool[2])
    assert event["name"] == "exception"
    assert {a["key"]: a["value"]["stringValue"] for a in event["attributes"]}["exception.type"] == "TimeoutError"
    # the handoff between the agents' spans: OpenInference's `handoff to` span and graph.node.parent_id
    edges = _rows(lens, "SELECT kind, src_span_id, dst_span_id, label FROM edges ORDER BY kind")
    assert edges == [("graph_node", "dc652519d87c6e5f", "236152dad34231fd", "Triage -> Billing"),
                     ("handoff", "dc652519d87c6e5f", "236152dad34231fd", "Triage -> Billing")]  # fmt: skip
    # OpenInference's attributes as an OTLP exporter sent them: flat keys, JSON strings where they were strings
    attributes = json.loads(_rows(lens, "SELECT attributes FROM spans WHERE span_id = ?", [RETRIEVER])[0][0])
    assert attributes["tag.tags"] == ["support", "rag"] and attributes["openinference.span.kind"] == "RETRIEVER"
    assert json.loads(attributes["metadata"]) == {"tier": "pro", "region": "eu"}
    assert attributes["retrieval.documents.1.document.id"] == "keys-7"
    assert _rows(lens, "SELECT count(*) FROM orphan_spans") == [(0,)]


def test_spans_load_from_the_database_as_from_the_otlp_export_phoenix_received(database: Path, tmp_path: Path) -> None:
    with llmlens.open(":memory:") as phoenix, llmlens.open(":memory:") as otlp:
        phoenix.load(database, progress=False)
        assert otlp.load(OTLP, progress=False).files[0].format == "otlp-json"
        query = f"SELECT {COLUMNS} FROM spans ORDER BY span_id"
        assert phoenix.sql(query).equals(otlp.sql(query))
        # Phoenix keeps microseconds (rounded); the exporter sent nanoseconds
        times = "SELECT epoch_us(start_time) AS s, epoch_us(end_time) AS e FROM spans ORDER BY span_id"
        assert ((phoenix.sql(times) - otlp.sql(times)).abs() <= 1).all().all()
        for table, key in (("messages", "span_id, side, position, role, content, parts, finish_reason"),
                           ("documents", "span_id, position, document_id, content, score"),
                           ("tokens", "span_id, side, choice, position, token, bytes, logprob"),
                           ("embeddings", "span_id, role, text, model, vector"),
                           ("edges", "kind, src_span_id, dst_span_id, label, attributes, via_span_id")):  # fmt: skip
            assert phoenix.sql(f"SELECT {key} FROM {table} ORDER BY ALL").equals(
                otlp.sql(f"SELECT {key} FROM {table} ORDER BY ALL")
            ), table
        both = "SELECT span_id, attributes FROM spans ORDER BY span_id"
        for (span, mine), (_, theirs) in zip(_rows(phoenix, both), _rows(otlp, both), strict=True):
            ours, sent = json.loads(mine), json.loads(theirs)
            for key in ("metadata", "tool.parameters", *(k for k in sent if k.endswith("document.metadata"))):
                if key in sent:  # JSON strings Phoenix parsed: the same JSON, written without spaces
                    assert json.loads(ours.pop(key)) == json.loads(sent.pop(key)), (span, key)
            assert ours == sent, span


def test_annotations_become_annotations_of_their_span_trace_document_or_session(
    database: Path, lens: llmlens.Lens
) -> None:
    lens.load(database, progress=False)
    found = _rows(lens, "SELECT target_kind, target_id, target_position, name, label, score, note, annotator_kind, "
                        "external_id, metadata FROM annotations ORDER BY external_id")  # fmt: skip
    assert [row[:9] for row in found] == [
        ("document", RETRIEVER, 0, "relevance", "relevant", 1.0, "document 0", "llm",
         "phoenix:document_annotations:1"),
        ("document", RETRIEVER, 1, "relevance", "irrelevant", 0.0, "document 1", "llm",
         "phoenix:document_annotations:2"),
        ("session", "session-42", None, "resolved", "yes", 1.0, None, "check", "phoenix:project_session_annotations:1"),
        ("span", ROOT, None, "correctness", "correct", 1.0, "Matches the docs.", "human", "phoenix:span_annotations:1"),
        ("trace", TRACE, None, "helpfulness", "helpful", 0.8, "Answers the question.", "llm",
         "phoenix:trace_annotations:1"),
    ]  # fmt: skip
    metadata = json.loads(found[3][9])
    assert metadata["reviewer"] == "ana"
    assert metadata["phoenix"] == {"table": "span_annotations", "id": 1, "identifier": "", "source": "API",
                                   "annotator_kind": "HUMAN", "updated_at": "2026-11-24 06:24:46"}  # fmt: skip


def test_loading_again_adds_nothing_and_a_changed_database_replaces_what_changed(db: Path, lens: llmlens.Lens) -> None:
    lens.load(db, progress=False)
    again = lens.load(db, progress=False)
    assert again.files[0].skipped and not again.rows_added.get("spans")
    _change(db, "UPDATE span_annotations SET label = 'incorrect', score = 0 WHERE id = 1",
            "UPDATE spans SET name = 'answer v2' WHERE id = 6")  # fmt: skip
    changed = lens.load(db, progress=False)
    assert not changed.files[0].skipped and changed.rejected == 0
    counts = _rows(lens, "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM annotations), "
                         "(SELECT count(*) FROM messages), (SELECT count(*) FROM edges)")  # fmt: skip
    assert counts == [(10, 5, 3, 2)]
    assert _rows(lens, "SELECT label, score FROM annotations WHERE target_kind = 'span'") == [("incorrect", 0.0)]
    assert _rows(lens, "SELECT root_name FROM traces WHERE trace_id = ?", [TRACE]) == [("answer v2",)]


def test_the_write_ahead_log_is_read_with_the_database(db: Path) -> None:
    assert phoenix_store.covers(db) == []
    wal = db.with_name("phoenix.db-wal")
    wal.write_bytes(b"")
    assert phoenix_store.covers(db) == [wal]


# ---- the span DataFrame


def test_the_span_dataframe_loads_as_the_database_loads_its_project(database: Path) -> None:
    with llmlens.open(":memory:") as frame, llmlens.open(":memory:") as store:
        report = frame.load(DATAFRAME, progress=False)
        assert report.files[0].format == "phoenix-parquet" and report.rejected == 0
        assert _counts(report) == {"spans": 6, "messages": 3, "documents": 3, "tokens": 5, "embeddings": 1}
        store.load(database, progress=False)
        query = f"SELECT {COLUMNS}, start_time, end_time FROM spans WHERE trace_id = '{TRACE}' ORDER BY span_id"
        assert frame.sql(query).equals(store.sql(query))
        for table in ("messages", "documents", "tokens", "embeddings"):
            key = "* EXCLUDE (source_id" + (", embedding_id)" if table == "embeddings" else ")")
            assert frame.sql(f"SELECT {key} FROM {table} ORDER BY ALL").equals(
                store.sql(f"SELECT {key} FROM {table} ORDER BY ALL")
            ), table
        # a DataFrame names no project and holds no cost
        assert _rows(frame, "SELECT count(service_name), count(cost_usd) FROM spans") == [(0, 0)]


def test_the_dataframe_after_the_database_keeps_one_copy_of_each_span(database: Path, lens: llmlens.Lens) -> None:
    lens.load(database, progress=False)
    lens.load(DATAFRAME, progress=False)
    counts = _rows(lens, "SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM messages), "
                         "(SELECT count(*) FROM documents), (SELECT count(*) FROM tokens), "
                         "(SELECT count(*) FROM annotations), (SELECT count(*) FROM traces)")  # fmt: skip
    assert counts == [(10, 3, 3, 5, 5, 2)]


def _frame_row(span: str, parent: str | None, **attributes: Any) -> dict[str, Any]:
    """One row of a span DataFrame as Phoenix's client returns it."""
    return {"context.span_id": span, "context.trace_id": "ab" * 16, "parent_id": parent, "name": f"step {span}",
            "span_kind": "CHAIN", "start_time": pd.Timestamp("2026-05-01 12:00:00", tz="UTC"),
            "end_time": pd.Timestamp("2026-05-01 12:00:01", tz="UTC"), "status_code": "OK", "status_message": "",
            "events": [], **{f"attributes.{k}": v for k, v in attributes.items()}}  # fmt: skip


def test_a_partial_dataframe_keeps_its_orphans_and_a_parent_cycle_loads(lens: llmlens.Lens, tmp_path: Path) -> None:
    rows = [
        _frame_row("1111111111111111", "9999999999999999", **{"input.value": "an orphan"}),
        _frame_row("2222222222222222", "3333333333333333"),
        _frame_row("3333333333333333", "2222222222222222"),  # a cycle, as a broken exporter might write
    ]
    path = tmp_path / "partial.parquet"
    pd.DataFrame(rows).to_parquet(path)
    report = lens.load(path, progress=False)
    assert report.files[0].format == "phoenix-parquet" and report.rows_added["spans"] == 3 and report.rejected == 0
    assert _rows(lens, "SELECT span_id, parent_span_id FROM orphan_spans") == [("1111111111111111", "9999999999999999")]
    assert _rows(lens, "SELECT input_text FROM spans WHERE span_id = '1111111111111111'") == [("an orphan",)]


def test_a_dataframe_row_without_a_span_id_is_rejected_with_its_row(lens: llmlens.Lens, tmp_path: Path) -> None:
    rows = [_frame_row("1111111111111111", None), _frame_row("2222222222222222", "1111111111111111")]
    rows[1]["context.span_id"] = None
    path = tmp_path / "spans.parquet"
    pd.DataFrame(rows).to_parquet(path)
    report = lens.load(path, progress=False)
    assert report.rows_added["spans"] == 1 and report.rejected == 1
    ((location, line),) = _rows(lens, "SELECT location, line FROM rejects")
    assert location.startswith("row 2") and line == 2


def test_a_cut_parquet_file_is_refused_with_its_path(lens: llmlens.Lens, tmp_path: Path) -> None:
    path = tmp_path / "spans.parquet"
    path.write_bytes(DATAFRAME.read_bytes()[:5000])
    with pytest.raises(LoadError, match=r"spans\.parquet: not a Parquet file llmlens can read"):
        lens.load(path, format="phoenix-parquet", progress=False)
    assert lens.tables()["spans"] == 0


# ---- bad databases


def test_a_span_whose_attributes_are_not_json_is_rejected_with_its_row_and_the_rest_loads(
    db: Path, lens: llmlens.Lens
) -> None:
    _change(db, "UPDATE spans SET attributes = substr(attributes, 1, 40) WHERE id = 2",
            "UPDATE spans SET events = '[{\"name\": \"exception\"' WHERE id = 5")  # fmt: skip
    report = lens.load(db, progress=False)
    assert report.rows_added["spans"] == 8 and report.rejected == 2
    rejects = _rows(lens, "SELECT location, line, reason, raw FROM rejects ORDER BY line")
    assert [r[:3] for r in rejects] == [
        ("spans row 2, span search-docs", 2, "its attributes are not valid JSON"),
        ("spans row 5, span send-email", 5, "its events are not valid JSON"),
    ]
    assert rejects[0][3] == b'{"tag":{"tags":["support","rag"]},"retri' and rejects[1][3] == b'[{"name": "exception"'
    assert _rows(lens, "SELECT count(*) FROM spans WHERE span_id = ?", [RETRIEVER]) == [(0,)]
    # everything else loads: the other spans, their messages and tokens, every annotation (kept for the lost span)
    assert {k: report.rows_added[k] for k in ("messages", "tokens", "edges", "annotations")} == {
        "messages": 3, "tokens": 5, "edges": 2, "annotations": 5}  # fmt: skip


def test_an_unknown_schema_version_is_refused_naming_it_unless_accepted(
    db: Path, lens: llmlens.Lens, monkeypatch: pytest.MonkeyPatch
) -> None:
    _change(db, "UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    with pytest.raises(LoadError, match=r"phoenix\.db: Phoenix schema version 'f00dfeedbeef' \(alembic_version\) "
                                        r"is not one llmlens knows.*ACCEPT_UNKNOWN_VERSIONS"):  # fmt: skip
        lens.load(db, progress=False)
    assert lens.tables()["spans"] == 0 and lens.tables()["sources"] == 0
    monkeypatch.setattr(phoenix_store, "ACCEPT_UNKNOWN_VERSIONS", True)
    report = lens.load(db, progress=False)
    assert report.rows_added["spans"] == 10 and report.rows_added["annotations"] == 5


def test_a_database_without_a_column_the_loader_reads_is_refused_naming_it(db: Path, lens: llmlens.Lens) -> None:
    _change(db, "ALTER TABLE spans DROP COLUMN status_message")
    with pytest.raises(
        LoadError, match=r"not a Phoenix database llmlens can read: missing columns spans\.status_message"
    ):
        lens.load(db, format="phoenix-sqlite", progress=False)


@pytest.mark.parametrize("kept", [0.2, 0.5, 0.9])
def test_a_cut_database_is_refused_with_its_path_and_nothing_of_it_loads(
    database: Path, tmp_path: Path, kept: float
) -> None:
    data = database.read_bytes()
    path = tmp_path / "phoenix.db"
    path.write_bytes(data[: int(len(data) * kept)])
    with llmlens.open(":memory:") as lens:
        with pytest.raises(LoadError, match=r"phoenix\.db: cannot read Phoenix's tables \(.*a cut or damaged file"):
            lens.load(path, progress=False)
        assert lens.tables()["spans"] == 0 and lens.tables()["annotations"] == 0


def test_detection_is_by_content(database: Path, tmp_path: Path) -> None:
    assert phoenix_store.could_be(database, database.read_bytes()[:100])
    assert phoenix_store.parquet_format(DATAFRAME) == "phoenix-parquet"
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE spans (id INTEGER, name TEXT)")
    con.close()
    assert not phoenix_store.could_be(other, other.read_bytes()[:100])
    with llmlens.open(":memory:") as lens, pytest.raises(LoadError, match="cannot tell the format"):
        lens.load(other, progress=False)
