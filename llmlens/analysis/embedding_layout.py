"""2-D layouts of the embedding map: an instant PCA picture, a UMAP that replaces it, and a cache in the store.

The PCA layout fits its two axes on a sample of at most 20,000 rows and projects every row with one matrix
product, so it is instant at 100,000 points. Above ``sample_threshold`` points UMAP is fitted on a sample that
keeps every point of ``keep`` (every query and every retrieved chunk) plus a random sample of the rest, and the
rest is placed with ``transform``; it starts from the PCA layout (no spectral initialisation) and is reproducible
from its seed. Layouts are cached in ``embedding_layouts``, keyed by the vector set, the method, its parameters
and the seed; coordinates are one float32 BLOB per layout, so re-opening 100,000 points reads ~1.6 MB.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from llmlens.errors import LensError
from llmlens.query import holds

Progress = Callable[[str, float], None]
"""Called as ``progress(stage, fraction_done)``; stages: sample, fit, transform, done."""

PCA_FIT_ROWS = 20_000
"""The PCA layout's axes are fitted on at most this many rows (a random sample), then every row is projected."""


def first_layout(vectors: npt.ArrayLike, *, seed: int = 0) -> npt.NDArray[np.float32]:
    """An instant 2-D layout: the vectors (scaled to unit length) on their two principal axes, as float32 (n, 2).

    The axes come from the covariance of at most :data:`PCA_FIT_ROWS` rows (numpy only: no import to wait for).

    >>> xy = first_layout(np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]]))
    >>> xy.shape, xy.dtype
    ((4, 2), dtype('float32'))
    """
    data = np.asarray(vectors, np.float32)
    n = len(data)
    if n < 3 or data.ndim != 2 or data.shape[1] < 2:
        return np.zeros((n, 2), np.float32)
    rng = np.random.default_rng(seed)
    fit_rows = _unit(data if n <= PCA_FIT_ROWS else data[np.sort(rng.choice(n, PCA_FIT_ROWS, replace=False))])
    mean = fit_rows.mean(axis=0, dtype=np.float64)
    centred = fit_rows - mean.astype(np.float32)
    axes = _top_axes((centred.T @ centred).astype(np.float64), rng)
    axes *= np.sign(axes[np.abs(axes).argmax(axis=0), [0, 1]])  # a fixed sign: the same picture every time
    # (x / |x| - mean) @ axes, without a normalised copy of every vector
    norms = np.sqrt(np.einsum("ij,ij->i", data, data))[:, None]
    xy = (data @ axes.astype(np.float32)) / np.maximum(norms, 1e-12) - (mean @ axes).astype(np.float32)
    return np.ascontiguousarray(xy, np.float32)


def umap_layout(
    vectors: npt.ArrayLike,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    *,
    sample_threshold: int = 20_000,
    keep: npt.ArrayLike | None = None,
    rest_fraction: float = 0.1,
    n_epochs: int | None = None,
    init: npt.ArrayLike | None = None,
    fast_transform: bool = True,
    fast_knn: bool = True,
    progress: Progress | None = None,
) -> npt.NDArray[np.float32]:
    """The UMAP layout (cosine metric), float32 (n, 2), reproducible from ``seed``.

    Up to ``sample_threshold`` points, UMAP is fitted on all of them. Above it, UMAP is fitted on every point of
    ``keep`` (a boolean mask, e.g. :attr:`MapPoints.keep`: the queries and retrieved chunks) plus a random sample
    of the others (``rest_fraction`` of them, and at least enough to reach ``sample_threshold``), and the others
    are placed with ``transform``. The layout starts from ``init`` (default: :func:`first_layout`), which saves
    the spectral initialisation; ``n_epochs`` defaults to 200 up to 10,000 fitted points, then 100.

    ``transform`` is umap-learn's, step by step, except its nearest-neighbour search: with ``fast_transform`` the
    neighbours of the other points among the fitted ones are found by blocked matrix products (candidates on 64
    principal axes, re-ranked by their exact cosine distance), because umap-learn's search index spent longer on
    them than on the whole fit (117 s against 41 s at 48,000 onto 52,000 points). ``fast_transform=False`` calls
    ``UMAP.transform`` itself. With ``fast_knn`` (above 4,096 fitted points) the fit's own neighbour graph is found
    the same way and given to UMAP as ``precomputed_knn``, in place of its NN-descent (which then builds no search
    index, so the placement of the others always takes the fast path).

    >>> rng = np.random.default_rng(0)
    >>> vectors = np.concatenate([rng.normal(size=(30, 8)) + 5, rng.normal(size=(30, 8)) - 5])
    >>> xy = umap_layout(vectors, n_neighbors=5, sample_threshold=40, keep=np.arange(60) < 20)
    >>> xy.shape, bool(np.isfinite(xy).all())
    ((60, 2), True)
    """
    import umap

    data = np.asarray(vectors, np.float32)
    n = len(data)
    report = progress or (lambda stage, fraction: None)
    if n <= max(n_neighbors, 3):
        report("done", 1.0)
        return first_layout(data, seed=seed)
    start = np.asarray(init, np.float32) if init is not None else first_layout(data, seed=seed)
    report("sample", 0.0)
    fitted = _fit_rows(n, sample_threshold, keep, rest_fraction, seed)
    epochs = n_epochs if n_epochs is not None else (200 if len(fitted) <= 10_000 else 100)
    k = min(n_neighbors, len(fitted) - 1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        warnings.filterwarnings("ignore", category=UserWarning, module="umap")
        knn: tuple[Any, Any, Any] = (None, None, None)
        if fast_knn and len(fitted) > 4_096:
            report("neighbours", 0.02)
            indices, dists = _neighbours(data[fitted], data[fitted], k, seed)
            knn = (indices, dists, None)
        model = umap.UMAP(
            n_neighbors=k,
            min_dist=min_dist,
            metric="cosine",
            n_epochs=epochs,
            init=_spread(start[fitted]),
            random_state=seed,
            low_memory=True,
            precomputed_knn=knn,
        )
        report("fit", 0.05)
        fitted_xy = model.fit_transform(data[fitted])
        xy = np.empty((n, 2), np.float32)
        xy[fitted] = fitted_xy
        if len(fitted) < n:
            report("transform", len(fitted) / n)
            rest = np.setdiff1d(np.arange(n), fitted, assume_unique=True)
            if fast_transform or knn[0] is not None:
                xy[rest] = _transform(model, data[fitted], data[rest], seed)
            else:
                xy[rest] = model.transform(data[rest])
    report("done", 1.0)
    return xy


def _transform(
    model: Any, fitted: npt.NDArray[np.float32], rest: npt.NDArray[np.float32], seed: int
) -> npt.NDArray[np.float32]:
    """``model.transform(rest)`` with exact neighbours found by :func:`_neighbours` instead of the search index:
    the same membership graph, starting positions and optimisation epochs as umap-learn 0.5 (falls back to
    ``model.transform`` when its internals differ)."""
    try:
        import scipy.sparse
        from sklearn.utils import check_random_state
        from umap.layouts import optimize_layout_euclidean
        from umap.umap_ import (
            INT32_MAX,
            INT32_MIN,
            compute_membership_strengths,
            init_graph_transform,
            make_epochs_per_sample,
            smooth_knn_dist,
        )

        k = int(model._n_neighbors)
        indices, dists = _neighbours(rest, fitted, k, seed)
        rng_state = check_random_state(model.transform_seed).randint(INT32_MIN, INT32_MAX, 3).astype(np.int64)
        indices[dists >= model._disconnection_distance] = -1
        sigmas, rhos = smooth_knn_dist(dists, float(k), local_connectivity=max(0.0, model.local_connectivity - 1.0))
        rows, cols, vals, _ = compute_membership_strengths(indices, dists, sigmas, rhos, bipartite=True)
        graph = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(len(rest), len(fitted)))
        csr = graph.tocsr()
        csr.eliminate_zeros()
        embedding = init_graph_transform(csr, model.embedding_)
        n_epochs = int(model.n_epochs // 3.0) if model.n_epochs is not None else 30
        graph.data[graph.data < (graph.data.max() / float(n_epochs))] = 0.0
        graph.eliminate_zeros()
        placed = optimize_layout_euclidean(
            embedding, model.embedding_.astype(np.float32, copy=True), graph.row, graph.col, n_epochs,
            graph.shape[1], make_epochs_per_sample(graph.data, n_epochs), model._a, model._b, rng_state,
            model.repulsion_strength, model._initial_alpha / 4.0, model.negative_sample_rate, False,
        )  # fmt: skip
    except (ImportError, AttributeError, TypeError):  # another umap-learn: its own (slower) transform
        placed = model.transform(rest)
    return np.asarray(placed, np.float32)


def _neighbours(
    queries: npt.NDArray[np.float32], base: npt.NDArray[np.float32], k: int, seed: int, *, dims: int = 64
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """The ``k`` rows of ``base`` nearest (cosine distance) to each row of ``queries``, nearest first: candidates
    by dot products on ``dims`` principal axes, in blocks, then re-ranked by the exact cosine distance."""
    q, b = _unit(queries), _unit(base)
    k = min(k, len(b))
    candidates = min(len(b), max(4 * k, k + 32))
    if b.shape[1] > dims:
        rng = np.random.default_rng(seed)
        sample = b if len(b) <= PCA_FIT_ROWS else b[rng.choice(len(b), PCA_FIT_ROWS, replace=False)]
        _, vecs = np.linalg.eigh((sample.T @ sample).astype(np.float64))
        axes = np.ascontiguousarray(vecs[:, ::-1][:, :dims], np.float32)
        q_small, b_small = q @ axes, b @ axes
    else:
        q_small, b_small = q, b
    indices = np.empty((len(q), k), np.int32)
    dists = np.empty((len(q), k), np.float32)
    if len(b) > IVF_ABOVE:
        for rows, pool in _cell_groups(q_small, b_small, seed):
            _rank((q, b, q_small, b_small), rows, pool, k=k, candidates=candidates, out=(indices, dists))
        return indices, dists
    block = max(1, 2**24 // max(len(b), 1))
    everything = np.arange(len(b), dtype=np.int64)
    for start in range(0, len(q), block):
        rows = np.arange(start, min(start + block, len(q)))
        _rank((q, b, q_small, b_small), rows, everything, k=k, candidates=candidates, out=(indices, dists))
    return indices, dists


IVF_ABOVE = 16_384
"""Above this many base rows, :func:`_neighbours` compares each query only with the rows of the cells (k-means
on the reduced vectors) nearest to it, instead of with every row."""


def _rank(
    space: tuple[npt.NDArray[np.float32], ...],
    rows: npt.NDArray[np.int64],
    pool: npt.NDArray[np.int64],
    *,
    k: int,
    candidates: int,
    out: tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]],
) -> None:
    """Fill ``out`` (indices, distances) of query ``rows`` with their ``k`` nearest among base rows ``pool``;
    ``space`` is (queries, base, queries reduced, base reduced), all unit length."""
    q, b, q_small, b_small = space
    indices, dists = out
    similarity = q_small[rows] @ b_small[pool].T
    if candidates < len(pool):
        picked = pool[_top_k()(similarity, candidates)]
    else:
        picked = np.broadcast_to(pool, (len(rows), len(pool)))
    exact = np.matmul(b[picked], q[rows, :, None])[:, :, 0]
    kept = min(k, exact.shape[1])
    order = np.argsort(-exact, axis=1)[:, :kept]
    indices[rows] = -1
    dists[rows] = np.inf
    indices[rows, :kept] = np.take_along_axis(picked, order, axis=1)
    dists[rows, :kept] = np.maximum(1.0 - np.take_along_axis(exact, order, axis=1), 0.0)


def _cell_groups(
    q_small: npt.NDArray[np.float32], b_small: npt.NDArray[np.float32], seed: int, *, probe: int = 8
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Queries grouped by their nearest cell, each group with the base rows of every cell among the ``probe``
    nearest cells of any of its queries. Cells: a few rounds of k-means (sqrt(n) centres) on the base rows."""
    rng = np.random.default_rng(seed)
    n_cells = max(2, int(np.sqrt(len(b_small))))
    centres = b_small[rng.choice(len(b_small), n_cells, replace=False)].copy()

    def nearest_cells(points: npt.NDArray[np.float32], how_many: int) -> npt.NDArray[np.int64]:
        score = points @ centres.T - 0.5 * np.einsum("ij,ij->i", centres, centres)
        if how_many == 1:
            return np.asarray(score.argmax(axis=1)[:, None], np.int64)
        return np.asarray(np.argpartition(-score, how_many - 1, axis=1)[:, :how_many], np.int64)

    for _ in range(6):
        cell = nearest_cells(b_small, 1)[:, 0]
        counts = np.bincount(cell, minlength=n_cells)
        sums = np.zeros_like(centres)
        np.add.at(sums, cell, b_small)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    cell = nearest_cells(b_small, 1)[:, 0]
    order = np.argsort(cell, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(cell, minlength=n_cells))])
    members = [order[bounds[c] : bounds[c + 1]] for c in range(n_cells)]
    probes = nearest_cells(q_small, min(probe, n_cells))
    first = nearest_cells(q_small, 1)[:, 0]
    groups = []
    for c in np.unique(first):
        rows = np.flatnonzero(first == c)
        cells = np.unique(probes[rows])
        groups.append((rows, np.concatenate([members[int(x)] for x in cells]).astype(np.int64)))
    return groups


_TOP_K: Any = None


def _top_k() -> Any:
    """A compiled kernel: the column indices of the ``k`` largest values of each row (in no order). numpy's
    ``argpartition`` takes ~40x longer on rows of 50,000 similarities."""
    global _TOP_K
    if _TOP_K is None:
        import numba

        @numba.njit(cache=True)
        def top_k(values: Any, k: int) -> Any:  # pragma: no cover (compiled)
            rows, columns = values.shape
            out = np.empty((rows, k), np.int32)
            for i in range(rows):
                best = np.full(k, -np.inf, np.float32)
                where = np.zeros(k, np.int32)
                low, low_value = 0, -np.inf
                for j in range(columns):
                    value = values[i, j]
                    if value > low_value:
                        best[low] = value
                        where[low] = j
                        low, low_value = 0, best[0]
                        for t in range(1, k):
                            if best[t] < low_value:
                                low, low_value = t, best[t]
                out[i] = where
            return out

        _TOP_K = top_k
    return _TOP_K


def _top_axes(gram: npt.NDArray[np.float64], rng: np.random.Generator, iterations: int = 12) -> npt.NDArray[np.float64]:
    """The two leading eigenvectors of a symmetric matrix (as columns), by block power iteration (a full
    ``eigh`` of a 384 x 384 matrix can take a second on a busy machine; this takes milliseconds)."""
    block = np.linalg.qr(rng.normal(size=(gram.shape[0], min(8, gram.shape[0]))))[0]
    for _ in range(iterations):
        block = np.linalg.qr(gram @ block)[0]
    _, small = np.linalg.eigh(block.T @ gram @ block)
    axes: npt.NDArray[np.float64] = block @ small[:, ::-1][:, :2]
    return axes


def _fit_rows(
    n: int, threshold: int, keep: npt.ArrayLike | None, rest_fraction: float, seed: int
) -> npt.NDArray[np.int64]:
    """Rows UMAP is fitted on: all when ``n <= threshold``, else every kept row plus a sample of the rest."""
    if n <= threshold:
        return np.arange(n)
    kept = np.zeros(n, bool) if keep is None else np.asarray(keep, bool)
    if kept.shape != (n,):
        raise LensError(f"keep must be a boolean mask of the {n} points, not shape {kept.shape}")
    rest = np.flatnonzero(~kept)
    wanted = max(threshold - int(kept.sum()), round(rest_fraction * len(rest)))
    chosen = np.random.default_rng(seed).choice(rest, min(wanted, len(rest)), replace=False)
    return np.sort(np.concatenate([np.flatnonzero(kept), chosen]))


def _spread(xy: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """A starting layout scaled to UMAP's usual range (about 10 units wide), with ties broken by a tiny jitter."""
    low, high = xy.min(axis=0), xy.max(axis=0)
    scaled = 10.0 * (xy - low) / np.maximum(high - low, 1e-12)
    jitter = np.random.default_rng(0).normal(scale=1e-4, size=scaled.shape)
    return np.ascontiguousarray(scaled + jitter, np.float32)


def _unit(data: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(data, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = data / np.maximum(norms, 1e-12)
    return unit


# --- the cache ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayoutKey:
    """What a layout depends on: the vector set (ids and vector bytes), the method, its parameters and the seed."""

    vector_hash: str
    method: str
    params: str
    """The parameters as canonical JSON (sorted keys)."""
    seed: int

    @property
    def key(self) -> str:
        """The cache key: 32 hex digits of the SHA-256 of the other fields."""
        text = json.dumps([self.vector_hash, self.method, self.params, self.seed])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def vector_set_hash(ids: npt.ArrayLike, vectors: npt.ArrayLike) -> str:
    """32 hex digits identifying a vector set: a BLAKE2b of its ids (int64) and of its vectors' float32 bytes.

    >>> a = vector_set_hash([1, 2], np.eye(2))
    >>> a == vector_set_hash([1, 2], np.eye(2)), a == vector_set_hash([2, 1], np.eye(2))
    (True, False)
    """
    digest = hashlib.blake2b(digest_size=16)
    id_array = np.ascontiguousarray(ids, np.int64)
    data = np.ascontiguousarray(vectors, np.float32)
    digest.update(np.array([len(id_array), data.shape[-1] if data.ndim == 2 else 0], np.int64).tobytes())
    digest.update(id_array.tobytes())
    digest.update(data.data)  # the buffer itself, no copy
    return digest.hexdigest()


def layout_key(
    ids: npt.ArrayLike, vectors: npt.ArrayLike, *, method: str = "umap", seed: int = 0, **params: Any
) -> LayoutKey:
    """The cache key of a layout of ``vectors`` by ``method`` with ``params`` and ``seed``.

    >>> key = layout_key([1, 2], np.eye(2), n_neighbors=15, min_dist=0.1)
    >>> key.params, len(key.key)
    ('{"min_dist": 0.1, "n_neighbors": 15}', 32)
    """
    return LayoutKey(vector_set_hash(ids, vectors), method, json.dumps(params, sort_keys=True), seed)


def store_layout_key(
    con: duckdb.DuckDBPyConnection,
    where: str | None = None,
    *,
    model: str | None = None,
    method: str = "umap",
    seed: int = 0,
    **params: Any,
) -> tuple[LayoutKey, npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """The cache key of a layout of the store's map (as :func:`~llmlens.analysis.embedding_points.map_points`
    with ``where`` and ``model`` selects it), with its ids and role codes, without reading a vector: what
    re-opening a cached map needs.

    >>> import llmlens
    >>> key, ids, roles = store_layout_key(llmlens.open(":memory:").con, n_neighbors=15)
    >>> key.params, ids.tolist()
    ('{"n_neighbors": 15}', [])
    """
    from llmlens.analysis.embedding_points import store_vector_hash

    digest, ids, roles = store_vector_hash(con, where, model=model)
    return LayoutKey(digest, method, json.dumps(params, sort_keys=True), seed), ids, roles


def store_layout(
    con: duckdb.DuckDBPyConnection,
    key: LayoutKey,
    ids: npt.ArrayLike,
    xy: npt.ArrayLike,
    *,
    seconds: float | None = None,
) -> None:
    """Keep a layout in the store (replacing one with the same key).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> key = layout_key([7, 9], np.eye(2), seed=1)
    >>> store_layout(lens.con, key, [7, 9], [[0.0, 1.0], [2.0, 3.0]])
    >>> cached_layout(lens.con, key, ids=[9, 7]).tolist()
    [[2.0, 3.0], [0.0, 1.0]]
    """
    id_array = np.ascontiguousarray(ids, np.int64)
    coords = np.ascontiguousarray(xy, np.float32)
    if coords.shape != (len(id_array), 2):
        raise LensError(f"xy must have shape ({len(id_array)}, 2) for {len(id_array)} ids, not {coords.shape}")
    try:
        con.execute(
            "INSERT OR REPLACE INTO embedding_layouts "
            "(layout_key, vector_hash, method, params, seed, n_points, ids, xy, created_at, seconds) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, now(), ?)",
            [
                key.key, key.vector_hash, key.method, key.params, key.seed, len(id_array),
                id_array.tobytes(), coords.tobytes(), seconds,
            ],
        )  # fmt: skip
    except duckdb.InvalidInputException as error:
        if "read-only" in str(error):
            raise LensError("the store is open read-only: open it writable to cache layouts") from error
        raise


def cached_layout(
    con: duckdb.DuckDBPyConnection, key: LayoutKey, ids: npt.ArrayLike | None = None
) -> npt.NDArray[np.float32] | None:
    """The cached layout of ``key`` as float32 (n, 2), or None when there is none.

    With ``ids``, rows follow ``ids`` (None when the cached layout lacks one of them); without, they follow the
    ids the layout was stored with.
    """
    rows = con.execute("SELECT ids, xy FROM embedding_layouts WHERE layout_key = ?", [key.key]).fetchall()
    if not rows:
        return None
    row = rows[0]
    stored_ids = np.frombuffer(row[0], np.int64)
    xy = np.frombuffer(row[1], np.float32).reshape(-1, 2)
    if ids is None:
        return xy.copy()
    wanted = np.asarray(ids, np.int64)
    if len(wanted) == len(stored_ids) and np.array_equal(wanted, stored_ids):
        return xy.copy()
    order = np.argsort(stored_ids, kind="stable")
    place = np.searchsorted(stored_ids, wanted, sorter=order)
    place = np.minimum(place, len(order) - 1)
    found = order[place]
    if len(stored_ids) == 0 or not np.array_equal(stored_ids[found], wanted):
        return None
    return xy[found].copy()


def is_cached(con: duckdb.DuckDBPyConnection, key: LayoutKey) -> bool:
    """Whether the store holds the layout of ``key`` (read without its coordinates).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> key = layout_key([7], np.eye(1), seed=1)
    >>> before = is_cached(lens.con, key)
    >>> store_layout(lens.con, key, [7], [[0.5, 1.5]])
    >>> before, is_cached(lens.con, key)
    (False, True)
    """
    return holds(con, "embedding_layouts WHERE layout_key = ?", [key.key])


def cached_umap_layout(
    con: duckdb.DuckDBPyConnection,
    ids: npt.ArrayLike,
    vectors: npt.ArrayLike,
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    write: bool = True,
    **options: Any,
) -> npt.NDArray[np.float32]:
    """:func:`umap_layout` through the cache: the stored layout when there is one, else computed (and stored,
    when ``write`` and the store is writable). ``options`` go to :func:`umap_layout` (those that change the
    result, such as ``sample_threshold`` and ``n_epochs``, are part of the key; ``progress`` is not)."""
    progress = options.pop("progress", None)
    keep = options.pop("keep", None)
    key = layout_key(ids, vectors, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist, **options)
    found = cached_layout(con, key, ids)
    if found is not None:
        return found
    started = time.perf_counter()
    xy = umap_layout(vectors, seed, n_neighbors, min_dist, keep=keep, progress=progress, **options)
    if write:
        with contextlib.suppress(LensError):  # a read-only store: the layout is still returned, just not kept
            store_layout(con, key, ids, xy, seconds=time.perf_counter() - started)
    return xy


# --- what the browser needs ---------------------------------------------------------------------------------------


def browser_table(xy: npt.ArrayLike, categories: npt.ArrayLike | None = None) -> pa.Table:
    """The columns a WebGL scatter needs per point: float32 ``x``, ``y``, int32 ``point`` (the row in the point
    set; the kernel maps it back to the embedding id, text and links) and, with ``categories``, a uint8
    ``category``: 13 bytes a point (the map widget sends its colour codes as raw bytes beside the 12 others).

    >>> table = browser_table(np.zeros((3, 2)), [0, 1, 2])
    >>> table.schema.names, table.nbytes // table.num_rows
    (['x', 'y', 'point', 'category'], 13)
    """
    coords = np.asarray(xy, np.float32).reshape(-1, 2)
    n = len(coords)
    columns = {
        "x": pa.array(coords[:, 0]),
        "y": pa.array(coords[:, 1]),
        "point": pa.array(np.arange(n, dtype=np.int32)),
    }
    if categories is not None:
        columns["category"] = pa.array(np.asarray(categories, np.uint8))
    return pa.table(columns)
