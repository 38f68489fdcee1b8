"""Sampling traces for review: which traces to look at this week, picked by one strategy or a mix of them.

Every sample is one DuckDB query. Candidates are ordered by what the strategy ranks (duration, cost, retrieval
score, ...) and, among equals or where nothing is ranked, by ``hash(trace_id, seed)``: the same store and seed give
the same sample, another seed another one. Nothing the user passes is pasted into the SQL: ``where`` is checked to be
one read-only expression over the columns of ``traces`` (:func:`llmlens.where.where_clause`), ``by`` must name a
column of ``traces`` (or ``attributes.<key>``, whose JSON path is bound), and every value is a parameter.

The strategies (:data:`STRATEGIES`):

- ``random``: any trace, in seeded hash order.
- ``stratified``: round-robin across the values of ``by`` (a column of ``traces`` such as ``model``,
  ``service_name``, ``user_id`` or ``root_name``, or ``attributes.<key>``, e.g. ``attributes.app.version`` for a
  prompt version or ``attributes.app.intent`` for a route, read from the root span or else the earliest span that
  has it), so each of k strata gets about n / k traces; a stratum with fewer leaves its share to the others.
- ``newest``: latest ``start_time`` first.
- ``failing_checks``: traces a check failed (an annotation of kind ``check`` labelled ``fail`` or scored 0, on the
  trace or any of its spans), in seeded hash order; the reason names the checks.
- ``low_retrieval``: the traces whose best retrieved document scored lowest (then the lowest mean score);
  documents of RERANKER spans are left out, their scores are on another scale.
- ``slowest`` / ``costliest``: highest ``duration_ms`` / ``cost_usd`` first (traces without one are left out).
- ``negative_feedback``: traces with a human label such as thumbs_down, bad, fail or negative, or any annotation
  whose name looks like feedback (``*feedback*``, ``*thumb*``, ``*rating*``, ``*vote*``) with such a label or a
  score of 0 or less; judgements made in a review queue do not count. The reason is the label.
- ``low_confidence``: lowest mean log-probability of the trace's output tokens first.
- ``selection``: the traces given as ``ids`` (a list, a Series, or a DataFrame with a ``trace_id`` column, e.g. a
  selection in the embedding map or the trace table), in seeded hash order.

A mix is a list of strategies (n split evenly) or a dict of counts (``{"failing_checks": 5, "random": 15}``, scaled
to n when they do not add up to it). Parts are filled in order, a trace picked by an earlier part is not picked
again, and what a part cannot fill (too few failing traces, say) passes on to the parts after it.

Traces someone already reviewed are skipped by default: those with a human annotation made in any review queue
(``annotations.queue`` set), so that next week's sample brings new traces whichever queue the old ones were judged
in. ``queue=`` also skips the traces already in that queue, judged or not, so a sample can top a queue up with
traces it does not hold yet.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd

from llmlens.analysis.checks import FAILING, PASSING
from llmlens.errors import LensError
from llmlens.where import where_clause

STRATEGIES: dict[str, str] = {
    "random": "any trace, in seeded random order",
    "stratified": "round-robin across the values of by= (model, service_name, user_id, attributes.<key>, ...)",
    "newest": "latest start_time first",
    "failing_checks": "traces a check failed (on the trace or one of its spans)",
    "low_retrieval": "lowest best retrieved-document score first",
    "slowest": "highest duration_ms first",
    "costliest": "highest cost_usd first",
    "negative_feedback": "thumbs_down, bad, fail, negative, or a feedback score of 0 or less",
    "low_confidence": "lowest mean logprob of the output tokens first",
    "selection": "the traces given as ids= (e.g. a selection in the embedding map)",
}
"""The sampling strategies by name, with what each picks."""

NEGATIVE_LABELS = (*FAILING, "thumbsdown", "thumbs-down", "thumb_down", "dislike", "disliked", "unhelpful")
"""Labels read as negative feedback (case-insensitive)."""

_FEEDBACK_NAMES = "feedback|thumb|rating|vote"
"""Annotation names (a regular expression found in the lower-cased name) whose low scores are negative feedback."""

_ATTRIBUTE_KEY = re.compile(r"[\w.\-:/@]{1,200}")

Strategy = str | Sequence[str] | Mapping[str, int]


def sample(
    con: duckdb.DuckDBPyConnection,
    n: int,
    strategy: Strategy = "random",
    *,
    where: str | None = None,
    seed: int = 0,
    by: str | None = None,
    ids: Sequence[str] | pd.Series | pd.DataFrame | None = None,
    skip_reviewed: bool = True,
    queue: str | None = None,
) -> pd.DataFrame:
    """At most ``n`` traces picked by ``strategy`` (a name from :data:`STRATEGIES`, a list of names sharing n
    evenly, or a dict of counts), among those ``where`` selects (SQL over the columns of ``traces``), without those
    already reviewed in a queue unless ``skip_reviewed=False`` (and without the items of ``queue``, when given).
    Returns the rows of ``traces`` with a ``reason`` column saying what picked each, ordered part by part, each part
    in the order its strategy ranks; fewer rows when fewer traces qualify. The same store and ``seed`` give the same
    sample. ``by`` is the column (or ``attributes.<key>``) to stratify by (default ``model``); ``ids`` the traces of
    the ``selection`` strategy.

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> mix = {"slowest": 2, "negative_feedback": 2, "random": 2}
    >>> picked = sample(lens.con, 6, mix, seed=7)
    >>> picked.reason.tolist()
    ['slowest', 'slowest', 'thumbs_down', 'thumbs_down', 'random', 'random']
    >>> picked.trace_id.is_unique, picked.equals(sample(lens.con, 6, mix, seed=7))
    (True, True)
    """
    parts = _quotas(_check_n(n), _parts(strategy))
    names = [name for name, _ in parts]
    if ids is not None and "selection" not in names:
        raise LensError("ids= are the traces of the 'selection' strategy; add it: strategy='selection'")
    if by is not None and "stratified" not in names:
        raise LensError("by= is what the 'stratified' strategy splits on; add it: strategy='stratified'")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise LensError(f"seed is a whole number, not {seed!r}")
    params: dict[str, Any] = {"seed": seed}
    pool = "SELECT * FROM traces"
    if where is not None and where.strip():
        pool += where_clause(con, where.strip(), "traces")
    skipped = []
    if skip_reviewed:
        skipped.append(_REVIEWED)
    if queue is not None:
        skipped.append("SELECT trace_id FROM review_items WHERE queue = $queue")
        params["queue"] = str(queue)
    ctes = [f"pool AS (\n{pool}\n)", _eligible(skipped), _NONE_PICKED]
    previous = "s0"
    total = 0
    for i, (name, quota) in enumerate(parts, start=1):
        body, extra = _candidates(con, name, by=by, ids=ids)
        params |= extra
        total += quota
        params[f"upto{i}"] = total
        ctes.append(f"c{i} AS (\n{body}\n)")
        ctes.append(
            f"p{i} AS (SELECT {i} AS part, trace_id, reason, ord FROM c{i} "
            f"WHERE trace_id NOT IN (SELECT trace_id FROM {previous}) "
            f"QUALIFY row_number() OVER (ORDER BY ord) <= $upto{i} - (SELECT count(*) FROM {previous}))"
        )
        ctes.append(f"s{i} AS MATERIALIZED (SELECT * FROM {previous} UNION ALL SELECT * FROM p{i})")
        previous = f"s{i}"
    query = (
        "WITH " + ",\n".join(ctes) + "\n"
        f"SELECT e.* EXCLUDE (_h), p.reason FROM {previous} p JOIN eligible e USING (trace_id) "
        "ORDER BY p.part, p.ord"
    )
    try:
        relation = con.execute(query, params)
        with warnings.catch_warnings():
            # DuckDB's own conversion of time zones trips a pandas deprecation notice the user cannot act on.
            warnings.filterwarnings("ignore", message="The inplace keyword", category=FutureWarning)
            warnings.filterwarnings("ignore", message="The inplace keyword", category=DeprecationWarning)
            frame: pd.DataFrame = relation.df()
    except duckdb.Error as error:
        if where is None:
            raise
        columns = [row[0] for row in con.execute("SELECT column_name FROM (DESCRIBE traces)").fetchall()]
        raise LensError(f"where {where!r} failed: {error}; the columns are {', '.join(columns)}") from error
    return frame


def parse_strategy(text: str) -> Strategy:
    """A strategy as written on a command line: one name, names joined by commas (n split evenly), or
    ``name=count`` pairs (a dict of counts).

    >>> parse_strategy("failing_checks,random")
    ['failing_checks', 'random']
    >>> parse_strategy("random=5, slowest=3")
    {'random': 5, 'slowest': 3}
    """
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise LensError(f"no strategy in {text!r}; known: {', '.join(STRATEGIES)}")
    counted = ["=" in item for item in items]
    if not any(counted):
        return items[0] if len(items) == 1 else items
    if not all(counted):
        raise LensError(f"give every strategy a count, or none: {text!r} (e.g. random=5,slowest=3)")
    mix: dict[str, int] = {}
    for item in items:
        name, _, count = item.partition("=")
        if not count.strip().isdigit():
            raise LensError(f"the count of {name.strip()!r} is a whole number, not {count.strip()!r}")
        mix[name.strip()] = int(count)
    return mix


def _check_n(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise LensError(f"n is the number of traces to sample, a whole number, not {n!r}")
    if n <= 0:
        raise LensError(f"a sample of {n} traces? n must be at least 1")
    return n


def _parts(strategy: Strategy) -> list[tuple[str, int]]:
    """The strategy as (name, weight) pairs in order, every name known and used once."""
    if isinstance(strategy, str):
        pairs = [(strategy, 1)]
    elif isinstance(strategy, Mapping):
        pairs = list(strategy.items())
        for name, count in pairs:
            if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
                raise LensError(f"the count of {name!r} in the mix is a whole number of at least 1, not {count!r}")
    elif isinstance(strategy, Sequence) and strategy:
        pairs = [(name, 1) for name in strategy]
    else:
        raise LensError(f"strategy is a name, a list of names or a dict of counts; known: {', '.join(STRATEGIES)}")
    seen: set[str] = set()
    for name, _ in pairs:
        if not isinstance(name, str) or name not in STRATEGIES:
            raise LensError(f"unknown sampling strategy {name!r}; known: {', '.join(STRATEGIES)}")
        if name in seen:
            raise LensError(f"strategy {name!r} is named twice in the mix")
        seen.add(name)
    return pairs


def _quotas(n: int, parts: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """``n`` shared among the parts in proportion to their weights (largest remainders first, then the earlier).

    >>> _quotas(10, [("a", 1), ("b", 1), ("c", 1)])
    [('a', 4), ('b', 3), ('c', 3)]
    >>> _quotas(8, [("random", 5), ("slowest", 3)])
    [('random', 5), ('slowest', 3)]
    """
    weight = sum(w for _, w in parts)
    exact = [n * w / weight for _, w in parts]
    quotas = [int(x) for x in exact]
    by_remainder = sorted(range(len(parts)), key=lambda i: (-(exact[i] - quotas[i]), i))
    for i in by_remainder[: n - sum(quotas)]:
        quotas[i] += 1
    return [(name, q) for (name, _), q in zip(parts, quotas, strict=True)]


_NONE_PICKED = (
    "s0 AS (SELECT NULL::INTEGER AS part, NULL::VARCHAR AS trace_id, NULL::VARCHAR AS reason, NULL::BIGINT AS ord "
    "WHERE false)"
)
"""The traces picked before the first part: none."""

_REVIEWED = (
    "SELECT target_id FROM annotations WHERE target_kind = 'trace' AND annotator_kind = 'human' "
    "AND queue IS NOT NULL AND target_id IS NOT NULL"
)


def _eligible(skipped: list[str]) -> str:
    """The traces a strategy may pick: the pool less the skipped, each with its seeded hash ``_h``."""
    conditions = " ".join(f"AND trace_id NOT IN ({query})" for query in skipped)
    return f"eligible AS (SELECT *, hash(trace_id, $seed) AS _h FROM pool WHERE trace_id IS NOT NULL {conditions})"


_RANKED = "SELECT trace_id, {reason} AS reason, row_number() OVER (ORDER BY {order}, _h, trace_id) AS ord FROM {source}"

_FAILING_CHECKS = """
SELECT e.trace_id, 'failing check: ' || string_agg(DISTINCT f.name, ', ' ORDER BY f.name) AS reason,
       row_number() OVER (ORDER BY any_value(e._h), e.trace_id) AS ord
FROM eligible e JOIN (
    SELECT coalesce(s.trace_id, a.target_id) AS trace_id, a.name
    FROM annotations a LEFT JOIN spans s ON a.target_kind = 'span' AND s.span_id = a.target_id
    WHERE a.annotator_kind = 'check' AND a.target_kind IN ('trace', 'span')
      AND (lower(a.label) = 'fail' OR a.score = 0)
) f USING (trace_id)
GROUP BY e.trace_id"""

_NEGATIVE_FEEDBACK = """
SELECT e.trace_id, string_agg(DISTINCT f.what, ', ' ORDER BY f.what) AS reason,
       row_number() OVER (ORDER BY any_value(e._h), e.trace_id) AS ord
FROM eligible e JOIN (
    SELECT coalesce(s.trace_id, a.target_id) AS trace_id,
           coalesce(a.label, a.name || '=' || CAST(a.score AS VARCHAR)) AS what
    FROM annotations a LEFT JOIN spans s ON a.target_kind = 'span' AND s.span_id = a.target_id
    WHERE a.target_kind IN ('trace', 'span') AND a.queue IS NULL
      AND (
        (a.annotator_kind = 'human' AND list_contains($negative, lower(a.label)))
        OR (regexp_matches(lower(a.name), $feedback_names) AND (
            list_contains($negative, lower(a.label))
            OR (a.score <= 0 AND NOT coalesce(list_contains($positive, lower(a.label)), false))))
      )
) f USING (trace_id)
GROUP BY e.trace_id"""

_LOW_RETRIEVAL = """
SELECT trace_id, printf('low retrieval score: best %.3f', best) AS reason,
       row_number() OVER (ORDER BY best, mean, _h, trace_id) AS ord
FROM (
    SELECT e.trace_id, any_value(e._h) AS _h, max(d.score) AS best, avg(d.score) AS mean
    FROM eligible e JOIN documents d USING (trace_id)
    LEFT JOIN spans s ON s.trace_id = d.trace_id AND s.span_id = d.span_id
    WHERE d.score IS NOT NULL AND isfinite(d.score) AND s.kind IS DISTINCT FROM 'RERANKER'
    GROUP BY e.trace_id
)"""

_LOW_CONFIDENCE = """
SELECT trace_id, printf('low confidence: mean logprob %.2f', mean) AS reason,
       row_number() OVER (ORDER BY mean, _h, trace_id) AS ord
FROM (
    SELECT e.trace_id, any_value(e._h) AS _h, avg(k.logprob) AS mean
    FROM eligible e JOIN tokens k USING (trace_id)
    WHERE k.side = 'output' AND k.logprob IS NOT NULL AND isfinite(k.logprob)
    GROUP BY e.trace_id
)"""

_STRATIFIED = """
SELECT trace_id, 'stratified: ' || $by || '=' || coalesce(stratum, '(none)') AS reason,
       row_number() OVER (ORDER BY turn, hash(stratum, $seed), stratum NULLS LAST, trace_id) AS ord
FROM (
    SELECT trace_id, stratum, row_number() OVER (PARTITION BY stratum ORDER BY _h, trace_id) AS turn
    FROM ({strata})
)"""

_COLUMN_STRATA = "SELECT trace_id, _h, CAST({column} AS VARCHAR) AS stratum FROM eligible"

_ATTRIBUTE_STRATA = """
SELECT e.trace_id, any_value(e._h) AS _h,
       arg_min(json_extract_string(s.attributes, $path),
               {'other': s.span_id IS DISTINCT FROM e.root_span_id, 'start': s.start_time, 'span': s.span_id})
         FILTER (WHERE json_extract_string(s.attributes, $path) IS NOT NULL) AS stratum
FROM eligible e LEFT JOIN spans s ON s.trace_id = e.trace_id
GROUP BY e.trace_id"""


_SELECTED = "eligible WHERE trace_id IN (SELECT unnest($ids))"

_FIXED = {
    "random": _RANKED.format(reason="'random'", order="true", source="eligible"),
    "newest": _RANKED.format(reason="'newest'", order="start_time DESC NULLS LAST", source="eligible"),
    "slowest": _RANKED.format(
        reason="'slowest'", order="duration_ms DESC", source="eligible WHERE duration_ms IS NOT NULL"
    ),
    "costliest": _RANKED.format(
        reason="'costliest'", order="cost_usd DESC", source="eligible WHERE cost_usd IS NOT NULL"
    ),
    "failing_checks": _FAILING_CHECKS,
    "low_retrieval": _LOW_RETRIEVAL,
    "low_confidence": _LOW_CONFIDENCE,
}
"""The candidates of the strategies that take no options."""


def _candidates(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    by: str | None,
    ids: Sequence[str] | pd.Series | pd.DataFrame | None,
) -> tuple[str, dict[str, Any]]:
    """The query of one strategy's candidates (``trace_id, reason, ord``; ord 1 is picked first) and its params."""
    if name in _FIXED:
        return _FIXED[name], {}
    if name == "negative_feedback":
        params = {"negative": list(NEGATIVE_LABELS), "positive": list(PASSING), "feedback_names": _FEEDBACK_NAMES}
        return _NEGATIVE_FEEDBACK, params
    if name == "stratified":
        return _stratified(con, by if by is not None else "model")
    if ids is None:
        raise LensError("the 'selection' strategy samples the traces given as ids=[...]: pass them")
    return _RANKED.format(reason="'selected'", order="true", source=_SELECTED), {"ids": _trace_ids(ids)}


def _stratified(con: duckdb.DuckDBPyConnection, by: str) -> tuple[str, dict[str, Any]]:
    """The stratified strategy over ``by`` (see :func:`strata_query`)."""
    strata, params = strata_query(con, by)
    return _STRATIFIED.replace("{strata}", strata), {**params, "by": by}


def strata_query(con: duckdb.DuckDBPyConnection, by: str, verb: str = "stratify") -> tuple[str, dict[str, Any]]:
    """The query giving each eligible trace its group (``trace_id, _h, stratum``) for ``by``, and its parameters:
    a column of ``traces`` (quoted, after checking it is one) or ``attributes.<key>`` of the root span (its JSON
    path bound). Sampling stratifies by it and the summary groups by it (``verb`` names which, in errors).

    >>> import llmlens
    >>> strata_query(llmlens.open(":memory:").con, "attributes.app.version")[1]
    {'path': '$."app.version"'}
    """
    columns = [row[0] for row in con.execute("SELECT column_name FROM (DESCRIBE traces)").fetchall()]
    if not isinstance(by, str):
        raise LensError(f"by is a column name, not {by!r}")
    if by.startswith("attributes."):
        key = by.removeprefix("attributes.")
        if not _ATTRIBUTE_KEY.fullmatch(key):
            raise LensError(
                f"cannot {verb} by {by!r}: an attribute key is letters, digits and . _ - : / @ "
                "(e.g. attributes.app.version)"
            )
        return _ATTRIBUTE_STRATA, {"path": f'$."{key}"'}
    if by in columns:
        return _COLUMN_STRATA.format(column=f'"{by}"'), {}  # one of the table's own column names, checked above
    raise LensError(
        f"cannot {verb} by {by!r}: give a column of traces ({', '.join(columns)}) or attributes.<key> "
        "for an attribute of the root span (e.g. attributes.app.version)"
    )


def _trace_ids(ids: Sequence[str] | pd.Series | pd.DataFrame) -> list[str]:
    """The trace ids of a list, a Series or a DataFrame's ``trace_id`` column, as text."""
    if isinstance(ids, pd.DataFrame):
        if "trace_id" not in ids.columns:
            raise LensError(f"ids= as a DataFrame needs a trace_id column; it has {', '.join(map(str, ids.columns))}")
        ids = ids["trace_id"]
    if isinstance(ids, str):
        return [ids]
    return pd.Series(list(ids), dtype=object).dropna().astype(str).tolist()
