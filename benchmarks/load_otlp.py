"""Benchmark: loading OpenInference spans from OTLP JSON Lines, against DuckDB's bare read_json of the same file.

    python benchmarks/load_otlp.py --spans 1000000     # the full-size run recorded in RESULTS.md
    python benchmarks/load_otlp.py --spans 2000        # smoke size (what the tests run)

Prints (a) bare `read_json` into a table of a DuckDB file (what `lens.load` also does: a store is a file), and
into an in-memory table for reference, (b) `lens.load`, (c) a plain Python `json.loads` loop, the ratios b/a and
c/a, and the peak memory of the process that ran `lens.load`.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from llmlens.demo.export import otlp_attribute as _attr

SPANS_PER_LINE = 100


def write_spans(path: Path, count: int, seed: int = 0) -> None:
    """OTLP JSONL, one TracesData of SPANS_PER_LINE spans per line: alternating retriever and LLM spans."""
    rng = random.Random(seed)
    start = 1_763_000_000_000_000_000
    with path.open("w") as out:
        for first in range(0, count, SPANS_PER_LINE):
            spans = []
            for i in range(first, min(first + SPANS_PER_LINE, count)):
                trace = f"{i // 2:032x}"
                t0 = start + i * 1_000_000_000
                if i % 2 == 0:
                    attributes = [
                        _attr("openinference.span.kind", "RETRIEVER"),
                        _attr("input.value", f"question {i}"),
                    ]
                    attributes += [a for k in range(3) for a in (
                        _attr(f"retrieval.documents.{k}.document.id", f"doc-{rng.randrange(5000)}"),
                        _attr(f"retrieval.documents.{k}.document.score", round(rng.random(), 4)),
                        _attr(f"retrieval.documents.{k}.document.content", "chunk text " * 8),
                    )]  # fmt: skip
                    parent = ""
                else:
                    attributes = [
                        _attr("openinference.span.kind", "LLM"), _attr("llm.model_name", "gpt-4o-mini"),
                        _attr("llm.provider", "openai"), _attr("llm.token_count.prompt", rng.randrange(100, 2000)),
                        _attr("llm.token_count.completion", rng.randrange(10, 300)),
                        _attr("llm.input_messages.0.message.role", "user"),
                        _attr("llm.input_messages.0.message.content", f"question {i}"),
                        _attr("llm.output_messages.0.message.role", "assistant"),
                        _attr("llm.output_messages.0.message.content", "an answer " * 10),
                        _attr("session.id", f"s-{rng.randrange(1000)}"),
                    ]  # fmt: skip
                    parent = f"{i - 1:016x}"
                spans.append({
                    "traceId": trace, "spanId": f"{i:016x}", "parentSpanId": parent, "name": "span", "kind": 1,
                    "startTimeUnixNano": str(t0), "endTimeUnixNano": str(t0 + rng.randrange(10**6, 10**9)),
                    "attributes": attributes, "status": {"code": 1},
                })  # fmt: skip
            document = {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "bench")]},
                                           "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]}  # fmt: skip
            out.write(json.dumps(document) + "\n")


def bare_read_json(path: Path, database: str) -> float:
    """DuckDB's own read_json of the file into a table of ``database`` (a file, like a store, or ``:memory:``),
    committed and closed."""
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(database)
    con.execute("CREATE TABLE raw AS SELECT * FROM read_json(?, format = 'newline_delimited')", [str(path)])
    con.close()
    return time.perf_counter() - started


def python_loop(path: Path) -> float:
    started = time.perf_counter()
    spans = 0
    with path.open() as lines:
        for line in lines:
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    spans += len(ss["spans"])
    return time.perf_counter() - started


def lens_load_in_subprocess(path: Path) -> tuple[float, float, int]:
    """Time ``lens.load`` in a fresh process and read that process's peak memory.

    The peak is the kernel's high-water mark of the process's own memory (``VmHWM``). ``ru_maxrss`` is not used
    on Linux: it keeps the parent's resident size from before ``exec``, and this benchmark's parent has just
    held a 1 GB ``read_json`` table.
    """
    code = (
        "import json, resource, sys, time, llmlens\n"
        "lens = llmlens.open(sys.argv[2])\n"
        "t = time.perf_counter(); report = lens.load(sys.argv[1], progress=False); t = time.perf_counter() - t\n"
        "try:\n"
        "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "    peak = int(status.split()[0]) / 1024\n"
        "except (OSError, IndexError):\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': t, 'spans': report.rows_added.get('spans', 0), 'peak_mb': peak}))\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run([sys.executable, "-c", code, str(path), str(Path(folder) / "bench.duckdb")],
                                capture_output=True, text=True, check=True)  # fmt: skip
    numbers = json.loads(result.stdout.strip().splitlines()[-1])
    return numbers["seconds"], numbers["peak_mb"], numbers["spans"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spans.jsonl"
        started = time.perf_counter()
        write_spans(path, args.spans)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.spans:,} spans, {size_mb:,.0f} MB, in {time.perf_counter() - started:.1f} s")
        a = bare_read_json(path, str(Path(folder) / "read_json.duckdb"))
        a_memory = bare_read_json(path, ":memory:")
        b, peak_mb, loaded = lens_load_in_subprocess(path)
        c = python_loop(path)
    assert loaded == args.spans, f"loaded {loaded} of {args.spans} spans"
    print(f"(a) DuckDB read_json into a table of a DuckDB file: {a:8.2f} s   (in memory: {a_memory:.2f} s)")
    print(
        f"(b) lens.load into a store file:                    {b:8.2f} s   b/a = {b / a:.2f}   (target <= 2.0)"
        f"   b/a(in memory) = {b / a_memory:.2f}"
    )
    print(f"(c) Python json.loads loop:                         {c:8.2f} s   c/a = {c / a:.2f}")
    print(f"peak memory of the lens.load process: {peak_mb:,.0f} MB (target < 2,048 MB)")


if __name__ == "__main__":
    main()
