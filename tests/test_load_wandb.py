"""Weights & Biases runs: ``.wandb`` files written by wandb itself in offline mode, and older SDKs' history files."""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import llmlens
from llmlens.loaders.detect import sniff

BLOCK = 32 * 1024
CONFIG = {"lr": 1e-4, "optimizer": {"name": "adamw", "betas": [0.9, 0.95]}, "layers": 4, "dataset": "tulu-3"}
HISTOGRAM = [1.0, 2.0, 2.0, 3.0, 7.5]
STEPS = 400  # enough history for the file to span several 32 KiB blocks


def _logged(i: int) -> dict[str, Any]:
    """What the failing run logs at its i-th call (at step 10 * i): flat and nested keys, NaN and infinities."""
    row: dict[str, Any] = {"train/loss": 2.0 / (i + 1), "eval": {"acc": i / STEPS, "nested": {"f1": i / 1000}}}
    if i % 50 == 7:
        row["train/loss"] = [math.nan, math.inf, -math.inf][(i // 50) % 3]
    return row


_SETTINGS = ("WANDB_MODE", "WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR")
_SETTINGS_BEFORE = {name: os.environ.get(name) for name in _SETTINGS}


@dataclass(frozen=True)
class Runs:
    failed: Path  # the run folder of a run that logs every kind of value and exits with code 1
    finished: Path  # a small run that finishes normally
    failed_id: str
    finished_id: str
    seconds: float


@pytest.fixture(scope="module")
def wandb_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Two runs written by ``wandb.init(mode="offline")``; nothing reaches the network or the home folder."""
    import wandb

    root = tmp_path_factory.mktemp("wandb")
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DIR": str(root),
                            "WANDB_CACHE_DIR": str(root / "cache"), "WANDB_CONFIG_DIR": str(root / "config"),
                            "WANDB_DATA_DIR": str(root / "data"), "WANDB_DISABLE_GIT": "true",
                            "WANDB_DISABLE_CODE": "true", "WANDB_CONSOLE": "off"}.items():  # fmt: skip
            env.setenv(name, value)
        run = wandb.init(project="llmlens-test", name="sft-lr1e-4", group="sweep-1", tags=["baseline", "bf16"],
                         job_type="train", config=CONFIG,
                         settings=wandb.Settings(x_stats_sampling_interval=0.1))  # fmt: skip
        for i in range(STEPS):
            run.log(_logged(i), step=10 * i)
        run.log({"weights": wandb.Histogram(HISTOGRAM, num_bins=4), "sample": "a text value", "done": True},
                 step=10 * STEPS)  # fmt: skip
        run.config.update({"warmup": 100})
        run.summary["best_acc"] = 0.99
        time.sleep(0.35)  # a few system samples
        run.finish(exit_code=1)
        failed_id = run.id
        run = wandb.init(project="llmlens-test", settings=wandb.Settings(x_disable_stats=True))
        for i in range(3):
            run.log({"loss": 1.0 - i / 10})
        run.finish()
        finished_id = run.id
        wandb.teardown()
    seconds = time.perf_counter() - started
    (failed,) = (root / "wandb").glob(f"offline-run-*-{failed_id}")
    (finished,) = (root / "wandb").glob(f"offline-run-*-{finished_id}")
    yield Runs(failed, finished, failed_id, finished_id, seconds)


def _records(path: Path) -> list[tuple[int, int, Any]]:
    """(start, end, Record) of each record of a run file, framed by this test's own reader and parsed with wandb's
    own protobuf classes: the oracle the loader is checked against."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:7] == b":W&B\xe1\xbe\x00"
    records, position, pending, start = [], 7, b"", 0
    while position < len(data):
        if BLOCK - position % BLOCK < 7:
            position += BLOCK - position % BLOCK
            continue
        crc, length, kind = struct.unpack_from("<IHB", data, position)
        payload = data[position + 7 : position + 7 + length]
        assert crc == zlib.crc32(payload, zlib.crc32(bytes([kind])))
        start = position if kind in (1, 2) else start
        pending = payload if kind in (1, 2) else pending + payload
        position += 7 + length
        if kind in (1, 4):
            records.append((start, position, wandb_internal_pb2.Record.FromString(pending)))
    return records


def _history(path: Path) -> list[dict[str, Any]]:
    """The history rows of a run file as wandb wrote them: dotted key -> decoded value."""
    rows = []
    for _, _, record in _records(path):
        if record.WhichOneof("record_type") == "history":
            rows.append(
                {item.key or ".".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
            )
    return rows


def _append(data: bytes, *payloads: bytes) -> bytes:
    """Records appended to a run file's bytes as a LevelDB log writer frames them (fragments across blocks)."""
    out = bytearray(data)
    for payload in payloads:
        rest, first = payload, True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out += bytes(left)
                continue
            piece, rest = rest[: left - 7], rest[left - 7 :]
            kind = (1 if not rest else 2) if first else (4 if not rest else 3)
            out += struct.pack("<IHB", zlib.crc32(piece, zlib.crc32(bytes([kind]))), len(piece), kind) + piece
            first = False
            if not rest:
                break
    return bytes(out)


def _same(got: float, want: float) -> bool:
    return got == want or (math.isnan(got) and math.isnan(want))


def _points(lens: llmlens.Lens, where: str = "true") -> list[tuple[Any, ...]]:
    query = f"SELECT key, step, value, seq, epoch_us(wall_time) FROM metrics WHERE {where} ORDER BY seq, key"
    return [tuple(row) for row in lens.con.execute(query).fetchall()]


def test_the_record_messages_match_wandbs_own(wandb_runs: Runs) -> None:
    from google.protobuf import timestamp_pb2
    from google.protobuf.descriptor import FieldDescriptor
    from wandb.proto import wandb_internal_pb2

    from llmlens.loaders.wandb_records import PROTOS

    wire = {FieldDescriptor.TYPE_DOUBLE: "fixed64", FieldDescriptor.TYPE_FLOAT: "fixed32",
            FieldDescriptor.TYPE_STRING: "bytes", FieldDescriptor.TYPE_BYTES: "bytes",
            FieldDescriptor.TYPE_MESSAGE: "bytes"}  # fmt: skip
    theirs = {name: wandb_internal_pb2.DESCRIPTOR.message_types_by_name[name] for name in PROTOS if name != "Timestamp"}
    theirs["Timestamp"] = timestamp_pb2.Timestamp.DESCRIPTOR
    checked = 0
    for name, message in PROTOS.items():
        for field in message.DESCRIPTOR.fields:
            other = theirs[name].fields_by_name[field.name]
            assert (field.number, field.is_repeated) == (other.number, other.is_repeated), f"{name}.{field.name}"
            assert wire.get(field.type, "varint") == wire.get(other.type, "varint"), f"{name}.{field.name}"
            if field.message_type:
                assert theirs[field.message_type.name] is other.message_type, f"{name}.{field.name}"
            checked += 1
    assert checked > 60


def test_every_logged_point_of_an_offline_run_loads(wandb_runs: Runs) -> None:
    path = wandb_runs.failed / f"run-{wandb_runs.failed_id}.wandb"
    assert path.stat().st_size > 3 * BLOCK
    history = _history(path)
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False)
        assert report.rejected == 0 and report.files[0].format == "wandb"
        assert f"{STEPS // 50} points are NaN or infinite" in report.files[0].notes[0]
        points = _points(lens, "NOT starts_with(key, 'system/')")
        expected = []
        for i in range(STEPS):
            row = history[i]
            seq = math.floor(row["_timestamp"] * 1e6 + 0.5)  # rounded half up, as DuckDB rounds
            logged = _logged(i)
            for key, value in sorted({"train/loss": logged["train/loss"], "eval.acc": logged["eval"]["acc"],
                                      "eval.nested.f1": logged["eval"]["nested"]["f1"]}.items()):  # fmt: skip
                expected.append((key, 10 * i, value, seq, seq))
        assert len(points) == len(expected) + 5 == 3 * STEPS + 5  # and the histogram's statistics
        for got, want in zip(points, expected, strict=False):
            assert got[:2] == want[:2] and got[3:] == want[3:] and _same(got[2], want[2]), (got, want)
        assert [p[2] for p in points if p[0] == "train/loss" and p[1] in (70, 570, 1070)][:3] == [
            pytest.approx(math.nan, nan_ok=True), math.inf, -math.inf]  # fmt: skip

        # the histogram, as statistics of its bins (4 bins over [1, 7.5])
        stats = dict(lens.con.execute("SELECT key, value FROM metrics WHERE starts_with(key, 'weights/')").fetchall())
        counts, edges = np.histogram(HISTOGRAM, bins=4)
        centres = (edges[:-1] + edges[1:]) / 2
        mean = float((counts * centres).sum() / counts.sum())
        std = math.sqrt((counts * (centres - mean) ** 2).sum() / 5)
        assert stats == pytest.approx({"weights/min": 1.0, "weights/max": 7.5, "weights/count": 5.0,
                                       "weights/mean": mean, "weights/std": std})  # fmt: skip
        assert lens.sql("SELECT DISTINCT step FROM metrics WHERE starts_with(key, 'weights/')").step.tolist() == [4000]
        (attributes,) = lens.con.execute("SELECT attributes FROM runs").fetchone() or ()
        assert json.loads(attributes)["skipped_history"] == {"sample": 1, "done": 1}


def test_system_samples_become_system_metrics_under_one_naming_scheme(wandb_runs: Runs, tmp_path: Path) -> None:
    from google.protobuf import timestamp_pb2
    from wandb.proto import wandb_internal_pb2

    source = wandb_runs.failed / f"run-{wandb_runs.failed_id}.wandb"
    samples = [(record.stats.timestamp.ToMicroseconds(), item.key, json.loads(item.value_json))
               for _, _, record in _records(source) if record.WhichOneof("record_type") == "stats"
               for item in record.stats.item]  # fmt: skip
    assert samples and {"cpu", "memory_percent"} <= {key for _, key, _ in samples}
    # a GPU machine's sample, in the names wandb's system monitor gives it, appended as wandb frames records
    gpu = {"gpu.0.gpu": 87.0, "gpu.0.memoryAllocated": 61.5, "gpu.0.temp": 71.0, "gpu.0.powerWatts": 312.4,
           "gpu.0.memoryAllocatedBytes": 5e10, "gpu.process.0.gpu": 86.0, "network.recv": 1024.0}  # fmt: skip
    stamp = timestamp_pb2.Timestamp(seconds=1_800_000_000, nanos=500_000_000)
    items = [wandb_internal_pb2.StatsItem(key=k, value_json=json.dumps(v)) for k, v in gpu.items()]
    record = wandb_internal_pb2.Record(stats=wandb_internal_pb2.StatsRecord(timestamp=stamp, item=items))
    path = tmp_path / "offline-run-20260101_000000-gpu" / "run-gpu.wandb"
    path.parent.mkdir()
    path.write_bytes(_append(source.read_bytes(), record.SerializeToString()))
    with llmlens.open(":memory:") as lens:
        assert lens.load(path, progress=False).rejected == 0
        got = _points(lens, "starts_with(key, 'system/')")
        assert all(step is None and seq == wall for _, step, _, seq, wall in got)
        names = {"cpu": "system/cpu.utilization", "memory_percent": "system/memory.utilization",
                 "disk./.usagePercent": "system/disk.utilization", "network.sent": "system/network.sent"}  # fmt: skip
        expected = sorted((names.get(key, f"system/{key}".replace("network.recv", "network.received")), value, time)
                          for time, key, value in samples)  # fmt: skip
        expected += [(key, value, 1_800_000_000_500_000) for key, value in {
            "system/gpu.0.utilization": 87.0, "system/gpu.0.memory_allocated": 61.5, "system/gpu.0.temperature": 71.0,
            "system/gpu.0.power_watts": 312.4, "system/gpu.0.memoryAllocatedBytes": 5e10,
            "system/gpu.process.0.gpu": 86.0, "system/network.received": 1024.0}.items()]  # fmt: skip
        assert sorted((key, value, seq) for key, _, value, seq, _ in got) == sorted(expected)


def test_the_run_its_params_and_summary(wandb_runs: Runs) -> None:
    with llmlens.open(":memory:") as lens:
        report = lens.load(wandb_runs.failed.parent, progress=False)  # the wandb folder: logs, latest-run link
        loaded = [f for f in report.files if not f.skipped]
        assert sorted(Path(f.path).name for f in loaded) == sorted(
            [f"run-{wandb_runs.failed_id}.wandb", f"run-{wandb_runs.finished_id}.wandb"])  # fmt: skip
        runs = lens.sql("SELECT * FROM runs ORDER BY status").to_dict("records")
        failed, finished = runs
        assert failed["run_id"] == f"wandb:{wandb_runs.failed_id}"
        assert (failed["project"], failed["name"], failed["group_name"], list(failed["tags"]), failed["status"]) == (
            "llmlens-test", "sft-lr1e-4", "sweep-1", ["baseline", "bf16"], "failed")  # fmt: skip
        last = lens.sql("SELECT max(wall_time) AS t FROM metrics WHERE run_id = ?", params=[failed["run_id"]]).t[0]
        assert failed["started_at"] < last <= failed["ended_at"]
        attributes = json.loads(failed["attributes"])
        assert (attributes["exit_code"], attributes["job_type"], attributes["id"]) == (1, "train", wandb_runs.failed_id)
        assert attributes["summary"]["best_acc"] == 0.99 and attributes["summary"]["train/loss"] == 2.0 / STEPS
        assert attributes["summary"]["_step"] == 10 * STEPS and "weights.values" not in attributes["summary"]
        assert attributes["environment"]["python"].startswith("CPython") and attributes["environment"]["cpu_count"]
        params = dict(lens.con.execute("SELECT key, value FROM params WHERE run_id = ?", [failed["run_id"]]).fetchall())
        assert params == {"lr": "0.0001", "optimizer.name": "adamw", "optimizer.betas": "[0.9,0.95]", "layers": "4",
                          "dataset": "tulu-3", "warmup": "100"}  # fmt: skip

        assert (finished["status"], finished["name"], json.loads(finished["attributes"])["exit_code"]) == (
            "finished", wandb_runs.finished_id, 0)  # fmt: skip
        assert _points(lens, f"run_id = '{finished['run_id']}'")[0][:3] == ("loss", 0, 1.0)
        assert [p[1:3] for p in _points(lens, f"run_id = '{finished['run_id']}'")] == [(0, 1.0), (1, 0.9), (2, 0.8)]
        assert not lens.load(wandb_runs.failed.parent, progress=False).rows_added.get("metrics")  # same content


def test_config_yaml_and_the_summary_file_are_read_with_the_run(wandb_runs: Runs, tmp_path: Path) -> None:
    from wandb.proto import wandb_internal_pb2
    from wandb.sdk.lib import config_util

    folder = tmp_path / wandb_runs.finished.name
    shutil.copytree(wandb_runs.finished, folder)
    run_file = folder / f"run-{wandb_runs.finished_id}.wandb"
    # the run folder's files as an online run writes them (config.yaml by wandb's own writer)
    config = {"lr": 3e-4, "model": {"layers": 2, "act": "gelu"}, "_wandb": {"cli_version": "0.31.0"}}
    items = [wandb_internal_pb2.ConfigItem(key=k, value_json=json.dumps(v)) for k, v in config.items()]
    config_util.save_config_file_from_dict(
        str(folder / "files" / "config.yaml"), config_util.dict_from_proto_list(items)
    )
    (folder / "files" / "wandb-summary.json").write_text(
        json.dumps({"loss": 0.8, "eval": {"acc": 0.5}, "_wandb": {"runtime": 1}})
    )
    (folder / "files" / "wandb-metadata.json").write_text(
        json.dumps({"os": "Linux", "gpu": "NVIDIA H100", "gpu_count": 8})
    )
    with llmlens.open(":memory:") as lens:
        report = lens.load(folder, progress=False)
        assert [Path(f.path).name for f in report.files if not f.skipped] == [run_file.name]
        assert not any(Path(f.path).name in ("config.yaml", "wandb-summary.json") for f in report.files)
        assert dict(lens.con.execute("SELECT key, value FROM params").fetchall()) == {
            "lr": "0.0003", "model.layers": "2", "model.act": "gelu"}  # fmt: skip
        attributes = json.loads(lens.con.execute("SELECT attributes FROM runs").fetchone()[0])  # type: ignore[index]
        assert attributes["summary"] == {"loss": 0.8, "eval.acc": 0.5}
        assert attributes["metadata"]["gpu"] == "NVIDIA H100"
        (folder / "files" / "config.yaml").write_text("wandb_version: 1\n\nlr:\n  desc: null\n  value: 0.001\n")
        again = lens.load(run_file, progress=False)  # a changed config.yaml changes the run's content
        assert not again.files[0].skipped and again.rows_added["params"] == 1
        (folder / "files" / "wandb-summary.json").write_text('{"loss": ')
        broken = lens.load(run_file, progress=False)
        assert broken.rejected == 1 and "wandb-summary.json: cannot read this run file" in broken.files[0].reasons[0]
        assert lens.tables()["runs"] == 1


def _corrupt_at(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]


def test_a_corrupt_block_is_rejected_and_the_blocks_around_it_load(wandb_runs: Runs, tmp_path: Path) -> None:
    source = wandb_runs.failed / f"run-{wandb_runs.failed_id}.wandb"
    records = _records(source)
    data = source.read_bytes()
    flipped = BLOCK + BLOCK // 2  # the middle of the second block
    position = BLOCK  # the fragment that holds it, found by walking the block's fragment headers
    while True:
        length = struct.unpack_from("<H", data, position + 4)[0]
        if position + 7 + length > flipped:
            fragment = position
            break
        position += 7 + length
    path = tmp_path / "offline-run-20260101_000000-bad" / "run-bad.wandb"
    path.parent.mkdir()
    path.write_bytes(_corrupt_at(data, flipped))
    lost = [(s, e) for s, e, _ in records if s < 2 * BLOCK and e > fragment]  # a byte in the unread part
    kept_steps = sorted(r.history.step.num for s, e, r in records
                        if r.WhichOneof("record_type") == "history" and (s, e) not in lost
                        and r.history.step.num < 10 * STEPS)  # fmt: skip
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False)
        rejects = lens.sql("SELECT byte_offset, reason, raw FROM rejects ORDER BY byte_offset").to_dict("records")
        (bad,) = [r for r in rejects if "CRC-32" in r["reason"]]
        assert bad["reason"] == (f"CRC-32 mismatch in block at byte {BLOCK:,} (fragment at byte {fragment:,}); "
                                 "the rest of the block is unread")  # fmt: skip
        assert bad["byte_offset"] == fragment and bytes(bad["raw"]) == path.read_bytes()[fragment : 2 * BLOCK]
        # around it: the start of the record it cut short, and that record's continuation in the next block
        around = {s for s, _ in lost} | {fragment, 2 * BLOCK}
        assert len(rejects) <= 3 and all(r["byte_offset"] in around for r in rejects)
        assert report.rejected == len(rejects)
        steps = lens.sql("SELECT DISTINCT step FROM metrics WHERE key = 'train/loss' ORDER BY step").step.tolist()
        assert steps == kept_steps and lost and 0 in steps and 10 * (STEPS - 1) in steps
        assert lens.sql("SELECT status FROM runs").status[0] == "failed"  # the records after the block load


def test_a_truncated_file_keeps_every_record_before_the_cut(wandb_runs: Runs, tmp_path: Path) -> None:
    source = wandb_runs.failed / f"run-{wandb_runs.failed_id}.wandb"
    records = _records(source)
    start, end, _ = next(r for r in records[len(records) // 2 :] if r[0] // BLOCK == r[1] // BLOCK)  # in one block
    cut = start + (end - start) // 2
    path = tmp_path / "offline-run-20260101_000000-cut" / "run-cut.wandb"
    path.parent.mkdir()
    path.write_bytes(source.read_bytes()[:cut])
    history = [r.history.step.num for s, e, r in records if e <= cut and r.WhichOneof("record_type") == "history"]
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False)
        (reason,) = lens.sql("SELECT reason FROM rejects").reason.tolist()
        assert "truncated" in reason and f"at byte {start:,}" in reason and report.rejected == 1
        steps = lens.sql("SELECT DISTINCT step FROM metrics WHERE key = 'train/loss' ORDER BY step").step.tolist()
        assert steps == history and len(steps) > STEPS // 3
        assert lens.sql("SELECT status, ended_at FROM runs").values.tolist()[0][0] == "running"  # no exit record


def test_bad_run_files_are_rejected_with_their_place(tmp_path: Path) -> None:
    from llmlens.loaders.wandb_records import FULL, MAGIC, _fragment

    garbage = tmp_path / "run-x.wandb"
    garbage.write_bytes(b"\x00\x01 not a run file")
    not_record = tmp_path / "a" / "run-y.wandb"
    not_record.parent.mkdir()
    not_record.write_bytes(MAGIC + b"\x00" + _fragment(FULL, b"\xff\xff\xff"))
    with llmlens.open(":memory:") as lens:
        report = lens.load(garbage, not_record, format="wandb", progress=False)
        assert report.files[0].reasons == ["not a W&B run file: no :W&B header at byte 0"]
        assert report.files[1].reasons[0].startswith("record at byte 7 is not a W&B Record")
        assert lens.tables()["metrics"] == 0 and lens.sql("SELECT run_id FROM runs ORDER BY 1").run_id.tolist() == [
            "wandb:x", "wandb:y"]  # fmt: skip
    summary = b'{"_wandb": {"runtime": 1}, "_runtime": 1, "_timestamp": 1.7e9, "_step": 2}'  # wandb-summary.json
    assert sniff(summary) != "wandb-history"


def test_older_history_files_load_like_the_run_file(wandb_runs: Runs, tmp_path: Path) -> None:
    """wandb-history.jsonl and wandb-events.jsonl as older SDKs wrote them (one json.dumps per row, nested dicts
    kept, NaN as JavaScript writes it), made from the history and samples of the run file wandb wrote."""
    source = wandb_runs.failed / f"run-{wandb_runs.failed_id}.wandb"
    folder = tmp_path / "wandb" / f"run-20200101_000000-{wandb_runs.failed_id}"
    folder.mkdir(parents=True)
    lines = []
    for row in _history(source):
        nested: dict[str, Any] = {}
        for key, value in row.items():
            *parents, leaf = key.split(".") if not key.startswith("_") else [key]
            target = nested
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = value
        lines.append(json.dumps(nested))
    (folder / "wandb-history.jsonl").write_text("\n".join([*lines[:5], "{not json", *lines[5:]]) + "\n")
    events = [json.dumps({**{f"system.{i.key}": json.loads(i.value_json) for i in r.stats.item}, "_wandb": True,
                          "_runtime": 1.0, "_timestamp": r.stats.timestamp.ToMicroseconds() / 1e6})
              for _, _, r in _records(source) if r.WhichOneof("record_type") == "stats"]  # fmt: skip
    (folder / "wandb-events.jsonl").write_text("\n".join(events) + "\n")
    (folder / "config.yaml").write_text("wandb_version: 1\n\nlr:\n  desc: null\n  value: 0.0001\n")
    (folder / "wandb-summary.json").write_text(
        json.dumps({"best_acc": 0.99, "_step": 4000, "_runtime": 3, "_timestamp": 1.7e9})
    )
    (folder / "wandb-metadata.json").write_text(json.dumps({"state": "failed", "startedAt": "2020-01-01T00:00:00.5"}))
    assert sniff(lines[0].encode()) == sniff(events[0].encode()) == "wandb-history"
    with llmlens.open(":memory:") as old, llmlens.open(":memory:") as new:
        report = old.load(tmp_path / "wandb", progress=False)
        assert sorted((Path(f.path).name, f.format, f.rejected) for f in report.files) == [
            ("wandb-events.jsonl", "wandb-history", 0), ("wandb-history.jsonl", "wandb-history", 1)]  # fmt: skip
        assert old.sql("SELECT line, reason FROM rejects").values.tolist() == [
            [6, "not valid JSON (truncated or corrupt line)"]
        ]
        new.load(source, progress=False)
        query = "SELECT key, step, value, seq, wall_time FROM metrics ORDER BY key, seq, step"
        old_points, new_points = old.con.execute(query).fetchall(), new.con.execute(query).fetchall()
        assert len(old_points) == len(new_points) > 3 * STEPS
        for got, want in zip(old_points, new_points, strict=True):
            assert got[:2] == want[:2] and got[3:] == want[3:] and _same(got[2], want[2]), (got, want)
        run = old.sql("SELECT run_id, name, status, started_at, attributes FROM runs").to_dict("records")[0]
        assert (run["run_id"], run["name"], run["status"]) == (
            f"wandb:{wandb_runs.failed_id}",
            wandb_runs.failed_id,
            "failed",
        )
        assert str(run["started_at"]) == "2020-01-01 00:00:00.500000+00:00"
        assert json.loads(run["attributes"])["summary"]["best_acc"] == 0.99
        assert dict(old.con.execute("SELECT key, value FROM params").fetchall()) == {"lr": "0.0001"}


def test_the_fixture_is_quick_and_leaves_no_settings_behind(wandb_runs: Runs) -> None:
    assert wandb_runs.seconds < 30, f"writing the wandb runs took {wandb_runs.seconds:.1f} s"
    assert {name: os.environ.get(name) for name in _SETTINGS} == _SETTINGS_BEFORE


def test_a_run_file_read_in_many_chunks_loads_as_in_one(wandb_runs: Runs, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmlens.loaders import wandb_records

    path = wandb_runs.failed / f"run-{wandb_runs.failed_id}.wandb"
    queries = ("SELECT * EXCLUDE (source_id) FROM metrics ORDER BY ALL",
               "SELECT * EXCLUDE (source_id) FROM params ORDER BY ALL",
               "SELECT * EXCLUDE (source_id, attributes) FROM runs")  # fmt: skip
    with llmlens.open(":memory:") as whole, llmlens.open(":memory:") as chunked:
        whole.load(path, progress=False)
        monkeypatch.setattr(wandb_records, "CHUNK_ROWS", 1000)
        chunks = list(wandb_records.read(path))
        assert len(chunks) > 5 and sum(covered for _, covered in chunks) == path.stat().st_size
        chunked.load(path, progress=False)
        for query in queries:
            assert whole.sql(query).equals(chunked.sql(query)), query
        one, many = (json.loads(lens.con.execute("SELECT attributes FROM runs").fetchone()[0])  # type: ignore[index]
                     for lens in (whole, chunked))  # fmt: skip
        assert one.pop("skipped_history") == {"sample": 1, "done": 1}  # counted in the last chunk only
        many.pop("skipped_history")
        assert one == many
