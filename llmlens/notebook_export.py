"""``llmlens export NOTEBOOK --html``: run a notebook in a real kernel and write one self-contained HTML page of it in
which every llmlens widget renders and responds from its saved state, with no kernel and no network.

The notebook runs with nbclient (a progress bar over its cells); then the kernel hands over the kernel-free state of
every llmlens widget the outputs show (:meth:`llmlens.widgets.base.Widget.page_state`, the same state ``to_html``
embeds), and nbconvert's lab template writes the page with its CDN scripts (require.js, the widget manager, MathJax,
mermaid) left out. Each widget output becomes the markup of :func:`llmlens.widgets.base.widget_markup`, each bundle
is inlined once, and plotly figures are drawn by plotly.js inlined once.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from llmlens.errors import LensError

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"
EXPORT_MIME = "application/vnd.llmlens.export+json"

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval' blob:; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:"
)
"""The exported page may fetch nothing: scripts, styles and images are inline, data: or blob: URLs."""

TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.llmlens_csp }}">
{{ resources.llmlens_head }}
{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block footer_js %}
{{ resources.llmlens_footer }}
{% endblock footer_js %}
"""
"""nbconvert's lab template without its CDN scripts, with the llmlens bundles and plotly.js inlined instead."""

_COLLECT = """\
from llmlens.notebook_export import _kernel_payloads as _llmlens_payloads
from IPython.display import display as _llmlens_display
_llmlens_display({{{mime!r}: _llmlens_payloads({ids!r})}}, raw=True)
del _llmlens_payloads, _llmlens_display
"""

_REMOTE = re.compile(r"<(script|link)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//[^>]*>(\s*</script>)?", re.I)


def export_html(
    notebook: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    *,
    timeout: int = 600,
    kernel_name: str | None = None,
    progress: bool = True,
) -> Path:
    """Execute ``notebook`` (in its own folder) and write it as one self-contained HTML page to ``output`` (default:
    the notebook's path with ``.html``); returns the path written. Every llmlens widget renders and responds in the
    page from the state it had at the end of the run; plotly figures render offline.

    >>> import llmlens.notebook_export
    >>> llmlens.notebook_export.export_html("missing.ipynb")
    Traceback (most recent call last):
    llmlens.errors.LensError: no notebook missing.ipynb
    """
    import nbformat

    source = Path(notebook)
    if not source.is_file():
        raise LensError(f"no notebook {source}")
    target = Path(output) if output is not None else source.with_suffix(".html")
    nb = nbformat.read(source, as_version=4)  # type: ignore[no-untyped-call]
    payloads = _execute(nb, source, timeout=timeout, kernel_name=kernel_name, progress=progress)
    page = render_page(nb, payloads)
    target.write_text(page, encoding="utf-8")
    return target


def _execute(
    nb: Any, source: Path, *, timeout: int, kernel_name: str | None, progress: bool
) -> dict[str, dict[str, str]]:
    """Run every cell in one kernel, then fetch the kernel-free state of the widgets the outputs show."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from nbformat.v4 import new_code_cell
    from tqdm.auto import tqdm

    name = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or "python3"
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=name, resources={"metadata": {"path": str(source.resolve().parent)}}
    )
    client.reset_execution_trackers()
    # plotly figures as their JSON (drawn by the page's plotly.js), never the notebook renderer's CDN loader
    env = {**os.environ, "PLOTLY_RENDERER": "plotly_mimetype"}
    with client.setup_kernel(env=env):
        assert client.kc is not None
        info = client.wait_for_reply(client.kc.kernel_info())
        if info is not None:
            nb.metadata["language_info"] = info["content"]["language_info"]
        cells = tqdm(nb.cells, desc=f"running {source.name}", unit="cell", disable=not progress)
        for index, cell in enumerate(cells):
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                raise LensError(
                    f"{source.name}: {_cell_name(cell, index)} failed: {error.ename}: {error.evalue}"
                ) from None
            except (CellTimeoutError, DeadKernelError) as error:
                raise LensError(f"{source.name}: {_cell_name(cell, index)} failed: {error}") from None
        ids = sorted(_widget_ids(nb))
        if not ids:
            return {}
        collect = new_code_cell(_COLLECT.format(mime=EXPORT_MIME, ids=ids))  # type: ignore[no-untyped-call]
        nb.cells.append(collect)  # nbclient writes a cell back at its index; taken out again below
        try:
            client.execute_cell(collect, len(nb.cells) - 1, store_history=False)
        except CellExecutionError as error:
            raise LensError(f"{source.name}: the widgets' state could not be saved: {error.evalue}") from None
        finally:
            nb.cells.pop()
    for out in collect.outputs:
        if EXPORT_MIME in out.get("data", {}):
            data = out["data"][EXPORT_MIME]
            return dict(json.loads(data) if isinstance(data, str) else data)
    return {}


def _cell_name(cell: Any, index: int) -> str:
    first = next((line.strip() for line in str(cell.source).splitlines() if line.strip()), "")
    cell_id = f" (id {cell.get('id')})" if cell.get("id") else ""
    return f"cell {index + 1}{cell_id} `{first[:60]}`"


def _widget_ids(nb: Any) -> set[str]:
    return {
        str(out["data"][WIDGET_VIEW]["model_id"])
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if WIDGET_VIEW in out.get("data", {})
    }


def _kernel_payloads(model_ids: list[str]) -> dict[str, dict[str, str]]:
    """In the kernel: the bundle name and :meth:`~llmlens.widgets.base.Widget.page_state` of each llmlens widget
    among ``model_ids`` (other widgets are left out: the page shows their text form)."""
    from ipywidgets.widgets.widget import _instances  # type: ignore[import-untyped]

    from llmlens.widgets.base import Widget

    found: dict[str, dict[str, str]] = {}
    for model_id in model_ids:
        widget = _instances.get(model_id)
        if isinstance(widget, Widget):
            found[model_id] = {"bundle": widget._bundle_name, "state": widget.page_state()}
    return found


def render_page(nb: Any, payloads: dict[str, dict[str, str]]) -> str:
    """The HTML page of an executed notebook: llmlens widget outputs replaced by their kernel-free markup (state
    from ``payloads``, by model id), plotly figures by a div drawn with the inlined plotly.js, other widgets by
    their text form, and nbconvert's lab template without network access."""
    import jinja2
    from nbconvert import HTMLExporter

    from llmlens.widgets.base import BOOT_SCRIPT, bundle_scripts, widget_markup

    bundles: set[str] = set()
    plotly = False
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            if WIDGET_VIEW in data:
                payload = payloads.get(str(data[WIDGET_VIEW].get("model_id")))
                if payload is None:
                    out["data"] = {k: v for k, v in data.items() if k == "text/plain"}
                else:
                    bundles.add(payload["bundle"])
                    out["data"] = {"text/html": widget_markup(payload["bundle"], payload["state"])}
            elif PLOTLY in data:
                plotly = True
                out["data"] = {"text/html": _plotly_markup(data[PLOTLY])}
    nb.metadata.pop("widgets", None)

    head = ""
    if plotly:
        from plotly.offline import get_plotlyjs

        head = '<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: "local"};\n'
        head += f"{get_plotlyjs()}\n</script>"
    footer = f"{bundle_scripts(bundles)}\n{BOOT_SCRIPT}" if bundles else ""
    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"llmlens_export.html.j2": TEMPLATE})],
        template_file="llmlens_export.html.j2",
    )
    resources = {"llmlens_csp": CSP, "llmlens_head": head, "llmlens_footer": footer}
    page, _ = exporter.from_notebook_node(nb, resources=resources)
    page = _REMOTE.sub("", page)  # nothing may load from the network, whatever a template or an output added
    return str(page)


def _plotly_markup(figure: Any) -> str:
    import plotly.io

    spec = json.loads(figure) if isinstance(figure, str) else figure
    config = {"responsive": True, "displaylogo": False}
    markup: str = plotly.io.to_html(
        spec, include_plotlyjs=False, include_mathjax=False, full_html=False, validate=False, config=config
    )
    return markup
