"""Generate the demo data and insert it into a store, one source per workload, in one transaction."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from tqdm.auto import tqdm

import llmlens
from llmlens.demo import agents, rag, training
from llmlens.errors import LensError
from llmlens.lens import Lens

DEFAULT_PATH = Path(".llmlens") / "demo.duckdb"
"""Where the demo store lives, relative to the working directory."""

FORMAT = "llmlens-demo"

_WORKLOADS: tuple[tuple[str, Callable[[np.random.Generator], dict[str, pa.Table]]], ...] = (
    ("rag", rag.generate),
    ("agents", agents.generate),
    ("training", training.generate),
)


def insert_demo(lens: Lens, *, seed: int = 0, progress: bool = True) -> dict[str, int]:
    """Generate the demo workloads from ``seed`` and insert them into ``lens``; return rows added per table.

    Everything goes in one transaction: interrupted, the store is left as it was. Each workload (``rag``,
    ``agents``, ``training``) gets a ``sources`` row with format ``llmlens-demo``, and its rows carry its id.

    >>> import llmlens
    >>> with llmlens.open(":memory:") as lens:
    ...     added = insert_demo(lens, progress=False)
    ...     added["spans"] == lens.tables()["spans"] > 10_000
    True
    """
    streams = np.random.SeedSequence(seed).spawn(len(_WORKLOADS))
    added: dict[str, int] = {}
    con = lens.con
    con.execute("BEGIN TRANSACTION")
    try:
        for (name, generate), stream in tqdm(
            list(zip(_WORKLOADS, streams, strict=True)), desc="llmlens demo", disable=not progress, unit="workload"
        ):
            for table_name, rows in _insert_workload(con, name, generate, stream, seed).items():
                added[table_name] = added.get(table_name, 0) + rows
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return added


def _insert_workload(
    con: duckdb.DuckDBPyConnection,
    name: str,
    generate: Callable[[np.random.Generator], dict[str, pa.Table]],
    stream: np.random.SeedSequence,
    seed: int,
) -> dict[str, int]:
    """Register a source, generate the workload's tables and insert them by column name; return rows per table."""
    started = time.perf_counter()
    source_id = con.execute(
        "INSERT INTO sources (uri, format, llmlens_version, options) VALUES (?, ?, ?, ?) RETURNING source_id",
        [f"{FORMAT}://{name}?seed={seed}", FORMAT, llmlens.__version__, json.dumps({"seed": seed})],
    ).fetchall()[0][0]
    counts: dict[str, int] = {}
    for table_name, generated in generate(np.random.default_rng(stream)).items():
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

    >>> import tempfile, pathlib, llmlens
    >>> where = build(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb", progress=False)
    >>> with llmlens.open(where, read_only=True) as lens:
    ...     lens.info().sources
    3
    """
    target = Path(path).expanduser().resolve()
    if target.exists():
        _check_is_demo(target)
    for leftover in (target, target.with_name(target.name + ".wal")):
        leftover.unlink(missing_ok=True)
    with llmlens.open(target) as lens:
        insert_demo(lens, seed=seed, progress=progress)
        lens.con.execute("CHECKPOINT")
    return target


def _check_is_demo(path: Path) -> None:
    """Refuse to replace a file that holds anything but demo data: a rebuild deletes it."""
    try:
        with llmlens.open(path, read_only=True) as lens:
            other = lens.sql("SELECT count(*) AS n FROM sources WHERE format <> ?", [FORMAT]).n[0]
    except LensError as error:
        raise LensError(f"{path} is not a demo store ({error}); not replacing it with demo data") from error
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
