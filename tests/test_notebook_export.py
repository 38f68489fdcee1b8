"""`llmlens export NOTEBOOK --html`: the notebook runs in a real kernel and its page works without one, offline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import llmlens
from llmlens.cli import main
from tests.browser import offline


def _notebook(path: Path, cells: list[Any]) -> Path:
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": kernel}), path)
    return path


def _agent_trace(demo_path: Path) -> tuple[str, str]:
    """A failed agent trace and its first LLM span."""
    with llmlens.open(demo_path, read_only=True) as lens:
        row = lens.sql(
            "SELECT t.trace_id, min(s.span_id) AS span_id FROM traces t JOIN spans s USING (trace_id) "
            "WHERE t.root_name LIKE 'agent_run%' AND t.n_errors > 0 AND s.kind = 'LLM' "
            "GROUP BY t.trace_id ORDER BY t.trace_id LIMIT 1"
        )
    return str(row.trace_id[0]), str(row.span_id[0])


def _open_exported(name: str, tmp_path: Path, page: Any) -> list[str]:
    """notebooks/``name`` run and exported with the command line in ``tmp_path`` (a folder of its own, so its demo
    store and files stay there), then opened in ``page`` with the network blocked, until the page says it rendered;
    the requests the page attempted."""
    notebook = tmp_path / name
    notebook.write_bytes((Path(__file__).parent.parent / "notebooks" / name).read_bytes())
    out = tmp_path / "page.html"
    assert main(["export", str(notebook), "--html", "-o", str(out)]) == 0
    attempted = offline(page)
    page.goto(out.as_uri())
    page.locator("body[data-rendered=true]").wait_for(timeout=60_000)
    return attempted


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, demo_path: Path) -> tuple[Path, str, str]:
    """A small notebook (markdown, a trace view, an agent graph, a plotly figure, printed text) exported with the
    command line; the export runs once for the module."""
    folder = tmp_path_factory.mktemp("export")
    trace, span = _agent_trace(demo_path)
    notebook = _notebook(
        folder / "small.ipynb",
        [
            new_markdown_cell("# Stand-up\nThe *slowest* agent trace, and a chart."),
            new_code_cell(f"import llmlens\nlens = llmlens.open({str(demo_path)!r}, read_only=True)\nprint('opened')"),
            new_code_cell(f"view = lens.trace({trace!r})\nview"),
            new_code_cell("lens.agents(where=\"root_name LIKE 'agent_run%'\")"),
            new_code_cell("import plotly.express as px\npx.bar(x=['pass', 'fail'], y=[7, 3], title='verdicts')"),
        ],
    )
    out = folder / "stand-up.html"
    assert main(["export", str(notebook), "--html", "-o", str(out)]) == 0
    return out, trace, span


@pytest.mark.slow
def test_the_exported_page_inlines_everything_and_loads_nothing_from_a_cdn(exported: tuple[Path, str, str]) -> None:
    page = exported[0].read_text(encoding="utf-8")
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", page, re.I), "no script is loaded from anywhere"
    assert not re.search(r"<link\b[^>]*\bhref\s*=\s*[\"']?(https?:)?//", page, re.I), "no remote stylesheet"
    assert "require.min.js" not in page and "@jupyter-widgets/html-manager" not in page
    assert page.count('id="llmlens-code-traces"') == 1, "each widget bundle is inlined once"
    assert page.count("Plotly.newPlot") == 1 and page.count("plotly.js v") == 1, "plotly.js is inlined once"
    assert "default-src 'none'" in page  # the page's own policy forbids the network as well
    assert "opened" in page and "Stand-up" in page  # text outputs and markdown as nbconvert writes them


@pytest.mark.slow
def test_the_exported_widgets_render_and_respond_offline(exported: tuple[Path, str, str], page: Any) -> None:
    path, trace, span = exported
    attempted = offline(page)
    page.goto(path.as_uri())
    page.locator("body[data-rendered=true]").wait_for(timeout=30_000)
    view = page.locator(".ll-trace[data-state=ready]").first
    view.wait_for()
    assert trace in view.locator(".ll-trace-head").inner_text()
    page.locator(".ll-agents[data-state=ready]").wait_for()
    page.locator(".js-plotly-plot .main-svg").first.wait_for()
    assert "verdicts" in page.locator(".js-plotly-plot").first.inner_text()

    view.locator(f"[data-span-id='{span}'][data-row]").click()  # responds: the span's detail, no kernel asked
    detail = view.locator(f".ll-span-detail[data-span-id='{span}']")
    detail.wait_for()
    assert detail.get_attribute("data-state") != "error"
    assert attempted == [], f"the page tried the network: {attempted}"
    assert page.errors == []


def test_a_failing_cell_is_named_in_the_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebook = _notebook(
        tmp_path / "broken.ipynb",
        [new_code_cell("x = 1"), new_code_cell("# the query\nraise ValueError('no such table: trace')")],
    )
    assert main(["export", str(notebook), "--html"]) == 1
    error = capsys.readouterr().err
    assert "broken.ipynb: cell 2" in error and "`# the query`" in error
    assert "ValueError: no such table: trace" in error
    assert not (tmp_path / "broken.html").exists()


@pytest.mark.slow
def test_the_exported_weekly_review_opens_offline_with_its_widgets(tmp_path: Path, page: Any) -> None:
    """The stand-up page: notebooks/01-weekly-review.ipynb run and exported (in a folder of its own, so its demo
    store and eval files stay there), opened in chromium with the network blocked."""
    attempted = _open_exported("01-weekly-review.ipynb", tmp_path, page)
    page.locator(".ll-review[data-state=ready]").first.wait_for()  # the queue, from its saved state
    page.locator(".ll-trace[data-state=ready]").first.wait_for()  # its item's trace, and the example trace
    page.locator(".js-plotly-plot .main-svg").first.wait_for()  # the summary's charts
    assert "Pass rate" in page.locator("body").inner_text()
    assert attempted == [], f"the page tried the network: {attempted}"
    assert page.errors == []


@pytest.mark.slow
def test_the_exported_embedding_map_notebook_keeps_the_map_interactive_offline(tmp_path: Path, page: Any) -> None:
    """notebooks/02-rag-embedding-map.ipynb run and exported: its map renders from the saved UMAP layout, and a
    click on a query draws its retrieval lines from the page's own data, with the network blocked."""
    attempted = _open_exported("02-rag-embedding-map.ipynb", tmp_path, page)
    root = page.locator(".ll-map[data-state=ready][data-points='7000'][data-layout='umap']")
    root.wait_for()
    page.locator(".ll-map-gap").first.click()  # a coverage gap from the panel: focus and select its query
    root.and_(page.locator(":not([data-lines='0'])[data-lines]")).wait_for()
    assert "Coverage gaps" in page.locator("body").inner_text()
    assert attempted == [], f"the page tried the network: {attempted}"
    assert page.errors == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["03-training-runs.ipynb", "04-agent-traces.ipynb"])
def test_the_other_review_notebooks_export_and_every_widget_renders_offline(
    name: str, tmp_path: Path, page: Any
) -> None:
    """Every widget of the exported page rendered from its saved state (each holder marked by the page's boot
    script), with the network blocked and no error."""
    attempted = _open_exported(name, tmp_path, page)
    widgets = page.locator("[data-llmlens-bundle]")
    assert widgets.count() > 0
    assert page.locator("[data-llmlens-bundle][data-rendered=true]").count() == widgets.count()
    assert attempted == [] and page.errors == []
