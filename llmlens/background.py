"""Queries that run in a background thread on a cursor of their own, stopped before their store closes."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import duckdb

_running: dict[int, list[tuple[threading.Thread, duckdb.DuckDBPyConnection]]] = {}
_lock = threading.Lock()


def in_background(con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], None]) -> threading.Event:
    """Run ``work(cursor)`` in a daemon thread on a new cursor of ``con``; the returned event is set when it ends
    (also when it failed or was stopped: a DuckDB error inside ``work`` ends it quietly). :func:`stop_background`
    interrupts it.

    >>> con = duckdb.connect()
    >>> found = []
    >>> in_background(con, lambda cursor: found.extend(cursor.execute("SELECT 42").fetchall())).wait(5)
    True
    >>> found
    [(42,)]
    """
    done = threading.Event()
    cursor = con.cursor()

    def run() -> None:
        try:
            work(cursor)
        except duckdb.Error:  # interrupted, or the store went away
            pass
        finally:
            cursor.close()
            with _lock:
                jobs = _running.get(id(con), [])
                _running[id(con)] = [job for job in jobs if job[1] is not cursor]
            done.set()

    thread = threading.Thread(target=run, name="llmlens-background", daemon=True)
    with _lock:
        _running.setdefault(id(con), []).append((thread, cursor))
    thread.start()
    return done


def stop_background(con: duckdb.DuckDBPyConnection) -> None:
    """Interrupt the background work on ``con`` and wait for it to end (before closing ``con``).

    >>> con = duckdb.connect()
    >>> _ = in_background(con, lambda cursor: cursor.execute("SELECT count(*) FROM range(10000000000)").fetchall())
    >>> stop_background(con)
    >>> con.close()
    """
    with _lock:
        jobs = _running.pop(id(con), [])
    for thread, cursor in jobs:
        with contextlib.suppress(duckdb.Error):  # already finished and closed
            cursor.interrupt()
        thread.join()
