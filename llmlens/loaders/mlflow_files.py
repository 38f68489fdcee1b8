"""MLflow's file store (``mlruns/``): one run folder at a time, entered through its ``meta.yaml``.

``mlruns/<experiment id>/<run id>/`` holds ``meta.yaml`` (name, status as a number, start and end in ms,
lifecycle stage, user), ``metrics/<key>`` (a key with ``/`` is a subfolder; one line per point: ``timestamp value
[step]``, or five fields with a dataset's name and digest; the value as Python prints it, ``nan``, ``inf`` and
``-inf`` included), ``params/<key>`` and ``tags/<key>`` (the value is the file). The experiment's own
``meta.yaml`` (its name becomes the runs' project) is read with each of its runs and never loaded alone.
``.trash/`` (deleted experiments) is not walked; a deleted run stays in place and loads with the tag ``deleted``.

The run's ``meta.yaml`` is the file a folder walk loads; the run's other files are read with it and count in its
content hash, so a grown metrics file loads again, adding only its new points. The metric files are read into
one buffer and split into lines with numpy, and the lines are parsed in DuckDB, so a run with a hundred thousand
keys loads in seconds. A line MLflow could not read either (four fields, two spaces in a row, a value that is
not a number), a timestamp out of range, and a last line cut off without its line end (the file was being
written) are rejected with their file and line; the rest loads. (MLflow's own reader takes the step of a
five-field line as 0; the step written is kept here.)

A run folder without ``meta.yaml`` (copied in part, or damaged) still loads, under its folder's name as run id,
with its points, params and tags: it is entered through its first metrics file, and a reject located at the
missing ``meta.yaml`` says that its status and times are unknown. See :mod:`llmlens.loaders.mlflow_runs` for how
runs and points are staged.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmlens.loaders import mlflow_runs
from llmlens.loaders.files import Records
from llmlens.query import run_script

NAME = "mlflow"

CHUNK_BYTES = 64 * 1024 * 1024
"""Metric file bytes read and staged at once (whole files: a chunk ends where a file does)."""

_RUN_ID = re.compile(r"[0-9a-f]{32}")
_RUN_META = re.compile(rb"(?m)^run_(id|uuid): '?[0-9a-f]{32}'?\s*$")
_METRIC_LINE = re.compile(rb"\A\s*[+-]?\d+ \S+( [+-]?\d+)?( \S+ \S+)?\s*(\n|\Z)")

_OK, _UNDECODABLE, _CUT = 0, 1, 2
"""Line states: read, not UTF-8, the file's last line without a line end."""

_LINES = r"""
CREATE OR REPLACE TEMP TABLE llmlens_mlflow_lines AS
SELECT run, key, file, line, byte_offset, state, text, string_split(text, ' ') AS parts
FROM (SELECT * REPLACE (trim(text, E' \t\r\n\x0B\x0C') AS text) FROM llmlens_records_arrow)
WHERE text <> '' OR state = 1;

CREATE OR REPLACE TEMP TABLE llmlens_mlflow_parsed AS
SELECT *, CASE WHEN regexp_full_match(parts[1], '[+-]?\d{1,18}') THEN CAST(parts[1] AS BIGINT) END AS timestamp,
       TRY_CAST(parts[2] AS DOUBLE) AS value,
       CASE WHEN len(parts) = 2 THEN 0
            WHEN regexp_full_match(parts[3], '[+-]?\d{1,19}') THEN TRY_CAST(parts[3] AS BIGINT) END AS step,
       state = 0 AND len(parts) IN (2, 3, 5) AND NOT list_contains(parts, '') AS shaped
FROM llmlens_mlflow_lines;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, file || ' line ' || line, line, byte_offset,
       CASE WHEN state = 1 THEN 'not valid UTF-8 text'
            WHEN state = 2 THEN 'the last line has no line end (cut off while the file was written)'
            WHEN list_contains(parts, '') THEN 'expected "timestamp value [step]" separated by single spaces'
            WHEN NOT shaped THEN 'expected "timestamp value [step]", found ' || len(parts) || ' fields'
            WHEN timestamp IS NULL THEN 'the timestamp is not a whole number of milliseconds'
            WHEN value IS NULL THEN 'the value is not a number'
            ELSE 'the step is not a whole number (64-bit)' END,
       left(text, 200), encode(text)
FROM llmlens_mlflow_parsed WHERE NOT shaped OR timestamp IS NULL OR value IS NULL OR step IS NULL;

CREATE OR REPLACE TEMP TABLE llmlens_mlflow_points AS
SELECT run, key, line AS ord, timestamp, value, step, file, line, byte_offset
FROM llmlens_mlflow_parsed WHERE shaped AND timestamp IS NOT NULL AND value IS NOT NULL AND step IS NOT NULL;
"""


def could_be(path: Path, head: bytes) -> bool:
    """True for a run's ``meta.yaml``, and for a metrics file of a run folder: one with a run's ``meta.yaml``, or a
    folder named like a run id without one, one of whose first metrics files starts with a metric line.

    >>> run = b"experiment_id: '1'\\nlifecycle_stage: active\\nrun_id: 6c19e8147f83436db3a0f7cc77465d24\\n"
    >>> experiment = b"artifact_location: file:///mlruns/1\\nexperiment_id: '1'\\nlifecycle_stage: active\\n"
    >>> could_be(Path("meta.yaml"), run), could_be(Path("meta.yaml"), experiment)
    (True, False)
    """
    if _is_run_meta(head):
        return True
    folder = _run_folder(path)
    if folder is None or path.name == "meta.yaml":
        return False
    if _has_run_meta(folder):
        return True
    if not _RUN_ID.fullmatch(folder.name):
        return False
    try:
        changed = (folder / "metrics").stat().st_mtime_ns
    except OSError:
        return False
    return _has_metric_lines(str(folder), changed)


@functools.lru_cache(maxsize=256)
def _has_metric_lines(folder: str, changed: int) -> bool:
    """Whether one of the first metrics files of a run folder without ``meta.yaml`` starts with a metric line: the
    same answer for every file of the folder (each is asked in a folder walk until one covers the rest), computed
    once per folder and change of its ``metrics`` folder."""
    metrics = f"{folder}{os.sep}metrics{os.sep}"
    firsts = [name for name in _run_files(Path(folder)) if name.startswith(metrics)][:16]
    return any(_METRIC_LINE.match(_head(Path(name))) for name in firsts)


def _is_run_meta(head: bytes) -> bool:
    return bool(_RUN_META.search(head)) and b"lifecycle_stage:" in head


def _has_run_meta(folder: Path) -> bool:
    """Whether the folder's ``meta.yaml`` is a run's (the run is entered through it): not a logged model's or a
    dataset's, and not one left empty or damaged (the run is then entered through its first metrics file)."""
    meta = folder / "meta.yaml"
    return meta.is_file() and _is_run_meta(_head(meta))


def _head(path: Path, size: int = 4096) -> bytes:
    with path.open("rb") as file:
        return file.read(size)


def _run_folder(path: Path) -> Path | None:
    """The run folder a file of the store belongs to: the folder of a ``meta.yaml``, or the folder above the
    ``metrics`` folder a metrics file is in (one with a ``meta.yaml``, or named like a run id). A logged model's
    folder (``models/m-<id>/``, with its own ``meta.yaml`` and metrics) is found too, and refused by the callers."""
    if path.name == "meta.yaml":
        return path.parent
    for parent in path.parents:
        run = parent.parent
        if parent.name == "metrics" and ((run / "meta.yaml").is_file() or _RUN_ID.fullmatch(run.name)):
            return run
    return None


def _run_files(folder: Path) -> list[str]:
    """The files of a run folder that llmlens reads (metrics, params, tags; not ``artifacts/``, not hidden files), as
    sorted text: a run may log a hundred thousand metric keys."""
    found: list[str] = []
    for part in ("metrics", "params", "tags"):
        for root, folders, names in os.walk(folder / part):
            folders[:] = [name for name in folders if not name.startswith(".")]
            found.extend(f"{root}{os.sep}{name}" for name in names if not name.startswith("."))
    return sorted(found)


def covers(path: Path) -> list[Path]:
    """The run's files read with ``path`` (its metrics, params and tags, the experiment's ``meta.yaml``) when
    ``path`` is the file its run is loaded through: ``meta.yaml``, or the first metrics file of a run without one
    (or with a damaged one, which is covered too: mending it loads the run again).

    >>> covers(Path("/nowhere/meta.yaml"))
    []
    """
    folder = _run_folder(path)
    if folder is None:
        return []
    meta = folder / "meta.yaml"
    files = _run_files(folder)
    metrics = f"{folder}{os.sep}metrics{os.sep}"
    entry = meta if _has_run_meta(folder) else next((Path(name) for name in files if name.startswith(metrics)), None)
    if entry != path:
        return []
    metas = [folder / "meta.yaml", folder.parent / "meta.yaml"]  # the run's own, when damaged; the experiment's
    return [Path(name) for name in files if name != str(path)] + [m for m in metas if m != path and m.is_file()]


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """The run ``path`` belongs to: its metric lines, whole files at a time (each line with the run, the key, the
    file, its number, byte offset and text), then a chunk describing the run (:data:`mlflow_runs.DESCRIBED`).
    The points come first: see :mod:`llmlens.loaders.mlflow_runs`.

    >>> import tempfile
    >>> run = Path(tempfile.mkdtemp()) / "1" / ("ab" * 16)
    >>> (run / "metrics" / "train").mkdir(parents=True)
    >>> _ = (run / "meta.yaml").write_text(f"run_id: {'ab' * 16}\\nlifecycle_stage: active\\nstatus: 3\\n")
    >>> _ = (run / "metrics" / "train" / "loss").write_text("1700000000000 0.5 1\\n1700000000001 nan 2\\n")
    >>> [(records.table.num_rows, covered) for records, covered in read(run / "meta.yaml")]
    [(2, 40), (1, 0)]
    """
    folder = _run_folder(path) or path.parent
    meta, problem = _yaml(folder / "meta.yaml")
    if not problem and not (meta.get("run_id") or meta.get("run_uuid")):
        meta, problem = {}, "meta.yaml names no run_id"
    run = str(meta.get("run_id") or meta.get("run_uuid") or folder.name)
    experiment, _ = _yaml(folder.parent / "meta.yaml")
    rows: list[tuple[str, str, str | None, str | None, str | None]] = []
    if problem:
        rows.append(("missing", run, None, f"{problem}: the run's points, params and tags load under the folder's "
                     "name; its status and times are unknown", f"{folder.name}/meta.yaml"))  # fmt: skip
    status = meta.get("status")
    rows.append(("run", run, None, mlflow_runs.run_text({
        **meta, "experiment_id": str(meta.get("experiment_id", folder.parent.name)),
        "experiment": experiment.get("name") or folder.parent.name,
        "name": meta.get("run_name"), "status": mlflow_runs.STATUS.get(status) if isinstance(status, int) else None,
    }), None))  # fmt: skip
    metrics: list[tuple[str, str]] = []
    size = 0
    prefix = len(f"{folder}{os.sep}")
    for name in _run_files(folder):
        part, _, key = name[prefix:].replace(os.sep, "/").partition("/")
        if part == "metrics":
            metrics.append((key, name))
            continue
        data = _bytes(name)
        size += len(data)
        rows.append((part[:-1], run, key, data.decode("utf-8", errors="replace"), None))
    described = mlflow_runs.described(rows)
    yield from _metric_chunks(run, folder.name, metrics)
    yield Records(described, []), size


def _metric_chunks(run: str, folder: str, metrics: list[tuple[str, str]]) -> Iterator[tuple[Records, int]]:
    batch: list[tuple[str, bytes]] = []
    size = 0
    for key, name in metrics:
        data = _bytes(name)
        batch.append((key, data))
        size += len(data)
        if size >= CHUNK_BYTES:
            yield Records(_lines(run, folder, batch), []), size
            batch, size = [], 0
    if batch:
        yield Records(_lines(run, folder, batch), []), size


def _bytes(name: str) -> bytes:
    with open(name, "rb") as file:  # noqa: PTH123 (a hundred thousand small files: no Path objects)
        return file.read()


def _lines(run: str, folder: str, files: list[tuple[str, bytes]]) -> pa.Table:
    """The lines of metric files, split with numpy (no loop over lines). Each file's lines keep their number and
    byte offset in that file; a file's last line without a line end is marked cut."""
    cut = [not data.endswith(b"\n") for _, data in files]
    blob = b"".join(data + b"\n" if open_end else data for (_, data), open_end in zip(files, cut, strict=True))
    lengths = np.array([len(data) + open_end for (_, data), open_end in zip(files, cut, strict=True)], np.int64)
    file_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    buffer = np.frombuffer(blob, np.uint8)
    ends = np.flatnonzero(buffer == ord("\n"))
    starts = np.concatenate([[0], ends[:-1] + 1])
    file_of = np.searchsorted(file_starts, starts, side="right") - 1
    first_line = np.searchsorted(starts, file_starts)
    state = np.zeros(len(starts), np.int8)
    state[(first_line + np.bincount(file_of, minlength=len(files)) - 1)[np.array(cut, bool)]] = _CUT
    offsets = np.concatenate([starts, [len(blob)]])
    text = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(blob))
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        text, bad = _decodable(blob, starts, offsets)
        state[bad] = _UNDECODABLE
    keys = pa.array([key for key, _ in files], pa.string())
    indices = pa.array(file_of.astype(np.int32))
    return pa.table({
        "run": pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(starts), np.int32)), pa.array([run])),
        "key": pa.DictionaryArray.from_arrays(indices, keys),
        "file": pa.DictionaryArray.from_arrays(indices, pc.binary_join_element_wise(folder, "metrics", keys, "/")),
        "line": pa.array(np.arange(len(starts)) - first_line[file_of] + 1),
        "byte_offset": pa.array(starts - file_starts[file_of]),
        "state": pa.array(state),
        "text": text,
    })  # fmt: skip


def _decodable(blob: bytes, starts: np.ndarray[Any, Any], offsets: np.ndarray[Any, Any]) -> tuple[pa.Array, list[int]]:
    """The lines as text when some are not UTF-8: those (found among the lines with a byte >= 0x80) are listed,
    and their bytes >= 0x80 read as ``?`` so the rest stays where it was."""
    buffer = np.frombuffer(blob, np.uint8)
    high = np.flatnonzero(buffer >= 0x80)
    bad = []
    copy = buffer.copy()
    for index in np.unique(np.searchsorted(starts, high, side="right") - 1).tolist():
        try:
            blob[offsets[index] : offsets[index + 1]].decode("utf-8")
        except UnicodeDecodeError:
            bad.append(index)
            piece = copy[offsets[index] : offsets[index + 1]]
            piece[piece >= 0x80] = ord("?")
    data = copy.tobytes()
    return pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(data)), bad


def _yaml(path: Path) -> tuple[dict[str, Any], str]:
    """The mapping in a ``meta.yaml`` (its plain values only), or an empty one and why not."""
    import yaml

    if not path.is_file():
        return {}, "an MLflow run folder without meta.yaml"
    try:
        loaded = yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (safe)
    except yaml.YAMLError as error:
        return {}, f"meta.yaml is not valid YAML ({str(error).splitlines()[0]})"
    if not isinstance(loaded, dict):
        return {}, "meta.yaml holds no mapping"
    return {str(k): v for k, v in loaded.items() if isinstance(v, str | int | float | bool)}, ""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage one chunk: the run, its params and tags, or its metric lines (parsed here; the bad ones rejected with
    their file and line; see :mod:`llmlens.loaders.mlflow_runs` for the rest)."""
    if mlflow_runs.is_described(con):
        mlflow_runs.stage_described(con, source_id)
        return
    run_script(con, _LINES, {"source_id": source_id})
    mlflow_runs.stage_points(con, source_id)
