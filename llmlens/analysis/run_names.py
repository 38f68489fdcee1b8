"""Runs named the way people name them: by id, or by display name."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from llmlens.errors import LensError


def run_ids(con: duckdb.DuckDBPyConnection, runs: Sequence[str]) -> list[str]:
    """Run ids for ids or names (an id wins over a name); a name shared by several runs means all of them; an
    unknown one is an error.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO runs (run_id, name) VALUES ('a1', 'base'), ('a2', 'base'), ('b', 'new')")
    >>> run_ids(lens.con, ["base", "b"])
    ['a1', 'a2', 'b']
    """
    wanted = list(runs)
    rows = con.execute(
        """SELECT w.wanted, k.run_id, k.run_id = w.wanted AS by_id FROM unnest($wanted) w(wanted)
           JOIN (SELECT run_id, name FROM runs UNION SELECT DISTINCT run_id, NULL FROM metrics
                 UNION SELECT DISTINCT run_id, NULL FROM params) k ON k.run_id = w.wanted OR k.name = w.wanted
           ORDER BY k.run_id""",
        {"wanted": wanted},
    ).fetchall()
    by_id = {name: [run_id] for name, run_id, exact in rows if exact}  # an id wins over a name
    by_name: dict[str, list[str]] = {}
    for name, run_id, _ in rows:
        by_name.setdefault(name, []).append(run_id)
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise LensError(f"no run {', '.join(map(repr, missing))} in the store (runs are named by id or name)")
    return list(dict.fromkeys(run_id for name in wanted for run_id in by_id.get(name, by_name[name])))


def resolve_run(con: duckdb.DuckDBPyConnection, run: str) -> str:
    """The id of one run given by id or by a name no other run has.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO runs (run_id, name) VALUES ('a1', 'baseline')")
    >>> resolve_run(lens.con, "baseline")
    'a1'
    """
    ids = run_ids(con, [run])
    if len(ids) > 1:
        raise LensError(f"{len(ids)} runs are named {run!r} ({', '.join(ids[:4])}): give its id")
    return ids[0]
