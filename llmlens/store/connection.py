"""Opening the store file: path resolution, DuckDB's errors turned into ones a user can act on."""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from llmlens.errors import StoreError, StoreLockedError
from llmlens.store.schema import check_version, migrate

ENV_VAR = "LLMLENS_DB"
DEFAULT_PATH = Path(".llmlens") / "lens.duckdb"
MEMORY = ":memory:"

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


def resolve_path(path: str | os.PathLike[str] | None = None) -> str:
    """Where the store lives: ``path``, else ``$LLMLENS_DB``, else ``.llmlens/lens.duckdb`` in the working directory.

    >>> resolve_path(":memory:")
    ':memory:'
    """
    chosen = os.fspath(path) if path is not None else os.environ.get(ENV_VAR) or os.fspath(DEFAULT_PATH)
    if chosen == MEMORY:
        return MEMORY
    return str(Path(chosen).expanduser().resolve())


def connect(
    path: str | os.PathLike[str] | None = None, *, read_only: bool = False
) -> tuple[duckdb.DuckDBPyConnection, str]:
    """Open (creating and migrating when writable) the store; return the connection and the resolved path.

    >>> con, where = connect(":memory:")
    >>> where
    ':memory:'
    """
    where = resolve_path(path)
    if where != MEMORY:
        _prepare_location(Path(where), read_only=read_only)
    try:
        con = duckdb.connect(where, read_only=read_only)
    except duckdb.Error as error:
        raise _explain_open_error(error, where, read_only=read_only) from error
    try:
        check_version(con, where, read_only=read_only)
        if not read_only:
            migrate(con)
    except BaseException:
        con.close()
        raise
    return con, where


def _prepare_location(path: Path, *, read_only: bool) -> None:
    if path.is_dir():
        raise StoreError(f"{path} is a directory; give the path of a store file, e.g. {path / 'lens.duckdb'}")
    if read_only:
        if not path.exists():
            raise StoreError(
                f"no llmlens store at {path}; a read-only store must exist already "
                "(create it with llmlens.open(path), or `llmlens demo`)."
            )
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(
            f"cannot create the folder for the store {path}: {error.strerror or error}. "
            f"Choose a writable location with llmlens.open(path) or ${ENV_VAR}."
        ) from error
    if not path.exists() and not os.access(path.parent, os.W_OK):
        raise StoreError(
            f"cannot create the store {path}: the folder {path.parent} is not writable. "
            f"Choose a writable location with llmlens.open(path) or ${ENV_VAR}, or open an existing store read-only."
        )


def _explain_open_error(error: duckdb.Error, path: str, *, read_only: bool) -> StoreError:
    text = str(error)
    holder = _LOCK_HOLDER.search(text)
    if holder or "Could not set lock" in text:
        who = f"{holder['program']}, PID {holder['pid']}" if holder else "another process"
        return StoreLockedError(
            f"{path} is locked: another process ({who}) has it open for writing. DuckDB allows one writer "
            "or any number of readers. To share the store, close it in that process (lens.close(), or restart "
            f"its kernel) and open it read-only everywhere: llmlens.open({path!r}, read_only=True), "
            f"`%lens open --read-only {path}` in a notebook, or `llmlens info {path}` from a shell."
        )
    if "different configuration" in text:
        mode = "read-only" if read_only else "for writing"
        return StoreError(
            f"{path} is already open in this process in another mode, so it cannot also be opened {mode}. "
            "Use the Lens you already have, or close it first (lens.close())."
        )
    if "not a valid DuckDB database" in text:
        return StoreError(
            f"{path} is not a DuckDB database (it may be another kind of file, or damaged). "
            f"Move it away or choose another path with llmlens.open(path) or ${ENV_VAR}."
        )
    if "version number" in text or "storage version" in text.lower():
        return StoreError(f"{path} was written by a DuckDB this llmlens cannot read: {text}")
    if "Permission denied" in text or "Read-only file system" in text:
        return StoreError(
            f"cannot open {path} {'for reading' if read_only else 'for writing'}: permission denied. "
            "Open it read-only (read_only=True) or choose a writable location."
        )
    return StoreError(f"cannot open the store {path}: {text}")
