"""Generate the demo data and put it into a store: traces through the loaders, the rest inserted directly.

The RAG and agent traces are written as OTLP JSON Lines with OpenInference attributes (as an instrumented app's
file exporter writes them), the ticket router's calls as an LLM gateway's OpenAI log, the training sweep as
TensorBoard event files and an MLflow file store, and all are loaded with ``lens.load``, exactly as a user's files
are. What no file format carries (the corpus's chunk vectors, user feedback) is inserted as rows of its own
sources.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from tqdm.auto import tqdm

import llmlens
from llmlens.demo import agents, classifier, rag, training
from llmlens.demo.export import write_openai_log, write_otlp
from llmlens.demo.run_files import write_runs
from llmlens.errors import LensError
from llmlens.lens import Lens

DEFAULT_PATH = Path(".llmlens") / "demo.duckdb"
"""Where the demo store lives, relative to the working directory."""

FORMAT = "llmlens-demo"
"""The format of sources inserted directly (not loaded from files)."""

TRACE_TABLES = ("spans", "messages", "tokens", "documents", "embeddings")
"""Tables written to the trace files; of ``embeddings``, only the rows of a span (query vectors)."""


def insert_demo(
    lens: Lens, *, seed: int = 0, progress: bool = True, folder: str | os.PathLike[str] | None = None
) -> dict[str, int]:
    """Generate the demo from ``seed`` into ``lens``; return rows added per table.

    The trace files are written to ``folder`` (kept, to look at or load elsewhere), or to a temporary folder.
    Every source the demo adds is marked ``{"demo": {"seed": ...}}`` in ``sources.options``.

    >>> import llmlens
    >>> with llmlens.open(":memory:") as lens:
    ...     added = insert_demo(lens, progress=False)
    ...     added["spans"] == lens.tables()["spans"] > 10_000
    True
    """
    streams = np.random.SeedSequence(seed).spawn(4)
    rag_tables, agent_tables, training_tables = (
        workload(np.random.default_rng(stream))
        for workload, stream in zip((rag.generate, agents.generate, training.generate), streams, strict=False)
    )
    routed_tickets = classifier.generate(np.random.default_rng(streams[3]))
    with tempfile.TemporaryDirectory(prefix="llmlens-demo-") as scratch:
        where = Path(folder) if folder is not None else Path(scratch)
        where.mkdir(parents=True, exist_ok=True)
        files = [
            write_otlp(where / "rag.otlp.jsonl", _traced(rag_tables)),
            write_otlp(where / "agents.otlp.jsonl", _traced(agent_tables)),
            write_openai_log(where / "ticket-router.openai.jsonl", routed_tickets),
            write_runs(where / "runs", training_tables),
        ]
        (last_before,) = lens.con.execute("SELECT coalesce(max(source_id), 0) FROM sources").fetchall()[0]
        report = lens.load(*files, progress=progress)
        failed = [f"{file.path}: {'; '.join(file.reasons)}" for file in report.files if file.rejected or file.skipped]
        if failed:
            raise LensError("the demo's own trace files did not load cleanly: " + " | ".join(failed))
    added = dict(report.rows_added)
    con = lens.con
    con.execute("BEGIN TRANSACTION")
    try:
        for name, tables in tqdm(
            [("corpus", {"embeddings": _untraced(rag_tables["embeddings"])}),
             ("feedback", {"annotations": rag_tables["annotations"]})],
            desc="llmlens demo", disable=not progress, unit="table set",
        ):  # fmt: skip
            for table_name, rows in _insert(con, name, tables, seed).items():
                added[table_name] = added.get(table_name, 0) + rows
        con.execute(
            "UPDATE sources SET options = ? WHERE source_id > ?", [json.dumps({"demo": {"seed": seed}}), last_before]
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return added


def _traced(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The tables a trace file carries (span-owned rows only)."""
    chosen = {name: tables[name] for name in TRACE_TABLES if name in tables}
    if "embeddings" in chosen:
        embeddings = chosen["embeddings"]
        chosen["embeddings"] = embeddings.filter(pa.compute.is_valid(embeddings["span_id"]))
    return chosen


def _untraced(embeddings: pa.Table) -> pa.Table:
    return embeddings.filter(pa.compute.is_null(embeddings["span_id"]))


def _insert(con: duckdb.DuckDBPyConnection, name: str, tables: dict[str, pa.Table], seed: int) -> dict[str, int]:
    """Register a source and insert ``tables`` by column name under it; return rows per table."""
    started = time.perf_counter()
    source_id = con.execute(
        "INSERT INTO sources (uri, format, llmlens_version) VALUES (?, ?, ?) RETURNING source_id",
        [f"{FORMAT}://{name}?seed={seed}", FORMAT, llmlens.__version__],
    ).fetchall()[0][0]
    counts: dict[str, int] = {}
    for table_name, generated in tables.items():
        demo_rows = generated.append_column("source_id", pa.array([source_id] * generated.num_rows, pa.int32()))
        con.register("demo_rows", demo_rows)
        try:
            con.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM demo_rows")
        finally:
            con.unregister("demo_rows")
        counts[table_name] = demo_rows.num_rows
    con.execute(
        "UPDATE sources SET rows_added = ?::MAP(VARCHAR, BIGINT), seconds = ? WHERE source_id = ?",
        [counts, time.perf_counter() - started, source_id],
    )
    return counts


def build(path: str | os.PathLike[str] = DEFAULT_PATH, *, seed: int = 0, progress: bool = True) -> Path:
    """(Re)create the demo store at ``path`` from ``seed`` and return its resolved path.

    An existing demo store there (and its ``.wal``) is replaced; a store holding anything else is refused.
    The trace and run files it loads are kept in ``demo-files/`` next to the store.

    >>> import tempfile, pathlib, llmlens
    >>> where = build(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb", progress=False)
    >>> with llmlens.open(where, read_only=True) as lens:
    ...     lens.sql("SELECT format, count(*) AS n FROM sources GROUP BY ALL ORDER BY min(source_id)").values.tolist()
    [['otlp-json', 2], ['openai-log', 1], ['mlflow', 5], ['tensorboard', 8], ['llmlens-demo', 2]]
    """
    target = Path(path).expanduser().resolve()
    if target.exists():
        _check_is_demo(target)
    for leftover in (target, target.with_name(target.name + ".wal")):
        leftover.unlink(missing_ok=True)
    with llmlens.open(target) as lens:
        insert_demo(lens, seed=seed, progress=progress, folder=target.parent / "demo-files")
        lens.con.execute("CHECKPOINT")
    return target


def _check_is_demo(path: Path) -> None:
    """Refuse to replace a file that holds anything but demo data: a rebuild deletes it."""
    try:  # read as plain DuckDB: a demo store of an older schema is still a demo store
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute("SELECT count(*) FROM sources WHERE json_extract(options, '$.demo') IS NULL").fetchall()
    except duckdb.Error as error:
        raise LensError(f"{path} is not a demo store ({error}); not replacing it with demo data") from error
    other = rows[0][0]
    if other:
        raise LensError(f"{path} holds {other} loaded sources besides demo data; not replacing it with demo data")


def open(
    path: str | os.PathLike[str] = DEFAULT_PATH, *, seed: int = 0, rebuild: bool = False, read_only: bool = False
) -> Lens:
    """Open the demo store at ``path``, building it first if it is missing (or ``rebuild``).

    >>> import tempfile, pathlib
    >>> where = pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb"
    >>> with open(where, read_only=True) as lens:
    ...     int(lens.sql("SELECT count(*) AS n FROM traces WHERE root_name = 'rag_pipeline'").n[0])
    2000
    """
    if rebuild or not Path(path).expanduser().exists():
        build(path, seed=seed)
    return llmlens.open(path, read_only=read_only)
