"""Benchmark: loading each trace format, against OTLP JSON Lines of the same number of spans in the same run.

    python benchmarks/ingest_formats.py --all-shapes --repeat 3       # 100,000 spans of each: the run in RESULTS.md
    python benchmarks/ingest_formats.py --spans 400                   # smoke size (what the tests run)
    python benchmarks/ingest_formats.py --only langfuse inspect_eval --all-shapes

Every module in ``benchmarks/ingest/`` with a ``generate(folder, spans, ...) -> list[Path]`` is a format (the
module's name is the format's name for ``--only``). Each writes about ``--spans`` spans' worth of its format; the
baseline is ``benchmarks/load_otlp.py``'s OTLP JSON Lines of OpenInference spans, always measured first. Each case
loads into a fresh store file with ``lens.load(..., progress=False)`` in a fresh Python process (llmlens, and
``inspect_ai`` for its reader, imported before the clock starts), whose peak memory (``VmHWM``) is read too;
``--repeat N`` loads each case N times and keeps the fastest (on a shared 2-core machine one load can take
twice as long as another).

A format with several shapes runs its main one (the first in ``SHAPES``); ``--all-shapes`` runs them all:
LangSmith batch bodies, Run objects as JSON Lines or one array; Langfuse exports as JSON Lines, CSV, Parquet or
JSON; Inspect ``.eval`` and ``.json`` logs, each read by ``inspect_ai`` (what ``lens.load`` uses when it is
installed) and by llmlens's own reader (``llmlens.loaders.inspect_read.USE_INSPECT_AI = False``); Agents SDK JSON
Lines or batch bodies; a Phoenix SQLite database or span DataFrame Parquet.

Prints a Markdown table: format, shape, file MB, spans loaded, other rows (messages, documents, annotations),
seconds, spans per second, the ratio to OTLP's spans per second, and peak memory. Exits non-zero when a record is
rejected or a file does not load.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
INGEST = BENCHMARKS / "ingest"
OTHER_ROWS = ("messages", "documents", "annotations")


@dataclass(frozen=True)
class Shape:
    """One way a format is written: its label, the keyword arguments of ``generate``, and the Inspect reader."""

    label: str
    options: dict[str, object] = field(default_factory=dict)
    reader: str | None = None  # "inspect_ai" or "llmlens": which reader reads Inspect logs


SHAPES: dict[str, list[Shape]] = {
    "langsmith": [Shape("batches", {"shape": "batches"}), Shape("runs", {"shape": "runs"}),
                  Shape("array", {"shape": "array"})],
    "langfuse": [Shape("jsonl", {"container": "jsonl"}), Shape("csv", {"container": "csv"}),
                 Shape("parquet", {"container": "parquet"}), Shape("json", {"container": "json"})],
    "inspect_eval": [Shape(".eval, inspect_ai reader", {"log_format": "eval"}, "inspect_ai"),
                     Shape(".eval, own reader", {"log_format": "eval"}, "llmlens"),
                     Shape(".json, inspect_ai reader", {"log_format": "json"}, "inspect_ai"),
                     Shape(".json, own reader", {"log_format": "json"}, "llmlens")],
    "agents_sdk": [Shape("jsonl", {"shape": "jsonl"}), Shape("batches", {"shape": "batches"})],
    "phoenix": [Shape("sqlite", {"container": "sqlite"}), Shape("parquet", {"container": "parquet"})],
}  # fmt: skip
"""The shapes of each format, its main one first; a format not named here runs ``generate``'s defaults."""

_LOAD = """
import json, resource, sys, time
import llmlens
paths, store, reader = json.loads(sys.argv[1])
if reader == "llmlens":
    import llmlens.loaders.inspect_read
    llmlens.loaders.inspect_read.USE_INSPECT_AI = False
elif reader == "inspect_ai":
    import inspect_ai.log
with llmlens.open(store) as lens:
    t = time.perf_counter()
    report = lens.load(*paths, progress=False)
    t = time.perf_counter() - t
try:
    peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
problems = [f"{f.path}: {f.status} {f.skipped} {'; '.join(f.reasons[:3])}".strip()
            for f in report.files if f.status != "loaded"]
print(json.dumps({"seconds": t, "rows": report.rows_added, "rejected": report.rejected, "peak_mb": peak,
                  "problems": problems}))
"""


@dataclass
class Result:
    format: str
    shape: str
    megabytes: float
    written_s: float
    seconds: float
    rows: dict[str, int]
    rejected: int
    peak_mb: float
    problems: list[str]

    @property
    def spans(self) -> int:
        return self.rows.get("spans", 0)

    @property
    def spans_per_s(self) -> float:
        return self.spans / self.seconds if self.seconds else 0.0


def _module(path: Path) -> ModuleType:
    """The module at ``path``, imported by file path (``benchmarks/`` is no package)."""
    name = f"_bench_{path.parent.name}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look their module up
    spec.loader.exec_module(module)
    return module


def formats() -> dict[str, ModuleType]:
    """Every module of ``benchmarks/ingest/`` that has a ``generate``, by name."""
    found = {}
    for path in sorted(INGEST.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        module = _module(path)
        if callable(getattr(module, "generate", None)):
            found[path.stem] = module
    return found


def _load(paths: list[Path], store: Path, reader: str | None) -> dict[str, Any]:
    """``lens.load`` of ``paths`` into the new store file ``store``, in a fresh process."""
    argument = json.dumps([[str(p) for p in paths], str(store), reader])
    result = subprocess.run([sys.executable, "-c", _LOAD, argument], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return {"seconds": 0.0, "rows": {}, "rejected": 0, "peak_mb": 0.0,
                "problems": ["lens.load failed: " + (result.stderr.strip().splitlines() or ["?"])[-1]]}  # fmt: skip
    numbers: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return numbers


def measure(name: str, shape: str, write: Any, reader: str | None, folder: Path, *, repeat: int = 1) -> Result:
    """Write one case with ``write(folder) -> paths``, load it ``repeat`` times (each into a new store), keep the
    fastest load (or the first that went wrong), and drop its files."""
    data = folder / "data"
    started = time.perf_counter()
    paths = [Path(p) for p in write(data)]
    written = time.perf_counter() - started
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    numbers: dict[str, Any] = {}
    for _ in range(repeat):
        (folder / "store.duckdb").unlink(missing_ok=True)
        load = _load(paths, folder / "store.duckdb", reader)
        if load["problems"] or load["rejected"]:
            numbers = load
            break
        if not numbers or load["seconds"] < numbers["seconds"]:
            numbers = load
    shutil.rmtree(data, ignore_errors=True)
    (folder / "store.duckdb").unlink(missing_ok=True)
    result = Result(name, shape, megabytes, written, numbers["seconds"], numbers["rows"], numbers["rejected"],
                    numbers["peak_mb"], numbers["problems"])  # fmt: skip
    other = ", ".join(f"{result.rows.get(k, 0):,} {k}" for k in OTHER_ROWS if result.rows.get(k))
    print(f"{name} ({shape}): {megabytes:,.1f} MB written in {written:.1f} s; {result.spans:,} spans"
          f"{', ' + other if other else ''} loaded in {result.seconds:.2f} s = {result.spans_per_s:,.0f} spans/s"
          f" ({result.rejected} rejected; peak {result.peak_mb:,.0f} MB)", flush=True)  # fmt: skip
    return result


def table(results: list[Result]) -> str:
    """The results as a Markdown table, ratios against the first (the OTLP baseline)."""
    baseline = results[0].spans_per_s
    columns = ["format", "shape", "file MB", "spans", *OTHER_ROWS, "load s", "spans/s", "vs OTLP", "peak MB"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in results:
        ratio = f"{r.spans_per_s / baseline:.2f}x" if baseline else ""
        other = " | ".join(f"{r.rows.get(k, 0):,}" for k in OTHER_ROWS)
        lines.append(f"| {r.format} | {r.shape} | {r.megabytes:,.1f} | {r.spans:,} | {other} | {r.seconds:.2f} | "
                     f"{r.spans_per_s:,.0f} | {ratio} | {r.peak_mb:,.0f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=100_000, help="spans' worth of each format (default 100,000)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these formats (module names)")
    parser.add_argument("--all-shapes", action="store_true", help="run every shape of each format, not the main one")
    parser.add_argument("--repeat", type=int, default=1, help="load each case this many times, keep the fastest")
    args = parser.parse_args()
    found = formats()
    unknown = sorted(set(args.only or ()) - set(found))
    if unknown:
        parser.error(f"no format {', '.join(unknown)} in {INGEST} (there are: {', '.join(found)})")
    otlp = _module(BENCHMARKS / "load_otlp.py")
    cases: list[tuple[str, str, Any, str | None]] = [
        ("otlp-json", "JSON Lines (baseline)",
         lambda folder: _otlp(otlp, folder, args.spans), None),
    ]  # fmt: skip
    for name, module in found.items():
        if args.only and name not in args.only:
            continue
        shapes = SHAPES.get(name, [Shape("default")])
        for shape in shapes if args.all_shapes else shapes[:1]:
            cases.append((name, shape.label, _writer(module, args.spans, shape.options), shape.reader))
    print(
        f"{len(cases)} cases of {args.spans:,} spans each, best of {args.repeat} loads; formats found: "
        f"{', '.join(found)}",
        flush=True,
    )
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for name, shape, write, reader in cases:
            results.append(measure(name, shape, write, reader, Path(folder), repeat=args.repeat))
    print()
    print(table(results))
    bad = [r for r in results if r.rejected or r.problems or not r.spans]
    for r in bad:
        print(f"FAILED {r.format} ({r.shape}): {r.rejected} rejected, {r.spans} spans; " + "; ".join(r.problems))
    if bad:
        sys.exit(1)


def _otlp(otlp: ModuleType, folder: Path, spans: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spans.jsonl"
    otlp.write_spans(path, spans)
    return [path]


def _writer(module: ModuleType, spans: int, options: dict[str, object]) -> Any:
    return lambda folder: module.generate(folder, spans, **options)


if __name__ == "__main__":
    main()
