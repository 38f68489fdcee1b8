"""Benchmark: reading every scalar of a TensorBoard event file, llmlens against TensorBoard's own EventAccumulator.

    python benchmarks/load_tensorboard.py --events 1000000    # the full-size run recorded in RESULTS.md
    python benchmarks/load_tensorboard.py --events 5000       # smoke size (what the tests run)

The file holds scalar events as PyTorch's SummaryWriter writes them (one ``simple_value`` per event, ten tags,
steps from 1), serialised with tensorboard's own protobuf classes and framed as its writer frames them. Prints
(a) ``EventAccumulator`` with size guidance 0 for scalars (every point, no sampling), reading all of them out,
(b) ``lens.load`` into a DuckDB file, both in events per second, and the speed ratio b/a (the target is >= 5).
It also loads the same points written in TF2's encoding (tensor scalars), for reference.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import llmlens
from llmlens.loaders.tfevents import record

TAGS = 10


def write_events(path: Path, count: int, *, tf2: bool = False, seed: int = 0) -> None:
    """``count`` scalar events (plus the version header), round-robin over TAGS tags."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.scalar.summary import scalar_pb

    rng = np.random.default_rng(seed)
    values = rng.standard_normal(count).astype(np.float32)
    records = [event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString()]
    for i in range(count):
        tag, step = f"train/metric_{i % TAGS}", i // TAGS + 1
        if tf2:
            summary = scalar_pb(tag, values[i])
        else:
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(values[i]))])
        event = event_pb2.Event(wall_time=1.7e9 + i / 1000, step=step, summary=summary)
        records.append(event.SerializeToString())
    with path.open("wb") as out:
        out.writelines(record(data) for data in records)


def accumulator(path: Path) -> tuple[float, int]:
    """Seconds for TensorBoard's EventAccumulator to read every scalar, and how many it read."""
    from tensorboard.backend.event_processing import event_accumulator

    started = time.perf_counter()
    reader = event_accumulator.EventAccumulator(str(path), size_guidance={event_accumulator.SCALARS: 0})
    reader.Reload()
    points = sum(len(reader.Scalars(tag)) for tag in reader.Tags()["scalars"])
    return time.perf_counter() - started, points


def llmlens_load(path: Path, store: Path) -> tuple[float, int]:
    """Seconds for ``lens.load`` to load every point into a store file, and how many points it added."""
    with llmlens.open(store) as lens:
        started = time.perf_counter()
        report = lens.load(path, progress=False)
        return time.perf_counter() - started, report.rows_added["metrics"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "run" / "events.out.tfevents.1700000000.bench.1.0"
        path.parent.mkdir()
        write_events(path, args.events)
        print(f"{args.events:,} scalar events, {path.stat().st_size / 1e6:.1f} MB")
        a_seconds, a_points = accumulator(path)
        b_seconds, b_points = llmlens_load(path, folder / "store.duckdb")
        assert a_points == b_points == args.events, (a_points, b_points)
        print(f"(a) EventAccumulator, every point:  {a_seconds:7.2f} s  {a_points / a_seconds:12,.0f} events/s")
        print(f"(b) lens.load into a DuckDB file:    {b_seconds:7.2f} s  {b_points / b_seconds:12,.0f} events/s")
        print(f"speed b/a = {a_seconds / b_seconds:.1f}x (target >= 5x)")
        tf2 = folder / "tf2" / "events.out.tfevents.1700000000.bench.2.0"
        tf2.parent.mkdir()
        write_events(tf2, args.events, tf2=True)
        c_seconds, c_points = llmlens_load(tf2, folder / "store-tf2.duckdb")
        print(f"(c) lens.load, TF2 tensor scalars:   {c_seconds:7.2f} s  {c_points / c_seconds:12,.0f} events/s")


if __name__ == "__main__":
    main()
