"""Token viewer benchmark: bytes sent to the browser per token, and time to the first painted tokens.

    python benchmarks/token_view.py --tokens 100000   # the full-size run recorded in RESULTS.md
    python benchmarks/token_view.py --tokens 2000     # smoke size (what the tests run)

For one completion of N tokens with 5 alternatives each, in one run:
- bytes: what the widget sends (Arrow IPC traits) against the same tokens as a JSON list (the response's own
  ``logprobs.content``), target <= 0.3x;
- paint, in a real JupyterLab in headless chromium (Debian's, software rendering): from running the cell
  ``lens.tokens(span)`` (on a store holding the completion) to the first tokens on screen, target <= 1 s;
- paint of the kernel-free page (``to_html``) against a plain page that builds one element per token from a
  JSON list (what a viewer without windowed rendering does), both from navigation to the first tokens.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import llmlens
from tests.browser import CHROMIUM, FLAGS, jupyterlab, open_notebook, run_cell

WORDS = ("the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on", "be", "by")


def completion(n: int) -> dict[str, object]:
    """A chat completion of ``n`` tokens with 5 alternatives each, some multi-byte."""
    content = []
    for i in range(n):
        word = (" " if i % 7 else "") + (WORDS[i % len(WORDS)] if i % 50 else "café")
        p = 0.2 + 0.79 * ((i * 7919) % 1000) / 1000
        alternatives = [word, *(f" {WORDS[(i + k) % len(WORDS)]}" for k in range(1, 5))]
        content.append({
            "token": word, "logprob": math.log(p), "bytes": list(word.encode()),
            "top_logprobs": [{"token": t, "logprob": math.log(p / (k + 1)), "bytes": list(t.encode())}
                             for k, t in enumerate(alternatives)],
        })  # fmt: skip
    return {"object": "chat.completion", "id": "bench", "model": "bench", "choices": [
        {"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": ""},
         "logprobs": {"content": content}}]}  # fmt: skip


NAIVE_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'">
</head><body><div id="root"></div>
<script type="application/json" id="data">{data}</script>
<script>
const tokens = JSON.parse(document.getElementById("data").textContent);
const root = document.getElementById("root");
for (const t of tokens) {{
  const span = document.createElement("span");
  span.textContent = t.token;
  span.style.backgroundColor = `rgba(239, 108, 0, ${{(1 - Math.exp(t.logprob)) * 0.7}})`;
  span.title = t.top_logprobs.map((a) => `${{a.token}} ${{Math.exp(a.logprob)}}`).join("\\n");
  root.appendChild(span);
}}
document.body.dataset.renderedAt = String(performance.now());
</script></body></html>"""


def first_paint_ms(browser: object, url: str) -> float:
    """Milliseconds from navigation to the page's render mark, then one frame later (painted)."""
    page = browser.new_page(viewport={"width": 1100, "height": 800})  # type: ignore[attr-defined]
    page.goto(url)
    page.wait_for_selector("body[data-rendered-at]", timeout=120_000)
    page.wait_for_timeout(16)
    value = float(page.locator("body").get_attribute("data-rendered-at"))
    page.close()
    return value


def cell_to_paint_ms(browser: object, lab: object, store: Path, span: str) -> list[float]:
    """Milliseconds from running ``lens.tokens(span)`` in a JupyterLab notebook (set up as the README says, with
    ``%load_ext llmlens``) to its first token on screen: the first run and three more."""
    page = browser.new_page(viewport={"width": 1100, "height": 800})  # type: ignore[attr-defined]
    setup = f"%load_ext llmlens\nimport llmlens\nlens = llmlens.open({str(store)!r}, read_only=True)"
    open_notebook(page, lab, "bench.ipynb", [setup, f"lens.tokens({span!r})"])  # type: ignore[arg-type]
    run_cell(page, 0)
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").filter(has_text="[1]").wait_for()
    times = []
    for run in range(4):
        cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
        cell.locator(".jp-InputArea-editor").click()
        started = time.perf_counter()
        page.keyboard.press("Control+Enter")
        cell.locator(".jp-InputPrompt").filter(has_text=f"[{run + 2}]").wait_for()
        cell.locator(".ll-tok").first.wait_for()
        times.append((time.perf_counter() - started) * 1000)
    page.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=100_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    response = completion(args.tokens)
    as_json = json.dumps(response["choices"][0]["logprobs"]["content"]).encode()  # type: ignore[index]
    folder = Path(tempfile.mkdtemp(prefix="llmlens-bench-"))

    log = folder / "calls.jsonl"
    log.write_text(json.dumps(response) + "\n")
    store = folder / "store.duckdb"
    with llmlens.open(store) as lens:
        lens.load(log, progress=False)
        span = lens.sql("SELECT span_id FROM spans").span_id[0]
        started = time.perf_counter()
        view = lens.tokens(span)
        python_ms = (time.perf_counter() - started) * 1000
    page = folder / "view.html"
    view.to_html(page)
    first = len(view._tokens)  # the alternatives follow on demand, after the first paint
    sent = first + len(view.alternatives_ipc({}, [])[1][0])

    naive = folder / "naive.html"
    naive.write_text(NAIVE_PAGE.format(data=as_json.decode().replace("<", "\\u003c")))

    with sync_playwright() as playwright, jupyterlab(folder) as lab:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        first_paint_ms(browser, page.as_uri())  # warm the browser's caches once
        ours = min(first_paint_ms(browser, page.as_uri()) for _ in range(3))
        baseline = min(first_paint_ms(browser, naive.as_uri()) for _ in range(3))
        in_lab = cell_to_paint_ms(browser, lab, store, span)
        browser.close()

    n = args.tokens
    print(f"{n:,} tokens, 5 alternatives each")
    print(f"bytes to the browser: {sent / n:,.1f} per token (Arrow IPC; {first / n:,.1f} before the first paint) "
          f"vs {len(as_json) / n:,.1f} as a JSON list: {sent / len(as_json):.2f}x (target <= 0.3)")  # fmt: skip
    print(f"lens.tokens(span) in Python (query, Arrow): {python_ms:,.0f} ms")
    print(f"JupyterLab, cell to first paint: {in_lab[0]:,.0f} ms the first time (cold store and browser), "
          f"then {min(in_lab[1:]):,.0f} ms (target <= 1,000 ms)")  # fmt: skip
    print(f"exported page, first tokens painted: {ours:,.0f} ms after navigation; plain JSON page: {baseline:,.0f} ms "
          f"({ours / baseline:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
