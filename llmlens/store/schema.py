"""Forward-only schema migrations kept as numbered ``.sql`` files beside this module."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import duckdb

from llmlens._version import __version__
from llmlens.errors import SchemaVersionError, StoreError

HISTORY_TABLE = "llmlens_schema_history"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema step: ``version`` N brings a store from N-1 to N."""

    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """The migrations this llmlens ships, in version order.

    >>> [m.version for m in available_migrations()][:2]
    [1, 2]
    """
    folder = resources.files("llmlens.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"llmlens migrations are not numbered 1..N: {[m.version for m in found]}")
    return found


def latest_version() -> int:
    """The schema version this llmlens writes.

    >>> latest_version() >= 4
    True
    """
    return len(available_migrations())


def current_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The store's schema version; 0 for an empty database; None for a database that is not a store.

    >>> con = duckdb.connect()
    >>> current_version(con), len(migrate(con)) == current_version(con)
    (0, True)
    """
    tables = {
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    if HISTORY_TABLE in tables:
        row = con.execute(f"SELECT max(version) FROM {HISTORY_TABLE}").fetchall()[0]
        return int(row[0]) if row and row[0] is not None else 0
    views = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE NOT internal AND database_name = current_database()"
    ).fetchall()[0]
    return 0 if not tables and not (views and views[0]) else None


def check_version(con: duckdb.DuckDBPyConnection, path: str, *, read_only: bool) -> int:
    """Return the store's version after checking this llmlens can use it; raise a clear error otherwise.

    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE orders (id INTEGER)")
    >>> check_version(con, "shop.duckdb", read_only=False)
    Traceback (most recent call last):
    llmlens.errors.StoreError: shop.duckdb is a DuckDB database but not an llmlens store ...
    """
    version = current_version(con)
    latest = latest_version()
    if version is None:
        raise StoreError(
            f"{path} is a DuckDB database but not an llmlens store (it has no {HISTORY_TABLE} table); "
            "llmlens will not add its tables to it. Choose another path."
        )
    if version > latest:
        raise SchemaVersionError(
            f"{path} has llmlens schema version {version}, but this llmlens ({__version__}) knows only up to "
            f"version {latest}. It was written by a newer llmlens: upgrade with `pip install -U llmlens`. "
            "The file was not changed."
        )
    if read_only and version < latest:
        raise SchemaVersionError(
            f"{path} has llmlens schema version {version}; this llmlens needs version {latest}. "
            "A read-only store cannot be upgraded: open it once for writing (llmlens.open(path)) to migrate it."
        )
    return version


def migrate(con: duckdb.DuckDBPyConnection, *, upto: int | None = None) -> list[Migration]:
    """Apply pending migrations (up to ``upto``, default all), each in its own transaction.

    Returns the migrations applied.

    >>> con = duckdb.connect()
    >>> [m.name for m in migrate(con)][0]
    'sources'
    """
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} ("
        "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), llmlens_version VARCHAR NOT NULL)"
    )
    version = current_version(con) or 0
    applied = []
    for migration in available_migrations():
        if migration.version <= version or (upto is not None and migration.version > upto):
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                f"INSERT INTO {HISTORY_TABLE} (version, name, llmlens_version) VALUES (?, ?, ?)",
                [migration.version, migration.name, __version__],
            )
            con.execute("COMMIT")
        except duckdb.Error as error:
            con.execute("ROLLBACK")
            raise StoreError(f"migration {migration.version:04d}_{migration.name} failed: {error}") from error
        applied.append(migration)
    return applied
