"""Labelled failures as eval cases: the traces reviewers failed or tagged, with their input, output, the expected
answer or the reviewers' notes, the tags and who judged them, written as JSON lines or as an Inspect AI dataset.

A trace is a labelled failure when a reviewer's latest verdict on it (``name = 'review'``) is ``fail`` or a
reviewer has a tag on it (``name = 'tag'``, latest row scored 1): in a review queue, tags name failure modes. Each
reviewer's latest rows count, as in :mod:`llmlens.analysis.review`. The expected answer is the latest human
annotation named ``expected``, ``correction`` or ``reference`` on the trace (its note, else its label), when there
is one; otherwise the reviewers' notes stand in for it.

Two formats:

- ``jsonl``: one object per trace: ``trace_id, input, output, expected, note, tags, reviewers, verdict, queues,
  model``;
- ``inspect``: Inspect AI's dataset format (``inspect_ai.dataset.json_dataset`` reads it): one sample per line with
  ``id`` (the trace id), ``input``, ``target`` (the expected answer, else the note, else empty) and ``metadata``
  (the rest of the fields above).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb

from llmlens.analysis.summary import _LATEST_HUMAN
from llmlens.errors import LensError
from llmlens.where import where_clause

FORMATS = ("jsonl", "inspect")
"""What :func:`export_evals` writes."""

EXPECTED_NAMES = ("expected", "correction", "reference")
"""Names of human annotations that hold the expected answer."""

_FAILURES = (
    "WITH"
    + _LATEST_HUMAN
    + """, notes AS (  -- each reviewer's latest note on each trace
    SELECT annotator, target_id AS trace_id, note FROM annotations
    WHERE annotator_kind = 'human' AND target_kind = 'trace' AND name = 'note' AND ($queue IS NULL OR queue = $queue)
    QUALIFY row_number() OVER (PARTITION BY annotator, target_id ORDER BY annotation_id DESC) = 1
), expected AS (
    SELECT target_id AS trace_id, arg_max(coalesce(note, label), annotation_id) AS expected FROM annotations
    WHERE annotator_kind = 'human' AND target_kind = 'trace' AND list_contains($expected_names, lower(name))
      AND coalesce(note, label) IS NOT NULL
    GROUP BY target_id
), failures AS (
    SELECT trace_id,
           list_sort(list_distinct(list(annotator) FILTER (WHERE marked))) AS reviewers,
           list_sort(list_distinct(list(label) FILTER (WHERE name = 'tag' AND score > 0))) AS tags,
           CASE WHEN bool_or(name = 'review' AND label = 'fail') THEN 'fail'
                WHEN bool_or(name = 'review') THEN 'pass' END AS verdict,
           list_sort(list_distinct(list(queue))) AS queues
    FROM (SELECT *, (name = 'review' AND label = 'fail') OR (name = 'tag' AND score > 0) AS marked FROM human)
    GROUP BY trace_id HAVING bool_or(marked)
)
SELECT f.trace_id, t.input_text AS input, t.output_text AS output, e.expected,
       (SELECT string_agg(n.note, '\n' ORDER BY n.annotator) FROM notes n
        WHERE n.trace_id = f.trace_id AND n.note <> '') AS note,
       f.tags, f.reviewers, f.verdict, f.queues, t.model
FROM failures f JOIN traces t USING (trace_id) LEFT JOIN expected e USING (trace_id)
WHERE f.trace_id IN (SELECT trace_id FROM traces{where})
ORDER BY t.start_time NULLS LAST, f.trace_id
"""
)


def labelled_failures(
    con: duckdb.DuckDBPyConnection, where: str | None = None, *, queue: str | None = None
) -> list[dict[str, Any]]:
    """The labelled failures among the traces ``where`` selects (SQL over the columns of ``traces``; default: all),
    judged in ``queue`` (default: any), oldest trace first, as dicts with ``trace_id, input, output, expected,
    note, tags, reviewers, verdict, queues, model``.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id, input_text, output_text) VALUES "
    ...     "('t1', 'refund?', 'No.'), ('t2', 'hours?', '9-5')")
    >>> _ = lens.con.execute("INSERT INTO annotations (target_kind, target_id, name, label, score, note, annotator, "
    ...     "annotator_kind, queue) VALUES ('trace', 't1', 'review', 'fail', 0, NULL, 'ana', 'human', 'q'), "
    ...     "('trace', 't1', 'note', NULL, NULL, 'policy allows refunds', 'ana', 'human', 'q'), "
    ...     "('trace', 't2', 'review', 'pass', 1, NULL, 'ana', 'human', 'q')")
    >>> [(r["trace_id"], r["note"], r["verdict"]) for r in labelled_failures(lens.con)]
    [('t1', 'policy allows refunds', 'fail')]
    """
    scope = where_clause(con, where, "traces") if where is not None and where.strip() else ""
    params = {"queue": queue, "expected_names": list(EXPECTED_NAMES)}
    try:
        relation = con.sql(_FAILURES.replace("{where}", scope), params=params)
        columns = list(relation.columns)
        rows = relation.fetchall()
    except duckdb.Error as error:
        raise LensError(f"could not collect the labelled failures: {error}") from error
    return [dict(zip(columns, row, strict=True)) for row in rows]


def export_evals(
    con: duckdb.DuckDBPyConnection,
    path: str | os.PathLike[str],
    where: str | None = None,
    *,
    queue: str | None = None,
    format: str = "jsonl",
) -> int:
    """Write the labelled failures (:func:`labelled_failures`) among the traces ``where`` selects, judged in
    ``queue``, to ``path`` as JSON lines (``format="jsonl"``) or Inspect AI samples (``format="inspect"``). Returns
    how many were written.

    >>> import llmlens, tempfile, pathlib
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id, input_text, output_text) VALUES ('t1', 'refund?', 'No.')")
    >>> _ = lens.con.execute("INSERT INTO annotations (target_kind, target_id, name, label, score, annotator, "
    ...     "annotator_kind, queue) VALUES ('trace', 't1', 'tag', 'stale source', 1, 'ana', 'human', 'q')")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "evals.jsonl"
    >>> export_evals(lens.con, path, format="inspect")
    1
    >>> json.loads(path.read_text())["metadata"]["tags"]
    ['stale source']
    """
    if format not in FORMATS:
        raise LensError(f"format is {' or '.join(map(repr, FORMATS))}, not {format!r}")
    records = labelled_failures(con, where, queue=queue)
    lines = [_inspect_sample(r) if format == "inspect" else _jsonable(r) for r in records]
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    target.write_text(text, encoding="utf-8")
    return len(lines)


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    """A record with lists as plain lists (DuckDB gives lists; None stays None)."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in record.items()}


def _inspect_sample(record: dict[str, Any]) -> dict[str, Any]:
    """One Inspect AI sample (``inspect_ai.dataset.Sample`` fields ``id, input, target, metadata``)."""
    row = _jsonable(record)
    target = row["expected"] if row["expected"] is not None else row["note"]
    metadata = {key: value for key, value in row.items() if key not in {"input", "expected"}}
    metadata["expected"] = row["expected"]
    return {"id": row["trace_id"], "input": row["input"] or "", "target": target or "", "metadata": metadata}
