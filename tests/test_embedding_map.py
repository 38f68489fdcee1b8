"""The embedding map's analysis layer: point set and links, layouts and their cache, diagnostics on the demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import llmlens
from llmlens.analysis.embedding_map import (
    ROLES,
    MapPoints,
    browser_table,
    cached_layout,
    cached_umap_layout,
    clusters,
    coverage_gaps,
    dead_corpus,
    drift,
    failure_density,
    first_layout,
    from_frames,
    layout_key,
    map_points,
    store_layout,
    store_layout_key,
    trace_verdicts,
    umap_layout,
)
from llmlens.errors import LensError

# --- the demo: what it plants -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_map(demo_path: Path) -> dict[str, Any]:
    """The demo's map points, the truth the demo planted (from its own spans and chunk texts), and verdicts."""
    with llmlens.open(demo_path, read_only=True) as lens:
        points = map_points(lens.con)
        intent = dict(
            lens.con.sql(
                "SELECT trace_id, attributes->>'$.\"app.intent\"' FROM spans WHERE name = 'rag_pipeline'"
            ).fetchall()
        )
        verdicts = trace_verdicts(lens.con)
        retrieved = {row[0] for row in lens.con.sql("SELECT DISTINCT document_id FROM documents").fetchall()}
    uncovered = {trace for trace, topic in intent.items() if topic == "other"}
    stale = points.frame["text"].fillna("").str.startswith("Plans and pricing (2023)").to_numpy()
    return {"points": points, "uncovered": uncovered, "stale": stale, "verdicts": verdicts, "retrieved": retrieved}


def test_demo_points_hold_every_query_and_chunk_with_their_links(demo_map: dict[str, Any]) -> None:
    points: MapPoints = demo_map["points"]
    assert points.vectors.shape == (7_000, 384)
    assert points.vectors.dtype == np.float32
    counts = points.frame["role"].value_counts()
    assert counts["query"] == 2_000
    assert counts["retrieved chunk"] + counts["never-retrieved chunk"] == 5_000
    links = points.links
    assert (links.src.dtype, links.dst.dtype, links.score.dtype, links.rank.dtype) == (
        np.int32, np.int32, np.float32, np.int16,
    )  # fmt: skip
    assert len(links) == 2_000 * 5  # top-5 retrieval, every chunk id embedded once
    assert points.is_query[links.src].all()
    assert (points.role_codes[links.dst] == 1).all()
    assert set(np.unique(links.rank).tolist()) == {0, 1, 2, 3, 4}
    # the scores the retriever reported are the cosine similarities of the two vectors
    unit = points.vectors / np.linalg.norm(points.vectors, axis=1, keepdims=True)
    cosine = np.einsum("ij,ij->i", unit[links.src[:50]], unit[links.dst[:50]])
    assert np.allclose(cosine, links.score[:50], atol=1e-3)


def test_demo_coverage_gap_is_the_planted_uncovered_topic(demo_map: dict[str, Any]) -> None:
    gaps = coverage_gaps(demo_map["points"])
    found = set(gaps["trace_id"])
    planted = demo_map["uncovered"]
    assert len(planted) > 30
    assert len(found & planted) / len(planted) >= 0.95  # recall
    assert len(found & planted) / len(found) >= 0.95  # precision
    main = gaps[gaps["gap"] == gaps["gap"].iloc[0]]
    assert len(main) >= 0.8 * len(planted)  # one gap, not a scatter of lone queries
    words = {"on-prem", "on-premise", "prem", "premises", "servers", "offline", "self", "hosted", "docker", "air"}
    assert words & set(main["gap_terms"].iloc[0])
    assert gaps.attrs["threshold"] > gaps["nearest_similarity"].max()


def test_demo_stale_pricing_archive_is_a_high_failure_cluster(demo_map: dict[str, Any]) -> None:
    points, stale = demo_map["points"], demo_map["stale"]
    found = clusters(points)
    labels = found.attrs["labels"]
    stale_cluster = int(pd.Series(labels[stale]).mode().iloc[0])
    assert stale_cluster >= 0
    assert (labels[stale] == stale_cluster).mean() >= 0.9
    terms = found.set_index("cluster").loc[stale_cluster, "terms"]
    assert {"pricing", "plan", "plans", "price", "seats", "2023"} & set(terms)
    density = failure_density(demo_map["verdicts"], points, found)
    row = density.set_index("cluster").loc[stale_cluster]
    assert row["lift"] >= 1.3, density
    ranked = density[density["judged"] >= 20]["cluster"].tolist()
    assert stale_cluster in ranked[:2], density  # only the invented on-prem answers fail more often


def test_demo_dead_corpus_is_the_chunks_no_trace_retrieved(demo_map: dict[str, Any]) -> None:
    points: MapPoints = demo_map["points"]
    dead = dead_corpus(points)
    all_chunks = set(points.frame.loc[~points.is_query, "document_id"])
    assert set(dead["document_id"]) == all_chunks - demo_map["retrieved"]
    assert dead["nearest_query_similarity"].between(-1, 1).all()


def test_drift_compares_two_windows_of_queries(demo_map: dict[str, Any]) -> None:
    points: MapPoints = demo_map["points"]
    found = clusters(points)
    table = drift(points, ("2026-11-09", "2026-11-12"), ("2026-11-12", "2026-11-16"), found)
    overall = table.iloc[0]
    assert pd.isna(overall["cluster"])
    assert overall["n_a"] + overall["n_b"] == 2_000
    assert table["share_a"].iloc[1:].sum() <= 1.0 + 1e-9
    assert 0 < overall["centroid_distance"] < 0.2  # same topics every day: little drift


def test_where_picks_the_queries_and_keeps_every_chunk(demo_path: Path) -> None:
    with llmlens.open(demo_path, read_only=True) as lens:
        some = map_points(lens.con, where="start_time < '2026-11-11'")
        n_traces = lens.con.sql("SELECT count(*) FROM traces WHERE start_time < '2026-11-11'").fetchall()[0][0]
        n_queries = int(some.is_query.sum())
        assert 0 < n_queries <= n_traces
        assert (~some.is_query).sum() == 5_000
        assert some.links.src.max() < n_queries
        with pytest.raises(LensError, match=r"subquery|not a query"):
            map_points(lens.con, where="trace_id IN (SELECT trace_id FROM spans)")


# --- point sets from the store and from frames -------------------------------------------------------------------


def test_map_points_links_a_query_to_its_own_span_before_its_trace() -> None:
    lens = llmlens.open(":memory:")
    lens.con.execute(
        "INSERT INTO embeddings (role, text, vector, trace_id, span_id, document_id) VALUES "
        "('query', 'q', [1, 0], 't', 'embed', NULL), ('chunk', 'a', [1, 0], NULL, NULL, 'a'), "
        "('chunk', 'b', [0, 1], NULL, NULL, 'b'), ('chunk', 'c', [1, 1], NULL, NULL, 'c')"
    )
    lens.con.execute(
        "INSERT INTO documents (trace_id, span_id, position, document_id, score) VALUES "
        "('t', 'embed', 0, 'a', 0.9), ('t', 'other', 0, 'b', 0.1)"
    )
    points = map_points(lens.con)
    assert points.links.dst.tolist() == [1]
    assert points.frame["role"].tolist() == ["query", "retrieved chunk", "never-retrieved chunk",
                                             "never-retrieved chunk"]  # fmt: skip


def test_map_points_refuses_mixed_dimensions_unless_one_model_is_picked() -> None:
    lens = llmlens.open(":memory:")
    lens.con.execute(
        "INSERT INTO embeddings (role, model, vector, document_id) VALUES "
        "('chunk', 'small', [1, 0], 'a'), ('chunk', 'large', [1, 0, 0], 'b')"
    )
    with pytest.raises(LensError, match="pass model="):
        map_points(lens.con)
    assert map_points(lens.con, model="large").vectors.shape == (1, 3)


def test_from_frames_takes_dataframes_with_metadata() -> None:
    queries = pd.DataFrame({"vector": [[1.0, 0.0], [0.0, 1.0]], "text": ["a?", "b?"], "trace_id": ["t1", "t2"]})
    chunks = pd.DataFrame({"vector": [[1.0, 0.1]], "document_id": ["d"], "embedding_id": [100]})
    retrievals = pd.DataFrame({"query": [1, 0], "chunk": [0, 0], "score": [0.1, 0.9], "rank": [0, 0]})
    points = from_frames(queries, chunks, retrievals)
    assert points.frame["embedding_id"].tolist() == [0, 1, 100]
    assert points.frame["role"].tolist() == ["query", "query", "retrieved chunk"]
    assert points.links.src.tolist() == [0, 1]
    assert points.links.score.tolist() == pytest.approx([0.9, 0.1])
    with pytest.raises(LensError, match="does not exist"):
        from_frames(queries, chunks, pd.DataFrame({"query": [5], "chunk": [0]}))
    assert list(ROLES) == list(points.frame["role"].cat.categories)


# --- layouts and the cache ---------------------------------------------------------------------------------------


def _blobs(n: int, dim: int = 32, seed: int = 0) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, dim)) * 4
    return (centres[rng.integers(0, 6, n)] + rng.normal(size=(n, dim))).astype(np.float32)


def test_first_layout_is_instant_and_deterministic() -> None:
    vectors = _blobs(3_000)
    xy = first_layout(vectors)
    assert xy.shape == (3_000, 2)
    assert xy.dtype == np.float32
    assert np.array_equal(xy, first_layout(vectors))
    assert xy.std(axis=0).min() > 0


@pytest.fixture(scope="module")
def sampled_layouts() -> dict[str, Any]:
    """UMAP above the sample threshold, twice with one seed and once with another (numba compiles once here)."""
    vectors = _blobs(1_500)
    keep = np.zeros(1_500, bool)
    keep[:300] = True
    layouts = {
        name: umap_layout(vectors, seed=seed, n_neighbors=10, sample_threshold=600, keep=keep, n_epochs=60)
        for name, seed in (("a", 0), ("b", 0), ("c", 1))
    }
    stages: list[str] = []
    umap_layout(vectors[:500], n_neighbors=10, n_epochs=30, progress=lambda stage, _: stages.append(stage))
    return {"vectors": vectors, "keep": keep, "stages": stages, **layouts}


def test_umap_layout_is_reproducible_from_its_seed(sampled_layouts: dict[str, Any]) -> None:
    assert np.array_equal(sampled_layouts["a"], sampled_layouts["b"])
    assert not np.array_equal(sampled_layouts["a"], sampled_layouts["c"])
    assert sampled_layouts["stages"][0] == "sample"
    assert sampled_layouts["stages"][-1] == "done"


def test_umap_layout_places_the_sampled_out_points_near_their_blob(sampled_layouts: dict[str, Any]) -> None:
    """Points placed by transform land among the fitted points of their own blob."""
    from sklearn.cluster import KMeans
    from sklearn.neighbors import KNeighborsClassifier

    vectors, keep, xy = sampled_layouts["vectors"], sampled_layouts["keep"], sampled_layouts["a"]
    assert np.isfinite(xy).all()
    blob = KMeans(6, n_init=4, random_state=0).fit_predict(vectors)
    placed_blob = KNeighborsClassifier(10).fit(xy[keep], blob[keep]).predict(xy[~keep])
    assert (placed_blob == blob[~keep]).mean() > 0.9


def test_umap_layout_rejects_a_keep_mask_of_the_wrong_length() -> None:
    with pytest.raises(LensError, match="keep must be a boolean mask"):
        umap_layout(_blobs(100), sample_threshold=50, keep=np.ones(10, bool))


def test_layout_cache_round_trips_and_is_keyed_by_vectors_params_and_seed(tmp_path: Path) -> None:
    ids = np.arange(10, 1_010, dtype=np.int64)
    vectors = _blobs(1_000)
    xy = first_layout(vectors)
    key = layout_key(ids, vectors, method="pca", seed=0)
    with llmlens.open(tmp_path / "s.duckdb") as lens:
        assert cached_layout(lens.con, key) is None
        store_layout(lens.con, key, ids, xy)
    with llmlens.open(tmp_path / "s.duckdb", read_only=True) as lens:
        assert np.array_equal(cached_layout(lens.con, key, ids), xy)
        shuffled = np.random.default_rng(0).permutation(1_000)
        assert np.array_equal(cached_layout(lens.con, key, ids[shuffled]), xy[shuffled])
        assert cached_layout(lens.con, key, np.append(ids, 5)) is None
        changed = vectors.copy()
        changed[3, 0] += 1e-3
        for other in (
            layout_key(ids, changed, method="pca", seed=0),
            layout_key(ids, vectors, method="pca", seed=1),
            layout_key(ids, vectors, method="pca", seed=0, n_neighbors=5),
        ):
            assert cached_layout(lens.con, other) is None
        with pytest.raises(LensError, match="read-only"):
            store_layout(lens.con, key, ids, xy)


def test_store_layout_key_follows_the_vectors_in_the_store(tmp_path: Path) -> None:
    with llmlens.open(tmp_path / "s.duckdb") as lens:
        lens.con.execute(
            "INSERT INTO embeddings (role, vector, document_id) SELECT 'chunk', [i, 1.0], 'd' || i FROM range(5) r(i)"
        )
        key, ids, roles = store_layout_key(lens.con, seed=0, n_neighbors=15)
        assert ids.tolist() == [1, 2, 3, 4, 5]
        assert roles.tolist() == [2] * 5
        assert store_layout_key(lens.con, seed=0, n_neighbors=15)[0] == key
        lens.con.execute("UPDATE embeddings SET vector = [9.0, 9.0] WHERE embedding_id = 3")
        assert store_layout_key(lens.con, seed=0, n_neighbors=15)[0].vector_hash != key.vector_hash
        assert json.loads(key.params) == {"n_neighbors": 15}


def test_cached_umap_layout_computes_once_then_reads_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmlens.analysis import embedding_layout

    calls: list[int] = []

    def fake(vectors: Any, *args: Any, **kwargs: Any) -> np.ndarray[Any, Any]:
        calls.append(len(vectors))
        return first_layout(vectors)

    monkeypatch.setattr(embedding_layout, "umap_layout", fake)
    vectors, ids = _blobs(200), np.arange(200)
    with llmlens.open(tmp_path / "s.duckdb") as lens:
        first = cached_umap_layout(lens.con, ids, vectors, seed=3)
        again = cached_umap_layout(lens.con, ids, vectors, seed=3)
    assert calls == [200]
    assert np.array_equal(first, again)


def test_browser_columns_cost_at_most_16_bytes_a_point() -> None:
    table = browser_table(np.zeros((1_000, 2)), np.zeros(1_000))
    assert table.nbytes / 1_000 <= 16
    assert [str(t) for t in table.schema.types] == ["float", "float", "int32", "uint8"]
    assert browser_table(np.zeros((1_000, 2))).schema.names == ["x", "y", "point"]


def test_neighbour_search_by_cells_finds_what_comparing_with_every_row_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above IVF_ABOVE base rows a query is compared only with the rows of its nearest cells: on clustered vectors
    that loses (almost) nothing against the search over every row, and distances are exact cosine distances."""
    from llmlens.analysis import embedding_layout

    vectors = _blobs(3_000, dim=96, seed=2)
    queries, base = vectors[:500], vectors[500:]
    every, every_dist = embedding_layout._neighbours(queries, base, 10, 0)
    monkeypatch.setattr(embedding_layout, "IVF_ABOVE", 1_000)
    cells, cell_dist = embedding_layout._neighbours(queries, base, 10, 0)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(cells, every, strict=True)])
    assert recall >= 0.95
    unit_q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    unit_b = base / np.linalg.norm(base, axis=1, keepdims=True)
    exact = 1 - np.einsum("ij,ij->i", unit_q, unit_b[cells[:, 0]])
    assert np.allclose(cell_dist[:, 0], exact, atol=1e-5)
    assert (np.diff(cell_dist, axis=1) >= 0).all()
    assert np.allclose(every_dist[:, 0], 1 - np.einsum("ij,ij->i", unit_q, unit_b[every[:, 0]]), atol=1e-5)


def test_vectors_with_nan_or_infinity_are_left_out_with_a_warning_and_links_renumbered() -> None:
    queries, chunks = np.eye(4)[:3].copy(), np.eye(4).copy()
    queries[1, 0] = np.nan
    chunks[2, 3] = np.inf
    retrievals = pd.DataFrame({"query": [1, 2, 2], "chunk": [0, 2, 3], "score": [0.5, 0.6, 0.7]})
    with pytest.warns(UserWarning, match=r"2 embedding\(s\) with NaN or infinite values left out.*embedding_id 1, 5"):
        points = from_frames(queries, chunks, retrievals)
    assert points.frame.embedding_id.tolist() == [0, 2, 3, 4, 6]
    assert np.isfinite(points.vectors).all()
    assert (points.links.src.tolist(), points.links.dst.tolist()) == ([1], [4])  # query 2 -> chunk 3 survives
    assert points.links.score.tolist() == pytest.approx([0.7])
    assert first_layout(points.vectors).shape == (5, 2)


def test_clusters_of_a_large_map_fit_on_a_sample_and_agree_with_fitting_all() -> None:
    from sklearn.metrics import adjusted_rand_score

    from llmlens.analysis.embedding_diagnostics import cluster_labels

    vectors = _blobs(3_000, dim=16, seed=3)
    points = from_frames(vectors, np.zeros((0, 16), np.float32))
    everything = cluster_labels(points, min_cluster_size=30)
    sampled = cluster_labels(points, min_cluster_size=30, fit_rows=1_000)
    assert sampled.max() >= 1 and (sampled >= 0).mean() > 0.9
    kept = (everything >= 0) & (sampled >= 0)
    assert adjusted_rand_score(everything[kept], sampled[kept]) > 0.9
    np.testing.assert_array_equal(sampled, cluster_labels(points, min_cluster_size=30, fit_rows=1_000))  # seeded
