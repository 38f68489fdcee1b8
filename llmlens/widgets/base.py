"""The base of every llmlens widget: the bundled front-end module, and export to a page that needs no kernel."""

from __future__ import annotations

import base64
import functools
import html
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import anywidget

from llmlens.errors import LensError

STATIC = "static"


@functools.cache
def bundle(name: str) -> str:
    """The built front-end module ``llmlens/static/<name>.js`` as text; a clear error when it was never built.

    >>> bundle("tokens").startswith(("var", "import", "const", "function", "let", "/*", "\\"use"))
    True
    """
    path = resources.files("llmlens") / STATIC / f"{name}.js"
    if not path.is_file():
        raise LensError(
            f"the widget bundle {name}.js is not built. Install llmlens with pip (which builds it), or run "
            "`npm install && npm run build` in widgets-js/."
        )
    return path.read_text(encoding="utf-8")


class Widget(anywidget.AnyWidget):
    """A thin anywidget over plain data: subclasses declare synced traits and the bundle they render with."""

    _bundle_name = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(_esm=bundle(self._bundle_name), **kwargs)

    def exported_state(self) -> dict[str, Any]:
        """The synced traits this widget declares (not anywidget's or ipywidgets' own), as the page needs them."""
        names: list[str] = []
        for cls in type(self).__mro__:
            if isinstance(cls, type) and issubclass(cls, Widget):
                names += [name for name, trait in cls.class_own_traits().items() if trait.metadata.get("sync")]
        return {name: getattr(self, name) for name in names}

    def page_state(self) -> str:
        """:meth:`exported_state` as the JSON a kernel-free page reads (binary traits base64), safe inside a
        ``<script>`` element."""
        values: dict[str, Any] = {}
        binary: dict[str, str] = {}
        for name, value in self.exported_state().items():
            if isinstance(value, bytes | bytearray | memoryview):
                binary[name] = base64.b64encode(bytes(value)).decode("ascii")
            else:
                values[name] = value
        return json.dumps({"values": values, "binary": binary}, ensure_ascii=True).replace("<", "\\u003c")

    def to_html(self, path: str | os.PathLike[str] | None = None, *, title: str | None = None) -> str:
        """A self-contained HTML page showing this widget without a kernel (the bundle and the data inlined, no
        network); written to ``path`` when given. Returns the page.

        >>> from llmlens.widgets import TokenView
        >>> page = TokenView.from_openai({"object": "chat.completion", "choices": []}).to_html()
        >>> "<script type=\\"module\\">" in page and "cdn" not in page.lower()
        True
        """
        page = PAGE.format(
            title=html.escape(title or getattr(self, "title", "") or "llmlens"),
            widget=widget_markup(self._bundle_name, self.page_state(), root_id="llmlens-root"),
            code=bundle_scripts([self._bundle_name]),
            boot=BOOT_SCRIPT,
        )
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page


def widget_markup(bundle_name: str, state: str, *, root_id: str | None = None) -> str:
    """The element a kernel-free page renders one widget into: its root and its state (:meth:`Widget.page_state`);
    :data:`BOOT_SCRIPT` renders every such element of the page with the bundle of :func:`bundle_scripts`.

    >>> widget_markup("tokens", "{}").startswith('<div class="llmlens-widget" data-llmlens-bundle="tokens">')
    True
    """
    root = f' id="{html.escape(root_id)}"' if root_id else ""
    return (
        f'<div class="llmlens-widget" data-llmlens-bundle="{html.escape(bundle_name)}">'
        f'<div class="llmlens-root"{root}></div>'
        f'<script type="application/json" class="llmlens-state">{state}</script></div>'
    )


def bundle_scripts(names: list[str] | tuple[str, ...] | set[str]) -> str:
    """The bundles ``names`` inlined once each (base64, imported from a blob URL by :data:`BOOT_SCRIPT`)."""
    return "\n".join(
        f'<script type="application/octet-stream" id="llmlens-code-{html.escape(name)}">'
        f"{base64.b64encode(bundle(name).encode('utf-8')).decode('ascii')}</script>"
        for name in sorted(set(names))
    )


BOOT_SCRIPT = """<script type="module">
const bytes = (text) => {
  if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
};
const modules = new Map();
const load = (name) => {
  if (!modules.has(name)) {
    const code = bytes(document.getElementById(`llmlens-code-${name}`).textContent.trim());
    const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    modules.set(name, import(url).then((module) => module.default));
  }
  return modules.get(name);
};
const noKernel = () => Promise.reject(new Error("this page has no kernel"));
const renderOne = async (holder) => {
  const state = JSON.parse(holder.querySelector(":scope > script.llmlens-state").textContent);
  for (const [name, text] of Object.entries(state.binary)) {
    const data = bytes(text);
    state.values[name] = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }
  const listeners = new Map();
  const model = {
    get: (name) => state.values[name],
    set: (name, value) => {
      state.values[name] = value;
      for (const callback of listeners.get(`change:${name}`) ?? []) callback();
    },
    on: (event, callback) => listeners.set(event, [...(listeners.get(event) ?? []), callback]),
    off: (event, callback) => listeners.set(event, (listeners.get(event) ?? []).filter((c) => c !== callback)),
    save_changes: () => {},
    send: () => {},
    widget_manager: {},
  };
  const widget = await load(holder.dataset.llmlensBundle);
  const el = holder.querySelector(":scope > .llmlens-root");
  await widget.render({ model, el, experimental: { invoke: noKernel } });
  holder.dataset.rendered = "true";
};
const results = await Promise.allSettled([...document.querySelectorAll("[data-llmlens-bundle]")].map(renderOne));
const failed = results.filter((result) => result.status === "rejected");
if (failed.length) throw failed[0].reason;
document.body.dataset.renderedAt = String(performance.now());
document.body.dataset.rendered = "true";
</script>"""
"""Renders every widget of the page (``[data-llmlens-bundle]``): the state from its JSON (binary traits base64),
the bundle imported once from a blob URL, and a minimal model standing in for the kernel; then marks the body
``data-rendered``."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
      content="default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>body {{ margin: 16px; background: Canvas; color: CanvasText; color-scheme: light dark; }}</style>
</head>
<body>
{widget}
{code}
{boot}
</body>
</html>
"""
"""The exported page of one widget. Its Content-Security-Policy allows no network at all."""
