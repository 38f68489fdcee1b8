"""The weekly summary: pass rates per verdict, tag and check by week and by model, week-over-week change and the top
failure tags, from hand-made judgements with known answers; its HTML escapes every data value; lens.summary and
%lens summary."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import llmlens
from llmlens.analysis import review
from llmlens.analysis.summary import Summary, summary
from llmlens.errors import LensError


def _rate(frame: Any, **where: str) -> float:
    rows = frame
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, rows
    return float(rows.pass_rate.iloc[0])


@pytest.fixture
def lens(tmp_path: Path) -> llmlens.Lens:
    """Six traces: t1, t2 of ISO week 2026-W46 (model a), t3 (a) and t4-t6 (b) of 2026-W47; queue q46 holds t1, t2
    and q47 t3-t6. Verdicts: ana passes t1, t3, t6 and fails t2, t4, t5; ben fails t4 and t5. Tags: stale source
    on t2 (ana) and t4 (ana, ben), too long on t5 (ana); too long put on t3 and taken off again. Checks: short
    (trace) passes t1, t3, t4, fails t2, t5, raised on t6; no_refusal (span) fails t4 on one of its spans, passes
    t5."""
    lens = llmlens.open(tmp_path / "summary.duckdb")
    con = lens.con
    con.execute(
        "INSERT INTO traces (trace_id, root_span_id, start_time, model) VALUES "
        "('t1', 'r1', '2026-11-10 10:00+00', 'a'), ('t2', 'r2', '2026-11-11 10:00+00', 'a'), "
        "('t3', 'r3', '2026-11-17 10:00+00', 'a'), ('t4', 'r4', '2026-11-18 10:00+00', 'b'), "
        "('t5', 'r5', '2026-11-19 10:00+00', 'b'), ('t6', 'r6', '2026-11-20 10:00+00', 'b')"
    )
    con.execute(
        "INSERT INTO spans (trace_id, span_id, name, attributes) SELECT 't' || i, 'r' || i, 'root', "
        "json_object('app.version', CASE WHEN i <= 3 THEN 'v1' ELSE 'v2' END) FROM range(1, 7) r(i)"
    )
    con.execute(
        "INSERT INTO spans (trace_id, span_id, name) VALUES ('t4', 's4a', 'llm'), ('t4', 's4b', 'llm'), "
        "('t5', 's5a', 'llm')"
    )
    review.add_items(con, "q46", ["t1", "t2"])
    review.add_items(con, "q47", ["t3", "t4", "t5", "t6"])
    judge = review.judge
    judge(con, "q46", "ana", "t1", verdict="pass")
    judge(con, "q46", "ana", "t2", tag="stale source")
    judge(con, "q46", "ana", "t2", verdict="fail")
    judge(con, "q47", "ana", "t3", tag="too long")
    judge(con, "q47", "ana", "t3", untag="too long")
    judge(con, "q47", "ana", "t3", verdict="pass")
    judge(con, "q47", "ana", "t4", tag="stale source")
    judge(con, "q47", "ana", "t4", verdict="fail")
    judge(con, "q47", "ana", "t5", tag="too long")
    judge(con, "q47", "ana", "t5", verdict="fail")
    judge(con, "q47", "ana", "t6", verdict="fail")
    judge(con, "q47", "ana", "t6", verdict="pass")  # changed her mind: the latest counts
    judge(con, "q47", "ben", "t4", tag="stale source")
    judge(con, "q47", "ben", "t4", verdict="fail")
    judge(con, "q47", "ben", "t5", verdict="fail")
    checks = [
        ("trace", "t1", "short", "pass"), ("trace", "t2", "short", "fail"), ("trace", "t3", "short", "fail"),
        ("trace", "t3", "short", "pass"), ("trace", "t4", "short", "pass"), ("trace", "t5", "short", "fail"),
        ("trace", "t6", "short", "error"), ("span", "s4a", "no_refusal", "pass"),
        ("span", "s4b", "no_refusal", "fail"), ("span", "s5a", "no_refusal", "pass"),
    ]  # fmt: skip
    for kind, target, name, label in checks:
        con.execute(
            "INSERT INTO annotations (target_kind, target_id, name, label, annotator, annotator_kind, metadata) "
            "VALUES ($kind, $target, $name, $label, $name, 'check', json_object('code_hash', 'abc'))",
            {"kind": kind, "target": target, "name": name, "label": label},
        )
    return lens


def test_each_reviewers_latest_verdict_counts_once(lens: llmlens.Lens) -> None:
    result = summary(lens.con)
    verdict = result.pass_rates[result.pass_rates.kind == "verdict"].iloc[0]
    assert (verdict.n, verdict.passed, verdict.failed, verdict.traces) == (8, 3, 5, 6)
    assert verdict.pass_rate == pytest.approx(3 / 8)


def test_tag_pass_rates_are_the_share_of_verdicts_without_the_tag(lens: llmlens.Lens) -> None:
    rates = summary(lens.con).pass_rates
    assert _rate(rates, kind="tag", name="stale source") == pytest.approx(1 - 3 / 8)
    assert _rate(rates, kind="tag", name="too long") == pytest.approx(1 - 1 / 8)  # the untagged t3 does not count


def test_checks_take_the_latest_result_and_fail_a_trace_when_any_span_failed(lens: llmlens.Lens) -> None:
    rates = summary(lens.con).pass_rates
    short = rates[rates.name == "short"].iloc[0]
    assert (short.n, short.passed, short.failed) == (5, 3, 2)  # t3's latest is pass; t6 only raised: left out
    assert _rate(rates, kind="check", name="no_refusal") == pytest.approx(0.5)
    assert rates.kind.tolist() == ["verdict", "tag", "tag", "check", "check"]


def test_rates_by_iso_week_with_the_change_from_the_week_before(lens: llmlens.Lens) -> None:
    result = summary(lens.con)
    weeks = result.by_week[result.by_week.kind == "verdict"]
    assert weeks.week.tolist() == ["2026-W46", "2026-W47"]
    assert weeks.pass_rate.tolist() == pytest.approx([1 / 2, 2 / 6])
    assert math.isnan(weeks.change.iloc[0])
    assert weeks.change.iloc[1] == pytest.approx(2 / 6 - 1 / 2)
    wow = result.week_over_week.set_index("name")
    assert list(wow.loc["review", ["week", "previous_week"]]) == ["2026-W47", "2026-W46"]
    assert wow.loc["review", "change"] == pytest.approx(-1 / 6)
    assert wow.loc["short", "change"] == pytest.approx(2 / 3 - 1 / 2)
    assert result.headline()["change"] == pytest.approx(-1 / 6)


def test_rates_by_model_and_by_a_root_span_attribute(lens: llmlens.Lens) -> None:
    for by, groups in [("model", ("a", "b")), ("attributes.app.version", ("v1", "v2"))]:
        result = summary(lens.con, by=by)
        verdicts = result.by_group[result.by_group.kind == "verdict"]
        assert verdicts.group.tolist() == list(groups)
        assert verdicts.pass_rate.tolist() == pytest.approx([2 / 3, 1 / 5])


def test_top_failure_tags_come_with_example_trace_ids(lens: llmlens.Lens) -> None:
    top = summary(lens.con).top_failures
    assert top[["tag", "traces", "marks"]].values.tolist() == [["stale source", 2, 3], ["too long", 1, 1]]
    assert top.example_trace_ids.tolist() == [["t2", "t4"], ["t5"]]
    assert top.share.tolist() == pytest.approx([3 / 8, 1 / 8])


def test_a_queue_counts_its_own_judgements_and_the_checks_of_its_items(lens: llmlens.Lens) -> None:
    rates = summary(lens.con, "q47").pass_rates
    assert _rate(rates, kind="verdict", name="review") == pytest.approx(2 / 6)
    assert _rate(rates, kind="check", name="short") == pytest.approx(2 / 3)
    assert summary(lens.con, "q47").scope == "queue q47"


def test_a_period_selects_traces_by_start_time(lens: llmlens.Lens) -> None:
    result = summary(lens.con, since="2026-11-16", until="2026-11-23")
    assert result.by_week.week.unique().tolist() == ["2026-W47"]
    assert _rate(result.pass_rates, kind="verdict", name="review") == pytest.approx(2 / 6)
    assert summary(lens.con, until="2026-11-16").pass_rates.n.iloc[0] == 2


def test_an_unknown_group_column_or_a_bad_attribute_key_is_refused(lens: llmlens.Lens) -> None:
    with pytest.raises(LensError, match="cannot group by 'nope'"):
        summary(lens.con, by="nope")
    with pytest.raises(LensError, match="attribute key"):
        summary(lens.con, by="attributes.x'); DROP TABLE traces; --")
    with pytest.raises(LensError, match="since is a date"):
        summary(lens.con, since=12)  # type: ignore[arg-type]


def test_charts_show_every_rate(lens: llmlens.Lens) -> None:
    result = summary(lens.con)
    assert [trace.name for trace in result.fig_pass_rates.data] == ["a", "b"]
    assert "verdict: review" in [trace.name for trace in result.fig_weekly.data]
    assert list(result.fig_weekly.data[0].x) == ["2026-W46", "2026-W47"]


def test_an_empty_store_gives_empty_tables_and_a_headline(tmp_path: Path) -> None:
    result = llmlens.open(":memory:").summary()
    assert result.pass_rates.empty and result.top_failures.empty
    assert "nothing yet" in result._repr_html_()


def test_hostile_text_in_tags_and_models_is_escaped_in_the_html(lens: llmlens.Lens) -> None:
    hostile = "<script>alert('x')</script>"
    lens.con.execute("UPDATE traces SET model = $m WHERE trace_id = 't1'", {"m": "<img src=x onerror=alert(1)>"})
    review.judge(lens.con, "q46", "ana", "t1", tag=hostile)
    page = summary(lens.con)._repr_html_()
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page
    assert "Top failure tags" in page and "t2, t4" in page


def test_lens_summary_and_the_magic(lens: llmlens.Lens, shell: Any) -> None:
    result = lens.summary("q47", by="model")
    assert isinstance(result, Summary)
    assert result.headline()["verdicts"] == 6
    shown = shell.run_line_magic("lens", "summary --queue q47")
    assert isinstance(shown, Summary) and shown.pass_rates.equals(result.pass_rates)
