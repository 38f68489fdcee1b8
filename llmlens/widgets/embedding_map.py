"""The embedding map widget: user queries against the retrieved corpus, drawn by WebGL from binary traits; a thin
class over :mod:`llmlens.analysis.embedding_map` (points, layouts, diagnostics) and
:mod:`llmlens.widgets.map_data` (colours, sizes, point cards, search, selection)."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import anywidget.experimental
import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
import traitlets

from llmlens.analysis.embedding_map import (
    LayoutKey,
    MapPoints,
    browser_table,
    cached_layout,
    clusters,
    coverage_gaps,
    dead_corpus,
    drift,
    failure_density,
    first_layout,
    from_frames,
    is_cached,
    layout_key,
    map_points,
    recent_windows,
    store_layout,
    store_layout_key,
    trace_verdicts,
    umap_layout,
)
from llmlens.errors import LensError
from llmlens.widgets.base import Widget
from llmlens.widgets.map_data import (
    COLOR_OPTIONS,
    SIZE_OPTIONS,
    coloring,
    links_ipc,
    point_attributes,
    point_info,
    search_points,
    selected_points,
    size_codes,
    texts_ipc,
    trace_values,
)
from llmlens.widgets.token_data import ipc_bytes

LAYOUTS = ("umap", "pca")
"""``umap``: the PCA picture at once, replaced by UMAP (computed in the background, or read from the cache);
``pca``: the PCA picture only."""

PANEL_ITEMS = 30
"""Gaps and clusters listed in the widget's diagnostics panel (all of them are in :attr:`EmbeddingMap.diagnostics`)."""

TICK_S = 1.0
"""While UMAP runs, the status line's seconds are brought up to date this often."""


class EmbeddingMap(Widget):
    """User queries against the chunks of the corpus, on one map: a query is drawn next to what it is about, so
    topics nobody's corpus covers (coverage gaps), chunks never retrieved (dead corpus) and clusters where answers
    fail stand out. Click a query for lines to the chunks it retrieved (score and rank), a chunk for the queries
    that retrieved it; lasso (L, or shift-drag) or box (B) to select, and ``.selected`` is a DataFrame of the
    selection; colour by role, score, label, check, week, model or cluster; search highlights texts.

    The first picture is PCA (instant); UMAP then replaces it from a background thread (``wait()`` blocks until
    it is there), and a store keeps it so the next opening is instant. Make one with :meth:`llmlens.Lens.map`,
    :meth:`from_store` or :meth:`from_frames`.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> m = EmbeddingMap.from_frames(rng.normal(size=(5, 8)), rng.normal(size=(20, 8)), layout="pca")
    >>> m.n_points, m.layout_method
    (25, 'pca')
    >>> m.selection = [0, 7]
    >>> m.selected[["embedding_id", "role"]].to_dict("records")
    [{'embedding_id': 0, 'role': 'query'}, {'embedding_id': 7, 'role': 'never-retrieved chunk'}]
    """

    _bundle_name = "map"

    title = traitlets.Unicode("").tag(sync=True)
    _points = traitlets.Bytes(b"").tag(sync=True)
    _colors = traitlets.Bytes(b"").tag(sync=True)
    _legend: traitlets.List[Any] = traitlets.List().tag(sync=True)
    color_by = traitlets.Unicode("role", help="what the points are coloured by").tag(sync=True)
    _color_options: traitlets.List[str] = traitlets.List().tag(sync=True)
    _sizes = traitlets.Bytes(b"").tag(sync=True)
    size_by = traitlets.Unicode("", help="what the points are sized by ('' for one size)").tag(sync=True)
    _size_options: traitlets.List[str] = traitlets.List(list(SIZE_OPTIONS)).tag(sync=True)
    _selection = traitlets.Bytes(b"").tag(sync=True, from_json=lambda value, widget: bytes(value))  # a memoryview
    selection: traitlets.List[int] = traitlets.List(traitlets.Int(), help="the embedding ids selected")
    search = traitlets.Unicode("", help="text highlighted in the map").tag(sync=True)
    _matches = traitlets.Bytes(b"").tag(sync=True)
    focus = traitlets.Int(-1, help="the point clicked (its retrieval lines are drawn), -1 for none").tag(sync=True)
    _status: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    _diagnostics: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    _roles = traitlets.Bytes(b"").tag(sync=True)
    _clusters = traitlets.Bytes(b"").tag(sync=True)
    _texts = traitlets.Bytes(b"").tag(sync=True)  # filled only in an exported page
    _links = traitlets.Bytes(b"").tag(sync=True)  # filled only in an exported page
    _color_sets: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)  # filled only in an exported page

    def __init__(
        self,
        points: MapPoints,
        *,
        con: duckdb.DuckDBPyConnection | None = None,
        key: LayoutKey | None = None,
        load_vectors: Callable[[duckdb.DuckDBPyConnection], MapPoints] | None = None,
        xy: npt.ArrayLike | None = None,
        layout: str = "umap",
        seed: int = 0,
        n_neighbors: int = 15,
        min_dist: float = 0.1,
        color_by: str = "role",
        size_by: str = "",
        diagnostics: bool = True,
        background: bool = True,
        title: str = "",
    ) -> None:
        if layout not in LAYOUTS:
            raise LensError(f"layout={layout!r}: use one of {', '.join(LAYOUTS)}")
        self.points = points
        self._con = con
        self._vector_loader = load_vectors
        self._diagnose = diagnostics
        self._seed, self._n_neighbors, self._min_dist = seed, n_neighbors, min_dist
        self._key = key or layout_key(points.ids, points.vectors, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist)
        cached = None
        if xy is None and con is not None and layout == "umap":
            cached = cached_layout(con, self._key, points.ids)
        if xy is None and cached is None:
            self._load_vectors(con)  # the PCA picture needs them
            if con is not None and layout == "umap" and len(self.points) != len(points):
                cached = cached_layout(con, self._key, self.points.ids)  # cached without the points left out
        self._attributes = point_attributes(self.points, con)
        self._attributes_lock = threading.Lock()
        self._found: dict[str, pd.DataFrame] = {}
        self._syncing = False
        self._worker: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._done = ""
        super().__init__(
            title=title or f"{len(self.points):,} points",
            _color_options=[option for option in COLOR_OPTIONS if option != "cluster"],
            _roles=self.points.role_codes.tobytes(),
            color_by=color_by,
            size_by=size_by,
        )
        if not self._legend:  # the default colouring: no change for the observer to see
            self._recolor({"new": color_by})
        if xy is not None:
            self._show(np.asarray(xy, np.float32), "given")
        elif cached is not None:
            self._show(cached, "cached umap")
        else:
            self._show(first_layout(self.points.vectors, seed=seed), "pca")
        umap = self.layout_method == "pca" and layout == "umap"
        if umap or diagnostics:
            self._start(umap=umap, diagnostics=diagnostics, background=background)

    # --- making one -------------------------------------------------------------------------------------------

    @classmethod
    def from_store(
        cls, con: duckdb.DuckDBPyConnection, where: str | None = None, *, model: str | None = None, **options: Any
    ) -> EmbeddingMap:
        """The map of the store's query and chunk embeddings (``where``: SQL on ``traces`` picking the queries;
        ``model``: one embedding model), its UMAP layout cached in the store.

        >>> import llmlens.demo
        >>> m = EmbeddingMap.from_store(llmlens.demo.open().con, "n_errors > 0", layout="pca", diagnostics=False)
        >>> m.layout_method, int(m.points.is_query.sum()) < 2000
        ('pca', True)
        """
        key, ids, _ = store_layout_key(
            con,
            where,
            model=model,
            seed=options.get("seed", 0),
            n_neighbors=options.get("n_neighbors", 15),
            min_dist=options.get("min_dist", 0.1),
        )
        if len(ids) == 0:
            raise LensError("no embeddings to map" + (f" where {where}" if where else "") + ": load traces with some")
        cached = options.get("layout", "umap") == "umap" and is_cached(con, key)
        points = map_points(con, where, model=model, vectors=not cached)  # a cached layout needs no vectors yet
        options.setdefault("title", f"embedding map{f' where {where}' if where else ''}: {len(points):,} points")
        return cls(
            points,
            con=con,
            key=key,
            load_vectors=lambda cursor: map_points(cursor, where, model=model),
            **options,
        )

    @classmethod
    def from_frames(
        cls,
        queries: pd.DataFrame | npt.ArrayLike,
        chunks: pd.DataFrame | npt.ArrayLike,
        retrievals: pd.DataFrame | None = None,
        **options: Any,
    ) -> EmbeddingMap:
        """A map of data not in the store: ``queries`` and ``chunks`` as arrays of vectors or DataFrames with a
        ``vector`` column (and ``text``, ``trace_id``, ``document_id``, ``time``, ``label`` or any metadata);
        ``retrievals`` with ``query`` and ``chunk`` row numbers (and ``score``, ``rank``). See
        :func:`llmlens.analysis.embedding_map.from_frames`.

        >>> import numpy as np
        >>> m = EmbeddingMap.from_frames(np.eye(3), np.eye(3), pd.DataFrame({"query": [0], "chunk": [2]}), layout="pca")
        >>> m.points.frame.role.tolist()[3:]
        ['never-retrieved chunk', 'never-retrieved chunk', 'retrieved chunk']
        """
        return cls(from_frames(queries, chunks, retrievals), **options)

    # --- what it shows ----------------------------------------------------------------------------------------

    @property
    def n_points(self) -> int:
        """How many points the map holds."""
        return len(self.points)

    @property
    def layout_method(self) -> str:
        """How the coordinates shown were made: ``pca``, ``umap``, ``cached umap`` or ``given``."""
        return str(self._status.get("layout", ""))

    @property
    def xy(self) -> npt.NDArray[np.float32]:
        """The coordinates shown, float32 (n, 2)."""
        return self._xy.copy()

    @property
    def selected(self) -> pd.DataFrame:
        """The selected points with their text, metadata, place, retrieval score and count, label, check, trace
        model, week and cluster: ready for ``lens.sample(strategy="selection", ids=...)`` or to label."""
        return selected_points(self.points, self._attributes, self._xy, self._selected_rows())

    @property
    def diagnostics(self) -> dict[str, pd.DataFrame]:
        """The diagnostics as DataFrames (``gaps``, ``dead``, ``clusters``, ``failure_density`` and, when the queries
        have times, ``drift`` between the two recent windows of :func:`~llmlens.analysis.embedding_map.
        recent_windows`; see
        :mod:`llmlens.analysis.embedding_diagnostics`), waiting for the background work to finish; empty for a
        map made with ``diagnostics=False``."""
        self.wait()
        return dict(self._found)

    def wait(self, timeout: float | None = None) -> EmbeddingMap:
        """Block until the background layout and diagnostics are done (re-raising what failed there)."""
        if self._worker is not None:
            self._worker.join(timeout)
            if self._worker.is_alive():
                raise TimeoutError(f"the map's layout is still running after {timeout} s")
        if self._failure is not None:
            raise LensError(f"the map's background work failed: {self._failure}") from self._failure
        return self

    # --- the browser's state ----------------------------------------------------------------------------------

    def _show(self, xy: npt.NDArray[np.float32], method: str, progress: float | None = None, message: str = "") -> None:
        if xy.shape != (len(self.points), 2):
            raise LensError(f"xy must have shape ({len(self.points)}, 2), not {xy.shape}")
        self._xy = np.ascontiguousarray(xy, np.float32)
        self._points = ipc_bytes(browser_table(self._xy))
        self._status = {"layout": method, "progress": progress, "message": message}

    def _report(self, message: str, progress: float | None) -> None:
        self._status = {**self._status, "progress": progress, "message": message}

    @traitlets.observe("color_by")
    def _recolor(self, change: dict[str, Any]) -> None:
        by = change["new"]
        if by == "cluster" and "cluster" not in self._attributes:
            if not self._diagnose:
                raise LensError("colouring by cluster needs the diagnostics: make the map with diagnostics=True")
            by = "role"  # until the clusters are found: the diagnostics colour by them then
        known = by in COLOR_OPTIONS or by in self._attributes or by in self.points.frame
        if not known and self._con is not None:  # a column of traces or attributes.<key>, read once
            self._add_attribute(by, trace_values(self._con, self.points, by))
        try:
            found = coloring(self.points, self._attributes, by)
        except ValueError as error:
            raise LensError(str(error)) from None
        if by not in self._color_options:
            self._color_options = [*self._color_options, by]
        self._colors = found.codes.tobytes()
        self._legend = found.legend

    @traitlets.observe("size_by")
    def _resize(self, change: dict[str, Any]) -> None:
        try:
            self._sizes = size_codes(self._attributes, change["new"]).tobytes()
        except ValueError as error:
            raise LensError(str(error)) from None

    @traitlets.observe("search")
    def _find(self, change: dict[str, Any]) -> None:
        self._matches = search_points(self.points, change["new"]).tobytes()

    @traitlets.observe("_selection")
    def _selection_from_browser(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        rows = self._selected_rows()
        with self._sync():
            self.selection = self.points.ids[rows].tolist()

    @traitlets.observe("selection")
    def _selection_from_python(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        wanted = np.asarray(change["new"], np.int64)
        rows = np.flatnonzero(np.isin(self.points.ids, wanted)).astype(np.int32)
        missing = len(np.unique(wanted)) - len(rows)
        if missing > 0:
            raise LensError(f"{missing} of the selected ids are not points of this map")
        with self._sync():
            self._selection = rows.tobytes()

    @contextlib.contextmanager
    def _sync(self) -> Any:
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    def _selected_rows(self) -> npt.NDArray[np.int64]:
        rows = np.frombuffer(self._selection, np.int32).astype(np.int64)
        return np.unique(rows[(rows >= 0) & (rows < len(self.points))])

    @anywidget.experimental.command
    def point_info(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """A point's card for the browser: role, text, metadata and retrieval neighbours."""
        return point_info(self.points, self._attributes, int(msg.get("point", -1))), []

    def exported_state(self) -> dict[str, Any]:
        """The state for a kernel-free page: with every text (cut), the links and every colouring embedded, so
        hover, click, search and colour-by work without a kernel."""
        state = super().exported_state()
        state["_texts"] = texts_ipc(self.points)
        state["_links"] = links_ipc(self.points)
        sets = {}
        for option in self._color_options:
            found = coloring(self.points, self._attributes, option)
            sets[option] = {"legend": found.legend, "codes_b64": base64.b64encode(found.codes.tobytes()).decode()}
        state["_color_sets"] = sets
        return state

    # --- the background work ----------------------------------------------------------------------------------

    def _start(self, *, umap: bool, diagnostics: bool, background: bool) -> None:
        cursor = self._con.cursor() if self._con is not None else None

        def work() -> None:
            try:
                if umap:
                    self._compute_layout(cursor)
                if diagnostics:
                    self._compute_diagnostics(cursor)
            except BaseException as error:  # reported in the widget and re-raised by wait()
                self._failure = error
                self._report(f"failed: {error}", None)
            finally:
                if cursor is not None:
                    with contextlib.suppress(duckdb.Error):
                        cursor.close()

        if background:
            self._worker = threading.Thread(target=work, name="llmlens-map", daemon=True)
            self._worker.start()
        else:
            work()
            self.wait()

    def _add_attribute(self, name: str, values: Any) -> None:
        """Add a column to the attributes as a new frame, never in place (the other thread, kernel or worker, may be
        reading the old one), under a lock (so that neither thread's column is lost)."""
        with self._attributes_lock:
            self._attributes = self._attributes.assign(**{name: values})

    def _compute_layout(self, cursor: duckdb.DuckDBPyConnection | None) -> None:
        started = time.perf_counter()
        stage: list[Any] = ["starting", 0.0]
        done = threading.Event()

        def report() -> None:
            self._report(f"UMAP: {stage[0]} · {time.perf_counter() - started:.0f} s", stage[1])

        def progress(name: str, fraction: float) -> None:
            stage[:] = [name, min(fraction, 0.99)]
            report()

        def tick() -> None:  # umap-learn reports nothing during its fit: the seconds show it is alive
            while not done.wait(TICK_S):
                report()

        report()
        ticker = threading.Thread(target=tick, name="llmlens-map-progress", daemon=True)
        ticker.start()
        try:
            xy = umap_layout(
                self.points.vectors,
                self._seed,
                self._n_neighbors,
                self._min_dist,
                keep=self.points.keep,
                init=self._xy,
                progress=progress,
            )
        finally:
            done.set()
            ticker.join()
        seconds = time.perf_counter() - started
        self._done = f"UMAP in {seconds:.1f} s"
        self._show(xy, "umap", message=self._done)
        if cursor is not None:
            with contextlib.suppress(LensError):  # a read-only store: shown, just not kept
                store_layout(cursor, self._key, self.points.ids, xy, seconds=seconds)

    def _load_vectors(self, con: duckdb.DuckDBPyConnection | None) -> None:
        """Read the vectors a map opened without them left in the store (diagnostics and layouts need them).
        Before the map is shown, the point set read with them replaces it whole: vectors with NaN or infinities
        leave their points out."""
        if self.points.vectors.shape[1] or not len(self.points) or self._vector_loader is None or con is None:
            return
        loaded = self._vector_loader(con)
        same = len(loaded) == len(self.points) and np.array_equal(loaded.ids, self.points.ids)
        if not same and hasattr(self, "_xy"):
            raise LensError("the store's embeddings changed since the map was opened: open the map again")
        self.points = dataclasses.replace(self.points, vectors=loaded.vectors) if same else loaded

    def _compute_diagnostics(self, cursor: duckdb.DuckDBPyConnection | None) -> None:
        self._load_vectors(cursor)
        self._diagnostics = {**self._diagnostics, "computing": True}
        self._report("diagnostics: coverage gaps", self._status.get("progress"))
        gaps = coverage_gaps(self.points)
        dead = dead_corpus(self.points, nearest_query=False)
        self._report("diagnostics: clusters", self._status.get("progress"))
        found = clusters(self.points, seed=self._seed)
        labels = np.asarray(found.attrs["labels"], np.int64)
        verdicts = trace_verdicts(cursor) if cursor is not None else _frame_verdicts(self.points, self._attributes)
        density = failure_density(verdicts, self.points, found)
        self._found = {"gaps": gaps, "dead": dead, "clusters": found, "failure_density": density}
        windows = recent_windows(self.points.frame["time"][self.points.is_query])
        if windows is not None:
            self._found["drift"] = drift(self.points, *windows, found)
        self._add_attribute("cluster", labels)
        self._clusters = np.clip(labels + 1, 0, 255).astype(np.uint8).tobytes()
        self._color_options = [*self._color_options, "cluster"]
        self._diagnostics = _panel(self._found, windows)
        summary = f"{len(found)} clusters, {len(gaps)} queries in coverage gaps, {len(dead):,} chunks never retrieved"
        self._report("; ".join(part for part in (self._done, summary) if part), None)
        if self.color_by == "cluster":
            self._recolor({"new": "cluster"})


def _frame_verdicts(points: MapPoints, attributes: pd.DataFrame) -> pd.DataFrame:
    """(trace_id, bad) from the labels of a map made from frames."""
    frame = pd.DataFrame({"trace_id": points.frame["trace_id"], "label": attributes["label"]}).dropna()
    return pd.DataFrame({"trace_id": frame["trace_id"], "bad": frame["label"] == "failed"})


def _panel(found: dict[str, pd.DataFrame], windows: Any) -> dict[str, Any]:
    """The diagnostics as the widget's side panel lists them: gaps (each with its group's size and terms),
    the dead corpus, clusters that fail most first, and the clusters whose share of queries moved most."""
    gaps, found_clusters, density = found["gaps"], found["clusters"], found["failure_density"]
    rate = dict(zip(density["cluster"], density["failure_density"], strict=True)) if len(density) else {}
    terms = dict(zip(found_clusters["cluster"], found_clusters["terms"], strict=True))
    gap_rows: list[dict[Any, Any]] = gaps.head(PANEL_ITEMS).to_dict("records")
    cluster_rows: list[dict[Any, Any]] = found_clusters.to_dict("records")
    cluster_rows.sort(key=lambda row: -np.nan_to_num(rate.get(row["cluster"], np.nan), nan=-1.0))
    panel: dict[str, Any] = {
        "computing": False,
        "gaps": [
            {
                "point": int(row["point"]),
                "text": str(row["text"] or "")[:160],
                "similarity": round(float(row["nearest_similarity"]), 3),
                "gap": int(row["gap"]),
                "gap_size": int(row["gap_size"]),
                "terms": list(row["gap_terms"]),
            }
            for row in gap_rows
        ],
        "threshold": gaps.attrs.get("threshold"),
        "dead": {"count": len(found["dead"])},
        "clusters": [
            {
                "code": min(int(row["cluster"]) + 1, 255),
                "size": int(row["size"]),
                "terms": list(row["terms"]),
                "failure_rate": _rounded(rate.get(row["cluster"])),
            }
            for row in cluster_rows[:PANEL_ITEMS]
        ],
    }
    if "drift" in found:
        moved = found["drift"].dropna(subset=["cluster"])
        moved = moved.reindex(moved["share_change"].abs().sort_values(ascending=False).index).head(5)
        (a_start, a_end), (b_start, b_end) = windows
        panel["drift"] = {
            "windows": [_span(a_start, a_end), _span(b_start, b_end)],
            "clusters": [
                {
                    "code": min(int(row["cluster"]) + 1, 255),
                    "n_a": int(row["n_a"]),
                    "n_b": int(row["n_b"]),
                    "share_change": _rounded(row["share_change"]),
                    "terms": list(terms.get(int(row["cluster"]), [])),
                }
                for row in moved.to_dict("records")
            ],
        }
    return panel


def _span(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """A window as the panel names it: its dates (to the minute when it is shorter than two days)."""
    form = "%Y-%m-%d" if end - start >= pd.Timedelta(days=2) else "%m-%d %H:%M"
    return f"{start.strftime(form)} – {end.strftime(form)}"


def _rounded(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 3)
