"""Run logs from neptune.ai (neptune-exporter's Parquet) and Aim repositories."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import llmlens

# neptune-ai/neptune-exporter src/neptune_exporter/model.py, as the exporter writes every part
EXPORTER_SCHEMA = pa.schema([
    ("project_id", pa.string()),
    ("run_id", pa.string()),
    ("attribute_path", pa.string()),
    ("attribute_type", pa.string()),
    ("step", pa.decimal128(18, 6)),
    ("timestamp", pa.timestamp("ms", tz="UTC")),
    ("int_value", pa.int64()),
    ("float_value", pa.float64()),
    ("string_value", pa.string()),
    ("bool_value", pa.bool_()),
    ("datetime_value", pa.timestamp("ms", tz="UTC")),
    ("string_set_value", pa.list_(pa.string())),
    ("file_value", pa.struct([("path", pa.string())])),
    ("histogram_value", pa.struct([("type", pa.string()), ("edges", pa.list_(pa.float64())),
                                   ("values", pa.list_(pa.float64()))])),
])  # fmt: skip

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
RUN = "neptune:acme/llm-pretrain/PRE-7"


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def _row(path: str, kind: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(EXPORTER_SCHEMA.names)
    return {**row, "project_id": "acme/llm-pretrain", "run_id": "PRE-7", "attribute_path": path,
            "attribute_type": kind, **values}  # fmt: skip


def _parts(folder: Path) -> list[Path]:
    """Two parts of one run, as the exporter splits them: attributes and early points, then later points."""
    first = [
        _row("sys/name", "string", string_value="baseline-7b"),
        _row("sys/custom_run_id", "string", string_value="pre-7"),
        _row("sys/tags", "string_set", string_set_value=["7b", "baseline"]),
        _row("sys/group_tags", "string_set", string_set_value=["sweep-3"]),
        _row("sys/creation_time", "datetime", datetime_value=_at(0)),
        _row("sys/ping_time", "datetime", datetime_value=_at(3600)),
        _row("sys/state", "string", string_value="Inactive"),
        _row("sys/failed", "bool", bool_value=False),
        _row("config/optimizer/lr", "float", float_value=3e-4),
        _row("config/batch_size", "int", int_value=256),
        _row("config/model", "string", string_value="llama"),
        _row("config/bf16", "bool", bool_value=True),
        _row("config/started", "datetime", datetime_value=_at(1.5)),
        _row("config/datasets", "string_set", string_set_value=["c4", "pile"]),
        *[_row("train/loss", "float_series", step=Decimal(s), timestamp=_at(s), float_value=v)
          for s, v in [(0, 4.0), (1, float("nan")), (2, 3.5)]],
        _row("train/grad_norm", "histogram_series", step=Decimal(2), timestamp=_at(2),
             histogram_value={"type": "COUNTING", "edges": [0.0, 1.0, 2.0, 4.0], "values": [0.0, 3.0, 1.0]}),
        _row("monitoring/stdout", "string_series", step=Decimal(0), timestamp=_at(0), string_value="step 0"),
        _row("checkpoints/last", "file", file_value={"path": "files/ckpt.pt"}),
    ]  # fmt: skip
    second = [
        _row("train/loss", "float_series", step=Decimal(2), timestamp=_at(2), float_value=3.5),  # also in part 0
        _row("train/loss", "float_series", step=Decimal(3), timestamp=_at(3), float_value=float("-inf")),
        _row("train/loss", "float_series", step=Decimal("3.5"), timestamp=_at(3.5), float_value=3.4),
        _row("train/tokens", "int_series", step=Decimal(3), timestamp=_at(3), int_value=7),  # a type not read
    ]  # fmt: skip
    paths = []
    for number, rows in enumerate([first, second]):
        path = folder / "exports" / "data" / "acme_llm-pretrain" / f"PRE-7_part_{number}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=EXPORTER_SCHEMA), path, compression="snappy")
        paths.append(path)
    return paths


def test_a_neptune_export_loads_points_histograms_params_and_the_run(tmp_path: Path) -> None:
    first, second = _parts(tmp_path)
    with llmlens.open(":memory:") as lens:
        report = lens.load(second, first, progress=False)  # parts in any order
        assert [f.format for f in report.files] == ["neptune-export", "neptune-export"]
        points = lens.con.execute(
            "SELECT key, step, wall_time, value, seq FROM metrics WHERE key = 'train/loss' ORDER BY step"
        ).fetchall()
        assert [p[:3] for p in points] == [("train/loss", s, _at(s)) for s in (0, 1, 2, 3)]  # step 2 once
        values = [p[3] for p in points]
        assert values[0] == 4.0 and math.isnan(values[1]) and values[2] == 3.5 and values[3] == -math.inf
        assert [p[4] for p in points] == [int(_at(s).timestamp() * 1000) for s in (0, 1, 2, 3)]
        histogram = dict(lens.con.execute(
            "SELECT key, value FROM metrics WHERE key LIKE 'train/grad_norm/%' AND step = 2").fetchall())  # fmt: skip
        # buckets [1, 2) x3 and [2, 4) x1: centres 1.5 and 3
        std = math.sqrt((3 * 0.375**2 + 1.125**2) / 4)
        assert histogram == {"train/grad_norm/min": 1.0, "train/grad_norm/max": 4.0, "train/grad_norm/count": 4.0,
                             "train/grad_norm/mean": 1.875, "train/grad_norm/std": pytest.approx(std)}  # fmt: skip
        params = dict(lens.con.execute("SELECT key, value FROM params WHERE run_id = ?", [RUN]).fetchall())
        assert params == {"config/optimizer/lr": "0.0003", "config/batch_size": "256", "config/model": "llama",
                          "config/bf16": "true", "config/started": "2025-06-01T09:00:01.500Z",
                          "config/datasets": '["c4","pile"]'}  # fmt: skip
        ((run_id, project, name, group, started, ended, status, tags, attributes),) = lens.con.execute(
            "SELECT run_id, project, name, group_name, started_at, ended_at, status, tags, attributes FROM runs"
        ).fetchall()
        assert (run_id, project, name, group, status, tags) == (
            RUN, "acme/llm-pretrain", "baseline-7b", "sweep-3", "finished", ["7b", "baseline"])  # fmt: skip
        assert (started, ended) == (_at(0), _at(3600))
        attributes = json.loads(attributes)
        assert attributes["skipped"] == {"string_series": 1, "files": 1}
        assert attributes["sys"]["sys/custom_run_id"] == "pre-7"
        rejects = lens.con.execute("SELECT location, reason FROM rejects ORDER BY location").fetchall()
        assert rejects == [("row 3, column step", "step is not a whole number: 3.500000"),
                           ("row 4, column attribute_type", "attribute type not read: int_series")]  # fmt: skip


def test_a_part_without_the_runs_attributes_keeps_the_run_row(tmp_path: Path) -> None:
    first, second = _parts(tmp_path)
    with llmlens.open(":memory:") as lens:
        lens.load(first, progress=False)
        lens.load(second, progress=False)
        assert lens.con.execute("SELECT name, status FROM runs").fetchall() == [("baseline-7b", "finished")]
        assert lens.con.execute("SELECT count(*) FROM params").fetchall() == [(6,)]


def _digest(folder: Path) -> str:
    """The repository's content, less RocksDB's diagnostic logs (it rotates them whenever a database opens)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("LOG")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_an_aim_repository_loads_its_runs_without_being_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aim = pytest.importorskip("aim")
    from llmlens.loaders import aim_repo

    monkeypatch.setattr(aim_repo, "CHUNK_ROWS", 1)  # a run a chunk
    run = aim.Run(repo=str(tmp_path), experiment="sft", system_tracking_interval=None, log_system_params=False,
                  capture_terminal_logs=False)  # fmt: skip
    run["hparams"] = {"lr": 2e-5, "optimizer": {"name": "adamw", "betas": [0.9, 0.95]}}
    for step in range(4):
        run.track([2.0, 1.5, float("nan"), 1.0][step], name="loss", step=step, epoch=step // 2,
                  context={"subset": "train"})  # fmt: skip
        run.track(0.5 + step / 10, name="accuracy", step=step)
    run.track(87.5, name="__system__gpu", step=0, context={"gpu": 0})
    run.add_tag("baseline")
    run_hash = run.hash
    run.close()
    other = aim.Run(repo=str(tmp_path), experiment="sft", system_tracking_interval=None, log_system_params=False,
                    capture_terminal_logs=False)  # fmt: skip
    other.track(3.0, name="loss", step=0)
    other.close()
    before = _digest(tmp_path / ".aim")
    with llmlens.open(":memory:") as lens:
        report = lens.load(tmp_path, progress=False)
        assert [(Path(f.path).name, f.format) for f in report.files] == [("run_metadata.sqlite", "aim")]
        run_id = f"aim:{run_hash}"
        assert lens.con.execute("SELECT count(*) FROM metrics WHERE run_id <> ?", [run_id]).fetchall() == [(1,)]
        rows = lens.con.execute(
            "SELECT run_id, key, step, value, seq FROM metrics WHERE run_id = ? ORDER BY key, step", [run_id]
        ).fetchall()
        assert {r[0] for r in rows} == {run_id} and all(r[2] == r[4] for r in rows)
        series: dict[str, list[tuple[int, float]]] = {}
        for _, key, step, value, _ in rows:
            series.setdefault(key, []).append((step, value))
        assert series["accuracy"] == [(s, pytest.approx(0.5 + s / 10)) for s in range(4)]
        assert series["epoch"] == [(0, 0.0), (1, 0.0), (2, 1.0), (3, 1.0)]
        assert series["system/gpu.0.utilization"] == [(0, 87.5)]
        loss = series["loss{subset=train}"]
        assert [s for s, _ in loss] == [0, 1, 2, 3] and math.isnan(loss[2][1]) and loss[3] == (3, 1.0)
        params = dict(lens.con.execute("SELECT key, value FROM params WHERE run_id = ?", [run_id]).fetchall())
        assert params == {"hparams.lr": "2e-05", "hparams.optimizer.name": "adamw",
                          "hparams.optimizer.betas": "[0.9, 0.95]"}  # fmt: skip
        ((project, status, tags, started, ended),) = lens.con.execute(
            "SELECT project, status, tags, started_at, ended_at FROM runs WHERE run_id = ?", [run_id]
        ).fetchall()
        assert (project, status, tags) == ("sft", "finished", ["baseline"]) and started <= ended
        assert lens.con.execute("SELECT min(wall_time) >= ? FROM metrics WHERE run_id = ?",
                                [started, run_id]).fetchall() == [(True,)]  # fmt: skip
        assert lens.tables()["runs"] == 2
        assert lens.load(tmp_path, progress=False).files[0].rows_added["metrics"] == 0  # each point once
    assert _digest(tmp_path / ".aim") == before


def test_an_aim_repository_without_the_aim_package_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    folder = tmp_path / ".aim"
    folder.mkdir()
    (folder / "VERSION").write_text("1.3")
    with sqlite3.connect(folder / "run_metadata.sqlite") as db:  # the tables Aim's metadata database has
        db.executescript("CREATE TABLE run (id INTEGER); CREATE TABLE experiment (id INTEGER); "
                         "CREATE TABLE run_tag (run_id INTEGER, tag_id INTEGER);")  # fmt: skip
    monkeypatch.setitem(sys.modules, "aim", None)  # as if it were not installed
    with llmlens.open(":memory:") as lens:
        with pytest.raises(llmlens.LensError, match=r"needs the aim package.*pip install aim"):
            lens.load(tmp_path, progress=False)
        assert lens.tables().get("sources", 0) == 0
