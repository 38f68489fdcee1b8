"""Sampling traces for review: every strategy on a small store built here, seeded determinism, mixes without
duplicates, skipping reviewed traces, the where filter, and the refusals (hostile where, a by that is not a
column, unknown strategies)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import llmlens
from llmlens.analysis.sampling import STRATEGIES, parse_strategy, sample
from llmlens.errors import LensError

_SPANS = """
INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_time, end_time, model, cost_usd, attributes)
SELECT printf('t%02d', i), printf('r%02d', i), NULL, 'rag', 'CHAIN',
       TIMESTAMPTZ '2026-01-01' + INTERVAL (i) MINUTE,
       TIMESTAMPTZ '2026-01-01' + INTERVAL (i) MINUTE + INTERVAL (10 * (i + 1)) MILLISECOND,
       NULL, NULL, json_object('app.version', CASE WHEN i % 4 = 0 THEN 'v2' ELSE 'v1' END)
FROM range(40) r(i)
UNION ALL
SELECT printf('t%02d', i), printf('l%02d', i), printf('r%02d', i), 'llm', 'LLM',
       TIMESTAMPTZ '2026-01-01' + INTERVAL (i) MINUTE,
       TIMESTAMPTZ '2026-01-01' + INTERVAL (i) MINUTE + INTERVAL (5) MILLISECOND,
       CASE WHEN i % 2 = 0 THEN 'gpt-even' ELSE 'gpt-odd' END,
       CASE WHEN i < 30 THEN i / 1000 END, '{}'
FROM range(40) r(i)
UNION ALL  -- a retriever and a reranker span in t00 to t09
SELECT printf('t%02d', i), printf('%s%02d', k, i), printf('r%02d', i), k, upper(k),
       TIMESTAMPTZ '2026-01-01' + INTERVAL (i) MINUTE, TIMESTAMPTZ '2026-01-01' + INTERVAL (i) MINUTE, NULL, NULL, '{}'
FROM range(10) r(i), (VALUES ('retriever'), ('reranker')) k(k)
"""

_DOCUMENTS = """
INSERT INTO documents (trace_id, span_id, position, document_id, score)
SELECT printf('t%02d', i), printf('retriever%02d', i), p, 'doc' || p, 0.9 - i / 20 - p / 100  -- t09 scores lowest
FROM range(10) r(i), range(3) q(p)
UNION ALL  -- a reranker's scores are on another scale: the lowest here must not count
SELECT printf('t%02d', i), printf('reranker%02d', i), 0, 'doc0', -5 + i FROM range(10) r(i)
"""

_TOKENS = """
INSERT INTO tokens (trace_id, span_id, side, choice, position, token, logprob)
SELECT printf('t%02d', i), printf('l%02d', i), 'output', 0, p, 'x', -i / 10 - p / 1000  -- t04 least confident
FROM range(5) r(i), range(4) q(p)
UNION ALL  -- prompt tokens do not count
SELECT 't00', 'l00', 'input', 0, 0, 'x', -50
"""

_ANNOTATIONS = """
INSERT INTO annotations (target_kind, target_id, name, label, score, annotator, annotator_kind, queue) VALUES
('trace', 't05', 'valid_json', 'fail', 0, 'valid_json', 'check', NULL),
('span', 'l06', 'short', NULL, 0, 'short', 'check', NULL),
('trace', 't06', 'valid_json', 'fail', 0, 'valid_json', 'check', NULL),
('trace', 't07', 'valid_json', 'pass', 1, 'valid_json', 'check', NULL),
('trace', 't10', 'user_feedback', 'thumbs_down', 0, 'user', 'human', NULL),
('trace', 't11', 'user_feedback', 'thumbs_up', 1, 'user', 'human', NULL),
('trace', 't12', 'rating', NULL, -1, 'langfuse', 'check', NULL),
('trace', 't13', 'review', 'fail', 0, 'ana', 'human', 'q1'),
('trace', 't14', 'correctness', 'bad', NULL, 'ana', 'human', NULL),
('trace', 't15', 'helpfulness', NULL, 0, 'judge', 'llm', NULL)
"""


@pytest.fixture
def store() -> Iterator[llmlens.Lens]:
    """40 traces t00..t39: later ones start later and run longer; t30..t39 have no cost; t00..t09 retrieved
    documents (t09 worst), t00..t04 have output logprobs (t04 lowest); checks failed t05 and t06 (on its span
    too); feedback on t10..t15; t13 was judged in review queue q1."""
    with llmlens.open(":memory:") as lens:
        for statement in (_SPANS, _DOCUMENTS, _TOKENS, _ANNOTATIONS):
            lens.con.execute(statement)
        lens.con.execute("INSERT INTO traces SELECT * FROM trace_rollup")
        yield lens


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("newest", [("t39", "newest"), ("t38", "newest"), ("t37", "newest")]),
        ("slowest", [("t39", "slowest"), ("t38", "slowest"), ("t37", "slowest")]),
        ("costliest", [("t29", "costliest"), ("t28", "costliest"), ("t27", "costliest")]),
        (
            "low_retrieval",
            [
                ("t09", "low retrieval score: best 0.450"),
                ("t08", "low retrieval score: best 0.500"),
                ("t07", "low retrieval score: best 0.550"),
            ],
        ),
        (
            "low_confidence",
            [
                ("t04", "low confidence: mean logprob -0.40"),
                ("t03", "low confidence: mean logprob -0.30"),
                ("t02", "low confidence: mean logprob -0.20"),
            ],
        ),
    ],
)
def test_ranking_strategies_pick_the_extremes_first(
    store: llmlens.Lens, strategy: str, expected: list[tuple[str, str]]
) -> None:
    picked = store.sample(3, strategy)
    assert list(zip(picked.trace_id, picked.reason, strict=True)) == expected


def test_failing_checks_count_failures_on_the_trace_and_its_spans(store: llmlens.Lens) -> None:
    picked = store.sample(10, "failing_checks")
    assert dict(zip(picked.trace_id, picked.reason, strict=True)) == {
        "t05": "failing check: valid_json",
        "t06": "failing check: short, valid_json",
    }


def test_negative_feedback_is_a_bad_label_or_a_low_feedback_score_outside_review_queues(store: llmlens.Lens) -> None:
    picked = store.sample(10, "negative_feedback", skip_reviewed=False)
    assert dict(zip(picked.trace_id, picked.reason, strict=True)) == {
        "t10": "thumbs_down",
        "t12": "rating=-1.0",
        "t14": "bad",
    }, "not thumbs_up, not a review verdict (t13), not an llm judge's score on a non-feedback name (t15)"


def test_the_demo_stores_thumbs_down_are_negative_feedback(demo: llmlens.Lens) -> None:
    picked = demo.sample(500, "negative_feedback")
    expected = demo.sql(
        "SELECT DISTINCT target_id FROM annotations WHERE name = 'user_feedback' AND label = 'thumbs_down'"
    )
    assert set(picked.trace_id) == set(expected.target_id) and set(picked.reason) == {"thumbs_down"}


def test_random_returns_whole_trace_rows_with_a_reason(store: llmlens.Lens) -> None:
    picked = store.sample(5)
    columns = store.sql("SELECT * FROM traces LIMIT 0").columns.tolist()
    assert picked.columns.tolist() == [*columns, "reason"]
    assert len(picked) == 5 and picked.trace_id.is_unique and set(picked.reason) == {"random"}
    stored = store.sql("SELECT * FROM traces WHERE trace_id = $t", {"t": picked.trace_id[0]})
    pd.testing.assert_frame_equal(picked.iloc[[0]].drop(columns="reason"), stored)


def test_the_same_seed_gives_the_same_sample_and_another_seed_another(demo: llmlens.Lens) -> None:
    first = demo.sample(20, ["random", "stratified", "failing_checks"], seed=3)
    assert first.equals(demo.sample(20, ["random", "stratified", "failing_checks"], seed=3))
    other = demo.sample(20, ["random", "stratified", "failing_checks"], seed=4)
    assert set(first.trace_id) != set(other.trace_id)
    assert len(set(first.trace_id) & set(other.trace_id)) < 5, "seeds give unrelated samples"


def test_stratified_shares_n_across_the_values_of_a_column(store: llmlens.Lens) -> None:
    picked = store.sample(10, "stratified", by="model")
    assert Counter(picked.reason) == {"stratified: model=gpt-even": 5, "stratified: model=gpt-odd": 5}
    assert picked.reason.iloc[0] != picked.reason.iloc[1], "round-robin: strata alternate"
    assert store.sample(10, "stratified").equals(picked), "model is the default"


def test_stratified_by_an_attribute_gives_a_small_stratum_its_share(store: llmlens.Lens) -> None:
    picked = store.sample(20, "stratified", by="attributes.app.version")
    assert Counter(picked.reason) == {
        "stratified: attributes.app.version=v1": 10,
        "stratified: attributes.app.version=v2": 10,
    }, "v2 holds 10 of the 40 traces but gets half the sample"
    assert all(int(t[1:]) % 4 == 0 for t in picked[picked.reason.str.endswith("v2")].trace_id)
    missing = store.sample(4, "stratified", by="attributes.prompt.version")
    assert set(missing.reason) == {"stratified: attributes.prompt.version=(none)"}


def test_stratified_on_the_demo_store_covers_every_route(demo: llmlens.Lens) -> None:
    routes = demo.sql(
        "SELECT DISTINCT s.attributes->>'$.\"app.intent\"' AS route FROM traces t JOIN spans s "
        "ON s.trace_id = t.trace_id AND s.span_id = t.root_span_id"
    ).route
    picked = demo.sample(3 * len(routes), "stratified", by="attributes.app.intent")
    counts = Counter(picked.reason)
    assert len(counts) == len(routes) and set(counts.values()) == {3}


def test_a_mix_shares_n_and_never_picks_a_trace_twice(store: llmlens.Lens) -> None:
    picked = store.sample(6, {"slowest": 3, "newest": 3})
    assert picked.trace_id.tolist() == ["t39", "t38", "t37", "t36", "t35", "t34"], "newest skips the slowest"
    assert picked.reason.tolist() == ["slowest"] * 3 + ["newest"] * 3
    even = store.sample(7, ["failing_checks", "low_confidence", "random"])
    assert even.trace_id.is_unique and len(even) == 7
    assert set(even.trace_id[:2]) == {"t05", "t06"}, "the failing traces come first"
    assert Counter(r.split(":")[0] for r in even.reason) == {"failing check": 2, "low confidence": 3, "random": 2}


def test_counts_are_scaled_to_n_and_a_short_part_passes_its_share_on(store: llmlens.Lens) -> None:
    scaled = store.sample(4, {"slowest": 6, "newest": 2})
    assert scaled.reason.tolist() == ["slowest", "slowest", "slowest", "newest"]
    topped = store.sample(10, {"failing_checks": 5, "costliest": 5})
    assert Counter(topped.reason.str.startswith("failing")) == {True: 2, False: 8}


def test_fewer_traces_than_asked_is_not_an_error(store: llmlens.Lens) -> None:
    assert len(store.sample(100, "costliest")) == 29, "t00..t29 have a cost; t13 was reviewed"
    assert len(store.sample(100)) == 39, "all but the reviewed one"
    assert store.sample(5, "low_confidence", where="trace_id > 't30'").empty
    with llmlens.open(":memory:") as empty:
        assert empty.sample(5, ["random", "stratified"]).empty


def test_reviewed_traces_are_skipped_unless_asked(store: llmlens.Lens) -> None:
    assert "t13" not in set(store.sample(100).trace_id)
    assert "t13" in set(store.sample(100, skip_reviewed=False).trace_id)
    store.con.execute(
        "INSERT INTO review_items (queue, position, trace_id, added_at) VALUES ('q2', 0, 't39', now()), "
        "('q2', 1, 't38', now())"
    )
    assert store.sample(2, "newest").trace_id.tolist() == ["t39", "t38"], "queued but not judged: not reviewed"
    assert store.sample(2, "newest", queue="q2").trace_id.tolist() == ["t37", "t36"], "the queue's items are skipped"


def test_a_sample_fills_a_review_queue_with_its_reasons(store: llmlens.Lens) -> None:
    picked = store.sample(3, ["failing_checks", "slowest"])
    queue = store.review(picked, name="2026-W47", reviewer="ana")
    assert queue is not None
    items = store.sql("SELECT trace_id, reason FROM review_items WHERE queue = '2026-W47' ORDER BY position")
    assert items.values.tolist() == picked[["trace_id", "reason"]].values.tolist()
    again = store.sample(3, ["failing_checks", "slowest"], queue="2026-W47")
    assert not set(again.trace_id) & set(picked.trace_id)


def test_selection_samples_the_given_ids(store: llmlens.Lens, demo: llmlens.Lens) -> None:
    picked = store.sample(2, "selection", ids=["t01", "t02", "t03", "nope"])
    assert len(picked) == 2 and set(picked.trace_id) <= {"t01", "t02", "t03"} and set(picked.reason) == {"selected"}
    frame = pd.DataFrame({"trace_id": ["t05", "t06"]})
    assert set(store.sample(5, "selection", ids=frame).trace_id) == {"t05", "t06"}
    table = demo.traces(where="n_errors > 0")
    ids = table.page(0, 10).trace_id.tolist()
    assert set(demo.sample(10, "selection", ids=ids).trace_id) == set(ids)


def test_where_filters_the_candidates(store: llmlens.Lens, demo: llmlens.Lens) -> None:
    picked = store.sample(5, "slowest", where="model = 'gpt-odd'")
    assert picked.trace_id.tolist() == ["t39", "t37", "t35", "t33", "t31"]
    errors = demo.sample(1000, "random", where="n_errors > 0", skip_reviewed=False)
    assert len(errors) == demo.sql("SELECT count(*) AS n FROM traces WHERE n_errors > 0").n[0] > 0


@pytest.mark.parametrize(
    "where",
    [
        "true) UNION (SELECT * FROM traces",
        "1 = 1; DROP TABLE traces",
        "trace_id IN (SELECT target_id FROM annotations)",
        "read_text('/etc/passwd') IS NOT NULL",
        "no_such_column > 1",
    ],
)
def test_a_hostile_or_wrong_where_is_refused(store: llmlens.Lens, where: str) -> None:
    with pytest.raises(LensError, match="where"):
        store.sample(5, where=where)
    assert store.sql("SELECT count(*) AS n FROM traces").n[0] == 40


@pytest.mark.parametrize(
    "by",
    [
        "model; DROP TABLE traces",
        'model" FROM traces; --',
        "lower(model)",
        "attributes.x'); DROP TABLE traces; --",
        "attributes.",
        "spans.model",
    ],
)
def test_by_must_name_a_column_or_an_attribute_key(store: llmlens.Lens, by: str) -> None:
    with pytest.raises(LensError, match="cannot stratify by"):
        store.sample(5, "stratified", by=by)
    assert store.sql("SELECT count(*) AS n FROM traces").n[0] == 40


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"n": 5, "strategy": "worst"}, "unknown sampling strategy 'worst'; known: random, stratified, newest"),
        ({"n": 5, "strategy": ["random", "random"]}, "named twice"),
        ({"n": 5, "strategy": {"random": 0}}, "at least 1"),
        ({"n": 5, "strategy": []}, "known: random"),
        ({"n": 0}, "n must be at least 1"),
        ({"n": -3}, "n must be at least 1"),
        ({"n": 2.5}, "whole number"),
        ({"n": 5, "by": "model"}, "add it: strategy='stratified'"),
        ({"n": 5, "ids": ["t01"]}, "add it: strategy='selection'"),
        ({"n": 5, "strategy": "selection"}, "pass them"),
        ({"n": 5, "seed": "abc"}, "seed"),
    ],
)
def test_mistakes_are_lens_errors_that_say_what_to_do(store: llmlens.Lens, call: dict[str, Any], message: str) -> None:
    with pytest.raises(LensError, match=message.replace("(", r"\(").replace(")", r"\)")):
        sample(store.con, **call)


def test_every_strategy_runs_on_the_demo_store(demo: llmlens.Lens) -> None:
    for name in STRATEGIES:
        options: dict[str, Any] = {"ids": demo.sql("SELECT trace_id FROM traces LIMIT 3").trace_id}
        picked = demo.sample(3, name, **(options if name == "selection" else {}))
        assert len(picked) <= 3 and picked.trace_id.is_unique, name
        assert name == "failing_checks" or len(picked) == 3, f"{name} finds traces in the demo store"


def test_strategies_parse_from_the_command_line() -> None:
    assert parse_strategy("newest") == "newest"
    assert parse_strategy("failing_checks, random") == ["failing_checks", "random"]
    assert parse_strategy("random=5,slowest=3") == {"random": 5, "slowest": 3}
    for text in ("random=5,slowest", "random=x", " , "):
        with pytest.raises(LensError):
            parse_strategy(text)


def test_sample_magic(demo: llmlens.Lens, shell: Any) -> None:
    """The demo store, opened last, is the current one."""
    picked = shell.run_line_magic("lens", "sample 4 --strategy slowest=2,newest=2 --where 'n_errors = 0' --seed 3")
    assert picked.reason.tolist() == ["slowest", "slowest", "newest", "newest"]
    assert picked.equals(demo.sample(4, {"slowest": 2, "newest": 2}, where="n_errors = 0", seed=3))
    routes = shell.run_line_magic("lens", "sample 4 --strategy stratified --by attributes.app.intent")
    assert routes.reason.str.startswith("stratified: attributes.app.intent=").all()
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="unknown sampling strategy"):
        shell.run_line_magic("lens", "sample 4 --strategy best")
