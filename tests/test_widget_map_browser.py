"""The embedding map in a real browser: a lasso drawn on the demo map in JupyterLab reaches the kernel's
``selection`` trait and ``.selected``; clicking a query draws its retrieval lines; an exported page keeps the map
interactive without a kernel; hostile texts stay inert."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import llmlens
from llmlens.analysis.embedding_map import first_layout, map_points
from llmlens.widgets import EmbeddingMap
from llmlens.widgets.map_data import neighbours
from tests.browser import Lab, jupyterlab, offline, open_notebook, run_cell
from tests.map_page import inside, map_view, to_page

pytestmark = pytest.mark.slow

HOSTILE = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 1</script>'


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with jupyterlab(tmp_path_factory.mktemp("lab-map")) as server:
        yield server


@pytest.fixture(scope="module")
def demo_layout(demo_path: Path) -> tuple[Any, np.ndarray[Any, Any]]:
    """The demo's points and their PCA layout, as the kernel computes them."""
    with llmlens.open(demo_path, read_only=True) as lens:
        points = map_points(lens.con)
    return points, first_layout(points.vectors)


def _lasso(page: Any, polygon: np.ndarray[Any, Any]) -> None:
    """Draw ``polygon`` (page pixels) as a lasso: shift held, mouse down at its first corner, along every edge."""
    page.keyboard.down("Shift")
    page.mouse.move(*polygon[0])
    page.mouse.down()
    for start, end in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        for t in np.linspace(0, 1, 8)[1:]:
            page.mouse.move(*(start + (end - start) * t))
    page.mouse.up()
    page.keyboard.up("Shift")


def _polygon(box: dict[str, float]) -> np.ndarray[Any, Any]:
    """A pentagon over the left half of the canvas."""
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    return np.array([[x + 0.1 * w, y + 0.15 * h], [x + 0.45 * w, y + 0.1 * h], [x + 0.55 * w, y + 0.5 * h],
                     [x + 0.4 * w, y + 0.9 * h], [x + 0.12 * w, y + 0.75 * h]])  # fmt: skip


def _isolated_query(points: Any, page_xy: np.ndarray[Any, Any], box: dict[str, float]) -> int:
    """A query with retrieval links, on the canvas, whose nearest other point is furthest away (a click there
    cannot hit another point)."""
    on_canvas = (
        (page_xy[:, 0] > box["x"] + 20) & (page_xy[:, 0] < box["x"] + box["width"] - 20)
        & (page_xy[:, 1] > box["y"] + 20) & (page_xy[:, 1] < box["y"] + box["height"] - 20)
    )  # fmt: skip
    linked = np.zeros(len(points), bool)
    linked[points.links.src] = True
    candidates = np.flatnonzero(points.is_query & linked & on_canvas)[:400]
    distance = [np.partition(np.linalg.norm(page_xy - page_xy[c], axis=1), 1)[1] for c in candidates]
    return int(candidates[int(np.argmax(distance))])


def test_a_lasso_on_the_demo_map_reaches_the_kernel_and_a_click_draws_retrieval_lines(
    lab: Lab, page: Any, demo_path: Path, demo_layout: tuple[Any, np.ndarray[Any, Any]]
) -> None:
    points, xy = demo_layout
    store = lab.root / "map.duckdb"
    shutil.copy(demo_path, store)
    cells = [
        f"import json, llmlens\nlens = llmlens.open({str(store)!r})\nm = lens.map(layout='pca')\nm",
        "print('selection=' + json.dumps(sorted(m.selection)))\n"
        "print('selected=' + json.dumps(sorted(m.selected.embedding_id.tolist())))\n"
        "print(f'focus={m.focus}')",
    ]
    open_notebook(page, lab, "map.ipynb", cells)
    cell = run_cell(page, 0)
    root = cell.locator(f".ll-map[data-points='{len(points)}'][data-layout='pca']")
    root.wait_for()
    view = map_view(root)
    on_page = to_page(xy, view)

    polygon = _polygon(view.box)
    _lasso(page, polygon)
    expected = np.flatnonzero(inside(on_page, polygon))
    assert len(expected) > 50, "the lasso should catch a good part of the map"
    root.and_(page.locator(f"[data-selected='{len(expected)}']")).wait_for()
    printed = run_cell(page, 1).locator(".jp-OutputArea-output")
    printed.filter(has_text="focus=").wait_for()
    lines = dict(line.split("=", 1) for line in printed.inner_text().splitlines() if "=" in line)
    ids = sorted(points.ids[expected].tolist())
    assert json.loads(lines["selection"]) == ids
    assert json.loads(lines["selected"]) == ids

    root.press("Escape")  # keys reach the map while it has focus
    root.and_(page.locator("[data-selected='0']")).wait_for()
    view = map_view(root)  # running a cell may have scrolled the page
    on_page = to_page(xy, view)
    query = _isolated_query(points, on_page, view.box)
    page.mouse.click(*on_page[query])
    expected_lines = neighbours(points, query)
    root.and_(page.locator(f"[data-focus='{query}'][data-lines='{len(expected_lines)}']")).wait_for()
    labels = root.locator(".ll-map-line-label")
    assert labels.count() == len(expected_lines)
    best = expected_lines[0]
    assert f"{best['score']:.2f}" in labels.all_inner_texts()[0] and "#1" in " ".join(labels.all_inner_texts())
    printed = run_cell(page, 1).locator(".jp-OutputArea-output")
    printed.filter(has_text=f"focus={query}").wait_for()


def test_an_exported_map_stays_interactive_offline_and_hostile_text_stays_inert(page: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    queries = pd.DataFrame(
        {"vector": list(rng.normal(size=(30, 8)) + 4), "text": [HOSTILE] + [f"question {i}" for i in range(1, 30)]}
    )
    chunks = pd.DataFrame({"vector": list(rng.normal(size=(120, 8)) + 4), "text": [f"chunk {i}" for i in range(120)]})
    retrievals = pd.DataFrame({"query": np.repeat(np.arange(30), 3), "chunk": rng.integers(0, 120, 90)})
    retrievals["score"] = rng.uniform(0.3, 0.9, 90)
    retrievals["rank"] = np.tile([0, 1, 2], 30)
    m = EmbeddingMap.from_frames(queries, chunks, retrievals.drop_duplicates(["query", "chunk"]), layout="pca")
    m.wait(120)
    out = tmp_path / "map.html"
    m.to_html(out)
    attempted = offline(page)
    page.goto(out.as_uri())
    root = page.locator(f".ll-map[data-points='{m.n_points}']")
    root.wait_for()
    view = map_view(root)
    on_page = to_page(m.xy, view)

    page.mouse.move(*on_page[0])  # hover the hostile query: its text is shown as text
    page.get_by_text(HOSTILE).first.wait_for()
    page.mouse.click(*on_page[0])
    root.and_(page.locator(f"[data-focus='0'][data-lines='{len(neighbours(m.points, 0))}']")).wait_for()

    polygon = _polygon(view.box)
    _lasso(page, polygon)
    expected = int(inside(on_page, polygon).sum())
    root.and_(page.locator(f"[data-selected='{expected}']")).wait_for()
    assert page.evaluate("() => window.__pwned") is None
    assert attempted == [] and page.errors == []


def test_search_colour_diagnostics_and_the_umap_layout_round_trip_with_the_kernel(
    lab: Lab, page: Any, demo_path: Path
) -> None:
    store = lab.root / "map-umap.duckdb"
    shutil.copy(demo_path, store)
    cells = [
        f"import json, llmlens\nlens = llmlens.open({str(store)!r})\nm = lens.map()\nm",
        "gaps = m.diagnostics['gaps']\n"
        "print('gap=' + json.dumps(sorted(m.points.ids[gaps.point[gaps.gap == gaps.gap.iloc[0]]].tolist())))\n"
        "print('selection=' + json.dumps(sorted(m.selection)))\n"
        "print(f'colour={m.color_by}\\nsearch={m.search}\\nlayout={m.layout_method}')",
    ]
    open_notebook(page, lab, "map-umap.ipynb", cells)
    cell = run_cell(page, 0)
    root = cell.locator(".ll-map[data-state='ready']")
    root.wait_for()
    root.and_(page.locator("[data-layout='umap']")).wait_for(timeout=300_000)  # UMAP replaced the PCA picture

    cell.locator("input.ll-map-search").fill("on-prem")
    cell.locator("input.ll-map-search").press("Enter")
    root.and_(page.locator(":not([data-matches='0'])[data-matches]")).wait_for()
    cell.locator("select[aria-label='colour by']").select_option("label")
    cell.locator(".ll-map-legend-item", has_text="failed").wait_for()

    cell.locator(".ll-map-drift").first.click()  # the cluster whose share of queries moved most: selected
    root.and_(page.locator(":not([data-selected='0'])[data-selected]")).wait_for()
    cell.locator(".ll-map-gap").first.click()  # the first coverage gap in the side panel
    root.and_(page.locator(":not([data-selected='0'])[data-selected]")).wait_for()
    printed = run_cell(page, 1).locator(".jp-OutputArea-output")
    printed.filter(has_text="layout=").wait_for()
    lines = dict(line.split("=", 1) for line in printed.inner_text().splitlines() if "=" in line)
    assert lines["colour"] == "label" and lines["search"] == "on-prem" and lines["layout"] == "umap"
    assert set(json.loads(lines["selection"])) <= set(json.loads(lines["gap"]))
    assert int(root.get_attribute("data-matches")) > 10
