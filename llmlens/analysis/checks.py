"""Binary checks: simple pass/fail questions asked of every trace or span (the answer is short enough, the JSON is
valid, the answer cites a retrieved chunk, the model did not refuse), written as a Python function of a record or
as a SQL expression over the columns of ``traces`` or ``spans``.

Results are annotations of kind ``check`` (label ``pass`` or ``fail``, score 1 or 0, ``error`` with the exception
as the note when a Python check raised), each carrying the hash of the check's code in ``metadata.code_hash``; the
``checks`` table keeps the code of every hash, so every pass rate can be traced to the code that produced it.
Running a check again replaces its earlier results on the same targets. :func:`check_agreement` compares each
check with the verdicts of human reviewers: which checks can be trusted.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import marshal
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from tqdm.auto import tqdm

from llmlens.errors import LensError
from llmlens.where import check_where, where_clause

TARGETS = ("trace", "span")
BATCH_ROWS = 5_000
"""Records handed to a Python check per batch (their documents are fetched once per batch)."""

PASSING = ("pass", "good", "correct", "thumbs_up", "positive", "yes", "accept", "accepted")
FAILING = ("fail", "bad", "incorrect", "thumbs_down", "negative", "no", "reject", "rejected")
"""Human labels read as a verdict when checks are compared with reviewers (case-insensitive)."""

_JSON_COLUMNS = frozenset({"attributes", "resource", "events"})


@dataclass(frozen=True)
class Check:
    """One check: a Python ``function`` of a :class:`Record` (True passes, False fails, None skips) or a SQL
    expression ``sql`` over the columns of ``traces`` or ``spans`` (true passes, false fails, NULL skips), asked
    of every trace (``target="trace"``) or span (``"span"``, only those of ``span_kind`` when given).

    >>> check = Check("short", "trace", sql="length(output_text) < 2000")
    >>> check.language, len(check.code_hash)
    ('sql', 16)
    """

    name: str
    target: str = "trace"
    function: Callable[[Record], bool | None] | None = None
    sql: str | None = None
    span_kind: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise LensError("a check needs a name")
        if self.target not in TARGETS:
            raise LensError(f"a check's target is 'trace' or 'span', not {self.target!r}")
        if (self.function is None) == (self.sql is None):
            raise LensError(f"check {self.name!r} needs a Python function or a SQL expression (one of the two)")
        if self.span_kind is not None and self.target != "span":
            raise LensError(f"check {self.name!r}: span_kind applies to span checks (target='span')")

    @property
    def language(self) -> str:
        """``python`` or ``sql``."""
        return "sql" if self.sql is not None else "python"

    @property
    def code(self) -> str:
        """The check's source: the function's source text (where Python can find it) or the SQL expression."""
        if self.sql is not None:
            return self.sql
        try:
            return textwrap.dedent(inspect.getsource(self.function))  # type: ignore[arg-type]
        except (OSError, TypeError):  # defined where no source is kept: its compiled code stands for it
            return f"# source not available; compiled code of {self.function!r}"

    @property
    def code_hash(self) -> str:
        """First 16 hex digits of the SHA-256 of the target, span kind, language and code (the compiled code
        where no source is kept, so two different functions never share a hash)."""
        digest = hashlib.sha256(f"{self.target}\0{self.span_kind}\0{self.language}\0{self.code}".encode())
        if self.function is not None and self.code.startswith("# source not available"):
            digest.update(marshal.dumps(self.function.__code__))
        return digest.hexdigest()[:16]


class Record:
    """A trace or span as a Python check sees it: every column of its table as an attribute (``record.output_text``,
    ``record.duration_ms``; ``attributes``, ``resource`` and ``events`` parsed from JSON), ``record["model"]`` too,
    and ``documents``: the texts of the documents retrieved in it (in the trace, or by the span), in rank order.

    >>> record = Record({"output_text": "Paris", "attributes": '{"k": 1}'}, ["a chunk"])
    >>> record.output_text, record.attributes["k"], record.documents
    ('Paris', 1, ['a chunk'])
    """

    __slots__ = ("_row", "documents")

    def __init__(self, row: dict[str, Any], documents: list[str]) -> None:
        self._row = row
        self.documents = documents

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._row[name]
        except KeyError:
            raise AttributeError(f"a record has no {name!r}; it has {', '.join(self._row)}, documents") from None
        if name in _JSON_COLUMNS and isinstance(value, str):
            value = json.loads(value)
            self._row[name] = value
        return value

    def __getitem__(self, name: str) -> Any:
        return self.__getattr__(name)

    def __repr__(self) -> str:
        key = self._row.get("span_id") or self._row.get("trace_id")
        return f"<Record {key} with {len(self._row)} columns and {len(self.documents)} documents>"


def make_check(
    function: Callable[[Record], bool | None] | None = None,
    *,
    name: str | None = None,
    on: str = "trace",
    kind: str | None = None,
    sql: str | None = None,
) -> Check:
    """A :class:`Check` from a function (named after it unless ``name`` is given) or from a SQL expression.

    >>> make_check(lambda trace: trace.n_errors == 0, name="no_errors").language
    'python'
    >>> make_check(sql="json_valid(output_text)", name="valid_json", on="span", kind="LLM").span_kind
    'LLM'
    """
    if name is None:
        if function is None or function.__name__ == "<lambda>":
            raise LensError("name the check: name='...' (SQL checks and lambdas have no name of their own)")
        name = function.__name__
    return Check(name, on, function=function, sql=sql, span_kind=kind)


def run_checks(
    con: duckdb.DuckDBPyConnection,
    checks: Iterable[Check],
    *,
    where: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Ask each check of every trace (or span) of the traces ``where`` selects (SQL over the columns of
    ``traces``; default: all), and store the answers as annotations of kind ``check``, replacing the check's
    earlier results on those targets. Returns one row per check: ``check, target, code_hash, asked, passed,
    failed, errors, skipped, pass_rate, seconds``.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id, output_text) VALUES ('t1', 'yes'), ('t2', repeat('y', 50))")
    >>> short = make_check(sql="length(output_text) < 20", name="short")
    >>> run_checks(lens.con, [short], progress=False)[["check", "passed", "failed", "pass_rate"]].to_dict("records")
    [{'check': 'short', 'passed': 1, 'failed': 1, 'pass_rate': 0.5}]
    """
    checks = list(checks)
    names = [check.name for check in checks]
    if len(set(names)) != len(names):
        raise LensError(f"two checks share a name: {sorted(n for n in set(names) if names.count(n) > 1)}")
    scope = where_clause(con, where, "traces") if where else ""
    rows = []
    for check in checks:
        started = time.perf_counter()
        counts = _run_one(con, check, scope, progress)
        asked = sum(counts.values())
        judged = counts["pass"] + counts["fail"]
        rows.append({
            "check": check.name, "target": check.target if not check.span_kind else f"span ({check.span_kind})",
            "code_hash": check.code_hash, "asked": asked, "passed": counts["pass"], "failed": counts["fail"],
            "errors": counts["error"], "skipped": counts["skip"],
            "pass_rate": counts["pass"] / judged if judged else None,
            "seconds": round(time.perf_counter() - started, 3),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=_SUMMARY)


_SUMMARY = ["check", "target", "code_hash", "asked", "passed", "failed", "errors", "skipped", "pass_rate", "seconds"]


def _targets(check: Check, scope: str) -> tuple[str, dict[str, Any]]:
    """The query of the check's targets (all columns of traces or spans) and its parameters."""
    if check.target == "trace":
        return "SELECT * FROM traces" + scope, {}
    query = "SELECT * FROM spans WHERE trace_id IN (SELECT trace_id FROM traces" + scope + ")"
    if check.span_kind is None:
        return query, {}
    return query + " AND kind = $span_kind", {"span_kind": check.span_kind}


def _run_one(con: duckdb.DuckDBPyConnection, check: Check, scope: str, progress: bool) -> dict[str, int]:
    """Run one check in the store's transaction: its code recorded, its earlier results on the targets deleted,
    the new ones written. Returns how many targets passed, failed, raised and were skipped."""
    if check.sql is not None:
        check_where(con, check.sql, "traces" if check.target == "trace" else "spans")
    targets, params = _targets(check, scope)
    key = "trace_id" if check.target == "trace" else "span_id"
    cursor = con.cursor()
    try:
        cursor.begin()
        cursor.execute(_RECORD_CHECK, {
            "name": check.name, "hash": check.code_hash, "target": check.target, "span_kind": check.span_kind,
            "language": check.language, "code": check.code,
        })  # fmt: skip
        cursor.execute(
            f"DELETE FROM annotations WHERE annotator_kind = 'check' AND name = $name AND target_kind = $target "
            f"AND target_id IN (SELECT {key} FROM ({targets}))",
            {"name": check.name, "target": check.target, **params},
        )
        if check.sql is not None:
            results = cursor.sql(
                f"SELECT {key} AS target_id, CASE WHEN ({check.sql}) THEN 'pass' WHEN NOT ({check.sql}) THEN 'fail' "
                f"END AS label, CAST(NULL AS VARCHAR) AS note FROM ({targets})",
                params=params,
            ).to_arrow_table()
        else:
            results = _python_results(cursor, check, targets, params, key=key, progress=progress)
        _write(cursor, check, results)
        cursor.commit()
    except duckdb.Error as error:
        cursor.rollback()
        raise LensError(f"check {check.name!r} could not run: {error}") from error
    finally:
        cursor.close()
    labels = results.column("label").to_pylist()
    return {
        "pass": labels.count("pass"),
        "fail": labels.count("fail"),
        "error": labels.count("error"),
        "skip": labels.count(None),
    }


_RECORD_CHECK = """
INSERT INTO checks (name, code_hash, target, span_kind, language, code, first_run)
VALUES ($name, $hash, $target, $span_kind, $language, $code, now())
ON CONFLICT DO NOTHING
"""


def _python_results(
    cursor: duckdb.DuckDBPyConnection, check: Check, targets: str, params: dict[str, Any], *, key: str, progress: bool
) -> pa.Table:
    """Call the check's function on every target, a batch of records at a time."""
    assert check.function is not None
    total = cursor.sql(f"SELECT count(*) FROM ({targets})", params=params).fetchall()[0][0]
    reader = cursor.sql(targets, params=params).to_arrow_reader(BATCH_ROWS)
    documents_cursor = cursor.cursor()
    ids: list[str] = []
    labels: list[str | None] = []
    notes: list[str | None] = []
    with tqdm(total=total, desc=f"check {check.name}", unit=check.target, disable=not progress) as bar:
        for batch in reader:
            rows = batch.to_pylist()
            batch_ids = [row[key] for row in rows]
            texts = _documents(documents_cursor, key, batch_ids)
            for row, target in zip(rows, batch_ids, strict=True):
                label, note = _ask(check.function, Record(row, texts.get(target, [])))
                ids.append(target)
                labels.append(label)
                notes.append(note)
            bar.update(len(rows))
    documents_cursor.close()
    return pa.table({"target_id": pa.array(ids, pa.string()), "label": labels, "note": pa.array(notes, pa.string())})


def _documents(cursor: duckdb.DuckDBPyConnection, key: str, ids: list[str]) -> dict[str, list[str]]:
    """The retrieved documents' texts of each trace (or span), in retrieval order then rank."""
    rows = cursor.execute(
        f"SELECT d.{key}, list(d.content ORDER BY s.start_time, d.span_id, d.position) FROM documents d "
        "JOIN spans s ON s.trace_id = d.trace_id AND s.span_id = d.span_id "
        f"WHERE d.{key} IN (SELECT unnest($ids)) AND d.content IS NOT NULL GROUP BY d.{key}",
        {"ids": ids},
    ).fetchall()
    return dict(rows)


def _ask(function: Callable[[Record], bool | None], record: Record) -> tuple[str | None, str | None]:
    """One answer: pass, fail, None (skipped) or error with the exception as the note."""
    try:
        answer = function(record)
    except Exception as error:  # a check that raises on one record must not stop the others
        return "error", f"{type(error).__name__}: {error}"[:1000]
    if answer is None:
        return None, None
    return ("pass" if answer else "fail"), None


def _write(cursor: duckdb.DuckDBPyConnection, check: Check, results: pa.Table) -> None:
    """The answers (not the skipped) as annotations of kind check."""
    answered = results.filter(results.column("label").is_valid())
    if not answered.num_rows:  # never an empty INSERT in a transaction (a DuckDB 2.0 quirk)
        return
    cursor.register("llmlens_check_results", answered)
    try:
        cursor.execute(
            "INSERT INTO annotations BY NAME SELECT $target AS target_kind, target_id, $name AS name, label, "
            "CASE label WHEN 'pass' THEN 1.0 WHEN 'fail' THEN 0.0 END AS score, note, $name AS annotator, "
            "'check' AS annotator_kind, now() AS created_at, "
            "json_object('code_hash', $hash, 'language', $language) AS metadata FROM llmlens_check_results",
            {"target": check.target, "name": check.name, "hash": check.code_hash, "language": check.language},
        )
    finally:
        cursor.unregister("llmlens_check_results")


def check_agreement(con: duckdb.DuckDBPyConnection, names: Sequence[str] | None = None) -> pd.DataFrame:
    """How far each check agrees with human reviewers, trace by trace: a check fails a trace when it failed the
    trace or any of its spans; a reviewer's verdict is their latest human label on the trace read as passing
    (:data:`PASSING`) or failing (:data:`FAILING`). A failure is what a check is for, so precision is the share of
    the traces it failed that reviewers failed too, and recall the share of the traces reviewers failed that it
    caught. Returns ``check, compared, both_fail, check_only, human_only, both_pass, precision, recall, agreement,
    kappa`` (Cohen's), one row per check that has results (or each of ``names``).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute(
    ...     "INSERT INTO annotations (target_kind, target_id, name, label, annotator, annotator_kind) VALUES "
    ...     "('trace', 't1', 'short', 'fail', 'short', 'check'), ('trace', 't2', 'short', 'pass', 'short', 'check'),"
    ...     "('trace', 't1', 'review', 'fail', 'ana', 'human'), ('trace', 't2', 'review', 'fail', 'ana', 'human')")
    >>> check_agreement(lens.con)[["check", "compared", "precision", "recall"]].to_dict("records")
    [{'check': 'short', 'compared': 2, 'precision': 1.0, 'recall': 0.5}]
    """
    params = {"names": list(names) if names is not None else None, "passing": list(PASSING), "failing": list(FAILING)}
    frame: pd.DataFrame = con.sql(_AGREEMENT, params=params).df()
    n = frame["compared"].where(frame["compared"] > 0)
    observed = (frame["both_fail"] + frame["both_pass"]) / n
    check_fail = (frame["both_fail"] + frame["check_only"]) / n
    human_fail = (frame["both_fail"] + frame["human_only"]) / n
    expected = check_fail * human_fail + (1 - check_fail) * (1 - human_fail)
    frame["precision"] = frame["both_fail"] / (frame["both_fail"] + frame["check_only"]).where(lambda v: v > 0)
    frame["recall"] = frame["both_fail"] / (frame["both_fail"] + frame["human_only"]).where(lambda v: v > 0)
    frame["agreement"] = observed
    frame["kappa"] = (observed - expected) / (1 - expected).where(lambda v: v > 0)  # undefined when all alike
    return frame


_AGREEMENT = """
WITH verdicts AS (  -- each check's verdict on each trace: failed if it failed the trace or any of its spans
    SELECT a.name AS check_name, coalesce(s.trace_id, a.target_id) AS trace_id,
           bool_or(a.label = 'fail') AS check_failed
    FROM annotations a LEFT JOIN spans s ON a.target_kind = 'span' AND s.span_id = a.target_id
    WHERE a.annotator_kind = 'check' AND a.label IN ('pass', 'fail') AND a.target_kind IN ('trace', 'span')
      AND ($names IS NULL OR list_contains($names, a.name))
    GROUP BY ALL
), humans AS (  -- the latest human verdict on each trace
    SELECT target_id AS trace_id,
           arg_max(list_contains($failing, lower(label)), coalesce(created_at, 'epoch'::TIMESTAMPTZ)) AS human_failed
    FROM annotations
    WHERE annotator_kind = 'human' AND target_kind = 'trace'
      AND (list_contains($passing, lower(label)) OR list_contains($failing, lower(label)))
    GROUP BY target_id
), named AS (
    SELECT unnest(coalesce($names, (SELECT list(DISTINCT check_name ORDER BY check_name) FROM verdicts))) AS check_name
)
SELECT n.check_name AS "check", count(h.trace_id)::BIGINT AS compared,
       count(*) FILTER (WHERE v.check_failed AND h.human_failed)::BIGINT AS both_fail,
       count(*) FILTER (WHERE v.check_failed AND NOT h.human_failed)::BIGINT AS check_only,
       count(*) FILTER (WHERE NOT v.check_failed AND h.human_failed)::BIGINT AS human_only,
       count(*) FILTER (WHERE NOT v.check_failed AND NOT h.human_failed)::BIGINT AS both_pass
FROM named n LEFT JOIN verdicts v ON v.check_name = n.check_name LEFT JOIN humans h ON h.trace_id = v.trace_id
GROUP BY n.check_name ORDER BY n.check_name
"""
