"""The weekly summary of reviews and checks: pass rates per verdict, tag and check, by ISO week and by model (or
prompt version, or any column of ``traces``), the change from week to week, and the tags that fail most, with
example traces to open with ``lens.trace(id)``.

How the numbers are made (every figure can be checked against ``annotations`` with the SQL below):

- **Human verdicts** (``name = 'review'``, label ``pass`` / ``fail``): each reviewer's latest verdict on each trace
  counts once, so a trace two reviewers judged counts twice, and a reviewer who changed their mind counts once, as
  they stand now. A trace's pass rate is therefore the share of reviewer verdicts that passed it: two reviewers who
  disagree give it 50 %. This keeps every judgement visible (a majority vote would hide disagreement, which
  :func:`llmlens.analysis.review.queue_agreement` reports).
- **Tags** (``name = 'tag'``, score 1 on / 0 off): over the same reviewer verdicts, the share on which the reviewer
  did *not* have the tag on (the tag marks a failure mode, so its pass rate is 1 - how often it was seen).
- **Checks** (``annotator_kind = 'check'``): the latest result of each check on each trace or span; a trace fails a
  check when the trace or any of its spans failed it, passes when something passed and nothing failed, and is left
  out when the check only raised (``error``) on it (as :func:`llmlens.analysis.checks.check_agreement` reads them).

The week is the ISO week (``2026-W47``) of the trace's ``start_time`` (when the behaviour happened, not when it was
judged), in the session's time zone; ``since`` (inclusive) and ``until`` (exclusive) select traces by the same time.
With ``queue``, only that queue's judgements count, and only its items' check results.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from llmlens.analysis.sampling import strata_query
from llmlens.errors import LensError

if TYPE_CHECKING:
    import plotly.graph_objects as go

KINDS = ("verdict", "tag", "check")
"""What is rated, in the order shown: the reviewers' verdicts, their tags, the checks."""

TOP_TAGS = 10
"""Failure tags listed in :attr:`Summary.top_failures`."""

EXAMPLES = 3
"""Example trace ids per failure tag."""

Time = str | dt.date | dt.datetime | None

_LATEST_HUMAN = """
human AS (  -- each reviewer's latest verdict and latest row of each tag on each trace
    SELECT annotator, target_id AS trace_id, name, label, score, queue, annotation_id
    FROM annotations
    WHERE annotator_kind = 'human' AND target_kind = 'trace' AND target_id IS NOT NULL AND annotator IS NOT NULL
      AND (name = 'tag' OR (name = 'review' AND label IN ('pass', 'fail')))
      AND ($queue IS NULL OR queue = $queue)
    QUALIFY row_number() OVER (
        PARTITION BY annotator, target_id, name, CASE WHEN name = 'tag' THEN label END
        ORDER BY annotation_id DESC) = 1
), verdicts AS (
    SELECT annotator, trace_id, label = 'fail' AS failed FROM human WHERE name = 'review'
)"""

_OBSERVATIONS = (
    "WITH"
    + _LATEST_HUMAN
    + """, tag_names AS (
    SELECT DISTINCT label AS tag FROM human WHERE name = 'tag' AND label IS NOT NULL
), tagged AS (  -- every tag on every reviewer verdict: failed when the reviewer has the tag on
    SELECT v.annotator, v.trace_id, n.tag, coalesce(h.score > 0, false) AS failed
    FROM verdicts v CROSS JOIN tag_names n
    LEFT JOIN human h ON h.name = 'tag' AND h.annotator = v.annotator AND h.trace_id = v.trace_id AND h.label = n.tag
), check_latest AS (  -- each check's latest result on each target
    SELECT name, target_kind, target_id, label FROM annotations
    WHERE annotator_kind = 'check' AND target_kind IN ('trace', 'span') AND label IN ('pass', 'fail', 'error')
    QUALIFY row_number() OVER (PARTITION BY name, target_kind, target_id ORDER BY annotation_id DESC) = 1
), check_traces AS (  -- a trace fails a check when it or any of its spans failed it
    SELECT c.name, coalesce(s.trace_id, c.target_id) AS trace_id, bool_or(c.label = 'fail') AS failed
    FROM check_latest c LEFT JOIN spans s ON c.target_kind = 'span' AND s.span_id = c.target_id
    GROUP BY ALL HAVING bool_or(c.label IN ('pass', 'fail'))
), observations AS (
    SELECT 'verdict' AS kind, 'review' AS name, trace_id, annotator, failed FROM verdicts
    UNION ALL SELECT 'tag', tag, trace_id, annotator, failed FROM tagged
    UNION ALL SELECT 'check', name, trace_id, NULL, failed FROM check_traces
), eligible AS (
    SELECT *, 0 AS _h FROM traces
), strata AS (
{strata}
)
SELECT o.kind, o.name, o.trace_id, o.annotator, o.failed,
       strftime(t.start_time, '%G-W%V') AS week, g.stratum AS "group"
FROM observations o JOIN traces t USING (trace_id) LEFT JOIN strata g USING (trace_id)
WHERE ($queue IS NULL OR o.trace_id IN (SELECT trace_id FROM review_items WHERE queue = $queue))
  AND ($since IS NULL OR t.start_time >= CAST($since AS TIMESTAMPTZ))
  AND ($until IS NULL OR t.start_time < CAST($until AS TIMESTAMPTZ))
"""
)

_RATE = (
    "count(*)::BIGINT AS n, count(*) FILTER (WHERE NOT failed)::BIGINT AS passed, "
    "count(*) FILTER (WHERE failed)::BIGINT AS failed, "
    "count(*) FILTER (WHERE NOT failed) / count(*) AS pass_rate, count(DISTINCT trace_id)::BIGINT AS traces"
)
_KIND_ORDER = "CASE kind WHEN 'verdict' THEN 0 WHEN 'tag' THEN 1 ELSE 2 END"

_PASS_RATES = f"SELECT kind, name, {_RATE} FROM obs GROUP BY kind, name ORDER BY {_KIND_ORDER}, name"
_BY_GROUP = (
    f'SELECT kind, name, "group", {_RATE} FROM obs GROUP BY kind, name, "group" '
    f'ORDER BY {_KIND_ORDER}, name, "group" NULLS LAST'
)
_BY_WEEK = f"""
SELECT *, pass_rate - lag(pass_rate) OVER (PARTITION BY kind, name ORDER BY week) AS change
FROM (SELECT kind, name, week, {_RATE} FROM obs WHERE week IS NOT NULL GROUP BY kind, name, week)
ORDER BY {_KIND_ORDER}, name, week
"""
_WEEK_OVER_WEEK = f"""
SELECT kind, name, week, previous_week, pass_rate, previous_rate, pass_rate - previous_rate AS change, n
FROM (
    SELECT kind, name, week, n, pass_rate,
           lag(week) OVER (PARTITION BY kind, name ORDER BY week) AS previous_week,
           lag(pass_rate) OVER (PARTITION BY kind, name ORDER BY week) AS previous_rate
    FROM (SELECT kind, name, week, {_RATE} FROM obs WHERE week IS NOT NULL GROUP BY kind, name, week)
)
QUALIFY row_number() OVER (PARTITION BY kind, name ORDER BY week DESC) = 1
ORDER BY {_KIND_ORDER}, name
"""
_TOP_FAILURES = """
SELECT name AS tag, count(DISTINCT trace_id)::BIGINT AS traces, count(*)::BIGINT AS marks,
       count(*) / (SELECT count(*) FROM obs WHERE kind = 'verdict') AS share,
       list_sort(list_distinct(list(trace_id)))[1:$examples] AS example_trace_ids
FROM obs WHERE kind = 'tag' AND failed
GROUP BY name ORDER BY traces DESC, marks DESC, name LIMIT $top
"""


@dataclass
class Summary:
    """Pass rates of a queue or a period, as tables and charts; shown in a notebook as the headline numbers and
    the tables. Rates are shares of 1 (0.75 is 75 %); ``change`` is in the same unit (-0.25: 25 points down).

    - ``pass_rates``: ``kind`` (verdict, tag, check), ``name``, ``n`` (observations: reviewer verdicts, or traces
      for checks), ``passed``, ``failed``, ``pass_rate``, ``traces``;
    - ``by_week``: the same per ISO ``week``, with ``change`` from the week before that has results;
    - ``by_group``: the same per value of ``by`` (``group``);
    - ``week_over_week``: per kind and name, the latest ``week`` and its ``pass_rate`` against ``previous_week``
      and ``previous_rate``, and the ``change``;
    - ``top_failures``: the tags most often on, ``tag, traces, marks`` (reviewer verdicts it was on), ``share`` (of
      all reviewer verdicts) and ``example_trace_ids`` (open one with ``lens.trace(id)``);
    - ``fig_pass_rates`` (pass rate per verdict, tag and check, one bar per group) and ``fig_weekly`` (pass rates
      by week), plotly figures.
    """

    scope: str
    by: str
    pass_rates: pd.DataFrame
    by_week: pd.DataFrame
    by_group: pd.DataFrame
    week_over_week: pd.DataFrame
    top_failures: pd.DataFrame
    fig_pass_rates: go.Figure
    fig_weekly: go.Figure

    def headline(self) -> dict[str, Any]:
        """The numbers at the top: traces judged, reviewer verdicts, the human pass rate and its change from the
        week before, the checks' lowest pass rate.

        >>> import llmlens
        >>> summary(llmlens.open(":memory:").con).headline()["verdicts"]
        0
        """
        rates = self.pass_rates
        verdict = rates[rates.kind == "verdict"]
        wow = self.week_over_week[self.week_over_week.kind == "verdict"]
        checks = rates[rates.kind == "check"]
        return {
            "traces": int(verdict.traces.sum()) if len(verdict) else 0,
            "verdicts": int(verdict.n.sum()) if len(verdict) else 0,
            "pass_rate": float(verdict.pass_rate.iloc[0]) if len(verdict) else None,
            "week": None if wow.empty else wow.week.iloc[0],
            "change": None if wow.empty or pd.isna(wow.change.iloc[0]) else float(wow.change.iloc[0]),
            "worst_check": None if checks.empty else str(checks.sort_values("pass_rate").name.iloc[0]),
        }

    def __repr__(self) -> str:
        head = self.headline()
        rate = "no verdicts" if head["pass_rate"] is None else f"{head['pass_rate']:.0%} passed"
        return f"<Summary of {self.scope} by {self.by}: {head['verdicts']} reviewer verdicts, {rate}>"

    def _repr_html_(self) -> str:
        head = self.headline()
        rate = "–" if head["pass_rate"] is None else f"{head['pass_rate']:.0%}"
        change = ""
        if head["change"] is not None:
            change = f" ({head['change'] * 100:+.0f} points in {html.escape(str(head['week']))})"
        parts = [
            f"<div class='llmlens-summary'><b>Review summary</b> of {html.escape(self.scope)}, by "
            f"<code>{html.escape(self.by)}</code>: {head['traces']:,} traces judged, {head['verdicts']:,} "
            f"reviewer verdicts, <b>{rate}</b> passed{change}.",
            _table("Pass rates", self.pass_rates),
            _table("Week over week", self.week_over_week),
            _table("Top failure tags (open an example with lens.trace(id))", self.top_failures),
            _table(f"By {self.by}", self.by_group),
            "</div>",
        ]
        return "".join(parts)


def summary(
    con: duckdb.DuckDBPyConnection,
    queue: str | None = None,
    *,
    since: Time = None,
    until: Time = None,
    by: str = "model",
) -> Summary:
    """Pass rates of the reviews and checks of ``queue`` (a review queue's name; default: every judgement) on the
    traces that started from ``since`` (inclusive) to ``until`` (exclusive), per verdict, tag and check, by ISO
    week and by ``by``: a column of ``traces`` (``model``, ``service_name``, ``root_name``, ...) or
    ``attributes.<key>`` of the root span (e.g. ``attributes.app.version`` for a prompt version). See the module's
    docstring for how each rate is counted.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id, start_time, model) VALUES "
    ...     "('t1', '2026-11-10', 'a'), ('t2', '2026-11-17', 'a'), ('t3', '2026-11-18', 'b')")
    >>> _ = lens.con.execute("INSERT INTO annotations (target_kind, target_id, name, label, score, annotator, "
    ...     "annotator_kind, queue) VALUES ('trace', 't1', 'review', 'pass', 1, 'ana', 'human', 'q'), "
    ...     "('trace', 't2', 'review', 'fail', 0, 'ana', 'human', 'q'), ('trace', 't3', 'review', 'pass', 1, 'ana', "
    ...     "'human', 'q'), ('trace', 't2', 'tag', 'stale source', 1, 'ana', 'human', 'q')")
    >>> result = summary(lens.con)
    >>> result.by_week[["name", "week", "pass_rate", "change"]].values.tolist()[:2]
    [['review', '2026-W46', 1.0, nan], ['review', '2026-W47', 0.5, -0.5]]
    >>> result.top_failures[["tag", "traces", "example_trace_ids"]].values.tolist()
    [['stale source', 1, ['t2']]]
    """
    params: dict[str, Any] = {"queue": queue, "since": _time(since, "since"), "until": _time(until, "until")}
    strata, extra = strata_query(con, by, verb="group")
    query = _OBSERVATIONS.replace("{strata}", strata)
    try:
        observations = con.sql(query, params={**params, **extra}).to_arrow_table()
    except duckdb.Error as error:
        raise LensError(f"could not summarise the reviews: {error}") from error
    cursor = con.cursor()
    try:
        cursor.register("obs", observations)
        frames = {
            name: cursor.execute(sql, {"examples": EXAMPLES, "top": TOP_TAGS} if "$top" in sql else None).df()
            for name, sql in [
                ("pass_rates", _PASS_RATES),
                ("by_week", _BY_WEEK),
                ("by_group", _BY_GROUP),
                ("week_over_week", _WEEK_OVER_WEEK),
                ("top_failures", _TOP_FAILURES),
            ]
        }
    finally:
        cursor.close()
    frames["top_failures"]["example_trace_ids"] = frames["top_failures"]["example_trace_ids"].map(list)
    if queue is not None:
        scope = f"queue {queue}"
    elif since is not None or until is not None:
        scope = f"traces from {since or 'the start'} to {until or 'now'}"
    else:
        scope = "every review"
    return Summary(
        scope=scope,
        by=by,
        fig_pass_rates=pass_rate_figure(frames["by_group"], by),
        fig_weekly=weekly_figure(frames["by_week"]),
        **frames,
    )


def pass_rate_figure(by_group: pd.DataFrame, by: str = "group") -> go.Figure:
    """Pass rate per verdict, tag and check (``kind: name``), one bar per value of ``by``, from
    :attr:`Summary.by_group`.

    >>> frame = pd.DataFrame({"kind": ["verdict"], "name": ["review"], "group": ["a"], "n": [4], "pass_rate": [0.75]})
    >>> pass_rate_figure(frame, "model").data[0].y
    (0.75,)
    """
    import plotly.graph_objects as go

    figure = go.Figure()
    for group, rows in by_group.groupby(by_group["group"].fillna("(none)"), sort=True):
        labels = (rows["kind"] + ": " + rows["name"]).tolist()
        figure.add_bar(
            x=labels,
            y=rows["pass_rate"].tolist(),
            name=str(group),
            customdata=rows["n"].tolist(),
            hovertemplate="%{x}<br>pass rate %{y:.0%} of %{customdata}<extra>%{fullData.name}</extra>",
        )
    figure.update_layout(
        title=f"Pass rate by {by}", barmode="group", yaxis={"tickformat": ".0%", "range": [0, 1]}, legend_title=by
    )
    return figure


def weekly_figure(by_week: pd.DataFrame) -> go.Figure:
    """Pass rate per ISO week, one line per verdict, tag and check, from :attr:`Summary.by_week`.

    >>> frame = pd.DataFrame({"kind": ["verdict"] * 2, "name": ["review"] * 2, "week": ["2026-W46", "2026-W47"],
    ...                       "n": [2, 2], "pass_rate": [1.0, 0.5]})
    >>> weekly_figure(frame).data[0].name
    'verdict: review'
    """
    import plotly.graph_objects as go

    figure = go.Figure()
    for (kind, name), rows in by_week.groupby(["kind", "name"], sort=False):
        figure.add_scatter(
            x=rows["week"].tolist(),
            y=rows["pass_rate"].tolist(),
            mode="lines+markers",
            name=f"{kind}: {name}",
            customdata=rows["n"].tolist(),
            hovertemplate="%{x}: %{y:.0%} of %{customdata}<extra>%{fullData.name}</extra>",
        )
    figure.update_layout(
        title="Pass rate by ISO week", xaxis={"type": "category"}, yaxis={"tickformat": ".0%", "range": [0, 1]}
    )
    return figure


def _time(value: Time, name: str) -> str | None:
    """A bound for the period as ISO text (DuckDB casts it), or None."""
    if value is None:
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise LensError(f"{name} is a date, a datetime or ISO text such as '2026-11-16', not {value!r}")


def _cell(value: Any) -> str:
    """One table cell as escaped text: rates as percentages, lists joined."""
    if isinstance(value, list | tuple):
        return ", ".join(html.escape(str(v)) for v in value)
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return html.escape(f"{value:.3g}")
    return html.escape(str(value))


def _table(title: str, frame: pd.DataFrame) -> str:
    """A small HTML table of ``frame`` with every value escaped (trace content is user data)."""
    if frame.empty:
        return f"<p><b>{html.escape(title)}</b>: <i>nothing yet</i></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<p><b>{html.escape(title)}</b></p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
