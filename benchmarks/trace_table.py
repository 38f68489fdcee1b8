"""Benchmark: the trace table over a store of many traces, against recomputing each trace row from its spans.

    python benchmarks/trace_table.py                      # 1,000,000 traces x 3 spans
    python benchmarks/trace_table.py --traces 2000        # smoke size (what the tests run)
    python benchmarks/trace_table.py --store PATH         # reuse a store this script generated (--keep PATH)

The store is generated inside DuckDB (a RAG-like trace: chain, retriever, LLM; texts of 100-400 characters;
1 in 1,000 traces mentions "quasar"; 3% fail) and its traces table built as the loaders build it. Prints each
operation's time, and the same operation on the ``trace_rollup`` view (what querying the spans for every page
would cost) as the baseline:
(1) count and the first page (newest first);
(2) a page deep in the table (offset: half the traces);
(3) a sort by latency, first page;
(4) a text search for a rare word (count + first page), and for a word found nowhere (the worst case);
(5) a where filter (n_errors > 0);
(6) bytes sent to the browser per visible row (Arrow IPC page of 100 rows).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llmlens
from llmlens.widgets.token_data import ipc_bytes
from llmlens.widgets.trace_table_data import TraceQuery, count_traces, trace_page

PAGE = 100
WORDS = ["refund", "invoice", "shipping", "password", "account", "billing", "upgrade", "cancel", "warranty", "delivery"]


def generate(lens: llmlens.Lens, traces: int) -> None:
    """``traces`` traces of three spans each, written in SQL, then the traces table built from them."""
    con = lens.con
    con.execute(
        f"""INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, start_time, end_time, status_code,
                               model, input_text, output_text, input_tokens, output_tokens, total_tokens, cost_usd,
                               session_id, user_id)
        SELECT printf('%032x', t), printf('%016x', t * 3 + s),
               CASE WHEN s > 0 THEN printf('%016x', t * 3) END,
               ['rag_pipeline', 'retrieve', 'ChatCompletion'][s + 1], ['CHAIN', 'RETRIEVER', 'LLM'][s + 1],
               make_timestamp((1763157600000000 + t * 600000 + s * 1000)::BIGINT),
               make_timestamp((1763157600000000 + t * 600000 + s * 1000 + 200000 + h % 2000000)::BIGINT),
               CASE WHEN s = 2 AND h % 33 = 0 THEN 'ERROR' ELSE 'OK' END,
               CASE WHEN s = 2 THEN ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet'][h % 3 + 1] END,
               CASE WHEN s <> 1 THEN 'How do I ' || list_element({WORDS!r}, h % 10 + 1) ||
                    ' my order ' || t || CASE WHEN t % 1000 = 7 THEN ' near the quasar' ELSE '' END ||
                    '? ' || repeat('Please help, it is urgent. ', 1 + h % 4) END,
               CASE WHEN s <> 1 THEN 'You can ' || list_element({WORDS!r}, h7 % 10 + 1) ||
                    ' it from the settings page. ' || repeat('Here is how it works, step by step. ', 3 + h % 8)
                    END,
               CASE WHEN s = 2 THEN 500 + h % 1500 END, CASE WHEN s = 2 THEN 50 + h % 400 END,
               CASE WHEN s = 2 THEN 550 + h % 1900 END, CASE WHEN s = 2 THEN (h % 1000) / 1e6 END,
               's-' || (t // 4), 'u-' || (t % 5000)
        FROM (SELECT t, s, (hash(t) % 100000000)::BIGINT AS h, (hash(t * 7) % 100000000)::BIGINT AS h7
              FROM range(?) a(t), range(3) b(s))""",  # WORDS is this script's constant, not user input
        [traces],
    )
    con.execute("DELETE FROM traces")
    con.execute("INSERT INTO traces BY NAME SELECT * FROM trace_rollup ORDER BY start_time")


def timed(work: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best of ``repeat`` runs: seconds and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def rollup_page(lens: llmlens.Lens, order: str, where: str = "true", offset: int = 0) -> Any:
    """The baseline: the same page computed from the spans (``order`` and ``where`` are this script's constants)."""
    return lens.con.sql(
        f"SELECT * FROM trace_rollup WHERE {where} ORDER BY {order} LIMIT {PAGE} OFFSET {offset}"
    ).to_arrow_table()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, default=None, help="reuse a store generated with --keep")
    parser.add_argument("--keep", type=Path, default=None, help="write the generated store here and keep it")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="llmlens-bench-"))
    path = args.store or args.keep or folder / "traces.duckdb"
    fresh = args.store is None
    with llmlens.open(path) as lens:
        if fresh:
            started = time.perf_counter()
            generate(lens, args.traces)
            print(
                f"generated {args.traces:,} traces ({3 * args.traces:,} spans) in {time.perf_counter() - started:.1f} s"
            )
    with llmlens.open(path, read_only=True) as lens:
        con = lens.con
        total = count_traces(con, TraceQuery())
        print(f"store: {total:,} traces")

        def page(query: TraceQuery, offset: int = 0) -> tuple[int, Any]:
            return count_traces(con, query), trace_page(con, query, offset, PAGE)

        newest = TraceQuery()
        report(
            "(1) count + first page",
            timed(lambda: page(newest)),
            timed(lambda: rollup_page(lens, "start_time DESC, trace_id"), 1),
        )
        report(
            "(2) page at offset half",
            timed(lambda: page(newest, total // 2)),
            timed(lambda: rollup_page(lens, "start_time DESC, trace_id", offset=total // 2), 1),
        )
        slow = TraceQuery(sort="duration_ms")
        report(
            "(3) sort by latency",
            timed(lambda: page(slow)),
            timed(lambda: rollup_page(lens, "duration_ms DESC, trace_id"), 1),
        )
        rare = TraceQuery(search="quasar")
        (seconds, (found, _)) = timed(lambda: page(rare))
        report(
            f"(4) search 'quasar' ({found:,} found)",
            (seconds, None),
            timed(lambda: rollup_page(lens, "start_time DESC", "input_text ILIKE '%quasar%'"), 1),
        )
        nowhere = TraceQuery(search="zanzibar")
        report(
            "(4) search 'zanzibar' (none)",
            timed(lambda: page(nowhere)),
            timed(lambda: rollup_page(lens, "start_time DESC", "input_text ILIKE '%zanzibar%'"), 1),
        )
        failing = TraceQuery(where="n_errors > 0")
        report(
            "(5) where n_errors > 0",
            timed(lambda: page(failing)),
            timed(lambda: rollup_page(lens, "start_time DESC", "n_errors > 0"), 1),
        )
        sent = len(ipc_bytes(trace_page(con, newest, 0, PAGE)))
        print(f"(6) bytes to the browser: {sent / PAGE:,.0f} B per visible row ({sent:,} B per page of {PAGE})")


def report(label: str, ours: tuple[float, Any], baseline: tuple[float, Any]) -> None:
    print(f"{label:<40} {ours[0]:8.3f} s   trace_rollup {baseline[0]:8.3f} s   speed-up {baseline[0] / ours[0]:7.1f}x")


if __name__ == "__main__":
    main()
