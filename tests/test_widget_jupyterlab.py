"""The token viewer in a real JupyterLab 4 and Notebook 7: a kernel runs the cell, chromium shows the widget, clicks
and keys reach the Python traits (the lonboard tests/ui pattern, with Debian's chromium)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import Lab, jupyterlab, open_notebook, run_cell

pytestmark = pytest.mark.slow

RESPONSE = {
    "object": "chat.completion",
    "id": "chatcmpl-lab",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Pro is $59"},
                 "logprobs": {"content": [
                     {"token": t, "logprob": lp, "bytes": list(t.encode()), "top_logprobs": [
                         {"token": t, "logprob": lp, "bytes": list(t.encode())},
                         {"token": " maybe", "logprob": -3.0, "bytes": list(b" maybe")}]}
                     for t, lp in [("Pro", -0.05), (" is", -0.9), (" $", -0.2), ("59", -1.6)]]}}],
}  # fmt: skip

CELLS = [
    "import json\nfrom llmlens.widgets import TokenView\n"
    f"view = TokenView.from_openai(json.loads({json.dumps(json.dumps(RESPONSE))}))\nview",
    "print(f'state: selected={view.selected} mode={view.mode}')",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with jupyterlab(tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_token_viewer_round_trips_with_the_kernel(lab: Lab, page: Any, app: str) -> None:
    """In JupyterLab 4 and in Notebook 7."""
    open_notebook(page, lab, f"tokens-{app}.ipynb", CELLS, app)
    cell = run_cell(page, 0)
    tokens = cell.locator(".ll-tok")
    tokens.first.wait_for()
    assert tokens.all_text_contents() == ["Pro", " is", " $", "59"]
    tokens.nth(3).hover()  # the alternatives come from the kernel on demand (anywidget's invoke)
    cell.locator(".ll-tokens[data-alternatives=loaded]").wait_for()
    assert '" maybe"' in cell.locator(".ll-detail").inner_text()
    tokens.nth(3).click()
    cell.locator(".ll-tokens").press("m")  # the widget's key, not JupyterLab's (m would make a markdown cell)
    assert cell.locator("button[aria-pressed=true]").inner_text() == "entropy"
    state = run_cell(page, 1).locator(".jp-OutputArea-output")
    state.filter(has_text="state:").wait_for()
    assert "state: selected=3 mode=entropy" in state.inner_text()
    # the widget's keys did not reach JupyterLab ("m" there turns the cell into markdown)
    assert page.locator(".jp-Notebook .jp-CodeCell").count() == 2


def _rgb(css: str) -> tuple[int, ...]:
    return tuple(int(float(part)) for part in css[css.index("(") + 1 : css.index(")")].split(",")[:3])


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_the_widget_takes_the_host_theme(tmp_path_factory: pytest.TempPathFactory, page: Any, theme: str) -> None:
    with jupyterlab(tmp_path_factory.mktemp("themed"), theme=theme) as themed:
        open_notebook(page, themed, "theme.ipynb", CELLS[:1])
        cell = run_cell(page, 0)
        cell.locator(".ll-tok").first.wait_for()
        widget = cell.locator(".ll-tokens")
        text = _rgb(widget.evaluate("e => getComputedStyle(e).color"))
        host = _rgb(page.locator(".jp-Notebook").evaluate("e => getComputedStyle(e).backgroundColor"))
    dark_host = sum(host) < 3 * 128
    assert dark_host == (theme == "JupyterLab Dark")
    assert (sum(text) > 3 * 128) == dark_host  # light text on a dark host, dark text on a light one


CHART_CELLS = [
    "import llmlens\nlens = llmlens.open(':memory:')\n"
    "_ = lens.sql(\"INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'run-' || r, 'train/loss', i, "
    '2 - i / 200000 + CASE WHEN i = 77777 THEN 5 ELSE 0 END, i FROM range(2) a(r), range(100000) t(i)")\n'
    "charts = lens.compare('train/loss')\ncharts",
    "print(f'zoom: {[round(v) for v in charts.zoom]} rows: {len(charts.buckets)}')",
]


def test_dragging_across_a_chart_zooms_and_the_kernel_re_queries_finer_buckets(lab: Lab, page: Any) -> None:
    open_notebook(page, lab, "charts.ipynb", CHART_CELLS)
    cell = run_cell(page, 0)
    chart = cell.locator(".ll-chart").first
    cell.locator(".ll-charts[data-drawn='1'][data-state=ready]").wait_for()  # re-cut for the chart's own width
    wide = float(chart.get_attribute("data-bucket-width") or "0")
    assert 20 < wide < 250  # 100,000 steps in two buckets per pixel of a chart some hundreds of pixels wide
    canvas = chart.locator("canvas")
    box = canvas.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.52, y, steps=5)
    page.mouse.up()
    cell.locator(".ll-charts[data-state=ready]:not([data-zoom=''])").wait_for()
    narrow = float(chart.get_attribute("data-bucket-width") or "0")
    assert narrow < wide / 10
    x0, x1 = float(chart.get_attribute("data-x0") or "0"), float(chart.get_attribute("data-x1") or "0")
    assert 40_000 < x0 < x1 < 60_000
    state = run_cell(page, 1).locator(".jp-OutputArea-output")
    state.filter(has_text="zoom:").wait_for()
    assert "zoom: [" in state.inner_text() and "zoom: []" not in state.inner_text()
    chart.locator("canvas").dblclick()  # zooms out again
    cell.locator(".ll-charts[data-state=ready][data-zoom='']").wait_for()
    assert float(chart.get_attribute("data-bucket-width") or "0") == pytest.approx(wide, rel=0.01)
