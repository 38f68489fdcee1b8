"""SQLite files other tools keep (MLflow's ``mlflow.db``, Phoenix's ``phoenix.db``), opened read-only with Python's
``sqlite3`` (no DuckDB extension, which would need a download)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from llmlens.loaders.files import LoadError

HEADER = b"SQLite format 3\x00"
"""The first bytes of every SQLite database file."""


def connect_read_only(path: Path) -> sqlite3.Connection:
    """``path`` opened read-only; a :class:`LoadError` naming it when SQLite cannot open it.

    >>> connect_read_only(Path("/nonexistent/mlflow.db"))
    Traceback (most recent call last):
    llmlens.loaders.files.LoadError: cannot open /nonexistent/mlflow.db as SQLite: unable to open database file
    """
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise LoadError(f"cannot open {path} as SQLite: {error}") from error


def table_names(path: Path) -> set[str] | None:
    """The tables of the SQLite file ``path``, or None when it cannot be read as one.

    >>> table_names(Path("/nonexistent/mlflow.db")) is None
    True
    """
    try:
        with contextlib.closing(connect_read_only(path)) as sqlite:
            return {row[0] for row in sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except (sqlite3.Error, LoadError):
        return None
