"""Review queue benchmark: keypress to the next item fully shown, labelling a queue by keyboard in JupyterLab.

    python benchmarks/review_queue.py --items 100   # the full-size run recorded in RESULTS.md
    python benchmarks/review_queue.py --items 5     # smoke size (what the tests run)

On a fresh demo store, a JupyterLab notebook (headless Debian chromium) opens ``lens.review`` of the ``--items`` newest
traces and labels every item with the keyboard: p / f alternating, the first tag key (1) now and then. For each
verdict that moves on, the time from the keydown to the next item fully shown: the queue at the next position and
its trace view ``[data-state=ready]`` showing that item's trace (which takes a round trip to the kernel: the new
``position`` goes there, the trace's spans come back). Target: median <= 150 ms. Then the judgements are counted in
the kernel, and the size of the exported HTML of ``notebooks/01-weekly-review.ipynb`` (``llmlens export --html``;
04-agent-traces when 01 is missing or fails) is printed.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import llmlens.demo
from llmlens.errors import LensError
from tests.browser import CHROMIUM, FLAGS, jupyterlab, open_notebook, run_cell

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

SHOWN = """(expected) => {
  const review = document.querySelector(".ll-review");
  const trace = review?.querySelector(".ll-review-trace .ll-trace");
  if (!review || !trace || review.dataset.position !== String(expected)) return false;
  const id = review.dataset.traceId;
  if (!id || trace.dataset.state !== "ready") return false;
  if (!trace.querySelector(".ll-trace-head")?.textContent?.includes(id)) return false;
  return performance.now() - window.__pressed;
}"""
"""The next item is fully shown: the queue moved to it and the trace view is ready with its trace; returns the
milliseconds since the keydown."""


def label_queue(page: object, items: int) -> tuple[list[float], int]:
    """Press a verdict for every item (a tag key on every 7th first); returns the keypress-to-shown times of the
    verdicts that moved on and the number of verdicts pressed."""
    page.evaluate(  # type: ignore[attr-defined]
        "document.addEventListener('keydown', () => { window.__pressed = performance.now(); }, true)"
    )
    review = page.locator(".ll-review")  # type: ignore[attr-defined]
    review.focus()
    times: list[float] = []
    pressed = 0
    for i in range(items):
        if i % 7 == 3 and page.locator(".ll-review .ll-tag").count():  # type: ignore[attr-defined]
            page.keyboard.press("1")  # type: ignore[attr-defined]
        page.keyboard.press("p" if i % 2 == 0 else "f")  # type: ignore[attr-defined]
        pressed += 1
        if i + 1 < items:
            handle = page.wait_for_function(SHOWN, arg=i + 1, polling="raf", timeout=30_000)  # type: ignore[attr-defined]
            times.append(float(handle.json_value()))
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('.ll-review').dataset.pending === '0'", timeout=30_000
    )
    return times, pressed


def export_size() -> str:
    """The size of the exported weekly review (or of 04-agent-traces when 01 is missing or fails), as a line."""
    from llmlens.notebook_export import export_html

    folder = Path(tempfile.mkdtemp(prefix="llmlens-bench-export-"))
    weekly = NOTEBOOKS / "01-weekly-review.ipynb"
    note = ""
    if weekly.exists():
        try:
            (folder / weekly.name).write_bytes(weekly.read_bytes())
            page = export_html(folder / weekly.name, progress=False)
            return f"exported HTML of {weekly.name}: {page.stat().st_size / 1e6:,.2f} MB"
        except LensError as error:
            note = f" ({weekly.name} failed to export: {error})"
    else:
        note = f" ({weekly.name} does not exist yet)"
    fallback = NOTEBOOKS / "04-agent-traces.ipynb"
    (folder / fallback.name).write_bytes(fallback.read_bytes())
    page = export_html(folder / fallback.name, progress=False)
    return f"exported HTML of {fallback.name}: {page.stat().st_size / 1e6:,.2f} MB{note}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="llmlens-bench-review-"))
    store = llmlens.demo.build(folder / "demo.duckdb", progress=False)
    setup = (
        f"import llmlens\nlens = llmlens.open({str(store)!r})\n"
        f"ids = lens.sql('SELECT trace_id FROM traces ORDER BY start_time DESC, trace_id LIMIT {args.items}')"
        ".trace_id.tolist()\n"
    )
    cells = [setup, "queue = lens.review(ids, name='bench', reviewer='bench')\nqueue", "print('judged', queue.judged)"]
    with sync_playwright() as playwright, jupyterlab(folder) as lab:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        open_notebook(page, lab, "review.ipynb", cells)
        run_cell(page, 0)
        run_cell(page, 1)
        page.locator(".ll-review[data-state=ready] .ll-trace[data-state=ready]").wait_for()
        times, pressed = label_queue(page, args.items)
        out = run_cell(page, 2).locator(".jp-OutputArea-output").inner_text()
        browser.close()
    judged = int(m.group(1)) if (m := re.search(r"judged (\d+)", out)) else -1

    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else float("nan")
    median = statistics.median(ordered) if ordered else float("nan")
    print(f"{args.items} items labelled by keyboard in JupyterLab (p / f alternating, tag key 1 now and then)")
    print(
        f"keypress to next item shown (queue moved, trace view ready with its trace): median {median:,.0f} ms, "
        f"p90 {p90:,.0f} ms, max {max(ordered, default=float('nan')):,.0f} ms over {len(ordered)} moves "
        f"(target: median <= 150 ms)"
    )
    print(f"labelled: {pressed} verdicts pressed, {judged} judged in the kernel's store")
    print(export_size())
    if judged != args.items:
        raise SystemExit(f"expected {args.items} judgements in the store, found {judged}")


if __name__ == "__main__":
    main()
