"""Benchmark: loading OpenInference spans from OTLP JSON Lines, against DuckDB's bare read_json of the same file.

    python benchmarks/load_otlp.py --spans 1000000 --repeat 3    # the full-size run recorded in RESULTS.md
    python benchmarks/load_otlp.py --spans 2000        # smoke size (what the tests run)

Prints (a) bare `read_json` into a table of a DuckDB file and (b) `lens.load` into a store file (a store is a
file), then the same two into memory, (a') and (b'), each in a new process, with wall and CPU seconds and peak
memory; (c) a plain Python `json.loads` loop; and the ratios. With ``--repeat N`` each of the four runs N times,
in turn (a, b, a', b', a, b, ...), and the fastest run of each is reported: on a shared machine the slow runs
measure the neighbours.
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


def python_loop(path: Path) -> float:
    started = time.perf_counter()
    spans = 0
    with path.open() as lines:
        for line in lines:
            for rs in json.loads(line)["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    spans += len(ss["spans"])
    return time.perf_counter() - started


READ_JSON = """
import duckdb
start()
con = duckdb.connect(sys.argv[2])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE raw AS SELECT * FROM read_json(?, format = 'newline_delimited')", [sys.argv[1]])
con.close()
stop()
"""
"""(a) DuckDB's own read_json of the file into a table of a database (a file, like a store, or ``:memory:``),
committed and closed."""

LENS_LOAD = """
import llmlens
lens = llmlens.open(sys.argv[2])
start()
added = lens.load(sys.argv[1], progress=False).rows_added.get("spans", 0)
stop()
"""
"""(b) ``lens.load`` of the file into a new store (the store opened before, as in a notebook)."""

TIMER = """
import json, resource, sys, time
added, timed = 0, {}
def start():
    timed.update(seconds=time.perf_counter(), cpu=time.process_time())
def stop():
    timed.update(seconds=time.perf_counter() - timed["seconds"], cpu=time.process_time() - timed["cpu"])
"""

PEAK = """
try:
    peak = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({**timed, 'peak_mb': peak, 'added': added}))
"""


def in_fresh_process(body: str, path: Path, database: str) -> dict[str, float]:
    """Run ``body`` (reading the file ``sys.argv[1]`` into the database ``sys.argv[2]``, timing what is between its
    ``start()`` and ``stop()``) in a new Python process; return its wall and CPU seconds (every thread), its peak
    memory, and ``added`` where the body sets it.

    Each side runs in a process of its own, so none inherits the memory or the warm caches of another. The peak
    is the kernel's high-water mark of the process's own memory (``VmHWM``); ``ru_maxrss`` is not used on Linux,
    where it keeps the parent's resident size from before ``exec``.
    """
    code = TIMER + body + PEAK
    command = [sys.executable, "-c", code, str(path), database]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side; the fastest is reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spans.jsonl"
        started = time.perf_counter()
        write_spans(path, args.spans)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.spans:,} spans, {size_mb:,.0f} MB, in {time.perf_counter() - started:.1f} s")
        sides = {"a": (READ_JSON, f"{folder}/read_json.duckdb"), "b": (LENS_LOAD, f"{folder}/bench.duckdb"),
                 "a'": (READ_JSON, ":memory:"), "b'": (LENS_LOAD, ":memory:")}  # fmt: skip
        timed: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
        for _ in range(args.repeat):
            for side, (body, database) in sides.items():
                if database != ":memory:":
                    Path(database).unlink(missing_ok=True)  # each run writes a new database
                timed[side].append(in_fresh_process(body, path, database))
        # the fastest run of each side, with the highest peak memory of its runs
        a, b, a_memory, b_memory = (
            {**min(runs, key=lambda run: run["seconds"]), "peak_mb": max(run["peak_mb"] for run in runs)}
            for runs in timed.values()
        )
        if args.repeat > 1:
            for side, runs in timed.items():
                print(f"({side}) runs: " + ", ".join(f"{run['seconds']:.2f} s" for run in runs))
        c = python_loop(path)
    assert b["added"] == b_memory["added"] == args.spans, f"loaded {b['added']} of {args.spans} spans"
    runs = (("(a) DuckDB read_json into a table of a DuckDB file", a), ("(b) lens.load into a store file", b),
            ("(a') read_json into a table in memory", a_memory),
            ("(b') lens.load into a store in memory", b_memory))  # fmt: skip
    for label, run in runs:
        cores = run["cpu"] / run["seconds"]
        print(f"{label:<52} {run['seconds']:8.2f} s   CPU {run['cpu']:7.2f} s ({cores:.2f} cores)"
              f"   peak {run['peak_mb']:,.0f} MB")  # fmt: skip
    print(f"(c) Python json.loads loop:{'':<25} {c:8.2f} s")
    print(f"b/a = {b['seconds'] / a['seconds']:.2f}   (target <= 2.0; both write a DuckDB file)")
    print(f"b'/a' = {b_memory['seconds'] / a_memory['seconds']:.2f}   (both in memory)")
    print(f"b/a' = {b['seconds'] / a_memory['seconds']:.2f}   (the store file against read_json in memory)")
    print(f"c/a = {c / a['seconds']:.2f}")
    print(f"peak memory of the lens.load process: {b['peak_mb']:,.0f} MB (target < 2,048 MB)")


if __name__ == "__main__":
    main()
