"""Generate the demo data and insert it into a store, one source per workload, in one transaction."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
from tqdm.auto import tqdm

import llmlens
from llmlens.demo import agents, rag, training
from llmlens.errors import LensError
from llmlens.lens import Lens

DEFAULT_PATH = Path(".llmlens") / "demo.duckdb"

_WORKLOADS: tuple[tuple[str, Callable[[np.random.Generator], dict[str, pa.Table]]], ...] = (
    ("rag", rag.generate),
    ("agents", agents.generate),
    ("training", training.generate),
)


def insert_demo(lens: Lens, *, seed: int = 0, progress: bool = True) -> dict[str, int]:
    """Generate the demo workloads from ``seed`` and insert them into ``lens``; return rows added per table.

    >>> import llmlens
    >>> with llmlens.open(":memory:") as lens:
    ...     insert_demo(lens, progress=False)["spans"] > 10_000
    True
    """
    added: dict[str, int] = {}
    con = lens.con
    con.execute("BEGIN TRANSACTION")
    try:
        for name, generate in tqdm(_WORKLOADS, desc="llmlens demo", disable=not progress, unit="workload"):
            started = time.perf_counter()
            tables = generate(np.random.default_rng([seed, len(name)]))
            row = con.execute(
                "INSERT INTO sources (uri, format, llmlens_version, options) VALUES (?, 'llmlens-demo', ?, ?) "
                "RETURNING source_id",
                [f"llmlens-demo://{name}?seed={seed}", llmlens.__version__, json.dumps({"seed": seed})],
            ).fetchall()[0]
            assert row is not None
            source_id = int(row[0])
            counts = {}
            for table_name, generated in tables.items():
                rows = generated.append_column("source_id", pa.array([source_id] * generated.num_rows, pa.int32()))
                con.register("demo_rows", rows)
                con.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM demo_rows")
                con.unregister("demo_rows")
                counts[table_name] = rows.num_rows
                added[table_name] = added.get(table_name, 0) + rows.num_rows
            con.execute(
                "UPDATE sources SET rows_added = ?::MAP(VARCHAR, BIGINT), seconds = ? WHERE source_id = ?",
                [counts, time.perf_counter() - started, source_id],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return added


def build(path: str | os.PathLike[str] = DEFAULT_PATH, *, seed: int = 0, progress: bool = True) -> Path:
    """(Re)create the demo store at ``path`` from ``seed`` and return its resolved path.

    >>> import tempfile, pathlib
    >>> where = build(pathlib.Path(tempfile.mkdtemp()) / "demo.duckdb", progress=False)  # doctest: +SKIP
    >>> where.exists()  # doctest: +SKIP
    True
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
            other = lens.sql("SELECT count(*) AS n FROM sources WHERE format <> 'llmlens-demo'").n[0]
    except LensError as error:
        raise LensError(f"{path} is not a demo store ({error}); not replacing it with demo data") from error
    if other:
        raise LensError(f"{path} holds {other} loaded sources besides demo data; not replacing it with demo data")


def open(
    path: str | os.PathLike[str] = DEFAULT_PATH, *, seed: int = 0, rebuild: bool = False, read_only: bool = False
) -> Lens:
    """Open the demo store at ``path``, building it first if it is missing (or ``rebuild``).

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()  # doctest: +SKIP
    >>> lens.sql("SELECT count(*) AS traces FROM traces")  # doctest: +SKIP
    """
    if rebuild or not Path(path).expanduser().exists():
        build(path, seed=seed)
    return llmlens.open(path, read_only=read_only)
