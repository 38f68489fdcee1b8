"""What the embedding map shows at a glance, as DataFrames: coverage gaps, dead corpus, clusters with their
distinctive terms, failure density per cluster and drift between two time windows.

Similarities are cosine similarities of unit-length vectors, computed exactly as matrix products in blocks
(memory stays at ``block`` x chunks floats). Clusters are found by HDBSCAN, by default on the vectors reduced to
10 principal axes rather than on the 2-D layout: the result does not depend on which layout is on screen (PCA,
sampled UMAP or a cached one), and topic-level groups stay whole (UMAP's 2-D picture splits a topic into many
islands and tears sparse regions apart). Pass the layout as ``coords`` for clusters that match the picture.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

from llmlens.analysis.embedding_points import NEVER_RETRIEVED, MapPoints

BAD_LABELS = ("thumbs_down", "fail", "failed", "bad", "incorrect", "wrong", "negative", "no")
"""Labels of a human or LLM annotation that mark a trace as bad (compared lower-case)."""

_WORD = re.compile(r"(?u)\b[^\W_][\w'-]{2,}\b")
_STOP_WORDS = (
    "a about above after again all also am an and any are as at be because been before being below "
    "between both but by can cannot could did do does doing down during each few for from further had has "
    "have having he her here hers herself him himself his how i if in into is it its itself just let me "
    "more most my myself no nor not now of off on once only or other our ours ourselves out over own same "
    "she should so some such than that the their theirs them themselves then there these they this those "
    "through to too under until up very was we were what when where which while who whom why will with "
    "would you your yours yourself yourselves hi hello thanks thank thx please pls get got does don't "
    "can't it's i'm we're there's"
)
_STOP = frozenset(_STOP_WORDS.split())


def _unit(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return unit


def nearest(
    a: npt.NDArray[np.float32], b: npt.NDArray[np.float32], *, block: int = 2048
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """For each row of ``a``, the row of ``b`` with the highest cosine similarity, and that similarity.

    >>> index, similarity = nearest(np.array([[1.0, 0.5], [0, 1]]), np.array([[0, 2.0], [3, 0]]))
    >>> index.tolist(), similarity.astype(float).round(2).tolist()
    ([1, 0], [0.89, 1.0])
    """
    if len(b) == 0:
        return np.full(len(a), -1, np.int64), np.full(len(a), np.nan, np.float32)
    ua, ub = _unit(np.asarray(a, np.float32)), _unit(np.asarray(b, np.float32))
    index = np.empty(len(ua), np.int64)
    best = np.empty(len(ua), np.float32)
    for start in range(0, len(ua), block):
        similarity = ua[start : start + block] @ ub.T
        index[start : start + block] = similarity.argmax(axis=1)
        best[start : start + block] = similarity[np.arange(len(similarity)), index[start : start + block]]
    return index, best


def coverage_gaps(
    points: MapPoints,
    *,
    threshold: float | None = None,
    k_mad: float = 4.0,
    min_gap_size: int = 5,
    n_terms: int = 5,
) -> pd.DataFrame:
    """Queries far from every chunk, grouped into gaps (topics users ask about that the corpus does not cover).

    A query is in a gap when the cosine similarity to its nearest chunk is below ``threshold``; by default
    :func:`gap_threshold` of all queries' nearest similarities, so it follows the embedding model's own range. Gap
    queries are grouped by HDBSCAN on their vectors; ``gap`` is -1 for a lone query. One row per gap query, the
    largest gap first: ``point``, ``embedding_id``, ``text``, ``trace_id``, ``nearest_similarity``,
    ``nearest_chunk`` (its embedding id), ``gap``, ``gap_size`` and ``gap_terms`` (the gap's distinctive words).
    ``attrs["threshold"]`` holds the threshold used.

    >>> from llmlens.analysis.embedding_points import from_frames
    >>> rng = np.random.default_rng(0)
    >>> chunks = np.eye(4)[rng.integers(0, 3, 40)] + rng.normal(0, 0.05, (40, 4))
    >>> queries = np.concatenate([chunks[:20], np.eye(4)[[3] * 6]]) + rng.normal(0, 0.05, (26, 4))
    >>> gaps = coverage_gaps(from_frames(queries, chunks), min_gap_size=3)
    >>> sorted(gaps.point.tolist()) == list(range(20, 26)), int(gaps.gap.iloc[0])
    (True, 0)
    """
    query_rows = np.flatnonzero(points.is_query)
    chunk_rows = np.flatnonzero(~points.is_query)
    if len(query_rows) == 0 or len(chunk_rows) == 0:
        return _empty_gaps(threshold)
    index, similarity = nearest(points.vectors[query_rows], points.vectors[chunk_rows])
    if threshold is None:
        threshold = gap_threshold(similarity, k_mad=k_mad)
    far = similarity < threshold
    rows = query_rows[far]
    frame = points.frame.iloc[rows]
    gaps = pd.DataFrame(
        {
            "point": rows,
            "embedding_id": frame["embedding_id"].to_numpy(),
            "text": frame["text"].to_numpy(),
            "trace_id": frame["trace_id"].to_numpy(),
            "nearest_similarity": similarity[far],
            "nearest_chunk": points.frame["embedding_id"].to_numpy()[chunk_rows[index[far]]],
        }
    )
    labels = _hdbscan(_unit(points.vectors[rows]), min_gap_size, single=True)
    gaps["gap"] = labels
    sizes = pd.Series(labels).value_counts()
    gaps["gap_size"] = np.where(labels >= 0, sizes.reindex(labels).to_numpy(), 1)
    # terms of each gap against the other queries too, so the way every question is phrased does not count
    others = points.frame["text"].to_numpy(object)[query_rows[~far]].tolist()
    background = int(labels.max(initial=-1)) + 1
    terms = distinctive_terms(
        gaps["text"].tolist() + others, np.append(labels, np.full(len(others), background)), n_terms=n_terms
    )
    gaps["gap_terms"] = [terms.get(int(label), []) for label in labels]
    gaps = gaps.sort_values(["gap_size", "gap", "nearest_similarity"], ascending=[False, True, True])
    gaps = gaps.reset_index(drop=True)
    gaps.attrs["threshold"] = float(threshold)
    return gaps


def gap_threshold(similarity: npt.ArrayLike, *, k_mad: float = 4.0, min_break: float = 1.5) -> float:
    """A similarity below which a query is far from the corpus, from the distribution of nearest similarities.

    With ``sigma`` the robust spread (1.4826 x MAD): the middle of the widest empty interval among the values
    below ``median - 2 sigma`` when it is at least ``min_break`` sigma wide (a second population of far queries,
    the usual shape of a coverage gap), else ``median - k_mad * sigma`` (far outliers only).

    >>> rng = np.random.default_rng(0)
    >>> covered, uncovered = rng.normal(0.75, 0.05, 1_000), rng.normal(0.25, 0.03, 40)
    >>> round(gap_threshold(np.concatenate([covered, uncovered])), 1), round(gap_threshold(covered), 2)
    (0.4, 0.56)
    """
    values = np.asarray(similarity, np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan")
    median = float(np.median(values))
    sigma = max(1.4826 * float(np.median(np.abs(values - median))), 1e-3)
    upper = median - 2 * sigma
    edges = np.append(np.sort(values[values < upper]), upper)
    if len(edges) > 1:
        spacing = np.diff(edges)
        widest = int(spacing.argmax())
        if spacing[widest] >= min_break * sigma:
            return float((edges[widest] + edges[widest + 1]) / 2)
    return median - k_mad * sigma


def _empty_gaps(threshold: float | None) -> pd.DataFrame:
    columns = ["point", "embedding_id", "text", "trace_id", "nearest_similarity", "nearest_chunk", "gap"]
    empty = pd.DataFrame({name: [] for name in [*columns, "gap_size", "gap_terms"]})
    empty.attrs["threshold"] = threshold
    return empty


def dead_corpus(points: MapPoints, links: Any = None, *, nearest_query: bool = True) -> pd.DataFrame:
    """Chunks no query of the map retrieved: ``point``, ``embedding_id``, ``document_id``, ``text`` and, with
    ``nearest_query``, ``nearest_query_similarity`` (close to some query: the retriever passes it over; far from
    all: nobody asks about it). ``links`` defaults to the point set's own.

    >>> from llmlens.analysis.embedding_points import from_frames
    >>> points = from_frames(np.eye(3)[:1], np.eye(3), pd.DataFrame({"query": [0], "chunk": [0]}))
    >>> dead_corpus(points)[["point", "nearest_query_similarity"]].to_dict("records")
    [{'point': 2, 'nearest_query_similarity': 0.0}, {'point': 3, 'nearest_query_similarity': 0.0}]
    """
    if links is None:
        dead = points.role_codes == NEVER_RETRIEVED
    else:
        dead = ~points.is_query
        dead[np.asarray(links.dst)] = False
    rows = np.flatnonzero(dead)
    frame = points.frame.iloc[rows]
    out = pd.DataFrame(
        {
            "point": rows,
            "embedding_id": frame["embedding_id"].to_numpy(),
            "document_id": frame["document_id"].to_numpy(),
            "text": frame["text"].to_numpy(),
        }
    )
    if nearest_query:
        query_rows = np.flatnonzero(points.is_query)
        _, similarity = nearest(points.vectors[rows], points.vectors[query_rows])
        out["nearest_query_similarity"] = similarity
    return out


CLUSTER_FIT_ROWS = 20_000
"""Above this many points, :func:`cluster_labels` fits HDBSCAN on a sample of this size."""


def cluster_labels(
    points: MapPoints,
    coords: npt.ArrayLike | None = None,
    *,
    min_cluster_size: int | None = None,
    dims: int = 10,
    seed: int = 0,
    fit_rows: int | None = None,
) -> npt.NDArray[np.int64]:
    """HDBSCAN label of each point (-1: noise), on ``coords`` (e.g. a 2-D layout) or, by default, on the unit
    vectors reduced to ``dims`` principal axes. ``min_cluster_size`` defaults to n / 250 (between 10 and 500).

    Above :data:`CLUSTER_FIT_ROWS` points, HDBSCAN runs on a seeded sample of that many (its minimum cluster size
    scaled to the sample) and every other point takes the label of its nearest sampled point: at 100,000 points
    this takes seconds where HDBSCAN on all of them took a minute and a half.

    >>> from llmlens.analysis.embedding_points import from_frames
    >>> rng = np.random.default_rng(0)
    >>> vectors = np.eye(3)[np.repeat([0, 1, 2], 400)] + rng.normal(0, 0.05, (1200, 3))
    >>> labels = cluster_labels(from_frames(vectors, np.zeros((0, 3))), fit_rows=300)
    >>> len(set(labels[:400])), len(set(labels)), bool((labels[:400] != labels[400:800]).all())
    (1, 3, True)
    """
    n = len(points)
    size = min_cluster_size or int(np.clip(n // 250, 10, 500))
    space = _reduce(_unit(points.vectors), dims, seed) if coords is None else np.asarray(coords, np.float32)
    fit_rows = fit_rows or CLUSTER_FIT_ROWS
    if n <= fit_rows:
        return _hdbscan(space, size)
    sample = np.sort(np.random.default_rng(seed).choice(n, fit_rows, replace=False))
    sampled = _hdbscan(space[sample], max(5, round(size * fit_rows / n)))
    from sklearn.neighbors import NearestNeighbors

    nearest_sampled = NearestNeighbors(n_neighbors=1).fit(space[sample]).kneighbors(space, return_distance=False)
    labels: npt.NDArray[np.int64] = sampled[nearest_sampled[:, 0]]
    return labels


def clusters(
    points: MapPoints,
    coords: npt.ArrayLike | None = None,
    *,
    labels: npt.ArrayLike | None = None,
    min_cluster_size: int | None = None,
    dims: int = 10,
    n_terms: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Clusters of the map (see :func:`cluster_labels`; or given ``labels``), labelled with their distinctive
    terms (c-TF-IDF of the texts of each cluster against the others).

    One row per cluster, largest first (noise, -1, is left out): ``cluster``, ``size``, ``queries``,
    ``retrieved_chunks``, ``never_retrieved_chunks``, ``terms`` (a list) and ``points`` (the cluster's point
    numbers, an int32 array). ``attrs["labels"]`` holds the label of every point.

    >>> from llmlens.analysis.embedding_points import from_frames
    >>> rng = np.random.default_rng(0)
    >>> vectors = np.eye(3)[np.repeat([0, 1, 2], 20)] + rng.normal(0, 0.05, (60, 3))
    >>> texts = ["red apple"] * 20 + ["blue sky"] * 20 + ["green grass"] * 20
    >>> found = clusters(from_frames(pd.DataFrame({"vector": list(vectors), "text": texts}), np.zeros((0, 3))))
    >>> sorted(term for terms in found.terms for term in terms)
    ['apple', 'blue', 'grass', 'green', 'red', 'sky']
    """
    label = (
        np.asarray(labels, np.int64)
        if labels is not None
        else cluster_labels(points, coords, min_cluster_size=min_cluster_size, dims=dims, seed=seed)
    )
    roles = points.role_codes
    texts = points.frame["text"].fillna("").astype(str).tolist()
    terms = distinctive_terms(texts, label, n_terms=n_terms)
    rows = []
    for cluster in np.unique(label[label >= 0]):
        members = np.flatnonzero(label == cluster).astype(np.int32)
        counts = np.bincount(roles[members], minlength=3)
        rows.append(
            {
                "cluster": int(cluster),
                "size": len(members),
                "queries": int(counts[0]),
                "retrieved_chunks": int(counts[1]),
                "never_retrieved_chunks": int(counts[2]),
                "terms": terms.get(int(cluster), []),
                "points": members,
            }
        )
    columns = ["cluster", "size", "queries", "retrieved_chunks", "never_retrieved_chunks", "terms", "points"]
    frame = pd.DataFrame(rows, columns=columns)
    frame = frame.sort_values(["size", "cluster"], ascending=[False, True]).reset_index(drop=True)
    frame.attrs["labels"] = label
    return frame


def distinctive_terms(texts: Sequence[str | None], labels: npt.ArrayLike, *, n_terms: int = 5) -> dict[int, list[str]]:
    """The ``n_terms`` most distinctive words of each label's texts (class-based TF-IDF: a word's frequency in
    the class, weighted by log(1 + average words per class / the word's frequency over all classes)); label -1
    (noise) is skipped.

    >>> texts = ["cheap plans", "plans prices", "offline servers", "servers offline"]
    >>> distinctive_terms(texts, [0, 0, 1, 1], n_terms=2)
    {0: ['plans', 'cheap'], 1: ['offline', 'servers']}
    """
    from sklearn.feature_extraction.text import CountVectorizer

    label = np.asarray(labels, np.int64)
    classes = np.unique(label[label >= 0])
    if len(classes) == 0:
        return {}
    documents = [" ".join(str(texts[int(i)] or "") for i in np.flatnonzero(label == c)) for c in classes]
    vectorizer = CountVectorizer(token_pattern=_WORD.pattern, stop_words=sorted(_STOP), lowercase=True)
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(np.float64)
    except ValueError:  # no words at all
        return {int(c): [] for c in classes}
    words = vectorizer.get_feature_names_out()
    per_class = counts.sum(axis=1, keepdims=True)
    tf = counts / np.maximum(per_class, 1)
    idf = np.log1p(per_class.mean() / np.maximum(counts.sum(axis=0), 1))
    score = tf * idf
    found: dict[int, list[str]] = {}
    for row, c in enumerate(classes):
        order = np.lexsort((words, -score[row]))  # ties broken alphabetically, for stable output
        found[int(c)] = [str(words[i]) for i in order[:n_terms] if score[row, i] > 0]
    return found


def trace_verdicts(
    con: duckdb.DuckDBPyConnection, bad_labels: Sequence[str] = BAD_LABELS, *, kinds: Sequence[str] | None = None
) -> pd.DataFrame:
    """Every trace with a judgement: ``trace_id`` and ``bad`` (True when a human or LLM annotation of the trace or
    one of its spans has a label in ``bad_labels``, or a check failed on it). ``kinds`` keeps the annotations of
    those annotator kinds only (``["check"]``: the checks' verdicts).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO annotations (target_kind, target_id, name, label, annotator_kind) "
    ...     "VALUES ('trace', 't1', 'user_feedback', 'thumbs_down', 'human'), ('trace', 't2', 'ok', 'pass', 'check')")
    >>> trace_verdicts(lens.con).sort_values("trace_id").to_dict("records")
    [{'trace_id': 't1', 'bad': True}, {'trace_id': 't2', 'bad': False}]
    """
    verdicts: pd.DataFrame = con.sql(
        """
        WITH judged AS (
            SELECT CASE WHEN a.target_kind = 'trace' THEN a.target_id ELSE s.trace_id END AS trace_id,
                   CASE WHEN a.annotator_kind = 'check' THEN lower(a.label) = 'fail'
                        ELSE list_contains($bad, lower(a.label)) END AS bad
            FROM annotations a
            LEFT JOIN spans s ON a.target_kind IN ('span', 'document', 'message', 'token') AND s.span_id = a.target_id
            WHERE a.label IS NOT NULL AND a.target_kind IN ('trace', 'span', 'document', 'message', 'token')
              AND ($kinds IS NULL OR list_contains($kinds, a.annotator_kind))
        )
        SELECT trace_id, bool_or(bad) AS bad FROM judged WHERE trace_id IS NOT NULL GROUP BY trace_id
        """,
        params={"bad": [label.lower() for label in bad_labels], "kinds": None if kinds is None else list(kinds)},
    ).df()
    return verdicts


def failure_density(
    con: duckdb.DuckDBPyConnection | pd.DataFrame,
    points: MapPoints,
    clusters: pd.DataFrame | npt.ArrayLike,
    *,
    bad_labels: Sequence[str] = BAD_LABELS,
) -> pd.DataFrame:
    """Per cluster, the share of its traces judged bad (see :func:`trace_verdicts`), highest first.

    A cluster's traces are those of its queries and those whose query retrieved one of its chunks (so a cluster
    of chunks, such as an outdated archive, is judged by the answers it fed). Columns: ``cluster``, ``traces``,
    ``judged``, ``bad``, ``failure_density`` (bad / judged), ``lift`` (against all judged traces of the map),
    ``query_judged``/``query_bad`` (its own queries only) and ``retrieved_judged``/``retrieved_bad`` (traces that
    retrieved its chunks). ``clusters`` is a :func:`clusters` frame or one label per point; ``con`` may instead
    be a :func:`trace_verdicts` frame.
    """
    verdicts = con if isinstance(con, pd.DataFrame) else trace_verdicts(con, bad_labels)
    labels = (
        np.asarray(clusters.attrs["labels"]) if isinstance(clusters, pd.DataFrame) else np.asarray(clusters)
    ).astype(np.int64)
    trace_of = points.frame["trace_id"].to_numpy(object)
    bad_of = dict(zip(verdicts["trace_id"], verdicts["bad"].astype(bool), strict=True))
    queries = np.flatnonzero(points.is_query)
    src, dst = np.asarray(points.links.src), np.asarray(points.links.dst)
    all_traces = {t for t in trace_of[queries] if t is not None}
    judged_all = [bad_of[t] for t in all_traces if t in bad_of]
    overall = float(np.mean(judged_all)) if judged_all else np.nan
    rows = []
    for cluster in np.unique(labels[labels >= 0]):
        own = {t for t in trace_of[queries[labels[queries] == cluster]] if t is not None}
        fed = {t for t in trace_of[src[labels[dst] == cluster]] if t is not None}
        both = own | fed
        judged = [bad_of[t] for t in both if t in bad_of]
        own_judged = [bad_of[t] for t in own if t in bad_of]
        fed_judged = [bad_of[t] for t in fed if t in bad_of]
        density = float(np.mean(judged)) if judged else np.nan
        rows.append(
            {
                "cluster": int(cluster),
                "traces": len(both),
                "judged": len(judged),
                "bad": int(np.sum(judged)),
                "failure_density": density,
                "lift": density / overall if overall and judged else np.nan,
                "query_judged": len(own_judged),
                "query_bad": int(np.sum(own_judged)),
                "retrieved_judged": len(fed_judged),
                "retrieved_bad": int(np.sum(fed_judged)),
            }
        )
    frame = pd.DataFrame(rows, columns=_DENSITY_COLUMNS)
    frame = frame.sort_values(["failure_density", "judged"], ascending=[False, False], na_position="last")
    frame = frame.reset_index(drop=True)
    frame.attrs["overall"] = overall
    return frame


_DENSITY_COLUMNS = [
    "cluster", "traces", "judged", "bad", "failure_density", "lift",
    "query_judged", "query_bad", "retrieved_judged", "retrieved_bad",
]  # fmt: skip


def recent_windows(
    times: pd.Series | Sequence[Any],
) -> tuple[tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]] | None:
    """Two windows to compare with :func:`drift`: the last seven days against the seven before when the times
    span two weeks or more, else the earlier half of their range against the later half; None without two
    distinct times.

    >>> a, b = recent_windows(pd.to_datetime(["2026-11-01", "2026-11-20", "2026-11-30"], utc=True))
    >>> str(a[0].date()), str(b[0].date()), str(b[1].date())
    ('2026-11-16', '2026-11-23', '2026-11-30')
    """
    known = pd.to_datetime(pd.Series(times), utc=True).dropna()
    if known.nunique() < 2:
        return None
    first, last = known.min(), known.max() + pd.Timedelta(microseconds=1)  # the newest query inside its window
    week = pd.Timedelta(days=7)
    middle = last - week if last - first >= 2 * week else first + (last - first) / 2
    start = max(first, middle - (last - middle))
    return (start, middle), (middle, last)


def drift(
    points: MapPoints,
    window_a: tuple[Any, Any],
    window_b: tuple[Any, Any],
    clusters: pd.DataFrame | npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """How the queries of two time windows (``[start, end)`` each, anything ``pd.Timestamp`` reads) differ.

    The first row (``cluster`` <NA>) compares all queries; then one row per cluster. Columns: ``n_a``, ``n_b``,
    ``share_a``, ``share_b`` (of the window's queries), ``share_change`` (b - a), ``drift_ratio`` ((b - a) /
    (b + a) of the shares, as Phoenix computed it) and ``centroid_distance`` (Euclidean distance between the mean
    unit vectors of the window's queries).

    >>> from llmlens.analysis.embedding_points import from_frames
    >>> times = pd.to_datetime(["2026-01-01", "2026-01-01", "2026-02-01", "2026-02-01"], utc=True)
    >>> points = from_frames(pd.DataFrame({"vector": list(np.eye(2)[[0, 0, 0, 1]]), "time": times}), np.eye(2))
    >>> table = drift(points, ("2026-01-01", "2026-01-15"), ("2026-02-01", "2026-02-15"), [0, 0, 0, 1, -1, -1])
    >>> for row in table[["cluster", "n_a", "n_b", "share_change", "centroid_distance"]].round(3).to_dict("records"):
    ...     print(row)
    {'cluster': None, 'n_a': 2, 'n_b': 2, 'share_change': 0.0, 'centroid_distance': 0.707}
    {'cluster': 0, 'n_a': 2, 'n_b': 1, 'share_change': -0.5, 'centroid_distance': 0.0}
    {'cluster': 1, 'n_a': 0, 'n_b': 1, 'share_change': 0.5, 'centroid_distance': nan}
    """
    time = pd.to_datetime(points.frame["time"], utc=True)
    query = points.is_query

    def window(bounds: tuple[Any, Any]) -> npt.NDArray[np.bool_]:
        start, end = (_timestamp(b) for b in bounds)
        inside = query & (time >= start).to_numpy() & (time < end).to_numpy()
        return np.asarray(inside, bool)

    in_a, in_b = window(window_a), window(window_b)
    unit = _unit(points.vectors)
    labels: npt.NDArray[np.int64] | None = None
    if clusters is not None:
        raw = clusters.attrs["labels"] if isinstance(clusters, pd.DataFrame) else clusters
        labels = np.asarray(raw, np.int64)
    rows = [_drift_row(None, a=in_a, b=in_b, total_a=in_a.sum(), total_b=in_b.sum(), unit=unit)]
    if labels is not None:
        for cluster in np.unique(labels[labels >= 0]):
            member = labels == cluster
            rows.append(
                _drift_row(
                    int(cluster), a=in_a & member, b=in_b & member, total_a=in_a.sum(), total_b=in_b.sum(), unit=unit
                )
            )
    frame = pd.DataFrame(rows)
    frame["cluster"] = frame["cluster"].astype("Int64")
    return frame


def _drift_row(
    cluster: int | None,
    *,
    a: npt.NDArray[np.bool_],
    b: npt.NDArray[np.bool_],
    total_a: int,
    total_b: int,
    unit: npt.NDArray[np.float32],
) -> dict[str, Any]:
    n_a, n_b = int(a.sum()), int(b.sum())
    share_a = n_a / total_a if total_a else np.nan
    share_b = n_b / total_b if total_b else np.nan
    distance = float(np.linalg.norm(unit[a].mean(axis=0) - unit[b].mean(axis=0))) if n_a and n_b else np.nan
    total = share_a + share_b
    return {
        "cluster": cluster,
        "n_a": n_a,
        "n_b": n_b,
        "share_a": share_a,
        "share_b": share_b,
        "share_change": share_b - share_a,
        "drift_ratio": (share_b - share_a) / total if total else np.nan,
        "centroid_distance": distance,
    }


def _timestamp(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp


def _reduce(unit: npt.NDArray[np.float32], dims: int, seed: int) -> npt.NDArray[np.float32]:
    if unit.shape[1] <= dims or len(unit) <= dims:
        return unit
    from sklearn.decomposition import PCA

    reduced = PCA(n_components=dims, svd_solver="randomized", random_state=seed).fit_transform(unit)
    return np.asarray(reduced, np.float32)


def _hdbscan(space: npt.NDArray[np.float32], min_cluster_size: int, *, single: bool = False) -> npt.NDArray[np.int64]:
    """HDBSCAN labels; ``single`` allows one cluster of everything (for gaps: often a single missing topic)."""
    n = len(space)
    if n < max(min_cluster_size, 2):
        return np.full(n, -1 if n < min_cluster_size else 0, np.int64)
    from sklearn.cluster import HDBSCAN

    model = HDBSCAN(min_cluster_size=min_cluster_size, allow_single_cluster=single, copy=True)
    labels = model.fit_predict(space)
    return np.asarray(labels, np.int64)
