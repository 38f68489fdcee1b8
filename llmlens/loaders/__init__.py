"""Loaders: files in, rows into the store, one transaction per file, nothing lost.

A loader stages rows in temporary tables with SQL over the file's records; rejected records go to the
``rejects`` table with their line, byte offset, reason and the raw bytes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from tqdm.auto import tqdm

from llmlens._version import __version__
from llmlens.loaders import (
    agents_sdk,
    aim_repo,
    hf_trainer,
    inspect_log,
    langfuse_export,
    langsmith_runs,
    lightning_csv,
    metric_tables,
    mlflow_files,
    mlflow_sqlite,
    neptune_export,
    openai_log,
    otel_console,
    otlp_json,
    otlp_proto,
    phoenix_store,
    tfevents,
    wandb_history,
    wandb_records,
    wandb_run,
)
from llmlens.loaders.detect import SNIFF_BYTES, sniff
from llmlens.loaders.files import LoadError, Records, excerpt, expand, json_record_chunks
from llmlens.loaders.report import FileReport, LoadReport
from llmlens.loaders.writes import (
    STAGED_REJECTS,
    drop_staging,
    finish_writes,
    metric_notes,
    rows_added,
    staged_rows,
    write_staged,
)
from llmlens.query import holds

if TYPE_CHECKING:
    from llmlens.lens import Lens

__all__ = ["FORMATS", "FileReport", "LoadError", "LoadReport", "Source", "load", "load_records"]


Chunks = Iterator[tuple[Records, int]]
"""A file's records, chunk by chunk, each with the number of bytes of the file it covers."""


@dataclass(frozen=True)
class Format:
    """How to read a format: split a file into records (chunk by chunk), then stage them with SQL.

    Text formats give records of (line, byte_offset, text), which the stage reads as ``llmlens_records``; binary
    formats decode their records in ``read`` and give a table of their own shape, read as ``llmlens_records_arrow``.
    ``covers`` names the other files a file is read with (a run folder's params and metric files): they count in
    its content hash, and a folder walk does not load them on their own.
    """

    read: Callable[[Path], Chunks]
    stage: Callable[[duckdb.DuckDBPyConnection, int], None]
    covers: Callable[[Path], list[Path]] | None = None


def whole_file(read: Callable[[bytes], Records]) -> Callable[[Path], Chunks]:
    """A reader that takes the whole file at once (formats whose records cannot be split by lines)."""

    def read_path(path: Path) -> Chunks:
        data = path.read_bytes()
        yield read(data), len(data)

    return read_path


def _json_lines(path: Path) -> Chunks:
    return json_record_chunks(path, CHUNK_BYTES)


FORMATS: dict[str, Format] = {
    otlp_json.NAME: Format(_json_lines, otlp_json.stage),
    otel_console.NAME: Format(whole_file(otel_console.read), otlp_json.stage),
    otlp_proto.NAME: Format(whole_file(otlp_proto.read), otlp_json.stage),
    openai_log.NAME: Format(whole_file(openai_log.read), openai_log.stage),
    hf_trainer.NAME: Format(whole_file(hf_trainer.read), hf_trainer.stage),
    lightning_csv.NAME: Format(metric_tables.read, lightning_csv.stage),
    metric_tables.LONG: Format(metric_tables.read, metric_tables.stage_long),
    metric_tables.WIDE: Format(metric_tables.read, metric_tables.stage_wide),
    metric_tables.WANDB: Format(metric_tables.read, metric_tables.stage_wandb),
    neptune_export.NAME: Format(neptune_export.read, neptune_export.stage),
    aim_repo.NAME: Format(aim_repo.read, aim_repo.stage, aim_repo.covers),
    tfevents.NAME: Format(tfevents.read, tfevents.stage),
    mlflow_files.NAME: Format(mlflow_files.read, mlflow_files.stage, mlflow_files.covers),
    mlflow_sqlite.NAME: Format(mlflow_sqlite.read, mlflow_sqlite.stage, mlflow_sqlite.covers),
    wandb_run.NAME: Format(wandb_run.read, wandb_run.stage, wandb_run.covers),
    wandb_history.NAME: Format(_json_lines, wandb_history.stage, wandb_history.covers),
    langfuse_export.NAME: Format(langfuse_export.read, langfuse_export.stage),
    inspect_log.NAME: Format(inspect_log.read, inspect_log.stage),
    langsmith_runs.NAME: Format(langsmith_runs.read, langsmith_runs.stage),
    agents_sdk.NAME: Format(agents_sdk.read, agents_sdk.stage),
    phoenix_store.SQLITE: Format(phoenix_store.read, phoenix_store.stage, phoenix_store.covers),
    phoenix_store.PARQUET: Format(phoenix_store.read, phoenix_store.stage),
}
"""Every format llmlens reads, by name. JSON Lines of OTLP are read and staged a chunk at a time (each chunk's
spans are written before the next is read), so memory stays bounded however large the file."""

CHUNK_BYTES = 256 * 1024 * 1024
"""How much of a JSON Lines file is read and staged at once."""

MEMORY_LIMIT_BYTES = 1024**3
"""DuckDB's memory limit while a file store loads (lower limits are kept); past it, DuckDB spills to disk."""


def load(
    lens: Lens,
    *paths: str | os.PathLike[str],
    format: str | None = None,
    progress: bool = True,
    columns: Mapping[str, str] | None = None,
) -> LoadReport:
    """Load files (paths, globs or folders) into ``lens``; formats are detected from content unless forced.
    ``columns`` names the columns of a metric table (``{"run": "experiment", "step": "iter"}``) where they are not
    the usual ones (see :mod:`llmlens.loaders.metric_tables`).

    >>> import llmlens, json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "trace.json"
    >>> span = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat"}
    >>> _ = path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}))
    >>> with llmlens.open(":memory:") as lens:
    ...     lens.load(path, progress=False).rows_added["spans"]
    1
    """
    if format is not None and format not in FORMATS:
        raise LoadError(f"unknown format {format!r}; llmlens reads: {', '.join(sorted(FORMATS))}")
    files = expand(paths)
    named = {Path(p).expanduser().resolve() for p in paths if Path(p).expanduser().is_file()}
    planned: list[tuple[Path, str | None]] = []
    covered: set[Path] = set()
    for path in files:  # a run folder's entry file sorts before most of the files it reads: those are not sniffed
        if path not in covered or path in named:
            name = _format_of(path, format, named=path in named, columns=columns)
            planned.append((path, name))
            covered.update(_covers(path, name) if name else [])
    planned = [(path, name) for path, name in planned if path not in covered or path in named]
    sizes = [path.stat().st_size for path, _ in planned]
    report = LoadReport()
    show = progress and (len(planned) > 1 or sum(sizes) > CHUNK_BYTES)
    with tqdm(total=sum(sizes), desc="llmlens load", unit="B", unit_scale=True, disable=not show) as bar:
        done = 0
        for (path, name), size in zip(planned, sizes, strict=True):
            report.files.append(_load_file(lens, path, name, bar.update, forced=format is not None, columns=columns))
            done += size
            bar.update(done - bar.n)  # skipped files count as read
    return report


def _format_of(path: Path, forced: str | None, *, named: bool, columns: Mapping[str, str] | None = None) -> str | None:
    """The format of ``path``: forced, else sniffed from its first bytes. A file found in a folder whose format is
    not recognised gives None (run folders hold configs and checkpoints beside the logs); a file named outright is
    an error then."""
    if forced:
        return forced
    try:
        with path.open("rb") as file:
            head = file.read(SNIFF_BYTES)
        size = path.stat().st_size
        name = (  # binary formats and folder layouts first, then text signatures
            tfevents.NAME if tfevents.could_be(head, size)
            else wandb_run.NAME if wandb_records.could_be(head)
            else inspect_log.NAME if inspect_log.could_be(path, head)
            else (phoenix_store.parquet_format(path) or langfuse_export.parquet_format(path)
                  or metric_tables.parquet_format(path, columns))
            if head.startswith(b"PAR1")  # columns: in the footer
            else aim_repo.NAME if aim_repo.could_be(path, head)
            else mlflow_sqlite.NAME if mlflow_sqlite.could_be(path, head)
            else phoenix_store.SQLITE if phoenix_store.could_be(path, head)
            else mlflow_files.NAME if mlflow_files.could_be(path, head)
            else sniff(head, columns) or (langfuse_export.NAME if langfuse_export.could_be(head) else None)
        )  # fmt: skip
        if name is None and otlp_proto.could_be(head, size):
            name = otlp_proto.NAME if otlp_proto.looks_like(path.read_bytes()) else None
    except OSError as error:
        raise LoadError(f"cannot read {path}: {error.strerror or error}") from error
    if name is None and named:
        shown = excerpt(head[:80]).replace("\n", " ")
        raise LoadError(
            f"cannot tell the format of {path} (it starts with {shown!r}). "
            f"llmlens reads: {', '.join(sorted(FORMATS))}; pass format=... to force one."
        )
    return name


def _covers(path: Path, name: str) -> list[Path]:
    """The files read with ``path``, for a format that reads a folder's files together (paths built from ``path``,
    which is resolved, so they compare with the other files found)."""
    covers = FORMATS[name].covers
    return covers(path) if covers else []


def _load_file(
    lens: Lens,
    path: Path,
    name: str | None,
    advance: Callable[[int], object],
    *,
    forced: bool = False,
    columns: Mapping[str, str] | None = None,
) -> FileReport:
    """Load one file of format ``name``; a file of no known format (None) is skipped."""
    started = time.perf_counter()
    if name is None:
        return FileReport(str(path), "", skipped="not a format llmlens reads", seconds=time.perf_counter() - started)
    try:
        size = path.stat().st_size
        paths = [path, *_covers(path, name)]
        # content already loaded has the same size: a file of a new size is hashed while it loads
        loaded = holds(lens.con, "sources WHERE size_bytes = ? AND format = ?", [size, name])
        digest = _digest(paths) if loaded else _HASHER.submit(_digest, paths)
    except OSError as error:
        raise LoadError(f"cannot read {path}: {error.strerror or error}") from error
    if isinstance(digest, str) and (previous := _loaded_as(lens.con, digest, name)) is not None:
        report = FileReport(str(path), name, skipped=f"same content already loaded as source {previous}")
        report.seconds = time.perf_counter() - started
        return report
    options = {"columns": dict(columns)} if columns else None
    source = Source(str(path), name, digest, size, forced=forced, options=options)
    chunks = FORMATS[name].read(path)
    return load_records(lens.con, source, chunks, started=started, advance=advance)


def _loaded_as(con: duckdb.DuckDBPyConnection, digest: str, name: str) -> int | None:
    """The latest source of this content and format, if the store holds one."""
    row = con.execute(
        "SELECT max(source_id) FROM sources WHERE content_hash = ? AND format = ?", [digest, name]
    ).fetchall()
    return None if row[0][0] is None else int(row[0][0])


_HASHER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmlens-hash")
"""Hashes files while they load (hashlib and file reads release the GIL: the hash takes a core DuckDB leaves idle)."""


def _digest(paths: list[Path]) -> str:
    """sha256 of the files' bytes (the file, then the files read with it, each with its name), 16 MB at a time."""
    digest = hashlib.sha256()
    for number, path in enumerate(paths):
        if number:
            digest.update(b"\0" + os.path.relpath(path, paths[0].parent).encode() + b"\0")
        with path.open("rb") as file:
            while block := file.read(16 * 1024 * 1024):
                digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Source:
    """Where records came from: a file, or a batch of requests received by the OTLP receiver."""

    uri: str
    format: str
    digest: str | concurrent.futures.Future[str]
    """sha256 of the content, or its computation still running (:meth:`content_hash` waits for it)."""
    size: int
    forced: bool = False
    options: dict[str, Any] | None = None
    """Loader options given for it (``columns``), stored in ``sources.options`` and read by its stage."""

    def content_hash(self) -> str:
        """The sha256 of the content, once it is computed."""
        if isinstance(self.digest, str):
            return self.digest
        try:
            return self.digest.result()
        except OSError as error:
            raise LoadError(f"cannot read {self.uri}: {error.strerror or error}") from error


def load_records(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    chunks: Records | Chunks,
    *,
    started: float | None = None,
    advance: Callable[[int], object] = lambda _: None,
) -> FileReport:
    """Stage and write the records of one source, chunk by chunk, in one transaction; rejected records go to
    ``rejects``. ``chunks`` is one ``Records``, or (records, bytes they cover) pairs; ``advance`` gets the bytes."""
    started = time.perf_counter() if started is None else started
    if isinstance(chunks, Records):
        chunks = iter([(chunks, 0)])
    report = FileReport(source.uri, source.format)
    with bounded_memory(con):
        _load_chunks(con, source, chunks, report, started=started, advance=advance)
    return report


@contextlib.contextmanager
def bounded_memory(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """While loading: lower DuckDB's memory limit to ``MEMORY_LIMIT_BYTES`` for a store on disk (it spills next to
    the store; a memory store, having nowhere to spill, is left alone), and hide DuckDB's own progress bar (the
    loader shows one). Both settings are put back after."""
    ((path, limit, bar),) = con.execute(
        "SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()), "
        "current_setting('memory_limit'), current_setting('enable_progress_bar')"
    ).fetchall()
    lower = bool(path) and _bytes(limit) > MEMORY_LIMIT_BYTES
    if lower:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT_BYTES}B'")
    con.execute("SET enable_progress_bar = false")
    try:
        yield
    finally:
        con.execute("SET enable_progress_bar = ?", [bool(bar)])
        if lower:
            con.execute("SET memory_limit = ?", [limit])


def _bytes(setting: str) -> float:
    """'18.6 GiB' -> bytes; an unreadable setting counts as unlimited.

    >>> _bytes("1.5 KiB"), _bytes("2 GB")
    (1536.0, 2000000000.0)
    """
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGTP]?)(i?)B\s*", setting, re.IGNORECASE)
    if not match:
        return float("inf")
    base = 1024 if match[3] else 1000
    power = "_KMGTP".index((match[2] or "_").upper())
    return float(match[1]) * float(base**power)


def _load_chunks(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    chunks: Chunks,
    report: FileReport,
    *,
    started: float,
    advance: Callable[[int], object],
) -> None:
    stager = con.cursor()  # stages outside the file's transaction, so each chunk's temporary tables are freed
    stager.execute("SET enable_progress_bar = false")
    con.execute("BEGIN TRANSACTION")
    try:
        source_id = _register_source(con, source)
        for records, covered in chunks:
            _reject_unreadable(con, source_id, records.rejected)
            write_staged(con, source_id, _stage(stager, source, source_id, records))
            del records  # release the chunk before the next is read
            advance(covered)
        finish_writes(con)
        report.rows_added = rows_added(con, source_id)
        rejects = con.execute(
            "SELECT count(*), list(reason ORDER BY line, byte_offset)[1:3] FROM rejects WHERE source_id = ?",
            [source_id],
        ).fetchall()[0]
        report.rejected, report.reasons = (int(rejects[0]), list(rejects[1] or []))
        report.notes = metric_notes(con, source_id) if report.rows_added.get("metrics") else []
        content_hash = source.content_hash()
        report.seconds = time.perf_counter() - started
        con.execute(
            "UPDATE sources SET rows_added = ?::MAP(VARCHAR, BIGINT), rows_rejected = ?, seconds = ?, "
            "content_hash = ? WHERE source_id = ?",
            [report.rows_added, report.rejected, report.seconds, content_hash, source_id],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        stager.close()


def _stage(stager: duckdb.DuckDBPyConnection, source: Source, source_id: int, records: Records) -> dict[str, pa.Table]:
    """Stage one chunk's records on ``stager``; return what it adds to the store, as Arrow tables."""
    stager.register("llmlens_records_arrow", records.table)
    try:
        if "text" in records.table.column_names:
            stager.execute(RECORDS_VIEW)
        # where the records came from, for formats whose ids depend on it (a run is the folder of its files)
        stager.execute(
            "CREATE OR REPLACE TEMP TABLE llmlens_source AS SELECT ?::VARCHAR AS uri, ?::JSON AS options",
            [source.uri, json.dumps(source.options) if source.options else None],
        )
        stager.execute(STAGED_REJECTS)
        FORMATS[source.format].stage(stager, source_id)
        return staged_rows(stager)
    finally:
        drop_staging(stager)
        stager.unregister("llmlens_records_arrow")


RECORDS_VIEW = """
CREATE OR REPLACE TEMP VIEW llmlens_records AS
SELECT line, byte_offset, rtrim(text, E' \t\r\n') AS text, text AS json_text FROM llmlens_records_arrow
"""
"""Records as ``text``, without the line end that the zero-copy split leaves on them, and as ``json_text``, with
it: JSON parsers read that one (a line end is JSON whitespace), and so skip the trim, a pass over every byte."""


def _register_source(con: duckdb.DuckDBPyConnection, source: Source) -> int:
    row = con.execute(
        "INSERT INTO sources (uri, format, content_hash, size_bytes, llmlens_version, options) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING source_id",
        [
            source.uri,
            source.format,
            source.digest if isinstance(source.digest, str) else None,  # set at the end, when it is computed
            source.size,
            __version__,
            _options_json(source),
        ],
    ).fetchall()[0]
    return int(row[0])


def _options_json(source: Source) -> str | None:
    """What ``sources.options`` records: the format when it was forced, and the options given."""
    options = {**({"format": "forced"} if source.forced else {}), **(source.options or {})}
    return json.dumps(options) if options else None


def _reject_unreadable(con: duckdb.DuckDBPyConnection, source_id: int, rows: list[tuple[int, int, bytes, str]]) -> None:
    if rows:
        con.executemany(
            "INSERT INTO rejects (source_id, location, line, byte_offset, reason, excerpt, raw) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [[source_id, f"line {line}", line, offset, why, excerpt(raw), raw] for line, offset, raw, why in rows],
        )
