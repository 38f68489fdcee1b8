"""The embedding map widget, kernel side: what it sends (binary, at most 16 bytes a point), colours and sizes,
selection both ways, point cards with retrieval neighbours, search, the background UMAP with its cache, the
diagnostics panel on the demo, and the state of an exported page."""

from __future__ import annotations

import base64
import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import llmlens
from llmlens import lens as lens_module
from llmlens.analysis import embedding_layout
from llmlens.errors import LensError
from llmlens.widgets import EmbeddingMap
from llmlens.widgets import embedding_map as widget_module
from llmlens.widgets.map_data import (
    COLOR_OPTIONS,
    coloring,
    neighbours,
    point_attributes,
    search_points,
    size_codes,
)


@pytest.fixture(scope="module")
def demo_map(demo_path: Path) -> Iterator[EmbeddingMap]:
    """The demo's map with its diagnostics, PCA layout, computed in the foreground (on a store of its own: each
    test closes the store opened last)."""
    with llmlens.open(demo_path, read_only=True) as lens:
        m = lens.map(layout="pca", background=False)
        lens_module._current = None
        yield m


def _blobs(n_queries: int, n_chunks: int, seed: int = 0) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 16)) * 5
    queries = centres[rng.integers(0, 4, n_queries)] + rng.normal(size=(n_queries, 16))
    chunks = centres[rng.integers(0, 4, n_chunks)] + rng.normal(size=(n_chunks, 16))
    return queries.astype(np.float32), chunks.astype(np.float32)


def _ints(data: bytes) -> list[int]:
    return np.frombuffer(data, np.int32).tolist()


# --- what travels to the browser ------------------------------------------------------------------------------


def test_the_browser_gets_at_most_16_bytes_a_point(demo_map: EmbeddingMap) -> None:
    sent = sum(len(getattr(demo_map, name)) for name in ("_points", "_colors", "_sizes", "_roles", "_clusters"))
    assert sent / demo_map.n_points <= 16  # coordinates and point numbers 12, colour, role and cluster 1 each
    demo_map.size_by = "retrievals"
    try:
        assert len(demo_map._sizes) == demo_map.n_points  # one byte more when sized by something
    finally:
        demo_map.size_by = ""
    table = pa.ipc.open_stream(demo_map._points).read_all()
    assert table.schema.names == ["x", "y", "point"]
    assert table.schema.field("x").type == pa.float32() and table.schema.field("point").type == pa.int32()
    np.testing.assert_array_equal(np.column_stack([table["x"], table["y"]]), demo_map.xy)
    assert len(demo_map._texts) == 0 and len(demo_map._links) == 0  # texts and links are asked for, live


def test_every_colouring_gives_one_known_code_a_point_and_a_legend_that_counts_them(demo_map: EmbeddingMap) -> None:
    attributes = demo_map._attributes
    for option in COLOR_OPTIONS:
        found = coloring(demo_map.points, attributes, option)
        assert len(found.codes) == demo_map.n_points, option
        counts = {item["code"]: item["count"] for item in found.legend}
        assert set(np.unique(found.codes)) <= set(counts), option
        assert sum(counts.values()) == demo_map.n_points, option
        assert all(item["color"].startswith("#") and len(item["color"]) == 7 for item in found.legend)
    with pytest.raises(LensError, match="cannot colour by 'shoe size'"):
        demo_map.color_by = "shoe size"


def test_colour_by_label_marks_the_chunks_that_fed_failed_answers(demo_map: EmbeddingMap) -> None:
    label = demo_map._attributes["label"]
    stale = demo_map.points.frame["text"].fillna("").str.startswith("Plans and pricing (2023)").to_numpy()
    retrieved_stale = stale & (demo_map.points.role_codes == 1)
    assert retrieved_stale.any()
    judged = label.notna().to_numpy()
    failed = (label == "failed").to_numpy()
    retrieved = demo_map.points.role_codes == 1
    stale_rate = failed[retrieved_stale & judged].mean()
    fresh_rate = failed[retrieved & ~stale & judged].mean()
    assert stale_rate > 1.5 * fresh_rate, (stale_rate, fresh_rate)
    queries = demo_map.points.is_query
    assert set(label[queries].dropna()) == {"failed", "passed"}


def test_colour_and_size_follow_their_traits(demo_map: EmbeddingMap) -> None:
    demo_map.color_by = "cluster"
    try:
        codes = np.frombuffer(demo_map._colors, np.uint8)
        assert len(codes) == demo_map.n_points
        assert "cluster" in demo_map._color_options
        assert any(item["label"].startswith("cluster ") for item in demo_map._legend)
    finally:
        demo_map.color_by = "role"
    assert np.frombuffer(demo_map._colors, np.uint8).tolist() == demo_map.points.role_codes.tolist()
    sizes = size_codes(demo_map._attributes, "retrievals")
    never = demo_map.points.role_codes == 2
    assert sizes[never].max() == 0 and sizes.max() == 255


def test_search_finds_texts_literally_in_any_case() -> None:
    queries = pd.DataFrame({"vector": [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], "text": ["SSO setup?", "a.*b", None]})
    m = EmbeddingMap.from_frames(queries, np.eye(2), layout="pca", diagnostics=False)
    m.search = "sso"
    assert _ints(m._matches) == [0]
    m.search = ".*"
    assert _ints(m._matches) == [1]
    assert search_points(m.points, "   ").tolist() == []


# --- selection ------------------------------------------------------------------------------------------------


def test_a_selection_made_in_the_browser_reaches_the_trait_and_selected(demo_map: EmbeddingMap) -> None:
    rows = np.array([3, 2500, 6999, 3], np.int32)
    demo_map.set_state({"_selection": memoryview(rows.tobytes())})  # what the browser sends after a lasso
    try:
        expected = demo_map.points.ids[[3, 2500, 6999]].tolist()
        assert demo_map.selection == expected
        selected = demo_map.selected
        assert selected["embedding_id"].tolist() == expected
        assert {"text", "trace_id", "document_id", "role", "score", "retrievals", "label", "cluster", "x", "y"} <= set(
            selected.columns
        )
        assert selected["role"].iloc[0] == "query" and isinstance(selected["trace_id"].iloc[0], str)
        assert selected["x"].tolist() == pytest.approx(demo_map.xy[[3, 2500, 6999], 0].tolist())
    finally:
        demo_map._selection = b""
    assert demo_map.selection == [] and len(demo_map.selected) == 0


def test_a_selection_set_in_python_reaches_the_browser(demo_map: EmbeddingMap) -> None:
    ids = demo_map.points.ids[[10, 20]].tolist()
    demo_map.selection = ids
    try:
        assert _ints(demo_map._selection) == [10, 20]
        with pytest.raises(LensError, match="1 of the selected ids are not points"):
            demo_map.selection = [*ids, -5]
    finally:
        demo_map.selection = []
    assert demo_map._selection == b""


def test_a_selection_samples_its_traces_for_review(demo_map: EmbeddingMap, demo_path: Path) -> None:
    demo_map._selection = np.arange(40, dtype=np.int32).tobytes()
    try:
        picked = llmlens.open(demo_path, read_only=True).sample(10, "selection", ids=demo_map.selected)
    finally:
        demo_map._selection = b""
    assert len(picked) == 10 and set(picked.trace_id) <= set(demo_map.points.frame.trace_id[:40])


# --- a point's card -------------------------------------------------------------------------------------------


def test_a_query_card_lists_the_chunks_it_retrieved_by_rank(demo_map: EmbeddingMap) -> None:
    card, buffers = demo_map.point_info({"point": 0}, [])
    links = demo_map.points.links
    assert card["role"] == "query" and buffers == []
    assert [n["point"] for n in card["neighbours"]] == links.dst[links.src == 0].tolist()
    assert [n["rank"] for n in card["neighbours"]] == sorted(n["rank"] for n in card["neighbours"])
    assert card["meta"]["trace_id"] == demo_map.points.frame.trace_id[0]
    json.dumps(card)  # what the kernel sends must be plain JSON


def test_a_chunk_card_lists_the_queries_that_retrieved_it_best_first(demo_map: EmbeddingMap) -> None:
    chunk = int(np.bincount(demo_map.points.links.dst).argmax())
    found = neighbours(demo_map.points, chunk)
    assert len(found) == int((demo_map.points.links.dst == chunk).sum()) > 1
    assert all(demo_map.points.is_query[[n["point"] for n in found]])
    scores = [n["score"] for n in found]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(IndexError):
        demo_map.point_info({"point": demo_map.n_points}, [])


# --- the diagnostics panel ------------------------------------------------------------------------------------


def test_the_panel_leads_with_the_demos_planted_gap_and_stale_pricing(demo_map: EmbeddingMap, demo_path: Path) -> None:
    with llmlens.open(demo_path, read_only=True) as lens:
        intent = dict(
            lens.con.sql(
                "SELECT trace_id, attributes->>'$.\"app.intent\"' FROM spans WHERE name = 'rag_pipeline'"
            ).fetchall()
        )
    panel = demo_map._diagnostics
    assert panel["computing"] is False
    gap_traces = [demo_map.points.frame.trace_id[gap["point"]] for gap in panel["gaps"]]
    assert gap_traces and all(intent[trace] == "other" for trace in gap_traces)
    assert panel["dead"]["count"] == int((demo_map.points.role_codes == 2).sum())
    codes = np.frombuffer(demo_map._clusters, np.uint8)
    stale = demo_map.points.frame["text"].fillna("").str.startswith("Plans and pricing (2023)").to_numpy()
    stale_code = np.bincount(codes[stale]).argmax()
    rates = {item["code"]: item["failure_rate"] for item in panel["clusters"]}
    known = sorted((rate for rate in rates.values() if rate is not None), reverse=True)
    assert rates[stale_code] in known[:3]  # the stale archive is among the clusters that fail most
    assert set(demo_map.diagnostics) == {"gaps", "dead", "clusters", "failure_density", "drift"}
    assert (
        panel["gaps"][0]["gap_size"] == int((demo_map.diagnostics["gaps"].gap == 0).sum())
        and "on-prem" in panel["gaps"][0]["terms"]
    )
    moved = panel["drift"]["clusters"]
    changes = [abs(item["share_change"]) for item in moved]
    assert len(panel["drift"]["windows"]) == 2 and changes == sorted(changes, reverse=True) and len(moved) == 5
    drift = demo_map.diagnostics["drift"].dropna(subset=["cluster"])
    assert moved[0]["code"] - 1 == int(drift.loc[drift.share_change.abs().idxmax(), "cluster"])


def test_colour_by_a_trace_attribute_or_a_callers_column(demo_map: EmbeddingMap) -> None:
    demo_map.color_by = "attributes.app.intent"  # the root span's attribute: a route, a prompt version
    try:
        legend = {item["label"]: item["count"] for item in demo_map._legend}
        assert legend["no attributes.app.intent"] == 5000 and "pricing" in legend and "other" in legend
        assert "attributes.app.intent" in demo_map._color_options
    finally:
        demo_map.color_by = "role"
    with pytest.raises(LensError, match=r"cannot colour by 'attributes\.a b'"):
        demo_map.color_by = "attributes.a b"
    frames = EmbeddingMap.from_frames(
        pd.DataFrame({"vector": list(np.eye(3)), "team": ["x", "y", "x"]}), np.eye(3), layout="pca", color_by="team"
    )
    assert {item["label"]: item["count"] for item in frames._legend} == {"no team": 3, "x": 2, "y": 1}


# --- layouts: background, cache, reproducible -----------------------------------------------------------------


def test_umap_replaces_the_pca_picture_in_the_background_and_is_cached(tmp_path: Path, demo_path: Path) -> None:
    store = tmp_path / "map.duckdb"
    shutil.copy(demo_path, store)
    with llmlens.open(store) as lens:
        first = lens.map("model = 'gpt-4o'", diagnostics=False)
        assert first.layout_method == "pca"
        pca = first.xy
        messages: list[str] = []
        first.observe(lambda change: messages.append(change["new"]["message"]), names="_status")
        first.wait(600)
        assert any(re.fullmatch(r"UMAP: \w+ · \d+ s", message) for message in messages), messages
        assert first.layout_method == "umap" and first._status["progress"] is None
        assert not np.allclose(first.xy, pca)
        again = lens.map("model = 'gpt-4o'", diagnostics=False)
        assert again.layout_method == "cached umap"
        np.testing.assert_array_equal(again.xy, first.xy)
        assert again.points.vectors.shape == (again.n_points, 0)  # a cached map opens without reading a vector
        diagnosed = lens.map("model = 'gpt-4o'").wait(300)
        assert diagnosed.layout_method == "cached umap" and diagnosed.points.vectors.shape[1] == 384
        assert len(diagnosed.diagnostics["clusters"]) > 0
        other_seed = lens.map("model = 'gpt-4o'", diagnostics=False, seed=1, layout="pca")
        assert other_seed.layout_method == "pca"


def test_umap_is_reproducible_from_its_seed() -> None:
    queries, chunks = _blobs(60, 240)
    a = EmbeddingMap.from_frames(queries, chunks, diagnostics=False, background=False, seed=3)
    b = EmbeddingMap.from_frames(queries, chunks, diagnostics=False, background=False, seed=3)
    assert a.layout_method == "umap"
    np.testing.assert_array_equal(a.xy, b.xy)


def test_a_failing_background_layout_is_reported_and_raised_by_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError("out of memory in the fit")

    monkeypatch.setattr(widget_module, "umap_layout", broken)
    queries, chunks = _blobs(10, 40)
    m = EmbeddingMap.from_frames(queries, chunks, diagnostics=False)
    with pytest.raises(LensError, match="out of memory in the fit"):
        m.wait(60)
    assert m._status["message"].startswith("failed") and m.layout_method == "pca"
    assert embedding_layout.umap_layout is not broken


def test_background_diagnostics_never_change_the_attributes_the_kernel_is_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker adds the cluster column to a new frame: a selection read while it finishes sees a whole frame
    (adding it in place raced pandas' concat in ``selected``)."""
    release = threading.Event()
    real_clusters = widget_module.clusters

    def held_clusters(*args: Any, **kwargs: Any) -> Any:
        release.wait(60)
        return real_clusters(*args, **kwargs)

    monkeypatch.setattr(widget_module, "clusters", held_clusters)
    queries, chunks = _blobs(10, 40)
    m = EmbeddingMap.from_frames(queries, chunks, layout="pca")
    read_before = m._attributes
    release.set()
    m.wait(60)
    assert "cluster" not in read_before and "cluster" in m._attributes
    m.selection = [0]
    assert m.selected["cluster"].notna().all()


def test_from_frames_keeps_the_callers_metadata_and_colours_by_its_labels() -> None:
    queries = pd.DataFrame(
        {"vector": list(np.eye(3)), "text": ["a", "b", "c"], "label": ["bad", "good", None], "team": ["x", "y", "z"]}
    )
    m = EmbeddingMap.from_frames(queries, np.eye(3), pd.DataFrame({"query": [0], "chunk": [1]}), layout="pca")
    labels = point_attributes(m.points)["label"]
    assert labels.fillna("-").tolist() == ["failed", "passed", "-", "-", "failed", "-"]  # chunk 1 fed query 0
    m.color_by = "label"
    assert {item["label"]: item["count"] for item in m._legend} == {"not judged": 3, "failed": 2, "passed": 1}
    m.selection = [0]
    assert m.selected[["team", "label", "map_label"]].to_dict("records") == [
        {"team": "x", "label": "bad", "map_label": "failed"}
    ]


def test_bad_arguments_are_clear_errors(demo_path: Path) -> None:
    with llmlens.open(demo_path, read_only=True) as lens:
        with pytest.raises(LensError, match="layout='tsne'"):
            lens.map(layout="tsne")
        assert lens.map("root_name = 'nothing'", layout="pca", diagnostics=False).points.is_query.sum() == 0
    with llmlens.open(":memory:") as empty, pytest.raises(LensError, match="no embeddings to map: load traces"):
        empty.map()
        with pytest.raises(LensError, match="shape"):
            EmbeddingMap.from_frames(np.eye(2), np.eye(2), xy=np.zeros((3, 2)))


# --- an exported page -----------------------------------------------------------------------------------------


def test_an_exported_page_carries_texts_links_and_every_colouring(demo_map: EmbeddingMap) -> None:
    state = demo_map.exported_state()
    texts = pa.ipc.open_stream(state["_texts"]).read_all()
    links = pa.ipc.open_stream(state["_links"]).read_all()
    assert texts.num_rows == demo_map.n_points and max(len(t) for t in texts["text"].to_pylist()) <= 300
    assert links["src"].to_pylist() == demo_map.points.links.src.tolist()
    assert set(state["_color_sets"]) == set(demo_map._color_options)
    codes = base64.b64decode(state["_color_sets"]["label"]["codes_b64"])
    assert (
        np.frombuffer(codes, np.uint8).tolist()
        == coloring(demo_map.points, demo_map._attributes, "label").codes.tolist()
    )
    page = demo_map.to_html()
    assert 'data-llmlens-bundle="map"' in page and 'src="http' not in page and "<link" not in page


def test_the_map_magic_opens_the_current_stores_map(shell: Any, demo_path: Path) -> None:
    shell.run_line_magic("lens", f"open --read-only {demo_path}")
    try:
        m = shell.run_line_magic("lens", "map --layout pca --color-by label")
        assert isinstance(m, EmbeddingMap) and m.color_by == "label" and m.layout_method == "pca"
        m.wait(300)
        assert m.diagnostics["gaps"].shape[0] > 0
    finally:
        shell.run_line_magic("lens", "close")


def test_colour_by_cluster_asked_before_the_clusters_exist_follows_when_they_do(demo_path: Path) -> None:
    with llmlens.open(demo_path, read_only=True) as lens:
        m = lens.map(layout="pca", color_by="cluster")
        m.wait(300)
        assert m.color_by == "cluster" and any(item["label"].startswith("cluster ") for item in m._legend)
        with pytest.raises(LensError, match="needs the diagnostics"):
            lens.map(layout="pca", diagnostics=False, color_by="cluster")


def test_a_map_with_a_broken_vector_leaves_it_out_and_still_reopens_from_its_cache(tmp_path: Path) -> None:
    with llmlens.open(tmp_path / "nan.duckdb") as lens:
        lens.con.execute(
            "INSERT INTO embeddings (role, text, vector, document_id) SELECT 'chunk', 'chunk ' || i, list_transform("
            "range(8), lambda x: CASE WHEN i = 7 THEN 'nan'::FLOAT ELSE (hash(i, x) % 1000)::FLOAT END), 'd' || i "
            "FROM range(300) t(i)"
        )
        with pytest.warns(UserWarning, match="1 embedding"):
            first = lens.map(diagnostics=False, background=False)
        assert first.n_points == 299 and first.layout_method == "umap"
        with pytest.warns(UserWarning, match="1 embedding"):
            again = lens.map(diagnostics=False)
        assert again.layout_method == "cached umap" and again.n_points == 299
        np.testing.assert_array_equal(again.xy, first.xy)
