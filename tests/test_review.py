"""Review queues without a browser: judgements written at once and kept across a reopened store, undo, resuming,
the taxonomy, Cohen's kappa between two reviewers, lens.review / %lens review and the widget's command."""

from __future__ import annotations

import datetime as dt
import getpass
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

import llmlens
from llmlens.analysis import review
from llmlens.errors import LensError
from llmlens.widgets import ReviewQueue


@pytest.fixture
def lens(tmp_path: Path) -> llmlens.Lens:
    """A store file with twelve traces, t00 the oldest."""
    lens = llmlens.open(tmp_path / "review.duckdb")
    lens.con.execute(
        "INSERT INTO traces (trace_id, start_time) SELECT printf('t%02d', i), "
        "TIMESTAMPTZ '2026-11-16 09:00:00+00' + INTERVAL (i) HOUR FROM range(12) r(i)"
    )
    return lens


def _ids(n: int) -> list[str]:
    return [f"t{i:02d}" for i in range(n)]


def test_each_judgement_is_an_annotation_written_at_once_with_reviewer_time_and_queue(lens: llmlens.Lens) -> None:
    review.add_items(lens.con, "2026-W47", _ids(3))
    before = dt.datetime.now(dt.UTC)
    review.judge(lens.con, "2026-W47", "ana", "t00", verdict="fail")
    review.judge(lens.con, "2026-W47", "ana", "t00", tag="stale source")
    review.judge(lens.con, "2026-W47", "ana", "t00", note="cites the 2024 policy")
    rows = lens.sql(
        "SELECT target_kind, target_id, name, label, score, note, annotator, annotator_kind, queue, created_at "
        "FROM annotations ORDER BY annotation_id"
    )
    judged = rows[["name", "label", "score"]].values.tolist()
    assert judged[:2] == [["review", "fail", 0.0], ["tag", "stale source", 1.0]]
    assert rows.note.iloc[2] == "cites the 2024 policy"
    assert set(rows.target_kind) == {"trace"} and set(rows.target_id) == {"t00"}
    assert set(rows.annotator) == {"ana"} and set(rows.annotator_kind) == {"human"} and set(rows.queue) == {"2026-W47"}
    assert (rows.created_at >= pd.Timestamp(before) - pd.Timedelta(seconds=1)).all()


def test_a_reopened_store_keeps_the_queue_its_judgements_and_where_to_resume(lens: llmlens.Lens) -> None:
    review.add_items(lens.con, "q", _ids(5), ["newest"] * 5)
    for trace in _ids(3):
        review.judge(lens.con, "q", "ana", trace, verdict="pass")
    path = lens.path
    lens.close()  # what a kernel restart does to the connection
    with llmlens.open(path) as again:
        assert review.queue_items(again.con, "q").trace_id.tolist() == _ids(5)
        assert review.resume_position(again.con, "q", "ana") == 3
        assert review.resume_position(again.con, "q", "ben") == 0
        assert [item["verdict"] for item in review.queue_state(again.con, "q", "ana")] == ["pass"] * 3 + [None] * 2
        queue = again.review(name="q", reviewer="ana")
        assert (queue.position, queue.trace_id, queue.judged) == (3, "t03", 3)


def test_the_queue_resumes_past_the_end_when_all_are_judged(lens: llmlens.Lens) -> None:
    review.add_items(lens.con, "q", _ids(2))
    for trace in _ids(2):
        review.judge(lens.con, "q", "ana", trace, verdict="fail")
    assert review.resume_position(lens.con, "q", "ana") == 2
    assert ReviewQueue(lens.con, "q", "ana").position == 1, "the widget shows the last item"


def test_undo_deletes_the_reviewers_latest_judgement_and_brings_back_the_one_before(lens: llmlens.Lens) -> None:
    review.add_items(lens.con, "q", _ids(2))
    review.judge(lens.con, "q", "ana", "t00", verdict="pass")
    review.judge(lens.con, "q", "ana", "t00", tag="slow")
    review.judge(lens.con, "q", "ben", "t00", verdict="fail")
    review.judge(lens.con, "q", "ana", "t00", untag="slow")
    review.judge(lens.con, "q", "ana", "t01", verdict="fail")
    review.judge(lens.con, "q", "ana", "t00", verdict="fail")  # changed her mind
    assert review.queue_state(lens.con, "q", "ana")[0]["verdict"] == "fail"
    assert review.undo(lens.con, "q", "ana") == {
        "trace_id": "t00", "name": "review", "label": "fail", "score": 0.0, "note": None,
    }  # fmt: skip
    assert review.queue_state(lens.con, "q", "ana")[0]["verdict"] == "pass"
    assert review.undo(lens.con, "q", "ana")["trace_id"] == "t01"
    assert review.queue_state(lens.con, "q", "ana")[0]["tags"] == []
    assert review.undo(lens.con, "q", "ana")["score"] == 0.0  # the untag undone: the tag is on again
    assert review.queue_state(lens.con, "q", "ana")[0]["tags"] == ["slow"]
    review.undo(lens.con, "q", "ana")
    review.undo(lens.con, "q", "ana")
    assert review.undo(lens.con, "q", "ana") is None
    assert review.queue_state(lens.con, "q", "ben")[0]["verdict"] == "fail", "another reviewer's are untouched"


def test_notes_and_tags_keep_each_reviewers_latest(lens: llmlens.Lens) -> None:
    review.add_items(lens.con, "q", _ids(1))
    review.judge(lens.con, "q", "ana", "t00", note="first thought")
    review.judge(lens.con, "q", "ana", "t00", note="second thought")
    review.judge(lens.con, "q", "ana", "t00", tag="b")
    review.judge(lens.con, "q", "ana", "t00", tag="a")
    review.judge(lens.con, "q", "ben", "t00", tag="c")
    assert review.queue_state(lens.con, "q", "ana")[0] == {
        "trace_id": "t00", "reason": None, "verdict": None, "tags": ["b", "a"], "note": "second thought",
    }  # fmt: skip
    review.judge(lens.con, "q", "ana", "t00", note="")
    assert review.queue_state(lens.con, "q", "ana")[0]["note"] is None


def test_the_taxonomy_is_every_tag_used_most_used_first_then_oldest(lens: llmlens.Lens) -> None:
    review.add_items(lens.con, "w46", _ids(6))
    review.add_items(lens.con, "w47", _ids(6))
    for queue, who, trace, tag in [
        ("w46", "ana", "t00", "wrong tool"), ("w46", "ana", "t01", "slow"), ("w46", "ana", "t02", "slow"),
        ("w47", "ben", "t03", "stale source"), ("w47", "ben", "t04", "stale source"), ("w47", "ben", "t05", "gone"),
    ]:  # fmt: skip
        review.judge(lens.con, queue, who, trace, tag=tag)
    review.judge(lens.con, "w47", "ben", "t05", untag="gone")
    assert review.taxonomy(lens.con).values.tolist() == [
        ["slow", 2], ["stale source", 2], ["wrong tool", 1], ["gone", 0],
    ]  # fmt: skip


def test_two_reviewers_agreement_is_cohens_kappa_per_tag_on_the_items_both_judged(lens: llmlens.Lens) -> None:
    review.add_items(lens.con, "q", _ids(11))
    a_fail, b_fail = {0, 1, 2}, {0, 1, 3}
    a_tags = {"slow": {0, 1, 2, 3}, "stale source": {0, 1}, "rare": {9}}
    b_tags = {"slow": {0, 1, 2, 3}, "stale source": {5, 6}}
    for who, fails, tags in [("ana", a_fail, a_tags), ("ben", b_fail, b_tags)]:
        for i in range(10):
            for tag, items in tags.items():
                if i in items:
                    review.judge(lens.con, "q", who, f"t{i:02d}", tag=tag)
            review.judge(lens.con, "q", who, f"t{i:02d}", verdict="fail" if i in fails else "pass")
    review.judge(lens.con, "q", "ana", "t10", verdict="fail")  # only one of them judged it: not compared
    review.judge(lens.con, "q", "ana", "t10", tag="slow")
    agreement = review.queue_agreement(lens.con, "q").set_index("judgement")
    assert agreement.index.tolist() == ["verdict", "rare", "slow", "stale source"]
    assert set(agreement.reviewer_a) == {"ana"} and set(agreement.reviewer_b) == {"ben"}
    assert set(agreement["items"]) == {10}
    # verdict: agree on 8 of 10, each failed 3: expected 0.3*0.3 + 0.7*0.7 = 0.58, kappa (0.8-0.58)/0.42 = 11/21
    assert agreement.loc["verdict", ["agreed", "a_marked", "b_marked"]].tolist() == [8, 3, 3]
    assert agreement.loc["verdict", "kappa"] == pytest.approx(11 / 21)
    assert agreement.loc["slow", "kappa"] == pytest.approx(1.0)
    # stale source: agree on 6 of 10, each tagged 2: expected 0.04 + 0.64 = 0.68, kappa (0.6-0.68)/0.32 = -0.25
    assert agreement.loc["stale source", "kappa"] == pytest.approx(-0.25)
    assert agreement.loc["rare", "kappa"] == pytest.approx(0.0)  # agree 9 of 10, all by chance


def test_kappa_is_undefined_when_both_reviewers_marked_every_item_alike(lens: llmlens.Lens) -> None:
    review.add_items(lens.con, "q", _ids(3))
    for who in ("ana", "ben"):
        for trace in _ids(3):
            review.judge(lens.con, "q", who, trace, verdict="pass")
    row = review.queue_agreement(lens.con, "q").iloc[0]
    assert row.agreement == 1.0 and math.isnan(row.kappa)
    assert review.queue_agreement(lens.con, "nobody judged this").empty


def test_review_defaults_to_this_iso_week_and_the_login_and_tops_up_with_the_newest(lens: llmlens.Lens) -> None:
    queue = lens.review(3)
    assert queue.queue == review.week_name() and queue.reviewer == getpass.getuser()
    assert queue.items.trace_id.tolist() == ["t11", "t10", "t09"]
    assert set(queue.items.reason) == {"newest"}
    assert lens.review(3).items.trace_id.tolist() == ["t11", "t10", "t09"], "running it again adds nothing"
    assert lens.review(4).items.trace_id.tolist() == ["t11", "t10", "t09", "t08"]


def test_a_sample_adds_only_its_new_traces_with_their_reasons(lens: llmlens.Lens) -> None:
    sample = pd.DataFrame({"trace_id": ["t02", "t05"], "strategy": ["slowest", "failing_checks"]})
    lens.review(sample, name="q", reviewer="ana")
    more = pd.DataFrame({"trace_id": ["t05", "t07", "t07"], "reason": ["x", "random", "random"]})
    queue = lens.review(more, name="q", reviewer="ana")
    assert queue.items[["trace_id", "reason"]].values.tolist() == [
        ["t02", "slowest"], ["t05", "failing_checks"], ["t07", "random"],
    ]  # fmt: skip
    assert lens.review(["t08"], name="q", reviewer="ana").items.trace_id.iloc[-1] == "t08"


def test_a_sample_from_lens_sample_fills_the_queue_and_a_top_up_skips_traces_reviewed_elsewhere(
    lens: llmlens.Lens,
) -> None:
    last_week = lens.review(2, name="2026-W46", reviewer="ana")
    last_week.judge("pass")
    assert last_week.items.trace_id.tolist() == ["t11", "t10"]
    assert lens.review(2, name="2026-W47", reviewer="ana").items.trace_id.tolist() == ["t10", "t09"]
    picked = lens.sample(3, "random", seed=3, skip_reviewed=False)
    queue = lens.review(picked, name="2026-W48", reviewer="ana")
    assert queue.items.trace_id.tolist() == picked.trace_id.tolist()
    assert set(queue.items.reason) == {"random"}


def test_mistakes_are_reported_in_words(lens: llmlens.Lens, tmp_path: Path) -> None:
    review.add_items(lens.con, "q", _ids(1))
    with pytest.raises(LensError, match="not in the store's traces: 'nope'"):
        review.add_items(lens.con, "q", ["nope"])
    with pytest.raises(LensError, match="not an item of review queue 'q'"):
        review.judge(lens.con, "q", "ana", "t05", verdict="pass")
    with pytest.raises(LensError, match="'pass' or 'fail'"):
        review.judge(lens.con, "q", "ana", "t00", verdict="meh")
    with pytest.raises(LensError, match="reads as a verdict"):
        review.judge(lens.con, "q", "ana", "t00", tag="Bad")
    with pytest.raises(LensError, match="one thing at a time"):
        review.judge(lens.con, "q", "ana", "t00", verdict="pass", tag="slow")
    with pytest.raises(LensError, match="trace_id column"):
        lens.review(pd.DataFrame({"id": ["t00"]}), name="q")
    with pytest.raises(LensError, match="has no items"):
        lens.review(0, name="empty")
    path = lens.path
    lens.close()
    with llmlens.open(path, read_only=True) as read_only, pytest.raises(LensError, match="read-only"):
        read_only.review(3)


def test_the_widgets_command_writes_each_judgement_and_undo_goes_back_to_its_item(lens: llmlens.Lens) -> None:
    lens.review(3, name="q", reviewer="ana")
    queue = ReviewQueue(lens.con, "q", "ana")
    assert (queue.position, queue.trace_id) == (0, "t11")
    assert queue.act({"action": "verdict", "value": "fail", "trace_id": "t11"}, []) == ({"ok": True}, [])
    assert queue.act({"action": "tag", "value": " hallucinated  source ", "trace_id": "t11"}, [])[0] == {"ok": True}
    assert queue._tags[-1] == "hallucinated source" and queue._items[0]["tags"] == ["hallucinated source"]
    queue.position = 2
    assert queue.trace_id == "t09"
    reply, _ = queue.act({"action": "undo"}, [])
    assert reply == {"ok": True, "undone": "t11"} and queue.position == 0 and queue._items[0]["tags"] == []
    reply, _ = queue.act({"action": "verdict", "value": "maybe", "trace_id": "t11"}, [])
    assert "pass' or 'fail" in reply["error"] and queue.error == reply["error"]
    assert lens.sql("SELECT count(*) AS n FROM annotations").n[0] == 1


def test_the_percent_lens_review_magic_opens_the_queue(lens: llmlens.Lens, shell: object) -> None:
    queue = shell.run_line_magic("lens", "review 2 --name 'team week' --reviewer ana")  # type: ignore[attr-defined]
    assert isinstance(queue, ReviewQueue)
    assert (queue.queue, queue.reviewer, len(queue.items)) == ("team week", "ana", 2)


def test_checks_are_compared_with_the_verdicts_of_the_queue(demo_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_path, path)
    with llmlens.open(path) as lens:
        queue = lens.review(6, name="2026-W47", reviewer="ana")
        for i in range(6):
            queue.judge("fail" if i % 2 else "pass")
        lens.check(sql="n_errors = 0", name="no_errors")
        lens.run_checks(where=f"trace_id IN ({', '.join(repr(t) for t in queue.items.trace_id)})", progress=False)
        compared = lens.check_agreement().set_index("check")
        assert compared.loc["no_errors", "compared"] == 6
