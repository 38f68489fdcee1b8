"""The Lens: one open store, queried with SQL and shown as a compact summary."""

from __future__ import annotations

import datetime as dt
import html
import os
import warnings
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import duckdb

from llmlens.background import stop_background
from llmlens.errors import LensError
from llmlens.query import Params, run
from llmlens.store import connect, current_version
from llmlens.store.connection import MEMORY

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import pandas as pd
    import plotly.graph_objects as go
    import pyarrow as pa

    from llmlens.analysis.checks import Check, Record
    from llmlens.analysis.summary import Summary
    from llmlens.collect import Collector
    from llmlens.loaders.report import LoadReport
    from llmlens.widgets import AgentGraph, EmbeddingMap, ReviewQueue, RunCharts, TokenView, TraceTable, TraceView


@dataclass(frozen=True)
class StoreInfo:
    """What a store holds: row counts per table, sources and rejects."""

    path: str
    read_only: bool
    schema_version: int
    tables: dict[str, int] = field(default_factory=dict)
    sources: int = 0
    rejects: int = 0

    def __str__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        lines = [f"llmlens store {self.path} ({mode}, schema v{self.schema_version})"]
        width = max((len(name) for name in self.tables), default=0)
        lines += [f"  {name:<{width}}  {rows:>12,}" for name, rows in self.tables.items()]
        lines.append(f"  {self.sources:,} sources loaded, {self.rejects:,} records rejected")
        return "\n".join(lines)


class Lens:
    """An open llmlens store. Make one with :func:`llmlens.open`.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> int(lens.sql("SELECT count(*) AS n FROM spans").n[0])
    0
    >>> lens.close()
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> None:
        self._con, self.path = connect(path, read_only=read_only)
        self.read_only = read_only
        self.closed = False
        self._collectors: list[Collector] = []
        self.checks: dict[str, Check] = {}
        """The checks registered with :meth:`check`, by name (what :meth:`run_checks` runs by default)."""
        global _current
        _current = self

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The underlying DuckDB connection, for anything the Lens does not wrap."""
        return self._con

    def sql(self, query: str, params: Params = None) -> pd.DataFrame:
        """Run ``query`` and return a pandas DataFrame; ``params`` are bound, never pasted into the text.

        Use ``?`` with a list, or ``$name`` with a dict.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     lens.sql("SELECT $who AS greeting", {"who": "O'Brien"}).greeting[0]
        "O'Brien"
        """
        return run(self._con, query, params, _to_pandas)

    def arrow(self, query: str, params: Params = None) -> pa.Table:
        """Run ``query`` and return a pyarrow Table (no pandas involved).

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     lens.arrow("SELECT 1 AS one").num_rows
        1
        """
        return run(self._con, query, params, _to_arrow)

    def load(
        self,
        *paths: str | os.PathLike[str],
        format: str | None = None,
        progress: bool = True,
        columns: Mapping[str, str] | None = None,
    ) -> LoadReport:
        """Load trace files (paths, globs or folders) into the store; see :func:`llmlens.loaders.load`.

        Formats are detected from content, not names; ``format=`` forces one. Each file loads in one
        transaction; records that cannot be used go to the ``rejects`` table, and the report says why.
        ``columns`` names the columns of a metric table where they are not the usual ones:
        ``lens.load("runs.csv", columns={"run": "experiment", "step": "iteration", "time": "ts"})``.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     lens.load("/no/such/traces.jsonl")
        Traceback (most recent call last):
        llmlens.loaders.files.LoadError: no file matches '/no/such/traces.jsonl'
        """
        from llmlens.loaders import load

        return load(self, *paths, format=format, progress=progress, columns=columns)

    def collect(
        self,
        port: int = 4318,
        *,
        host: str = "127.0.0.1",
        token: str | None = None,
        max_body_bytes: int = 64 * 1024 * 1024,
    ) -> Collector:
        """Receive OTLP/HTTP traces on ``http://host:port/v1/traces`` into this store, in the background.

        Point an app's exporter at it (``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318``): protobuf and
        JSON bodies, gzip or not, are accepted; spans are queryable within about a second. Bodies over
        ``max_body_bytes`` get 413; with ``token`` set, requests need ``Authorization: Bearer <token>``.
        ``port=0`` picks a free port. Stop it with ``.stop()``, which writes everything received;
        closing the Lens stops it too.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     collector = lens.collect(port=0)
        ...     collector.running
        True
        >>> collector.running
        False
        """
        from llmlens.collect import Collector

        collector = Collector(self, port=port, host=host, token=token, max_body_bytes=max_body_bytes)
        self._collectors.append(collector)
        return collector

    def tokens(self, span_id: str, trace_id: str | None = None) -> TokenView:
        """The token viewer for one LLM span: output (and prompt) tokens coloured by probability, entropy or rank,
        alternatives on hover, ``n``/``p`` to step through low-confidence tokens. A unique prefix of the span id
        (6+ hex digits) is enough; ``trace_id`` picks one when a span id is in several traces.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     lens.tokens("0123456789abcdef")
        Traceback (most recent call last):
        llmlens.errors.LensError: no span '0123456789abcdef' in the store
        """
        from llmlens.widgets import TokenView

        return TokenView.from_span(self, span_id, trace_id)

    def traces(
        self,
        where: str | None = None,
        search: str | None = None,
        *,
        sort: str = "start_time",
        descending: bool = True,
    ) -> TraceTable:
        """The trace table: every trace (time, root name, latency, tokens, cost, status, model, session, user,
        labels, checks, input, output), paged, sorted and searched by query so a million traces scroll smoothly.
        ``where`` is a SQL condition on the columns of ``traces`` (``"n_errors > 0"``), checked to be one read-only
        expression; ``search`` finds text in inputs, outputs, root names and ids. Select rows (``.selected`` is a
        DataFrame of them); Enter or a double-click opens a trace under the table.

        >>> import llmlens.demo
        >>> lens = llmlens.demo.open()
        >>> table = lens.traces(where="n_errors > 0")
        >>> table.count == len(lens.sql("SELECT * FROM traces WHERE n_errors > 0"))
        True
        """
        from llmlens.widgets import TraceTable

        return TraceTable(self._con, where=where, search=search, sort=sort, descending=descending)

    def trace(self, trace_id: str) -> TraceView:
        """One trace: the span tree beside a waterfall (critical path marked) and the selected span's detail:
        messages, tool calls, retrieved documents, tokens, attributes. A unique prefix of the id is enough.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     lens.trace("0123456789abcdef")
        Traceback (most recent call last):
        llmlens.errors.LensError: no trace '0123456789abcdef' in the store
        """
        from llmlens.widgets import TraceView

        return TraceView(self._con, trace_id)

    def session(self, session_id: str) -> TraceTable:
        """The traces of one session (a conversation), oldest first: each turn's input and output in the table,
        any turn opened under it with Enter or a double-click.

        >>> import llmlens.demo
        >>> lens = llmlens.demo.open()
        >>> session = lens.sql("SELECT session_id FROM traces GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").session_id[0]
        >>> turns = lens.session(session)
        >>> turns.count > 1, turns.descending
        (True, False)
        """
        from llmlens.widgets import TraceTable

        return TraceTable(self._con, session=session_id, sort="start_time", descending=False)

    def agents(self, where: str | None = None) -> AgentGraph:
        """The agent network over the traces ``where`` selects (SQL on the columns of ``traces``; default: all):
        which agent hands to which, how often, how slow and how often it fails, and the tools each calls. Loops of
        handoffs are drawn as cycles; ``.network`` holds the nodes and edges as DataFrames.

        >>> import llmlens.demo
        >>> graph = llmlens.demo.open().agents()
        >>> graph.network.edges.columns.tolist()
        ['kind', 'source', 'target', 'count', 'traces', 'mean_ms', 'failures']
        """
        from llmlens.widgets import AgentGraph

        return AgentGraph(self._con, where=where, title="agent network" + (f" where {where}" if where else ""))

    def map(
        self,
        where: str | None = None,
        *,
        model: str | None = None,
        color_by: str = "role",
        size_by: str = "",
        layout: str = "umap",
        seed: int = 0,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        diagnostics: bool = True,
        background: bool = True,
    ) -> EmbeddingMap:
        """The embedding map: the store's user queries against its chunks (never-retrieved chunks too), drawn by
        WebGL. Click a query for lines to what it retrieved (score, rank); lasso or box select, and ``.selected``
        is a DataFrame of the selection; colour by ``role``, ``score``, ``label``, ``check``, ``week``, ``model`` or
        ``cluster``, size by ``retrievals``. A PCA picture shows at once; UMAP (``layout="umap"``) replaces it from
        a background thread and is cached in the store, so the map re-opens instantly. The side panel lists
        coverage gaps, the dead corpus and clusters with their failure rate (``.diagnostics`` as DataFrames).
        ``where`` is SQL over the columns of ``traces`` picking the queries; ``model`` one embedding model.

        >>> import llmlens.demo
        >>> m = llmlens.demo.open().map(layout="pca", background=False)
        >>> m.n_points, sorted(m.diagnostics)
        (7000, ['clusters', 'dead', 'drift', 'failure_density', 'gaps'])
        """
        from llmlens.widgets import EmbeddingMap

        return EmbeddingMap.from_store(
            self._con,
            where,
            model=model,
            color_by=color_by,
            size_by=size_by,
            layout=layout,
            seed=seed,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            diagnostics=diagnostics,
            background=background,
        )

    def sample(
        self,
        n: int,
        strategy: str | Sequence[str] | Mapping[str, int] = "random",
        *,
        where: str | None = None,
        seed: int = 0,
        by: str | None = None,
        ids: Sequence[str] | pd.Series | pd.DataFrame | None = None,
        skip_reviewed: bool = True,
        queue: str | None = None,
    ) -> pd.DataFrame:
        """At most ``n`` traces to review, as rows of ``traces`` with a ``reason`` column, the same for the same
        store and ``seed``. ``strategy`` is one of ``random``, ``stratified`` (round-robin over the values of ``by``:
        a traces column such as ``model`` (the default), ``user_id``, ``root_name``, or ``attributes.<key>`` of the
        root span, e.g. ``attributes.app.version``), ``newest``, ``failing_checks``, ``low_retrieval``, ``slowest``,
        ``costliest``, ``negative_feedback``, ``low_confidence`` or ``selection`` (of the trace ids ``ids``, e.g. from
        the embedding map); or a mix: a list (n split evenly) or a dict of counts (``{"failing_checks": 5,
        "random": 15}``), filled in order without picking a trace twice. ``where`` is SQL over the columns of
        ``traces``. Traces with a judgement in any review queue are skipped unless ``skip_reviewed=False``; with
        ``queue``, the items of that queue are skipped too. Hand the result to :meth:`review`. See
        :mod:`llmlens.analysis.sampling`.

        >>> import llmlens.demo
        >>> lens = llmlens.demo.open()
        >>> picked = lens.sample(4, ["slowest", "negative_feedback"], where="model = 'gpt-4o'", seed=1)
        >>> picked.reason.tolist(), set(picked.model)
        (['slowest', 'slowest', 'thumbs_down', 'thumbs_down'], {'gpt-4o'})
        """
        from llmlens.analysis.sampling import sample

        return sample(
            self._con,
            n,
            strategy,
            where=where,
            seed=seed,
            by=by,
            ids=ids,
            skip_reviewed=skip_reviewed,
            queue=queue,
        )

    def runs(self, where: str | None = None, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """A table of runs: status, start, duration, last step, the last and best value of ``metrics`` (keys or
        globs; default: the losses and accuracies most runs logged) and only the params that differ between them.
        ``where`` is a SQL condition on the run columns (``"status = 'failed'"``), checked to be one read-only
        expression.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     _ = lens.sql("INSERT INTO runs (run_id, name, status) VALUES ('a', 'base', 'finished')")
        ...     _ = lens.sql("INSERT INTO metrics (run_id, key, step, value) "
        ...                  "VALUES ('a', 'loss', 0, 2), ('a', 'loss', 1, 1)")
        ...     lens.runs()[["name", "status", "loss last", "loss best"]].values.tolist()
        [['base', 'finished', 1.0, 1.0]]
        """
        from llmlens.analysis.run_table import run_table

        return run_table(self._con, where=where, metrics=metrics)

    def params_diff(self, runs: Sequence[str] | None = None) -> pd.DataFrame:
        """The params that differ between ``runs`` (ids or names; default all), one row per param, one column per
        run.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     _ = lens.sql("INSERT INTO params (run_id, key, value) VALUES ('a', 'lr', '0.1'), ('b', 'lr', '0.2'), "
        ...                  "('a', 'seed', '1'), ('b', 'seed', '1')")
        ...     lens.params_diff().to_dict("index")
        {'lr': {'a': '0.1', 'b': '0.2'}}
        """
        from llmlens.analysis.run_table import params_diff

        return params_diff(self._con, runs)

    def parallel_coordinates(
        self, metric: str | None = None, runs: Sequence[str] | None = None, params: Sequence[str] | None = None
    ) -> go.Figure:
        """Params (those that differ, or ``params``) against the final value of ``metric``, one line per run.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     _ = lens.sql("INSERT INTO params (run_id, key, value) VALUES ('a', 'lr', '0.1'), ('b', 'lr', '0.2')")
        ...     _ = lens.sql("INSERT INTO metrics (run_id, key, step, value) "
        ...                  "VALUES ('a', 'loss', 0, 2), ('b', 'loss', 0, 1)")
        ...     [d.label for d in lens.parallel_coordinates("loss").data[0].dimensions]
        ['lr', 'loss']
        """
        from llmlens.analysis.run_table import parallel_coordinates

        return parallel_coordinates(self._con, runs, metric=metric, params=params)

    def anomalies(self, runs: Sequence[str] | None = None, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """What went wrong in training runs, one row per finding: NaN/inf values, loss spikes (a robust score of the
        residual from the recent trend), stalls (gaps in wall time: a crash, a preemption), restarts (the step going
        back) and straggler GPUs (one device persistently below its peers). ``runs`` are ids or names, ``metrics``
        keys or globs (for NaN and spikes).

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     _ = lens.sql("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r', 'loss', i, "
        ...                  "CASE WHEN i >= 90 THEN 'nan'::DOUBLE ELSE 1 END, i FROM range(100) t(i)")
        ...     lens.anomalies()[["run_id", "key", "kind", "step"]].values.tolist()
        [['r', 'loss', 'non_finite', 90]]
        """
        from llmlens.analysis.anomalies import anomalies
        from llmlens.analysis.run_names import run_ids

        ids = run_ids(self._con, runs) if runs is not None else None
        return anomalies(self._con, runs=ids, keys=list(metrics) if metrics is not None else None)

    def compare(
        self,
        metrics: str | Sequence[str] | None = None,
        runs: Sequence[str] | None = None,
        *,
        x: str = "step",
        smoothing: str = "none",
        weight: float = 0.6,
        group_by: str = "",
        band: str = "std",
        log_y: bool = False,
    ) -> RunCharts:
        """Charts of ``metrics`` (keys or globs such as ``loss*``, ``grad_norm/layer_*``; default: every key with
        ``loss`` in its name) across ``runs`` (ids or names; default: all that logged them), one chart per key.

        Every bucket keeps its lowest, highest and last value, so no spike is sampled away; dragging across a chart
        zooms all of them and re-queries the range at full resolution. ``x`` is ``step``, ``wall_time``,
        ``relative`` or another metric (``tokens_seen``); ``smoothing`` is ``none``, ``ema`` (TensorBoard's
        debiased EMA) or ``twema`` (W&B's time-weighted EMA) with ``weight``; ``group_by`` a param, to draw one
        band per value of it: mean ± std, or with ``band="range"`` the lowest to highest run. NaN/inf, spikes,
        stalls and restarts are marked on the charts.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     _ = lens.sql("INSERT INTO metrics (run_id, key, step, value, seq) "
        ...                  "SELECT 'r', 'train/loss', i, 1 / (i + 1), i FROM range(1000) t(i)")
        ...     lens.compare("train/*").metrics
        ['train/loss']
        """
        from llmlens.widgets import RunCharts

        options = {"x": x, "smoothing": smoothing, "weight": weight, "group_by": group_by, "band": band}
        return RunCharts(self._con, metrics, runs, log_y=log_y, **options)

    def heatmap(self, metrics: str, run: str, *, buckets: int = 200) -> go.Figure:
        """Many keys of one run as a heatmap, key by step (``grad_norm/layer_*`` to see how layers evolve,
        ``system/gpu.*.utilization`` to see a straggler GPU); ``run`` is an id or a unique name.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     _ = lens.sql("INSERT INTO metrics (run_id, key, step, value) SELECT 'r', 'layer_' || (i % 4), i // 4, "
        ...                  "i % 4 FROM range(400) t(i)")
        ...     lens.heatmap("layer_*", "r").data[0].y
        ('layer_0', 'layer_1', 'layer_2', 'layer_3')
        """
        from llmlens.analysis.buckets import key_heatmap
        from llmlens.analysis.run_names import resolve_run
        from llmlens.widgets.figures import heatmap_figure

        run_id = resolve_run(self._con, run)
        table = key_heatmap(self._con, metrics, run_id, buckets=buckets)
        if not table.num_rows:
            raise LensError(f"run {run!r} logged no finite value of a metric matching {metrics!r}")
        return heatmap_figure(table, title=f"{metrics} · {run}", metric=metrics)

    def check(
        self,
        function: Callable[[Record], bool | None] | None = None,
        *,
        name: str | None = None,
        on: str = "trace",
        kind: str | None = None,
        sql: str | None = None,
    ) -> Any:
        """Register a binary check (pass/fail) to run with :meth:`run_checks`: as a decorator on a function of a
        trace (``on="trace"``) or span (``on="span"``, only spans of ``kind`` such as ``"LLM"`` when given) that
        returns True (pass), False (fail) or None (not applicable), or as a SQL expression over the columns of
        ``traces`` or ``spans`` (``sql="json_valid(output_text)"``), which runs inside DuckDB. The record has every
        column as an attribute and ``documents``, the texts retrieved in it. A check registered again under the
        same name replaces the earlier one. Returns the function (so it stays callable), or the SQL check.

        >>> import llmlens.demo
        >>> lens = llmlens.demo.open()
        >>> @lens.check
        ... def short_answer(trace):
        ...     return len(trace.output_text or "") < 400
        >>> @lens.check(on="span", kind="LLM")
        ... def no_refusal(span):
        ...     return "I can't help" not in (span.output_text or "")
        >>> _ = lens.check(sql="n_errors = 0", name="no_errors")
        >>> sorted(lens.checks)
        ['no_errors', 'no_refusal', 'short_answer']
        """
        from llmlens.analysis.checks import make_check

        if function is None and sql is None:  # @lens.check(on=..., kind=...): the decorator itself
            return lambda f: self.check(f, name=name, on=on, kind=kind)
        made = make_check(function, name=name, on=on, kind=kind, sql=sql)
        self.checks[made.name] = made
        return function if function is not None else made

    def run_checks(
        self, names: Sequence[str] | None = None, *, where: str | None = None, progress: bool = True
    ) -> pd.DataFrame:
        """Run the registered checks (all, or ``names``) over every trace ``where`` selects (SQL over the columns of
        ``traces``; default: all) with a progress bar, and store the answers as annotations of kind ``check``
        carrying the hash of the check's code (the ``checks`` table keeps the code of each hash); earlier results
        of a check on the same targets are replaced. Returns per check: how many asked, passed, failed, raised,
        skipped, the pass rate and the seconds taken.

        >>> import llmlens
        >>> lens = llmlens.open(":memory:")
        >>> _ = lens.con.execute("INSERT INTO traces (trace_id, n_errors) VALUES ('t1', 0), ('t2', 3)")
        >>> _ = lens.check(sql="n_errors = 0", name="no_errors")
        >>> lens.run_checks(progress=False)[["check", "asked", "passed", "failed"]].to_dict("records")
        [{'check': 'no_errors', 'asked': 2, 'passed': 1, 'failed': 1}]
        """
        from llmlens.analysis.checks import run_checks

        if not self.checks:
            raise LensError("no checks registered: add one with @lens.check or lens.check(sql=..., name=...)")
        unknown = sorted(set(names or ()) - set(self.checks))
        if unknown:
            raise LensError(f"no check named {', '.join(map(repr, unknown))}; registered: {', '.join(self.checks)}")
        if self.read_only:
            raise LensError("this store is open read-only: open it writable to store check results")
        chosen = [self.checks[n] for n in names] if names is not None else list(self.checks.values())
        return run_checks(self._con, chosen, where=where, progress=progress)

    def check_agreement(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """How far each check agrees with human reviewers, trace by trace (precision and recall of its failures
        against theirs, agreement, Cohen's kappa): which checks can be trusted. See
        :func:`llmlens.analysis.checks.check_agreement`.

        >>> import llmlens.demo
        >>> lens = llmlens.demo.open()
        >>> lens.check_agreement().columns.tolist()[:4]
        ['check', 'compared', 'both_fail', 'check_only']
        """
        from llmlens.analysis.checks import check_agreement

        return check_agreement(self._con, names)

    def review(
        self,
        sample_or_n: int | pd.DataFrame | Sequence[str] = 20,
        name: str | None = None,
        reviewer: str | None = None,
    ) -> ReviewQueue:
        """A review queue to step through by keyboard, each item shown with the trace explorer: j / k next and
        previous, p pass, f fail, 1-9 the team's tags, t a new tag, n a note, u undo. Every judgement is written to
        ``annotations`` at once (with the reviewer, the time and the queue), so nothing is lost to a crash and the
        queue resumes at the first item the reviewer has not judged.

        ``sample_or_n`` is a DataFrame with a ``trace_id`` column (from :meth:`sample`; its ``reason`` column says
        why each was picked), a list of trace ids, or a number: the queue then holds at least that many items,
        topped up with the newest traces not reviewed yet. ``name`` defaults to this ISO week (``2026-W47``) and
        ``reviewer`` to the user's login; opening the same name again resumes the stored queue (items are added only
        if new). Two reviewers can label the same queue one after the other; :meth:`ReviewQueue.agreement` gives
        Cohen's kappa per tag.

        >>> import llmlens
        >>> lens = llmlens.open(":memory:")
        >>> _ = lens.sql("INSERT INTO traces (trace_id, start_time) VALUES ('t1', now()), ('t2', now())")
        >>> queue = lens.review(2, name="2026-W47", reviewer="ana")
        >>> queue.judge("pass")
        >>> lens.review(name="2026-W47", reviewer="ana").position
        1
        """
        import getpass

        from llmlens.analysis.review import fill_queue, week_name
        from llmlens.widgets import ReviewQueue

        if self.read_only:
            raise LensError("this store is open read-only: open it writable to keep a review queue's judgements")
        queue = name or week_name()
        fill_queue(self._con, queue, sample_or_n)
        return ReviewQueue(self._con, queue, reviewer or getpass.getuser())

    def summary(
        self,
        queue: str | None = None,
        *,
        since: str | dt.date | dt.datetime | None = None,
        until: str | dt.date | dt.datetime | None = None,
        by: str = "model",
    ) -> Summary:
        """Pass rates of a review queue (by name) or of the traces that started from ``since`` to ``until``: per
        verdict, tag and check, by ISO week and by ``by`` (a column of ``traces``, or ``attributes.<key>`` of the root
        span such as ``attributes.app.version``), the change from the week before, and the top failure tags with
        example trace ids to open with :meth:`trace`. Each reviewer's latest verdict counts once; a trace fails a
        check when it or any of its spans failed it. ``.fig_pass_rates`` and ``.fig_weekly`` are plotly charts. See
        :mod:`llmlens.analysis.summary`.

        >>> import llmlens
        >>> lens = llmlens.open(":memory:")
        >>> _ = lens.sql("INSERT INTO traces (trace_id, start_time) VALUES ('t1', now()), ('t2', now())")
        >>> queue = lens.review(2, name="2026-W47", reviewer="ana")
        >>> queue.judge("fail", tags=["stale source"]); queue.judge("pass")
        >>> lens.summary("2026-W47").pass_rates[["kind", "name", "pass_rate"]].values.tolist()
        [['verdict', 'review', 0.5], ['tag', 'stale source', 0.5]]
        """
        from llmlens.analysis.summary import summary

        return summary(self._con, queue, since=since, until=until, by=by)

    def export_evals(
        self,
        path: str | os.PathLike[str],
        where: str | None = None,
        *,
        queue: str | None = None,
        format: str = "jsonl",
    ) -> int:
        """Write the labelled failures (traces a reviewer failed or tagged) among those ``where`` selects (SQL over
        the columns of ``traces``), judged in ``queue`` (default: any), to ``path``: input, output, the expected answer
        or the reviewers' notes, tags, trace id and reviewers; ``format="jsonl"`` one JSON object per line,
        ``format="inspect"`` Inspect AI samples (``inspect_ai.dataset.json_dataset(path)`` reads them). Returns how
        many were written. See :mod:`llmlens.analysis.export_evals`.

        >>> import llmlens, tempfile, pathlib
        >>> lens = llmlens.open(":memory:")
        >>> _ = lens.sql("INSERT INTO traces (trace_id, start_time) VALUES ('t1', now()), ('t2', now())")
        >>> lens.review(2, name="q", reviewer="ana").judge("fail", note="wrong policy")
        >>> lens.export_evals(pathlib.Path(tempfile.mkdtemp()) / "evals.jsonl", queue="q")
        1
        """
        from llmlens.analysis.export_evals import export_evals

        return export_evals(self._con, path, where, queue=queue, format=format)

    @property
    def collectors(self) -> list[Collector]:
        """The OTLP receivers started on this Lens that are still running."""
        return [collector for collector in self._collectors if collector.running]

    def tables(self) -> dict[str, int]:
        """Row count of every llmlens table and view, by name.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     lens.tables()["spans"]
        0
        """
        names = [
            row[0]
            for row in self._con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                "AND table_name NOT LIKE 'llmlens\\_%' ESCAPE '\\' ORDER BY table_name"
            ).fetchall()
        ]
        counts: dict[str, int] = {}
        for name in names:
            row = self._con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0]
            counts[name] = int(row[0]) if row else 0
        return counts

    def info(self) -> StoreInfo:
        """A summary of the store: path, mode, schema version, rows per table, sources and rejects.

        >>> import llmlens
        >>> with llmlens.open(":memory:") as lens:
        ...     lens.info().sources
        0
        """
        tables = self.tables()
        return StoreInfo(
            path=self.path,
            read_only=self.read_only,
            schema_version=current_version(self._con) or 0,
            tables=tables,
            sources=tables.get("sources", 0),
            rejects=tables.get("rejects", 0),
        )

    def close(self) -> None:
        """Close the store, releasing its lock so other processes can open it.

        >>> import llmlens
        >>> lens = llmlens.open(":memory:")
        >>> lens.close()
        >>> lens.closed
        True
        """
        for collector in self._collectors:
            collector.stop()
        stop_background(self._con)
        self._con.close()
        self.closed = True

    def __enter__(self) -> Lens:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Lens {self.path} (closed)>" if self.closed else str(self.info())

    def _repr_html_(self) -> str:
        if self.closed:
            return f"<code>&lt;Lens {html.escape(self.path)} (closed)&gt;</code>"
        info = self.info()
        mode = "read-only" if info.read_only else "read-write"
        where = "in memory" if info.path == MEMORY else html.escape(info.path)
        cells = (
            "".join(
                f"<tr><td><code>{html.escape(name)}</code></td><td style='text-align:right'>{rows:,}</td></tr>"
                for name, rows in info.tables.items()
                if rows
            )
            or "<tr><td colspan='2'><i>no rows yet</i></td></tr>"
        )
        return (
            f"<div class='llmlens-summary'><b>llmlens</b> store <code>{where}</code> "
            f"({mode}, schema v{info.schema_version})"
            f"<table>{cells}</table>"
            f"{info.sources:,} sources loaded, {info.rejects:,} records rejected</div>"
        )


_current: Lens | None = None


def current_lens() -> Lens | None:
    """The Lens opened last in this process, if it is still open; the ``%lens`` magics use it.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> current_lens() is lens
    True
    """
    return _current if _current is not None and not _current.closed else None


def _to_pandas(relation: duckdb.DuckDBPyRelation | None) -> pd.DataFrame:
    import pandas as pd

    if relation is None:
        return pd.DataFrame()
    with warnings.catch_warnings():
        # DuckDB's own conversion of time zones trips a pandas deprecation notice the user cannot act on.
        warnings.filterwarnings("ignore", message="The inplace keyword", category=FutureWarning)
        warnings.filterwarnings("ignore", message="The inplace keyword", category=DeprecationWarning)
        frame: pd.DataFrame = relation.df()
    return frame


def _to_arrow(relation: duckdb.DuckDBPyRelation | None) -> pa.Table:
    import pyarrow as pa

    return pa.table({}) if relation is None else relation.to_arrow_table()
