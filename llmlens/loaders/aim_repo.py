"""Aim repositories (a ``.aim`` folder) into ``runs``, ``params`` and ``metrics``; reading them needs the ``aim``
package (``pip install 'llmlens[aim]'``): its run data sits in one RocksDB per run, in Aim's own encoding.

A repository is found by its ``run_metadata.sqlite`` (a SQLite file with Aim's ``run``, ``experiment`` and
``run_tag`` tables); the rest of the folder is read with it. Each run's own data is read (not Aim's index, which
only ``aim up`` keeps current), without writing to the repository:

- **Metrics**: every point of every metric, at its step, ``wall_time`` its time; a metric tracked in a context is
  named with it, ``loss{subset=train}``. Aim keeps one value per step, so ``seq`` is the step. The epoch tracked
  with the points is the metric ``epoch``. Aim's system metrics (``__system__*``) follow llmlens's scheme:
  ``system/cpu.utilization``, ``system/gpu.<i>.utilization``, ... (others as ``system/<name>``).
- **Params**: the run's attributes (``run["hparams"] = {...}``) flattened to dotted keys; Aim's own
  (``__system_params``, ...) go to ``runs.attributes``.
- **The run**: ``aim:<hash>``; project the experiment, name, tags, start and end, ``running`` while active, else
  ``finished``; description and archived state in ``attributes``.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from llmlens.loaders.files import LoadError, Records
from llmlens.query import run_script

NAME = "aim"

_SQLITE = b"SQLite format 3\x00"
_AIM_TABLES = {"run", "experiment", "run_tag"}
_SYSTEM = {
    "cpu": "cpu.utilization", "memory_percent": "memory.utilization", "disk_percent": "disk.utilization",
    "gpu": "utilization", "gpu_memory_percent": "memory_allocated", "gpu_temp": "temperature",
    "gpu_power_watts": "power_watts",
}  # fmt: skip
"""Aim's system metric names (``aim/ext/resource``) -> llmlens's; GPU metrics are per ``gpu`` context."""

CHUNK_ROWS = 2_000_000
"""Points staged at once (whole runs: a run's rows are never split between chunks)."""

ROWS = pa.schema([("kind", pa.string()), ("run_id", pa.string()), ("key", pa.string()), ("step", pa.int64()),
                  ("time", pa.float64()), ("value", pa.float64()), ("detail", pa.string())])  # fmt: skip
"""What a repository reads as: points (kind ``point``), params (``param``: ``detail`` the value) and runs
(``run``: ``detail`` the run as JSON)."""


def could_be(path: Path, head: bytes) -> bool:
    """True for an Aim repository's ``run_metadata.sqlite`` (read only to list its tables)."""
    if not head.startswith(_SQLITE):
        return False
    try:
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as sqlite:
            tables = {row[0] for row in sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error:
        return False
    return tables >= _AIM_TABLES


def covers(path: Path) -> list[Path]:
    """Every other file of the repository (its runs' data): read with it, not on their own. (RocksDB rotates its
    diagnostic ``LOG`` whenever a database opens, even to read: a repository read again hashes differently, and
    loads again, adding nothing new.)"""
    return sorted(p for p in path.parent.rglob("*") if p.is_file() and p != path)


def _aim() -> Any:
    try:
        import aim
    except ImportError as error:
        raise LoadError(
            "reading an Aim repository needs the aim package, which is not installed: "
            "pip install aim (or pip install 'llmlens[aim]')"
        ) from error
    return aim


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """The runs, params and points of the repository whose ``run_metadata.sqlite`` is ``path``."""
    aim = _aim()
    from aim.sdk.repo import ContainerConfig
    from aim.storage.union import RocksUnionContainer

    folder = path.parent
    try:
        repo = aim.Repo.from_path(str(folder.parent if folder.name == ".aim" else folder))
        # read every run's own data, not the index that `aim up` maintains (it lags behind runs not yet indexed)
        union = RocksUnionContainer(str(Path(repo.path) / "meta"), read_only=True)
        config = ContainerConfig("meta", None, True)
        repo.persistent_pool[config] = union
        repo.container_pool[config] = union
        hashes = sorted(repo.list_all_runs())
    except Exception as error:  # Aim raises many kinds (RocksDB, SQLAlchemy, its own)
        raise LoadError(f"{folder}: cannot open the Aim repository ({error})") from error
    pending: list[pa.Table] = []
    for number, run_hash in enumerate(hashes, start=1):
        pending.append(_run_table(aim, repo, run_hash))
        if number == len(hashes) or sum(t.num_rows for t in pending) >= CHUNK_ROWS:
            # whole runs a chunk at a time; the repository counts as read with its last chunk
            yield Records(pa.concat_tables(pending), []), path.stat().st_size if number == len(hashes) else 0
            pending = []
    if not hashes:
        yield Records(ROWS.empty_table(), []), path.stat().st_size


def _run_table(aim: Any, repo: Any, run_hash: str) -> pa.Table:
    """One run's rows: its description, params and points (each metric's read at once, as numpy arrays)."""
    run = aim.Run(run_hash, repo=repo, read_only=True)
    run_id = f"aim:{run_hash}"
    try:
        attrs = run.get(..., {}, resolve_objects=True) or {}
    except (KeyError, StopIteration):
        attrs = {}
    own = {key: value for key, value in attrs.items() if str(key).startswith("__")}
    params = _flatten({k: v for k, v in attrs.items() if k not in own}, "") if len(attrs) > len(own) else []
    detail = {
        "experiment": run.experiment, "name": run.name, "tags": [str(tag) for tag in run.tags],
        "created": run.creation_time, "ended": run.end_time, "active": bool(run.active),
        "description": run.description, "archived": bool(run.archived), "aim": _jsonable(own),
    }  # fmt: skip
    rows = [{"kind": "run", "run_id": run_id, "detail": json.dumps(detail, default=str)}]
    rows += [{"kind": "param", "run_id": run_id, "key": key, "detail": value} for key, value in params]
    tables = [pa.Table.from_pylist(rows, schema=ROWS)]
    epoch_steps, epoch_values, epoch_times = [], [], []
    for metric in run.metrics():
        steps, (values, epochs, times) = metric.data.numpy()
        tables.append(_points(run_id, _key(metric.name, metric.context.to_dict()), steps, values, times))
        tracked = ~np.isnan(epochs.astype(np.float64))
        epoch_steps.append(steps[tracked])
        epoch_values.append(epochs[tracked])
        epoch_times.append(times[tracked])
    if epoch_steps and sum(len(s) for s in epoch_steps):
        steps = np.concatenate(epoch_steps)
        steps, first = np.unique(steps, return_index=True)  # an epoch per step, as the first metric tracked it
        tables.append(_points(run_id, "epoch", steps, np.concatenate(epoch_values)[first],
                              np.concatenate(epoch_times)[first]))  # fmt: skip
    return pa.concat_tables(tables)


def _points(run_id: str, key: str, steps: Any, values: Any, times: Any) -> pa.Table:
    count = len(steps)
    return pa.table({
        "kind": _constant("point", count), "run_id": _constant(run_id, count), "key": _constant(key, count),
        "step": pa.array(np.asarray(steps, np.int64)), "time": pa.array(np.asarray(times, np.float64)),
        "value": pa.array(np.asarray(values, np.float64)), "detail": pa.nulls(count, pa.string()),
    }, schema=ROWS)  # fmt: skip


def _constant(text: str, count: int) -> pa.Array:
    return pa.nulls(count, pa.string()).fill_null(text)


def _key(name: str, context: dict[str, Any]) -> str:
    """A metric's name in llmlens: Aim's name, with its context when it has one.

    >>> _key("loss", {"subset": "train"}), _key("__system__gpu", {"gpu": 1}), _key("__system__cpu", {})
    ('loss{subset=train}', 'system/gpu.1.utilization', 'system/cpu.utilization')
    """
    if name.startswith("__system__"):
        stat = name.removeprefix("__system__")
        gpu = context.get("gpu")
        if gpu is not None and stat in _SYSTEM:
            return f"system/gpu.{gpu}.{_SYSTEM[stat]}"
        return f"system/{_SYSTEM.get(stat, stat)}"
    if not context:
        return name
    parts = ",".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in sorted(context.items()))
    return f"{name}{{{parts}}}"


def _flatten(value: Any, prefix: str) -> list[tuple[str, str]]:
    if isinstance(value, dict) and value:
        return [pair for key, item in value.items() for pair in _flatten(item, f"{prefix}{key}.")]
    text = value if isinstance(value, str) else json.dumps(_jsonable(value))
    return [(prefix.rstrip("."), text)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_stage_metrics AS
SELECT run_id, key, step, make_timestamptz(CAST(round(time * 1e6) AS BIGINT)) AS wall_time, value, step AS seq
FROM llmlens_records_arrow WHERE kind = 'point';

CREATE OR REPLACE TEMP TABLE llmlens_stage_params AS
SELECT run_id, key, detail AS value FROM llmlens_records_arrow WHERE kind = 'param';

CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS
SELECT run_id, r->>'experiment' AS project, r->>'name' AS name, NULL::VARCHAR AS group_name,
       make_timestamptz(CAST(round(CAST(r->>'created' AS DOUBLE) * 1e6) AS BIGINT)) AS started_at,
       make_timestamptz(CAST(round(CAST(r->>'ended' AS DOUBLE) * 1e6) AS BIGINT)) AS ended_at,
       CASE WHEN CAST(r->'active' AS BOOLEAN) THEN 'running' ELSE 'finished' END AS status,
       from_json(r->'tags', '["VARCHAR"]') AS tags,
       json_object('hash', substr(run_id, 5), 'description', r->'description', 'archived', r->'archived',
                   'aim', r->'aim', 'repository', (SELECT regexp_replace(uri, '[/\\][^/\\]*$', '') FROM llmlens_source))
           AS attributes
FROM (SELECT run_id, CAST(detail AS JSON) AS r FROM llmlens_records_arrow WHERE kind = 'run');
"""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the runs, params and points read from the repository."""
    run_script(con, STAGE, {"source_id": source_id})
