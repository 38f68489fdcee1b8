"""Small helpers shared by the demo generators: ids, times, Arrow assembly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

WEEK_END = dt.datetime(2026, 11, 16, tzinfo=dt.timezone.utc)
"""The demo's traces fall in the week before this instant, so every build is identical."""

TIMESTAMP = pa.timestamp("us", tz="UTC")


def hex_ids(rng: np.random.Generator, count: int, digits: int) -> list[str]:
    """``count`` random lower-case hex ids of ``digits`` digits (16 for span ids, 32 for trace ids)."""
    raw = rng.integers(0, 256, size=(count, digits // 2), dtype=np.uint8)
    return [row.tobytes().hex() for row in raw]


def micros(values: np.ndarray[Any, Any]) -> pa.Array:
    """Microseconds since the epoch as an Arrow UTC timestamp array."""
    return pa.array(np.asarray(values, dtype=np.int64), type=TIMESTAMP)


def epoch_us(moment: dt.datetime) -> int:
    """Microseconds since the epoch of ``moment``."""
    return int(moment.timestamp() * 1_000_000)


def table(columns: Mapping[str, Any]) -> pa.Table:
    """An Arrow table from column lists/arrays (names must match the store's columns)."""
    return pa.table(
        {name: values if isinstance(values, pa.Array) else pa.array(values) for name, values in columns.items()}
    )
