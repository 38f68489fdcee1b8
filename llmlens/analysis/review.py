"""Review queues: a fixed list of traces that people step through, judging each one (pass or fail), tagging it from
the team's growing taxonomy and leaving a note. Plain functions over the store; the widget is
:class:`llmlens.widgets.ReviewQueue`.

A queue's items and their order live in ``review_items`` (so a restarted kernel, or a second reviewer, gets the
same queue). Every judgement is one row in ``annotations``, written at once and never updated, with
``target_kind = 'trace'``, ``annotator`` the reviewer, ``annotator_kind = 'human'`` and ``queue`` the queue:

- the verdict: ``name = 'review'``, ``label`` ``pass`` or ``fail`` (``score`` 1 or 0);
- a tag: ``name = 'tag'``, ``label`` the tag, ``score`` 1 when put on, 0 when taken off;
- the note: ``name = 'note'``, the text in ``note`` (empty: cleared).

A reviewer's latest row of each kind counts (of each tag, for tags), so changing one's mind is one more row, and
:func:`undo` deletes the reviewer's latest row in the queue, bringing back what was there before it. Nothing is
kept in memory only: a crash or a kernel restart loses nothing, and :func:`resume_position` gives the first item
the reviewer has not judged yet.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from llmlens.analysis.checks import FAILING, PASSING
from llmlens.analysis.sampling import sample
from llmlens.errors import LensError

VERDICTS = ("pass", "fail")
MAX_TAG = 60
"""Longest tag, in characters."""
MAX_NOTE = 10_000
"""Longest note, in characters."""


def week_name(when: dt.date | None = None) -> str:
    """The ISO week of ``when`` (default: today) as a queue name.

    >>> week_name(dt.date(2026, 11, 18))
    '2026-W47'
    """
    year, week, _ = (when or dt.date.today()).isocalendar()
    return f"{year}-W{week:02d}"


def add_items(
    con: duckdb.DuckDBPyConnection, queue: str, trace_ids: Sequence[str], reasons: Sequence[str | None] | None = None
) -> int:
    """Append the traces ``trace_ids`` (with why each was picked, when known) to the end of ``queue``, skipping
    those already in it; the queue is made by its first item. Returns how many were added.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id) VALUES ('t1'), ('t2'), ('t3')")
    >>> add_items(lens.con, "2026-W47", ["t2", "t1"], ["slow", "slow"]), add_items(lens.con, "2026-W47", ["t1", "t3"])
    (2, 1)
    >>> lens.con.execute("SELECT position, trace_id, reason FROM review_items ORDER BY position").fetchall()
    [(0, 't2', 'slow'), (1, 't1', 'slow'), (2, 't3', None)]
    """
    queue = _queue_name(queue)
    ids = [str(trace_id) for trace_id in trace_ids]
    why = list(reasons) if reasons is not None else [None] * len(ids)
    if len(why) != len(ids):
        raise LensError(f"{len(ids)} traces but {len(why)} reasons")
    if not ids:
        return 0
    wanted = pa.table({
        "trace_id": pa.array(ids, pa.string()),
        "reason": pa.array([None if r is None else str(r) for r in why], pa.string()),
        "ord": pa.array(range(len(ids)), pa.int64()),
    })  # fmt: skip
    cursor = con.cursor()
    try:
        cursor.register("llmlens_review_wanted", wanted)
        missing = cursor.execute(
            "SELECT trace_id FROM llmlens_review_wanted WHERE trace_id NOT IN (SELECT trace_id FROM traces) "
            "ORDER BY ord LIMIT 5"
        ).fetchall()
        if missing:
            shown = ", ".join(repr(row[0]) for row in missing)
            raise LensError(f"not in the store's traces: {shown}; a queue holds traces of this store")
        cursor.begin()
        added = cursor.execute(_ADD, {"queue": queue}).fetchall()[0][0]
        cursor.commit()
    except duckdb.Error as error:
        cursor.rollback()
        raise LensError(f"could not add to review queue {queue!r}: {error}") from error
    finally:
        cursor.close()
    return int(added or 0)


_ADD = """
WITH new AS (
    SELECT trace_id, arg_min(reason, ord) AS reason, min(ord) AS ord FROM llmlens_review_wanted
    WHERE trace_id NOT IN (SELECT trace_id FROM review_items WHERE queue = $queue)
    GROUP BY trace_id
), placed AS (
    SELECT $queue AS queue,
           (SELECT coalesce(max(position) + 1, 0) FROM review_items WHERE queue = $queue)
             + row_number() OVER (ORDER BY ord) - 1 AS position,
           trace_id, now() AS added_at, reason
    FROM new
)
INSERT INTO review_items (queue, position, trace_id, added_at, reason)
SELECT queue, position, trace_id, added_at, reason FROM placed
"""


def fill_queue(con: duckdb.DuckDBPyConnection, queue: str, sample_or_n: Any) -> int:
    """Make or extend ``queue`` from ``sample_or_n``: a DataFrame with a ``trace_id`` column (and ``reason`` or
    ``strategy``, when it says why each was picked; e.g. from :func:`llmlens.analysis.sampling.sample`), a list of
    trace ids, or a number ``n``: the queue then holds at least ``n`` items, topped up with the newest traces that
    are not in it and were not reviewed in another queue (so running it again adds nothing). Returns how many were
    added.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id, start_time) SELECT 't' || i, "
    ...                      "TIMESTAMPTZ '2026-01-01' + INTERVAL (i) MINUTE FROM range(5) r(i)")
    >>> fill_queue(lens.con, "q", 2), fill_queue(lens.con, "q", 2), fill_queue(lens.con, "q", 3)
    (2, 0, 1)
    >>> queue_items(lens.con, "q").trace_id.tolist()
    ['t4', 't3', 't2']
    """
    if isinstance(sample_or_n, bool):
        raise LensError("sample_or_n is a number of traces, a DataFrame with a trace_id column or a list of ids")
    if isinstance(sample_or_n, int):
        if sample_or_n < 0:
            raise LensError(f"a queue of {sample_or_n} traces? Give a number of at least 0")
        have = len(queue_items(con, queue))
        if have >= sample_or_n:
            return 0
        sample_or_n = sample(con, sample_or_n - have, "newest", queue=queue)
    if isinstance(sample_or_n, pd.DataFrame):
        if "trace_id" not in sample_or_n.columns:
            raise LensError(f"the sample needs a trace_id column; it has {', '.join(map(str, sample_or_n.columns))}")
        reason = next((c for c in ("reason", "strategy") if c in sample_or_n.columns), None)
        reasons = None if reason is None else [None if pd.isna(r) else str(r) for r in sample_or_n[reason]]
        return add_items(con, queue, sample_or_n["trace_id"].astype(str).tolist(), reasons)
    if isinstance(sample_or_n, str) or not isinstance(sample_or_n, Sequence | pd.Series):
        raise LensError("sample_or_n is a number of traces, a DataFrame with a trace_id column or a list of ids")
    return add_items(con, queue, [str(t) for t in sample_or_n])


def queue_items(con: duckdb.DuckDBPyConnection, queue: str) -> pd.DataFrame:
    """The items of ``queue`` in order: ``position, trace_id, added_at, reason`` (empty when there is no such queue).

    >>> import llmlens
    >>> len(queue_items(llmlens.open(":memory:").con, "nothing yet"))
    0
    """
    frame: pd.DataFrame = con.execute(
        "SELECT position, trace_id, added_at, reason FROM review_items WHERE queue = $q ORDER BY position",
        {"q": queue},
    ).df()
    return frame


def queue_state(con: duckdb.DuckDBPyConnection, queue: str, reviewer: str) -> list[dict[str, Any]]:
    """Each item of ``queue`` in order with what ``reviewer`` made of it: ``trace_id, reason, verdict`` (pass,
    fail or None), ``tags`` (in the order they were put on) and ``note`` (None when there is none).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id) VALUES ('t1'), ('t2')")
    >>> _ = add_items(lens.con, "q", ["t1", "t2"])
    >>> _ = judge(lens.con, "q", "ana", "t1", verdict="fail")
    >>> _ = judge(lens.con, "q", "ana", "t1", tag="wrong_citation")
    >>> queue_state(lens.con, "q", "ana")[0]
    {'trace_id': 't1', 'reason': None, 'verdict': 'fail', 'tags': ['wrong_citation'], 'note': None}
    """
    rows = con.execute(_STATE, {"queue": queue, "reviewers": [reviewer]}).fetchall()
    return [
        {"trace_id": trace, "reason": reason, "verdict": verdict, "tags": list(tags or []), "note": note or None}
        for trace, reason, _, verdict, tags, note in rows
    ]


_LATEST = """
latest AS (  -- each reviewer's latest row of each kind (of each tag) on each trace of the queue
    SELECT annotator, target_id, name, label, score, note, annotation_id
    FROM annotations
    WHERE queue = $queue AND annotator_kind = 'human' AND target_kind = 'trace' AND name IN ('review', 'tag', 'note')
      AND list_contains($reviewers, annotator)
    QUALIFY row_number() OVER (
        PARTITION BY annotator, target_id, name, CASE WHEN name = 'tag' THEN label END
        ORDER BY annotation_id DESC) = 1
), judged AS (
    SELECT annotator, target_id,
           any_value(label) FILTER (WHERE name = 'review') AS verdict,
           list(label ORDER BY annotation_id) FILTER (WHERE name = 'tag' AND score > 0) AS tags,
           any_value(note) FILTER (WHERE name = 'note') AS note
    FROM latest GROUP BY annotator, target_id
)"""

_STATE = f"""
WITH {_LATEST}
SELECT i.trace_id, i.reason, j.annotator, j.verdict, j.tags, j.note
FROM review_items i LEFT JOIN judged j ON j.target_id = i.trace_id
WHERE i.queue = $queue ORDER BY i.position
"""


def judge(
    con: duckdb.DuckDBPyConnection,
    queue: str,
    reviewer: str,
    trace_id: str,
    *,
    verdict: str | None = None,
    tag: str | None = None,
    untag: str | None = None,
    note: str | None = None,
) -> int:
    """Write one judgement of ``reviewer`` on the item ``trace_id`` of ``queue`` at once: a ``verdict`` (pass or
    fail), a ``tag`` put on, a tag taken off (``untag``), or a ``note`` ("" clears it); exactly one of them.
    Returns the annotation's id.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id) VALUES ('t1')")
    >>> _ = add_items(lens.con, "q", ["t1"])
    >>> _ = judge(lens.con, "q", "ana", "t1", verdict="pass")
    >>> _ = judge(lens.con, "q", "ana", "t1", note="fine, but slow")
    >>> lens.con.execute("SELECT name, label, note, annotator, queue FROM annotations").fetchall()
    [('review', 'pass', None, 'ana', 'q'), ('note', None, 'fine, but slow', 'ana', 'q')]
    """
    given = {"verdict": verdict, "tag": tag, "untag": untag, "note": note}
    chosen = [kind for kind, value in given.items() if value is not None]
    if len(chosen) != 1:
        raise LensError("judge one thing at a time: verdict=..., tag=..., untag=... or note=...")
    reviewer = _reviewer_name(reviewer)
    row: dict[str, Any] = {"name": "review", "label": None, "score": None, "note": None}
    if verdict is not None:
        if verdict not in VERDICTS:
            raise LensError(f"a verdict is 'pass' or 'fail', not {verdict!r}")
        row.update(label=verdict, score=1.0 if verdict == "pass" else 0.0)
    elif note is not None:
        if len(note) > MAX_NOTE:
            raise LensError(f"a note holds at most {MAX_NOTE:,} characters; this one has {len(note):,}")
        row.update(name="note", note=note.strip())
    else:
        row.update(name="tag", label=clean_tag(tag if tag is not None else untag or ""), score=float(tag is not None))
    found = con.execute(
        "SELECT count(*) FROM review_items WHERE queue = $q AND trace_id = $t", {"q": queue, "t": trace_id}
    ).fetchall()[0][0]
    if not found:
        raise LensError(f"trace {trace_id!r} is not an item of review queue {queue!r}")
    try:
        written = con.execute(
            "INSERT INTO annotations (target_kind, target_id, name, label, score, note, annotator, annotator_kind, "
            "created_at, queue) VALUES ('trace', $trace, $name, $label, $score, $note, $reviewer, 'human', now(), "
            "$queue) RETURNING annotation_id",
            {**row, "trace": trace_id, "reviewer": reviewer, "queue": queue},
        ).fetchall()
    except duckdb.Error as error:
        raise LensError(f"could not write the judgement: {error}") from error
    return int(written[0][0])


def clean_tag(tag: str) -> str:
    """A tag as stored: spaces at the ends dropped, runs of white space made one space; an error for an empty or
    too long tag, and for one that reads as a verdict (``pass``, ``bad``, ...), which the check agreement would
    take for one.

    >>> clean_tag("  wrong   citation ")
    'wrong citation'
    """
    text = re.sub(r"\s+", " ", str(tag)).strip()
    if not text:
        raise LensError("a tag needs a name")
    if len(text) > MAX_TAG:
        raise LensError(f"a tag is at most {MAX_TAG} characters: {text[:MAX_TAG]!r}...")
    if text.lower() in PASSING or text.lower() in FAILING:
        raise LensError(f"{text!r} reads as a verdict, not a tag: press p or f for the verdict, or name the tag")
    return text


def undo(con: duckdb.DuckDBPyConnection, queue: str, reviewer: str) -> dict[str, Any] | None:
    """Delete ``reviewer``'s latest judgement in ``queue`` (what they had before it counts again). Returns what was
    deleted (``trace_id, name, label, score, note``), or None when they have judged nothing there.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id) VALUES ('t1')")
    >>> _ = add_items(lens.con, "q", ["t1"])
    >>> _ = judge(lens.con, "q", "ana", "t1", verdict="pass")
    >>> _ = judge(lens.con, "q", "ana", "t1", verdict="fail")
    >>> undo(lens.con, "q", "ana")["label"], queue_state(lens.con, "q", "ana")[0]["verdict"]
    ('fail', 'pass')
    """
    deleted = con.execute(
        "DELETE FROM annotations WHERE annotation_id = (SELECT max(annotation_id) FROM annotations "
        "WHERE queue = $q AND annotator = $r AND annotator_kind = 'human' AND target_kind = 'trace' "
        "AND name IN ('review', 'tag', 'note')) RETURNING target_id, name, label, score, note",
        {"q": queue, "r": reviewer},
    ).fetchall()
    if not deleted:
        return None
    trace, name, label, score, note = deleted[0]
    return {"trace_id": trace, "name": name, "label": label, "score": score, "note": note}


def resume_position(con: duckdb.DuckDBPyConnection, queue: str, reviewer: str) -> int:
    """Where ``reviewer`` takes ``queue`` up again: the position of the first item they gave no verdict, or the
    number of items when they judged them all.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id) VALUES ('t1'), ('t2')")
    >>> _ = add_items(lens.con, "q", ["t1", "t2"])
    >>> _ = judge(lens.con, "q", "ana", "t1", verdict="pass")
    >>> resume_position(lens.con, "q", "ana"), resume_position(lens.con, "q", "ben")
    (1, 0)
    """
    row = con.execute(
        "SELECT min(position), (SELECT count(*) FROM review_items WHERE queue = $q) FROM review_items i "
        "WHERE queue = $q AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.queue = $q AND a.annotator = $r "
        "AND a.annotator_kind = 'human' AND a.target_kind = 'trace' AND a.name = 'review' "
        "AND a.target_id = i.trace_id)",
        {"q": queue, "r": reviewer},
    ).fetchall()[0]
    return int(row[0]) if row[0] is not None else int(row[1])


def taxonomy(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every tag reviewers have used, in every queue: ``tag, uses`` (the items it is on now, counting each
    reviewer's), most used first, then oldest first (what the number keys of the review pick).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id) VALUES ('t1'), ('t2')")
    >>> _ = add_items(lens.con, "q", ["t1", "t2"])
    >>> for trace, tag in [("t1", "stale source"), ("t1", "too long"), ("t2", "too long")]:
    ...     _ = judge(lens.con, "q", "ana", trace, tag=tag)
    >>> taxonomy(lens.con).values.tolist()
    [['too long', 2], ['stale source', 1]]
    """
    frame: pd.DataFrame = con.execute(_TAXONOMY).df()
    return frame


_TAXONOMY = """
WITH latest AS (
    SELECT label, score, annotation_id FROM annotations
    WHERE name = 'tag' AND annotator_kind = 'human' AND label IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY queue, annotator, target_kind, target_id, label
                               ORDER BY annotation_id DESC) = 1
), first_use AS (
    SELECT label, min(annotation_id) AS first FROM annotations
    WHERE name = 'tag' AND annotator_kind = 'human' AND label IS NOT NULL GROUP BY label
)
SELECT f.label AS tag, count(*) FILTER (WHERE l.score > 0)::BIGINT AS uses
FROM first_use f JOIN latest l USING (label)
GROUP BY f.label, f.first ORDER BY uses DESC, f.first, f.label
"""


def queue_agreement(con: duckdb.DuckDBPyConnection, queue: str) -> pd.DataFrame:
    """How far the reviewers of ``queue`` agree, per pair of reviewers (in the order they first judged), on the
    items both gave a verdict: on the verdict, and on each tag either of them used (on or off). Returns
    ``judgement`` ("verdict" or the tag), ``reviewer_a, reviewer_b, items, agreed, a_marked, b_marked``
    (items each failed, or tagged), ``agreement`` (the share agreed) and ``kappa`` (Cohen's; NaN when both marked
    all items alike, where it is undefined).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id) SELECT 't' || i FROM range(4) r(i)")
    >>> _ = add_items(lens.con, "q", ["t0", "t1", "t2", "t3"])
    >>> for who, verdicts in [("ana", "ppff"), ("ben", "pfff")]:
    ...     for i, v in enumerate(verdicts):
    ...         _ = judge(lens.con, "q", who, f"t{i}", verdict="pass" if v == "p" else "fail")
    >>> queue_agreement(lens.con, "q")[["judgement", "items", "agreed", "kappa"]].values.tolist()
    [['verdict', 4, 3, 0.5]]
    """
    reviewers = [
        row[0]
        for row in con.execute(
            "SELECT annotator FROM annotations WHERE queue = $q AND annotator_kind = 'human' AND name = 'review' "
            "AND target_kind = 'trace' GROUP BY annotator ORDER BY min(annotation_id)",
            {"q": queue},
        ).fetchall()
    ]
    rows = con.execute(_STATE, {"queue": queue, "reviewers": reviewers}).fetchall()
    judged: dict[str, dict[str, tuple[str, set[str]]]] = {r: {} for r in reviewers}
    used: dict[str, set[str]] = {r: set() for r in reviewers}
    for trace, _, reviewer, verdict, tags, _ in rows:
        if reviewer is None or verdict is None:
            continue
        judged[reviewer][trace] = (verdict, set(tags or []))
        used[reviewer].update(tags or [])
    tag_rows = con.execute(
        "SELECT DISTINCT annotator, label FROM annotations WHERE queue = $q AND annotator_kind = 'human' "
        "AND name = 'tag' AND target_kind = 'trace'",
        {"q": queue},
    ).fetchall()
    for reviewer, label in tag_rows:
        used.setdefault(reviewer, set()).add(label)
    out = []
    for a, b in itertools.combinations(reviewers, 2):
        both = [t for t in judged[a] if t in judged[b]]
        marks = {"verdict": ([judged[a][t][0] == "fail" for t in both], [judged[b][t][0] == "fail" for t in both])}
        for tag in sorted(used.get(a, set()) | used.get(b, set())):
            marks[tag] = ([tag in judged[a][t][1] for t in both], [tag in judged[b][t][1] for t in both])
        for judgement, (x, y) in marks.items():
            out.append({"judgement": judgement, "reviewer_a": a, "reviewer_b": b, **_kappa(x, y)})
    columns = ["judgement", "reviewer_a", "reviewer_b", "items", "agreed", "a_marked", "b_marked", "agreement", "kappa"]
    return pd.DataFrame(out, columns=columns)


def _kappa(x: list[bool], y: list[bool]) -> dict[str, Any]:
    """Cohen's kappa of two binary ratings of the same items, with the counts behind it."""
    n = len(x)
    agreed = sum(a == b for a, b in zip(x, y, strict=True))
    row = {"items": n, "agreed": agreed, "a_marked": sum(x), "b_marked": sum(y)}
    if not n:
        return {**row, "agreement": float("nan"), "kappa": float("nan")}
    pa_, pb = sum(x) / n, sum(y) / n
    observed = agreed / n
    expected = pa_ * pb + (1 - pa_) * (1 - pb)
    kappa = (observed - expected) / (1 - expected) if expected < 1 else float("nan")
    return {**row, "agreement": observed, "kappa": kappa}


def _queue_name(queue: str) -> str:
    text = str(queue).strip()
    if not text or len(text) > 200:
        raise LensError(f"a queue needs a name of 1 to 200 characters, not {queue!r}")
    return text


def _reviewer_name(reviewer: str) -> str:
    text = str(reviewer).strip()
    if not text or len(text) > 200:
        raise LensError(f"a reviewer needs a name of 1 to 200 characters, not {reviewer!r}")
    return text
