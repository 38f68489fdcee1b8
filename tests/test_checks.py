"""Binary checks: Python and SQL checks over traces and spans, their results as annotations with the hash of their
code, re-runs, scopes, hostile SQL, and their agreement with human reviewers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import llmlens
from llmlens.analysis.checks import Record, check_agreement
from llmlens.errors import LensError


def _trace(trace: str, question: str, answer: str, chunks: list[str], *, failed: bool = False) -> list[dict[str, Any]]:
    """A RAG trace: a root chain, a retriever with ``chunks``, an LLM span answering ``answer``."""

    def attrs(values: dict[str, str]) -> list[dict[str, Any]]:
        return [{"key": k, "value": {"stringValue": v}} for k, v in values.items()]

    def span(n: int, parent: int | None, kind: str, values: dict[str, str], **extra: Any) -> dict[str, Any]:
        return {
            "traceId": trace, "spanId": f"{trace[:14]}{n:02x}", "name": kind.lower(),
            "startTimeUnixNano": str(1_700_000_000_000_000_000 + n * 1_000_000),
            "endTimeUnixNano": str(1_700_000_000_000_000_000 + (n + 5) * 1_000_000),
            **({"parentSpanId": f"{trace[:14]}{parent:02x}"} if parent is not None else {}),
            "attributes": attrs({"openinference.span.kind": kind, **values}), **extra,
        }  # fmt: skip

    documents = {f"retrieval.documents.{i}.document.content": chunk for i, chunk in enumerate(chunks)}
    status = {"status": {"code": 2, "message": "boom"}} if failed else {}
    return [
        span(1, None, "CHAIN", {"input.value": question, "output.value": answer}),
        span(2, 1, "RETRIEVER", {"input.value": question, **documents}),
        span(3, 1, "LLM", {"input.value": question, "output.value": answer, "llm.model_name": "m"}, **status),
    ]


TRACES = {
    "a" * 32: ("refund?", "Refunds take 5 days.", ["Refunds take 5 days to arrive."]),
    "b" * 32: ("limits?", "I can't help with that.", ["Rate limits are 60 per minute."]),
    "c" * 32: (
        "api key?",
        "Rotate keys in settings, see the docs at length " + "x" * 300,
        ["Keys rotate in settings."],
    ),
    "d" * 32: ("json?", '{"ok": true}', []),
}


@pytest.fixture
def lens(tmp_path: Path) -> Any:
    spans = [s for trace, (q, a, docs) in TRACES.items() for s in _trace(trace, q, a, docs, failed=trace[0] == "b")]
    path = tmp_path / "traces.json"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        lens.load(path, progress=False)
        yield lens


def _results(lens: llmlens.Lens, name: str) -> dict[str, str]:
    rows = lens.sql("SELECT target_id, label FROM annotations WHERE annotator_kind = 'check' AND name = ?", [name])
    return dict(zip(rows.target_id, rows.label, strict=True))


def test_a_python_check_answers_each_trace_and_keeps_its_code(lens: llmlens.Lens) -> None:
    @lens.check
    def cites_a_chunk(trace: Record) -> bool | None:
        if not trace.documents:
            return None  # nothing retrieved: not applicable
        return any(chunk[:12] in (trace.output_text or "") for chunk in trace.documents)

    summary = lens.run_checks(progress=False)
    assert summary[["check", "asked", "passed", "failed", "skipped"]].values.tolist() == [["cites_a_chunk", 4, 1, 2, 1]]
    assert _results(lens, "cites_a_chunk") == {"a" * 32: "pass", "b" * 32: "fail", "c" * 32: "fail"}
    code_hash = summary.code_hash[0]
    stored = lens.sql("SELECT DISTINCT metadata->>'code_hash' AS h, score FROM annotations ORDER BY score")
    assert stored.h.tolist() == [code_hash, code_hash] and stored.score.tolist() == [0.0, 1.0]
    code = lens.sql("SELECT code, language, target FROM checks WHERE code_hash = ?", [code_hash]).iloc[0]
    assert "def cites_a_chunk" in code.code and (code.language, code.target) == ("python", "trace")


def test_running_again_replaces_results_and_a_changed_check_gets_a_new_hash(lens: llmlens.Lens) -> None:
    lens.check(sql="length(output_text) < 100", name="short")
    first = lens.run_checks(progress=False).code_hash[0]
    lens.run_checks(progress=False)
    assert len(_results(lens, "short")) == 4
    assert lens.sql("SELECT count(*) AS n FROM annotations").n[0] == 4, "no duplicates"
    lens.check(sql="length(output_text) < 20", name="short")
    second = lens.run_checks(progress=False).code_hash[0]
    assert second != first and lens.sql("SELECT count(*) AS n FROM annotations").n[0] == 4
    assert sorted(lens.sql("SELECT code_hash FROM checks").code_hash) == sorted([first, second]), "both versions kept"
    assert set(lens.sql("SELECT metadata->>'code_hash' AS h FROM annotations").h) == {second}


def test_span_checks_of_one_kind_and_a_check_that_raises(lens: llmlens.Lens) -> None:
    @lens.check(on="span", kind="LLM")
    def no_refusal(span: Record) -> bool:
        return "can't help" not in span.output_text

    @lens.check(on="span", name="model_named")
    def model_named(span: Record) -> bool:
        return span.attributes["llm.model_name"] == "m"  # KeyError on spans without a model

    summary = lens.run_checks(progress=False).set_index("check")
    assert summary.loc["no_refusal", ["asked", "passed", "failed"]].tolist() == [4, 3, 1]
    assert summary.loc["model_named", ["asked", "passed", "errors"]].tolist() == [12, 4, 8]
    note = lens.sql("SELECT note FROM annotations WHERE label = 'error' LIMIT 1").note[0]
    assert note.startswith("KeyError"), "the exception is kept as the note"
    kinds = lens.sql(
        "SELECT DISTINCT s.kind FROM annotations a JOIN spans s ON s.span_id = a.target_id WHERE a.name = 'no_refusal'"
    )
    assert kinds.kind.tolist() == ["LLM"]


def test_where_scopes_the_traces_and_leaves_the_others_results(lens: llmlens.Lens) -> None:
    lens.check(sql="n_errors = 0", name="no_errors")
    lens.run_checks(progress=False)
    lens.con.execute("UPDATE annotations SET note = 'kept' WHERE target_id = ?", ["a" * 32])
    summary = lens.run_checks(where="n_errors > 0", progress=False)
    assert summary.asked[0] == 1
    results = lens.sql("SELECT target_id, label, note FROM annotations ORDER BY target_id")
    assert results.label.tolist() == ["pass", "fail", "pass", "pass"] and results.note[0] == "kept"


@pytest.mark.parametrize(
    "sql",
    [
        "true; DROP TABLE spans",
        "trace_id IN (SELECT trace_id FROM spans)",
        "length(read_text('/etc/passwd')) > 0",
        "true) UNION (SELECT 1",
    ],
)
def test_hostile_sql_checks_are_refused_and_write_nothing(lens: llmlens.Lens, sql: str) -> None:
    lens.check(sql=sql, name="hostile")
    with pytest.raises(LensError):
        lens.run_checks(progress=False)
    assert lens.sql("SELECT count(*) AS n FROM annotations").n[0] == 0
    assert lens.sql("SELECT count(*) AS n FROM spans").n[0] == 12


def test_mistakes_are_named() -> None:
    with llmlens.open(":memory:") as lens:
        with pytest.raises(LensError, match="no checks registered"):
            lens.run_checks()
        with pytest.raises(LensError, match="name the check"):
            lens.check(lambda trace: True)
        with pytest.raises(LensError, match="target is 'trace' or 'span'"):
            lens.check(sql="true", name="x", on="run")
        lens.check(sql="true", name="ok")
        with pytest.raises(LensError, match="no check named 'missing'"):
            lens.run_checks(["missing"])


def test_agreement_with_reviewers_counts_each_trace_once(lens: llmlens.Lens) -> None:
    @lens.check(on="span", kind="LLM")
    def no_refusal(span: Record) -> bool:
        return "can't help" not in span.output_text

    lens.check(sql="length(output_text) < 30", name="short")
    lens.run_checks(progress=False)
    verdicts = {"a": "pass", "b": "fail", "c": "fail", "d": "thumbs_up"}
    for trace, label in verdicts.items():
        lens.con.execute(
            "INSERT INTO annotations (target_kind, target_id, name, label, annotator, annotator_kind, created_at) "
            "VALUES ('trace', ?, 'review', ?, 'ana', 'human', now())",
            [trace * 32, label],
        )
    agreement = lens.check_agreement().set_index("check")
    refusal = agreement.loc["no_refusal"]
    assert refusal[["compared", "both_fail", "check_only", "human_only", "both_pass"]].tolist() == [4, 1, 0, 1, 2]
    assert (refusal.precision, refusal.recall, refusal.agreement) == (1.0, 0.5, 0.75)
    assert refusal.kappa == pytest.approx(0.5)
    short = agreement.loc["short"]  # fails c only (the long answer): it agrees on c, misses b
    assert short[["both_fail", "check_only", "human_only", "both_pass"]].tolist() == [1, 0, 1, 2]


def test_the_demo_checks_report_agreement_with_user_feedback(demo_path: Path, tmp_path: Path) -> None:
    store = shutil.copy(demo_path, tmp_path / "demo.duckdb")
    with llmlens.open(store) as lens:
        lens.check(sql="n_errors = 0", name="no_errors")

        @lens.check
        def grounded(trace: Record) -> bool | None:
            if not trace.documents or not trace.output_text:
                return None
            words = {w for chunk in trace.documents for w in chunk.lower().split()}
            said = trace.output_text.lower().split()
            return sum(w in words for w in said) >= len(said) / 2

        summary = lens.run_checks(progress=False).set_index("check")
        traces = lens.sql("SELECT count(*) AS n FROM traces").n[0]
        assert summary.loc["no_errors", "asked"] == traces
        assert summary.loc["grounded", "passed"] > 0 and summary.loc["grounded", "skipped"] > 0
        agreement = check_agreement(lens.con).set_index("check")
        assert (agreement.compared > 0).all(), "the demo's thumbs are human verdicts to compare with"
        assert (
            agreement.loc["no_errors", "compared"]
            == lens.sql("SELECT count(DISTINCT target_id) AS n FROM annotations WHERE name = 'user_feedback'").n[0]
        )
