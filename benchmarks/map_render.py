"""Embedding map rendering benchmark: pan, zoom, lasso and hover at a million points, against a 10,000-point map.

    python benchmarks/map_render.py                     # 1,000,000 points: the full-size run recorded in RESULTS.md
    python benchmarks/map_render.py --points 20000      # smoke size (what the tests run)

Two synthetic maps are built in the same run with ``EmbeddingMap.from_frames(queries, chunks, retrievals,
layout="pca", diagnostics=False)``: one of ``--points`` points and a baseline of 10,000 points, each from 8-d
vectors in 40 Gaussian blobs (a fifth of the points are queries "query 123", the rest chunks "chunk 456"; each query
retrieves 3 chunks). Each map is written as a kernel-free page (``to_html``) and opened in Debian's chromium
(headless, software WebGL: SwiftShader; every request other than the page's own file, blob: and data: URLs
blocked). The target (the issue): pan and zoom stay fluid at 1,000,000 points. Prints, for both sizes and their
ratio:
(1) navigation to the map marked ready (``.ll-map[data-state=ready]``) and to the frame after it painted;
(2) pan: a drag in pan mode along a circle in ``--steps`` mouse moves. The page records the timestamp of every
    animation frame (``requestAnimationFrame``) and every redraw of the map (its ``data-view`` written); each frame
    that redrew the map is timed to the start of the next frame: median and p95 of those intervals, and the frames
    per second they make (what continuous input would get; Playwright's mouse sends a move about every other frame,
    so the redraws per second actually seen are printed too);
(3) zoom: ``--steps`` wheel ticks over the canvas's middle (half in, half out), measured the same way;
(4) lasso: a shift-drag around about half of the map (a pentagon over the canvas's left half); from the pointer's
    release to ``data-selected`` set, and to the frame after it painted; the points selected against those inside
    the polygon (computed here from the map's coordinates and ``data-view``);
(5) hover: from a pointer move onto a point (from off the map) to ``data-hover`` set, and to the frame after it
    painted; the first hover builds the hit-test grid, then the median of ``--hovers`` more;
then, as a reference, one bare ``gl.POINTS`` draw of as many points in the same browser: the floor of any frame
that draws every point with this WebGL.
No assertion on time: the numbers are recorded by hand in RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from llmlens.widgets import EmbeddingMap
from tests.browser import CHROMIUM, FLAGS
from tests.map_page import inside, map_view, to_page

TARGET_MS = 33
BASELINE_POINTS = 10_000
DIMENSIONS = 8
BLOBS = 40
RETRIEVED = 3
READY = ".ll-map[data-state=ready]"
VIEWPORT = {"width": 1400, "height": 900}

# Recorded in the page before its scripts (as an init script, so the page's Content-Security-Policy does not apply):
# when the map is marked ready and the frame after it painted; the times of pointer releases and moves; every change
# of data-selected and data-hover (and the frame after it); every data-view write (one per draw); and, between
# start() and stop(), the timestamp of every animation frame.
RECORDER = """
(() => {
  const bench = { ready: null, painted: null, up: null, move: null, selected: [], hover: [], draws: [], frames: null };
  window.__bench = bench;
  const afterPaint = (record) => requestAnimationFrame(() => setTimeout(() => { record.painted = performance.now(); }));
  addEventListener('pointerup', (event) => { bench.up = event.timeStamp; }, true);
  addEventListener('pointermove', (event) => { bench.move = event.timeStamp; }, true);
  new MutationObserver((records) => {
    const now = performance.now();
    for (const record of records) {
      const el = record.target;
      if (!el.classList || !el.classList.contains('ll-map')) continue;
      const name = record.attributeName;
      if (name === 'data-state' && el.dataset.state === 'ready' && bench.ready === null) {
        bench.ready = now;
        requestAnimationFrame(() => setTimeout(() => { bench.painted = performance.now(); }));
      } else if (name === 'data-view') {
        bench.draws.push(now);
      } else if (name === 'data-selected' && record.oldValue !== el.dataset.selected) {
        const entry = { at: now, value: el.dataset.selected, since: bench.up, painted: null };
        bench.selected.push(entry);
        afterPaint(entry);
      } else if (name === 'data-hover' && record.oldValue !== el.dataset.hover) {
        const entry = { at: now, value: el.dataset.hover, since: bench.move, painted: null };
        bench.hover.push(entry);
        afterPaint(entry);
      }
    }
  }).observe(document, {
    subtree: true, attributes: true, attributeOldValue: true,
    attributeFilter: ['data-state', 'data-view', 'data-selected', 'data-hover'],
  });
  const tick = (t) => {
    if (!bench.frames) return;
    bench.frames.push(t);
    requestAnimationFrame(tick);
  };
  bench.start = () => { bench.frames = []; bench.draws = []; requestAnimationFrame(tick); };
  bench.stop = () => {
    const out = { frames: bench.frames, draws: bench.draws };
    bench.frames = null;
    return out;
  };
})();
"""

# The floor software WebGL sets: one bare gl.POINTS draw of n points spread over the canvas (2 px, blended and
# depth-tested as the map draws them), finished by reading a pixel back; the median of 5 after one to warm up.
BARE_DRAW = """async ([n, width, height]) => {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const gl = canvas.getContext('webgl2', { antialias: false, depth: true, preserveDrawingBuffer: true });
  const shader = (type, source) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    return s;
  };
  const program = gl.createProgram();
  gl.attachShader(program, shader(gl.VERTEX_SHADER, `#version 300 es
    layout(location = 0) in vec2 a_xy;
    void main() { gl_PointSize = 2.0; gl_Position = vec4(a_xy, 0.5, 1.0); }`));
  gl.attachShader(program, shader(gl.FRAGMENT_SHADER, `#version 300 es
    precision mediump float;
    out vec4 color;
    void main() { color = vec4(0.1, 0.3, 0.5, 0.55); }`));
  gl.linkProgram(program);
  const xy = new Float32Array(2 * n);
  for (let i = 0; i < xy.length; i++) xy[i] = Math.random() * 1.9 - 0.95;
  gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
  gl.bufferData(gl.ARRAY_BUFFER, xy, gl.STATIC_DRAW);
  gl.enableVertexAttribArray(0);
  gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
  gl.useProgram(program);
  gl.enable(gl.BLEND);
  gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
  gl.enable(gl.DEPTH_TEST);
  gl.depthFunc(gl.LEQUAL);
  const pixel = new Uint8Array(4);
  const times = [];
  for (let k = 0; k < 6; k++) {
    const started = performance.now();
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.drawArrays(gl.POINTS, 0, n);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
    times.push(performance.now() - started);
  }
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  times.shift();
  times.sort((a, b) => a - b);
  return { ms: times[2], renderer };
}"""

TWO_FRAMES = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(null))))"


def synthetic_map(n: int, seed: int = 0) -> EmbeddingMap:
    """A map of ``n`` points from 8-d blob vectors: a fifth queries, each retrieving 3 chunks, with short texts."""
    rng = np.random.default_rng(seed)
    n_queries = max(1, n // 5)
    n_chunks = n - n_queries
    centres = rng.normal(scale=6.0, size=(BLOBS, DIMENSIONS))

    def blob(k: int) -> npt.NDArray[np.float32]:
        return (centres[rng.integers(0, BLOBS, k)] + rng.normal(size=(k, DIMENSIONS))).astype(np.float32)

    queries = pd.DataFrame({"vector": list(blob(n_queries)), "text": [f"query {i}" for i in range(n_queries)]})
    chunks = pd.DataFrame({"vector": list(blob(n_chunks)), "text": [f"chunk {i}" for i in range(n_chunks)]})
    retrievals = pd.DataFrame({
        "query": np.repeat(np.arange(n_queries), RETRIEVED),
        "chunk": rng.integers(0, n_chunks, n_queries * RETRIEVED),
        "score": rng.uniform(0.3, 0.9, n_queries * RETRIEVED),
        "rank": np.tile(np.arange(RETRIEVED), n_queries),
    }).drop_duplicates(["query", "chunk"])  # fmt: skip
    return EmbeddingMap.from_frames(queries, chunks, retrievals, layout="pca", diagnostics=False)


def write_page(m: EmbeddingMap, path: Path) -> float:
    """The kernel-free page of ``m`` at ``path``, with a ``performance.mark`` as its module script's first line;
    returns the seconds ``to_html`` took."""
    started = time.perf_counter()
    m.to_html(path)
    seconds = time.perf_counter() - started
    html = path.read_text(encoding="utf-8")
    script = '<script type="module">\n'
    assert html.count(script) == 1
    path.write_text(html.replace(script, script + 'performance.mark("llmlens-script-start");\n'), encoding="utf-8")
    return seconds


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def frame_stats(recorded: dict[str, list[float]]) -> dict[str, float]:
    """The frames that redrew the map (``data-view`` written in them), each timed from its start to the next
    frame's start: median, p95, and the frames per second that makes under input that never pauses; also how many
    frames the interaction spanned (from the first redraw to the last) and how often the map was redrawn in it."""
    frames = sorted(recorded["frames"] or [])
    draws = recorded["draws"] or []
    # the frame a draw happened in: the last one that started before it (a draw runs in a frame's callbacks)
    drawn = sorted({max(t for t in frames if t <= d) for d in draws if frames and d >= frames[0]})
    following = {t: frames[i + 1] for i, t in enumerate(frames[:-1])}
    intervals = [following[t] - t for t in drawn if t in following]
    if not intervals:
        nan = float("nan")
        return {"median": nan, "p95": nan, "fps": nan, "frames": 0, "drawn": 0, "redraws_per_s": nan}
    span = frames.index(drawn[-1]) - frames.index(drawn[0]) + 1
    seconds = (following.get(drawn[-1], drawn[-1]) - drawn[0]) / 1000
    return {
        "median": statistics.median(intervals),
        "p95": _percentile(intervals, 95),
        "fps": 1000 / statistics.mean(intervals),
        "frames": span,
        "drawn": len(drawn),
        "redraws_per_s": len(drawn) / seconds if seconds > 0 else float("nan"),
    }


def _polygon(box: dict[str, float]) -> npt.NDArray[Any]:
    """A pentagon over about the left half of the canvas."""
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    return np.array([[x + 0.03 * w, y + 0.04 * h], [x + 0.5 * w, y + 0.03 * h], [x + 0.56 * w, y + 0.5 * h],
                     [x + 0.5 * w, y + 0.97 * h], [x + 0.03 * w, y + 0.96 * h]])  # fmt: skip


def _wait_for_change(page: Any, key: str, count: int) -> dict[str, Any]:
    """The ``count``-th change of data-selected / data-hover recorded in the page, once its frame has painted."""
    page.wait_for_function(
        f"() => window.__bench.{key}.length >= {count} && window.__bench.{key}[{count - 1}].painted !== null",
        polling=50,
        timeout=120_000,
    )
    entry: dict[str, Any] = page.evaluate(f"() => window.__bench.{key}[{count - 1}]")
    return entry


def hover_times(page: Any, m: EmbeddingMap, hovers: int) -> dict[str, float]:
    """Pointer moved onto a point (from off the canvas) to data-hover set and painted: the first (which builds the
    hit-test grid) and the median of ``hovers`` more, each onto another point."""
    view = map_view(page.locator(".ll-map"))
    box = view.box
    on_page = to_page(m.xy, view)
    inner = (
        (on_page[:, 0] > box["x"] + 30) & (on_page[:, 0] < box["x"] + box["width"] - 30)
        & (on_page[:, 1] > box["y"] + 30) & (on_page[:, 1] < box["y"] + box["height"] - 30)
    )  # fmt: skip
    rng = np.random.default_rng(1)
    targets = rng.choice(np.flatnonzero(inner), size=hovers + 1, replace=False)
    times: list[tuple[float, float]] = []
    for target in targets:
        page.mouse.move(4, 4)  # off the map: its hover is cleared
        page.locator(".ll-map:not([data-hover]), .ll-map[data-hover='']").wait_for()
        page.evaluate(TWO_FRAMES)
        before = page.evaluate("() => window.__bench.hover.length")
        page.mouse.move(*on_page[target])
        entry = _wait_for_change(page, "hover", before + 1)
        assert entry["value"], "the hover should land on a point"
        times.append((entry["at"] - entry["since"], entry["painted"] - entry["since"]))
    page.mouse.move(4, 4)
    warm = times[1:]
    return {
        "first": times[0][0],
        "first_painted": times[0][1],
        "median": statistics.median(t for t, _ in warm) if warm else float("nan"),
        "median_painted": statistics.median(p for _, p in warm) if warm else float("nan"),
        "max": max((t for t, _ in warm), default=float("nan")),
    }


def lasso_time(page: Any, m: EmbeddingMap) -> dict[str, float]:
    """A shift-drag lasso around about half of the map: pointer release to data-selected set and painted, the
    frames while it was drawn, and the points selected against those inside the polygon."""
    view = map_view(page.locator(".ll-map"))
    polygon = _polygon(view.box)
    expected = int(inside(to_page(m.xy, view), polygon).sum())
    before = page.evaluate("() => window.__bench.selected.length")
    page.keyboard.down("Shift")
    page.mouse.move(*polygon[0])
    page.mouse.down()
    page.evaluate("() => window.__bench.start()")
    for start, end in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        for t in np.linspace(0, 1, 9)[1:]:
            page.mouse.move(*(start + (end - start) * t))
    page.mouse.up()
    page.keyboard.up("Shift")
    entry = _wait_for_change(page, "selected", before + 1)
    drawing = frame_stats(page.evaluate("() => window.__bench.stop()"))
    return {
        "selected_ms": entry["at"] - entry["since"],
        "painted_ms": entry["painted"] - entry["since"],
        "selected": float(entry["value"]),
        "expected": float(expected),
        "drawing_median": drawing["median"],
    }


def pan_frames(page: Any, steps: int) -> dict[str, float]:
    """A drag in pan mode along a circle of 120 px radius around the canvas's middle, in ``steps`` mouse moves."""
    box = map_view(page.locator(".ll-map")).box
    cx, cy, radius = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, 120.0
    page.mouse.move(cx + radius, cy)
    page.mouse.down()
    page.evaluate("() => window.__bench.start()")
    for angle in np.linspace(0, 2 * np.pi, steps + 1)[1:]:
        page.mouse.move(cx + radius * np.cos(angle), cy + radius * np.sin(angle))
    page.mouse.up()
    page.evaluate(TWO_FRAMES)
    return frame_stats(page.evaluate("() => window.__bench.stop()"))


def zoom_frames(page: Any, steps: int) -> dict[str, float]:
    """``steps`` wheel ticks over the canvas's middle: half zooming in (about 1.1x a tick), then back out."""
    box = map_view(page.locator(".ll-map")).box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.evaluate("() => window.__bench.start()")
    for step in range(steps):
        page.mouse.wheel(0, -60 if step < steps // 2 else 60)
    page.evaluate(TWO_FRAMES)
    return frame_stats(page.evaluate("() => window.__bench.stop()"))


def measure(browser: Any, url: str, m: EmbeddingMap, steps: int, hovers: int) -> dict[str, Any]:
    """One load of the exported page of ``m``, then hover, lasso, pan and zoom on it."""
    page = browser.new_page(viewport=VIEWPORT)
    attempted: list[str] = []

    def block(route: Any) -> None:
        local = route.request.url.startswith(("file:", "blob:", "data:"))
        if not local:
            attempted.append(route.request.url)
        route.continue_() if local else route.abort()

    page.route("**/*", block)
    page.add_init_script(RECORDER)
    started = time.perf_counter()
    page.goto(url, timeout=300_000)
    page.wait_for_function("() => window.__bench.painted !== null", polling=50, timeout=300_000)
    wall = (time.perf_counter() - started) * 1000
    marks = page.evaluate("""() => ({
      start: performance.getEntriesByName('llmlens-script-start')[0].startTime,
      ready: window.__bench.ready, painted: window.__bench.painted,
    })""")
    root = page.locator(READY)
    points = int(root.get_attribute("data-points"))
    assert points == m.n_points, f"the page shows {points} points, not {m.n_points}"
    renderer = root.get_attribute("data-renderer")
    canvas = map_view(page.locator(".ll-map")).box
    hover = hover_times(page, m, hovers)
    lasso = lasso_time(page, m)
    root.press("Escape")  # clear the selection: pan and zoom run on the plain map
    page.locator(".ll-map[data-selected='0']").wait_for()
    pan = pan_frames(page, steps)
    zoom = zoom_frames(page, steps)
    page.close()
    return {
        "renderer": renderer,
        "canvas": (round(canvas["width"]), round(canvas["height"])),
        "script_start": marks["start"],
        "ready": marks["ready"],
        "painted": marks["painted"],
        "wall": wall,
        "pan": pan,
        "zoom": zoom,
        "lasso": lasso,
        "hover": hover,
        "attempted": attempted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=120, help="mouse moves of the pan, wheel ticks of the zoom")
    parser.add_argument("--hovers", type=int, default=8, help="hovers after the first")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="llmlens-bench-map-"))
    try:
        report(args.points, args.steps, args.hovers, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(n: int, steps: int, hovers: int, folder: Path) -> None:
    """Build both maps, measure each in chromium and print, in ``folder``."""
    from playwright.sync_api import sync_playwright

    sizes = {"big": n, "base": BASELINE_POINTS}
    maps, built, exported, pages = {}, {}, {}, {}
    for key, count in sizes.items():
        started = time.perf_counter()
        maps[key] = synthetic_map(count)
        built[key] = time.perf_counter() - started
        pages[key] = folder / f"map-{count}.html"
        exported[key] = write_page(maps[key], pages[key])

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        results = {key: measure(browser, pages[key].as_uri(), maps[key], steps, hovers) for key in ("base", "big")}
        version = browser.version
        width, height = results["big"]["canvas"]
        blank = browser.new_page()
        bare = {key: blank.evaluate(BARE_DRAW, [count, width, height]) for key, count in sizes.items()}
        blank.close()
        browser.close()
    big, base = results["big"], results["base"]

    def ms(value: float) -> str:
        return f"{value:,.0f} ms" if value >= 10 else f"{value:,.1f} ms"

    def ratio(a: float, b: float) -> str:
        return f"{a / b:,.1f}x" if b > 0 and np.isfinite(a / b) else "n/a"

    label = f"{n:,}"
    print(f"maps of {n:,} and {BASELINE_POINTS:,} points ({DIMENSIONS}-d blob vectors, PCA layout): built in "
          f"{built['big']:,.1f} s / {built['base']:,.1f} s; exported pages {pages['big'].stat().st_size / 1e6:,.1f} MB"
          f" / {pages['base'].stat().st_size / 1e6:,.1f} MB (to_html {exported['big']:,.1f} s / "
          f"{exported['base']:,.1f} s)")  # fmt: skip
    print(f"browser: headless chromium {version}, map renderer {big['renderer']} / {base['renderer']}, WebGL by "
          f"{bare['big']['renderer']}; viewport {VIEWPORT['width']}x{VIEWPORT['height']}, map canvas {width}x{height}"
          f" CSS px; network requests blocked: {len(big['attempted']) + len(base['attempted'])}")  # fmt: skip
    print(f"(1) ready: navigation to data-state=ready {ms(big['ready'])} at {label}, {ms(base['ready'])} at "
          f"{BASELINE_POINTS:,} ({ratio(big['ready'], base['ready'])}); painted {ms(big['painted'])} / "
          f"{ms(base['painted'])}; of which HTML parsed before the script starts {ms(big['script_start'])} / "
          f"{ms(base['script_start'])}")  # fmt: skip
    for number, name in ((2, "pan"), (3, "zoom")):
        a, b = big[name], base[name]
        print(f"({number}) {name}: median {ms(a['median'])}/frame, p95 {ms(a['p95'])}, {a['fps']:,.1f} fps at "
              f"{label} (redrawn in {a['drawn']} of {a['frames']} frames, {a['redraws_per_s']:,.1f} redraws/s); "
              f"{BASELINE_POINTS:,}: median {ms(b['median'])}/frame, p95 {ms(b['p95'])}, {b['fps']:,.1f} fps "
              f"({b['drawn']} of {b['frames']}, {b['redraws_per_s']:,.1f}/s); median {label} / "
              f"{BASELINE_POINTS:,} = {ratio(a['median'], b['median'])}")  # fmt: skip
    a, b = big["lasso"], base["lasso"]
    print(f"(4) lasso over about half of the map: release to data-selected {ms(a['selected_ms'])}, painted "
          f"{ms(a['painted_ms'])} at {label} ({a['selected']:,.0f} points selected, {a['expected']:,.0f} inside the "
          f"polygon; frames while drawing it: median {ms(a['drawing_median'])}); {BASELINE_POINTS:,}: "
          f"{ms(b['selected_ms'])}, painted {ms(b['painted_ms'])} ({b['selected']:,.0f} of {b['expected']:,.0f}); "
          f"{label} / {BASELINE_POINTS:,} = {ratio(a['painted_ms'], b['painted_ms'])}")  # fmt: skip
    a, b = big["hover"], base["hover"]
    print(f"(5) hover: pointer move to data-hover {ms(a['first'])} the first time (builds the hit-test grid), then "
          f"median {ms(a['median'])} (max {ms(a['max'])}), painted {ms(a['median_painted'])} at {label}; "
          f"{BASELINE_POINTS:,}: {ms(b['first'])} first, then {ms(b['median'])}, painted "
          f"{ms(b['median_painted'])}; median {label} / {BASELINE_POINTS:,} = "
          f"{ratio(a['median_painted'], b['median_painted'])}")  # fmt: skip
    print(f"reference: one bare gl.POINTS draw (2 px, blended, depth-tested, finished by a pixel read back) of "
          f"{label} points on a {width}x{height} canvas: {ms(bare['big']['ms'])}; of {BASELINE_POINTS:,}: "
          f"{ms(bare['base']['ms'])} (the floor of any frame that draws every point with this WebGL)")  # fmt: skip
    worst = max(big["pan"]["median"], big["zoom"]["median"])
    met = "met" if worst <= TARGET_MS else "MISSED"
    print(f"target: pan/zoom frame median <= {TARGET_MS} ms (30 fps) at 1,000,000 points: {met} at {label} points "
          f"(pan {ms(big['pan']['median'])}, zoom {ms(big['zoom']['median'])})")  # fmt: skip


if __name__ == "__main__":
    main()
