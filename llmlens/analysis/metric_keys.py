"""Metric keys named the way people name them: exactly, or by glob patterns (``loss*``, ``layers/*/grad_norm``).

Patterns are matched in Python against the distinct keys, never in SQL: DuckDB would match every point against every
pattern (seconds on 100 M points, where listing the keys takes a fraction of one).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

import duckdb

_GLOB = re.compile(r"[*?\[]")


def matching_keys(keys: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """The ``keys`` that ``patterns`` name, in the order of the first pattern each matches (then in the order of
    ``keys``). A pattern equal to a key names that key, even when it holds ``*``, ``?`` or ``[``.

    >>> matching_keys(["eval/loss", "train/loss", "train/lr", "acc[top1]"], ["train/*", "eval/loss", "acc[top1]"])
    ['train/loss', 'train/lr', 'eval/loss', 'acc[top1]']
    """
    first: dict[str, int] = {}
    for key in keys:
        for i, pattern in enumerate(patterns):
            if key == pattern or fnmatch.fnmatchcase(key, pattern):
                first.setdefault(key, i)
                break
    return sorted(first, key=first.__getitem__)


def resolve_keys(con: duckdb.DuckDBPyConnection, patterns: Sequence[str]) -> list[str]:
    """The keys of ``metrics`` that ``patterns`` name; patterns without ``*``, ``?`` or ``[`` are taken as the keys
    they are, without listing the store's keys.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value) VALUES ('a', 'loss', 0, 1), "
    ...                      "('a', 'lr', 0, 1)")
    >>> resolve_keys(lens.con, ["l*"]), resolve_keys(lens.con, ["loss", "unlogged"])
    (['loss', 'lr'], ['loss', 'unlogged'])
    """
    if not any(_GLOB.search(pattern) for pattern in patterns):
        return list(dict.fromkeys(patterns))
    logged = [row[0] for row in con.execute("SELECT DISTINCT key FROM metrics ORDER BY key").fetchall()]
    return matching_keys(logged, patterns)
