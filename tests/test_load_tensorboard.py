"""TensorBoard event files written by the real writers: tensorboardX (PyTorch's encoding: simple_value and
HistogramProto) and tensorboard's own EventFileWriter with TF2 summaries (scalars and histograms as tensors)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import llmlens
from llmlens.loaders import tfevents

LOSS = [2.5, 2.0, float("nan"), 1.25, float("inf"), 0.0, -1.5]


def _torch_style_run(folder: Path) -> Path:
    """A run as PyTorch's SummaryWriter writes it (tensorboardX shares its encoding): scalars from step 0."""
    from tensorboardX import SummaryWriter
    from tensorboardX.summary import hparams

    writer = SummaryWriter(str(folder))
    for step, loss in enumerate(LOSS):
        writer.add_scalar("train/loss", loss, step)
        writer.add_scalar("lr", 1e-3 / (step + 1), step)
    for step in range(3):
        writer.add_histogram("layer0/weights", np.arange(10, dtype=np.float64) + step, step)
    for summary in hparams({"lr": 3e-4, "optimizer": "adamw", "batch_size": 32, "bf16": True}, {"final/loss": 0.0}):
        writer.file_writer.add_summary(summary)  # what add_hparams writes, in the run's own folder
    writer.close()
    return _event_file(folder)


def _tf2_style_run(folder: Path) -> Path:
    """TF2 summaries: a scalar tensor with plugin 'scalars' (named in the tag's first summary only, as TF2 does)
    and a histogram tensor of (left, right, count) rows."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.plugins.histogram.summary import histogram_pb
    from tensorboard.plugins.scalar.summary import scalar_pb
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(folder))
    for step in range(4):
        summary = scalar_pb("eval/accuracy", np.float32(0.5 + step / 8))
        if step:
            summary.value[0].ClearField("metadata")
        writer.add_event(event_pb2.Event(step=step, wall_time=1.7e9 + step, summary=summary))
    histogram = histogram_pb("grads", np.array([1.0, 2.0, 2.0, 3.0]), buckets=2)
    writer.add_event(event_pb2.Event(step=4, wall_time=1.7e9 + 4, summary=histogram))
    writer.close()
    return _event_file(folder)


def _event_file(folder: Path) -> Path:
    (path,) = sorted(folder.glob("events.out.tfevents.*"))
    return path


def _points(lens: llmlens.Lens, key: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in lens.con.execute(
        "SELECT step, value, superseded FROM metrics WHERE key = ? ORDER BY seq", [key]).fetchall()]  # fmt: skip


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_every_point_of_a_pytorch_style_run_loads_as_tensorboard_reads_it(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = _torch_style_run(tmp_path / "runs" / "sft-lr3e-4")
    accumulator = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(tmp_path / "runs", progress=False)
        assert [f.format for f in report.files] == ["tensorboard"]
        assert report.files[0].notes == ["2 points are NaN or infinite (kept as logged)"]
        for tag in ("train/loss", "lr"):
            expected = [(e.step, e.value) for e in accumulator.Scalars(tag)]
            got = [(step, value) for step, value, _ in _points(lens, tag)]
            assert len(got) == len(expected) == len(LOSS)
            assert all(g[0] == e[0] and _same(g[1], e[1]) for g, e in zip(got, expected, strict=True))
        histograms = accumulator.Histograms("layer0/weights")
        expected_stats = {
            "min": [h.histogram_value.min for h in histograms], "max": [h.histogram_value.max for h in histograms],
            "count": [h.histogram_value.num for h in histograms],
            "mean": [h.histogram_value.sum / h.histogram_value.num for h in histograms],
        }  # fmt: skip
        for stat, want in expected_stats.items():
            assert [value for _, value, _ in _points(lens, f"layer0/weights/{stat}")] == pytest.approx(want)
        std = [value for _, value, _ in _points(lens, "layer0/weights/std")]
        assert std == pytest.approx([np.std(np.arange(10))] * 3)
        ((run_id, project, name, started, ended),) = lens.con.execute(
            "SELECT run_id, project, name, started_at, ended_at FROM runs").fetchall()  # fmt: skip
        assert run_id == f"tb:{path.parent}" and (project, name) == ("runs", "sft-lr3e-4")
        assert started <= ended
        params = dict(lens.con.execute("SELECT key, value FROM params").fetchall())
        assert params == {"lr": "0.0003", "optimizer": "adamw", "batch_size": "32", "bf16": "true"}
        wall = lens.con.execute("SELECT min(wall_time) FROM metrics WHERE key = 'lr'").fetchall()[0][0]
        assert abs(wall.timestamp() - accumulator.Scalars("lr")[0].wall_time) < 1e-5


def test_tf2_tensor_scalars_and_histograms_load(tmp_path: Path) -> None:
    path = _tf2_style_run(tmp_path / "tf2")
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        lens.load(path, progress=False)
        assert _points(lens, "eval/accuracy") == [(s, 0.5 + s / 8, False) for s in range(4)]
        stats = dict(lens.con.execute("SELECT key, value FROM metrics WHERE key LIKE 'grads/%'").fetchall())
        assert stats["grads/count"] == 4 and stats["grads/min"] == 1.0 and stats["grads/max"] == 3.0
        assert stats["grads/mean"] == pytest.approx(2.0, abs=0.5)


def test_a_restart_keeps_every_point_and_marks_the_superseded_ones(tmp_path: Path) -> None:
    from tensorboardX import SummaryWriter

    folder = tmp_path / "run"
    first = SummaryWriter(str(folder), filename_suffix=".a")
    for step in range(10):
        first.add_scalar("loss", 10.0 - step, step)
    first.close()
    time.sleep(0.01)
    resumed = SummaryWriter(str(folder), filename_suffix=".b")  # resumed from the checkpoint at step 6
    for step in range(6, 12):
        resumed.add_scalar("loss", 100.0 - step, step)
    resumed.close()
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(folder, progress=False)
        assert len(report.files) == 2 and lens.sql("SELECT count(*) AS n FROM runs").n[0] == 1
        points = _points(lens, "loss")
        assert len(points) == 16
        assert [p for p in points if p[2]] == [(s, 10.0 - s, True) for s in range(6, 10)]
        latest = lens.con.execute("SELECT step, value FROM metrics WHERE NOT superseded ORDER BY step").fetchall()
        assert latest == [(s, 10.0 - s) for s in range(6)] + [(s, 100.0 - s) for s in range(6, 12)]
        assert "4 points superseded by a restart (kept, marked superseded)" in str(report)


def test_loading_a_run_again_adds_nothing_and_a_grown_file_adds_its_new_points(tmp_path: Path) -> None:
    path = _torch_style_run(tmp_path / "run")
    data = path.read_bytes()
    starts, _, _ = tfevents.frame(data)
    cut = int(starts[-6]) - 12  # the file as it was while the writer was still running: before the histograms
    path.write_bytes(data[:cut])
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        before = lens.load(path, progress=False).rows_added["metrics"]
        path.write_bytes(data)
        after = lens.load(path, progress=False).rows_added["metrics"]
        again = lens.load(path, progress=False)
        assert before + after == lens.sql("SELECT count(*) AS n FROM metrics").n[0] == 2 * len(LOSS) + 15
        assert after == 15 and again.files[0].skipped.startswith("same content already loaded")


def _corrupt(tmp_path: Path, damage: str) -> tuple[Path, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    path = _torch_style_run(tmp_path / damage)
    data = bytearray(path.read_bytes())
    starts, lengths, _ = tfevents.frame(bytes(data))
    if damage == "truncated":
        data = data[: int(starts[5]) + 3]  # cut inside the sixth record's payload
    elif damage == "flipped-payload":
        data[int(starts[5]) + 2] ^= 0x40
    else:  # a flipped byte in the sixth record's length
        data[int(starts[5]) - 12] ^= 0x01
    path.write_bytes(bytes(data))
    return path, starts, lengths


@pytest.mark.parametrize("damage", ["truncated", "flipped-payload", "flipped-length"])
def test_a_damaged_event_file_loads_up_to_the_damage_and_rejects_it_with_its_offset(
    tmp_path: Path, damage: str
) -> None:
    path, starts, _ = _corrupt(tmp_path, damage)
    offset = int(starts[5]) - 12
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(path, progress=False)
        (rejects,) = [tuple(r) for r in lens.con.execute("SELECT line, byte_offset, reason, octet_length(raw) "
                                                         "FROM rejects").fetchall()]  # fmt: skip
        loaded = lens.sql("SELECT count(*) AS n FROM metrics").n[0]
    assert report.files[0].status == "partly" and rejects[:2] == (6, offset)
    assert f"at byte {offset:,}" in rejects[2]
    if damage == "flipped-payload":  # one record lost, the framing still sound: every other point loads
        assert "data CRC mismatch" in rejects[2] and loaded == 2 * len(LOSS) + 15 - 1
    else:  # nothing after the damage can be framed: the first five records' points load (the first is a header)
        assert "the last" in rejects[2] and loaded == 4
        assert rejects[3] == path.stat().st_size - offset


def test_event_files_are_detected_by_content_not_by_name(tmp_path: Path) -> None:
    path = _torch_style_run(tmp_path / "run")
    renamed = path.rename(tmp_path / "run" / "metrics.bin")
    with llmlens.open(":memory:") as lens:
        assert lens.load(renamed, progress=False).files[0].format == "tensorboard"


@pytest.mark.parametrize(("write", "fast_events"), [(_torch_style_run, 2 * len(LOSS) - 2), (_tf2_style_run, 3)])
def test_the_fast_decoder_and_the_protobuf_parser_agree(tmp_path: Path, write: Any, fast_events: int) -> None:
    path = write(tmp_path / "run")
    data = path.read_bytes()
    starts, lengths, _ = tfevents.frame(data)
    fast, table = tfevents._simple_scalars(np.frombuffer(data + bytes(16), dtype=np.uint8), starts, lengths)
    # PyTorch-style: step 0 omits its step field, so those go to the parser; TF2: the first names its plugin
    assert fast.sum() == fast_events
    slow = tfevents._Points()
    for start, length in zip(starts[fast].tolist(), lengths[fast].tolist(), strict=True):
        slow.add(tfevents.EVENT.FromString(data[start : start + length]))
    for got, want in zip(table.to_pylist(), slow.table().to_pylist(), strict=True):
        assert got.keys() == want.keys()
        assert all(_same(got[k], want[k]) if isinstance(got[k], float) else got[k] == want[k] for k in got)
