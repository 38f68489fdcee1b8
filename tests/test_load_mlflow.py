"""MLflow runs written by the real ``mlflow`` package, in both of its stores: the ``mlruns/`` file store and the
SQLite SQL store (the default since MLflow 3.7); plus hand-damaged copies of the file store, one per failure."""

from __future__ import annotations

import math
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmlens
from llmlens.loaders import LoadError

LOSS = [2.0, 1.5, float("nan"), float("inf"), -float("inf"), 0.25]
HISTORY = [0.1, 0.2, 0.3, 0.4, 0.5]  # logged in one batch, all at the same millisecond
T0 = 1_700_000_000_000


@pytest.fixture(scope="module", autouse=True)
def _file_store_allowed() -> Iterator[None]:
    """MLflow 3.13+ refuses to write the file store unless asked to."""
    previous = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    yield
    if previous is None:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    else:
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = previous


def _log_sweep(uri: str) -> dict[str, Any]:
    """Two experiments; a parent run with nested keys, NaN and infinities, a restart, a history logged in one batch
    at one timestamp, a point with a dataset, params, tags and a system metric; a failed child; a deleted run; a
    killed run; a deleted experiment. Returns run ids by name and every point as MLflow itself reads it back."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=uri)
    sft = client.create_experiment("sft")
    parent = client.create_run(sft, run_name="lr3e-4", tags={"team": "nlp"}).info.run_id
    for step, loss in enumerate(LOSS):
        client.log_metric(parent, "train/loss", loss, step=step, timestamp=T0 + 1000 * step)
    for step in (4, 5):  # resumed from the checkpoint at step 4: the steps go back
        client.log_metric(parent, "train/loss", 9.0 + step, step=step, timestamp=T0 + 60_000 + step)
    client.log_batch(parent, metrics=[Metric("eval/acc", v, T0 + 7000, step) for step, v in enumerate(HISTORY)])
    client.log_metric(parent, "eval/f1", 0.5, step=1, timestamp=T0 + 8000, dataset_name="val", dataset_digest="abc")
    client.log_metric(parent, "system/gpu_0_utilization_percentage", 97.0, step=0, timestamp=T0)
    client.log_param(parent, "optimizer.lr", "0.0003")
    client.log_param(parent, "batch_size", "32")
    client.set_terminated(parent, "FINISHED", end_time=T0 + 120_000)
    child = client.create_run(sft, run_name="eval", tags={"mlflow.parentRunId": parent}).info.run_id
    client.log_metric(child, "eval/accuracy", 0.75, step=3, timestamp=T0 + 5)
    client.set_terminated(child, "FAILED")
    deleted = client.create_run(sft, run_name="oops").info.run_id
    client.delete_run(deleted)
    other = client.create_experiment("pretrain")
    lone = client.create_run(other, run_name="baseline").info.run_id
    client.log_metric(lone, "loss", 3.0, step=0, timestamp=T0)
    client.set_terminated(lone, "KILLED", end_time=T0 + 1000)
    gone = client.create_experiment("abandoned")
    client.log_metric(client.create_run(gone).info.run_id, "loss", 1.0)
    client.delete_experiment(gone)
    ids = {"parent": parent, "child": child, "deleted": deleted, "lone": lone}
    points = {
        # MLflow's file store reads a point logged with a dataset (five fields) back at step 0, whatever its step:
        # the step it wrote is the one logged (and the SQL store's)
        (f"mlflow:{run}", key, 1 if key == "eval/f1" else m.step, m.timestamp, m.value)
        for run in ids.values()
        for key in client.get_run(run).data.metrics
        for m in client.get_metric_history(run, key)
    }
    users = {name: client.get_run(run).info.user_id for name, run in ids.items()}
    return {"ids": ids, "points": points, "users": users}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mlflow")
    return {
        "root": root,
        "files": _log_sweep(f"file:{root / 'mlruns'}"),
        "sqlite": _log_sweep(f"sqlite:///{root / 'mlflow.db'}"),
    }


def _source(stores: dict[str, Any], store: str) -> Path:
    return Path(stores["root"] / ("mlruns" if store == "files" else "mlflow.db"))


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _as_mlflow_reads(value: float, store: str) -> float:
    """The SQL store keeps infinities as the largest double, and MLflow reads them back so; llmlens restores them."""
    return math.copysign(1.7976931348623157e308, value) if store == "sqlite" and math.isinf(value) else value


@pytest.mark.parametrize("store", ["files", "sqlite"])
def test_every_run_and_point_of_both_stores_loads(tmp_path: Path, stores: dict[str, Any], store: str) -> None:
    logged = stores[store]
    ids = logged["ids"]
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(_source(stores, store), progress=False)
        assert {f.format for f in report.files if not f.skipped} == {"mlflow" if store == "files" else "mlflow-sqlite"}
        assert report.rejected == 0
        points = lens.con.execute("SELECT run_id, key, step, epoch_ms(wall_time), value FROM metrics").fetchall()
        loaded = {(run, key.replace("system/gpu.0.utilization", "system/gpu_0_utilization_percentage"), step, ms,
                   _as_mlflow_reads(value, store)) for run, key, step, ms, value in points}  # fmt: skip
        assert len(points) == 17 == len(logged["points"])
        nan = {p for p in logged["points"] if math.isnan(p[4])}
        assert {p for p in loaded if not math.isnan(p[4])} == logged["points"] - nan, "point for point as MLflow reads"
        assert {p[:4] for p in loaded if math.isnan(p[4])} == {p[:4] for p in nan}

        parent = f"mlflow:{ids['parent']}"
        loss = lens.con.execute(
            "SELECT step, value, epoch_ms(wall_time), superseded FROM metrics WHERE run_id = ? AND key = 'train/loss' "
            "ORDER BY seq", [parent]).fetchall()  # fmt: skip
        want = [(step, value, T0 + 1000 * step) for step, value in enumerate(LOSS)]
        want += [(4, 13.0, T0 + 60_004), (5, 14.0, T0 + 60_005)]
        assert len(loss) == len(want)
        for (step, value, ms, superseded), (want_step, want_value, want_ms) in zip(loss, want, strict=True):
            assert (step, ms) == (want_step, want_ms) and _same(value, want_value)
            assert superseded == (step in (4, 5) and ms < T0 + 60_000), "the restart marks what it logged again"
        history = lens.con.execute(
            "SELECT step, value, superseded FROM metrics WHERE run_id = ? AND key = 'eval/acc' ORDER BY seq", [parent]
        ).fetchall()
        assert history == [(step, value, False) for step, value in enumerate(HISTORY)], "one millisecond, in order"
        system = lens.con.execute("SELECT key, value FROM metrics WHERE key LIKE 'system/%'").fetchall()
        assert system == [("system/gpu.0.utilization", 97.0)]

        runs = {row[0]: row[1:] for row in lens.con.execute(
            "SELECT name, project, status, tags, attributes->>'parent_run_id', epoch_ms(ended_at), "
            "attributes->>'user', attributes->'tags'->>'mlflow.runName' FROM runs").fetchall()}  # fmt: skip
        assert set(runs) == {"lr3e-4", "eval", "oops", "baseline"}, "the deleted experiment stays out"
        assert runs["lr3e-4"][:5] == ("sft", "finished", ["team=nlp"], None, T0 + 120_000)
        assert runs["lr3e-4"][5:] == (logged["users"]["parent"], "lr3e-4")
        assert runs["eval"][1] == "failed" and runs["eval"][3] == ids["parent"]
        assert runs["oops"][2] == ["deleted"] and runs["baseline"][:2] == ("pretrain", "killed")
        params = dict(lens.con.execute("SELECT key, value FROM params WHERE run_id = ?", [parent]).fetchall())
        assert params == {"optimizer.lr": "0.0003", "batch_size": "32"}

        again = lens.load(_source(stores, store), progress=False)
        reloaded = [f.skipped for f in again.files if f.format]
        assert len(reloaded) == len([f for f in report.files if f.format])
        assert all(why and why.startswith("same content") for why in reloaded)
        assert lens.tables()["metrics"] == 17


def test_the_experiment_meta_yaml_is_read_with_its_runs_and_never_alone(tmp_path: Path, stores: dict[str, Any]) -> None:
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(stores["root"] / "mlruns", progress=False)
        loaded = sorted(Path(f.path).parent.name for f in report.files if f.format == "mlflow")
        assert loaded == sorted(stores["files"]["ids"].values()), "one source per run, entered through meta.yaml"
        skipped = [Path(f.path) for f in report.files if f.skipped]
        assert stores["root"] / "mlruns" / "0" / "meta.yaml" in skipped, "the Default experiment has no runs"
        assert not [p for p in skipped if p.name == "meta.yaml" and p.parent.name != "0"], "the others are covered"


def test_a_grown_run_loads_only_its_new_points(tmp_path: Path, stores: dict[str, Any]) -> None:
    root = tmp_path / "mlruns"
    shutil.copytree(stores["root"] / "mlruns", root)
    (metrics,) = list(root.rglob("metrics/eval/accuracy"))
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        lens.load(root, progress=False)
        with metrics.open("a") as file:
            file.write(f"{T0 + 9} 0.8 4\n")  # what MLflow appends for log_metric(..., step=4)
        report = lens.load(root, progress=False)
        assert [f.rows_added["metrics"] for f in report.files if f.rows_added] == [1]
        assert lens.sql("SELECT count(*) AS n FROM metrics WHERE key = 'eval/accuracy'").n[0] == 2


def test_a_grown_sqlite_store_loads_only_its_new_points(tmp_path: Path, stores: dict[str, Any]) -> None:
    from mlflow import MlflowClient

    db = tmp_path / "mlflow.db"
    shutil.copy(stores["root"] / "mlflow.db", db)
    parent = stores["sqlite"]["ids"]["parent"]
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        lens.load(db, progress=False)
        client = MlflowClient(tracking_uri=f"sqlite:///{db}")
        client.log_metric(parent, "train/loss", 0.125, step=6, timestamp=T0 + 61_000)
        client.log_metric(parent, "eval/acc", 0.6, step=5, timestamp=T0 + 7000)  # the batch's millisecond again
        report = lens.load(db, progress=False)
        assert report.files[0].rows_added["metrics"] == 2 and report.rejected == 0
        added = lens.con.execute(
            "SELECT key, step, value, superseded FROM metrics WHERE source_id = (SELECT max(source_id) FROM sources) "
            "ORDER BY key").fetchall()  # fmt: skip
        assert added == [("eval/acc", 5, 0.6, False), ("train/loss", 6, 0.125, False)]
        assert lens.tables()["metrics"] == 19 and lens.tables()["runs"] == 4


def test_bad_metric_lines_are_rejected_with_their_file_and_line_and_the_rest_loads(
    tmp_path: Path, stores: dict[str, Any]
) -> None:
    root = tmp_path / "mlruns"
    shutil.copytree(stores["root"] / "mlruns", root)
    run = next(p.parent.parent.parent for p in root.rglob("metrics/train/loss"))
    loss = run / "metrics" / "train" / "loss"
    lines = loss.read_bytes().splitlines(keepends=True)
    lines[0] = f"{T0} 2.0 0 extra\n".encode()  # four fields
    lines[1] = b"1 2  3\n"  # two spaces in a row
    lines[2] = f"{T0} many 2\n".encode()
    lines[3] = f"{T0} 0.5 3.5\n".encode()
    lines[4] = b"99999999999999999 0.5 4\n"  # beyond the year 2255
    lines[5] = f"{T0} caf\xe9 5\n".encode("latin-1")  # not UTF-8
    lines[-1] = lines[-1].rstrip(b"\n")  # cut off while being written
    loss.write_bytes(b"".join(lines))
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(root, progress=False)
        rejects = lens.con.execute(
            "SELECT location, line, byte_offset, reason FROM rejects ORDER BY line").fetchall()  # fmt: skip
        where = f"{run.name}/metrics/train/loss line "
        assert [(loc, line) for loc, line, _, _ in rejects] == [(where + str(n), n) for n in (1, 2, 3, 4, 5, 6, 8)]
        assert [offset for _, _, offset, _ in rejects][:2] == [0, len(lines[0])]
        reasons = [reason for _, _, _, reason in rejects]
        assert "found 4 fields" in reasons[0] and "single spaces" in reasons[1] and "not a number" in reasons[2]
        assert "step is not a whole number" in reasons[3] and "out of range" in reasons[4]
        assert "UTF-8" in reasons[5] and "no line end" in reasons[6]
        kept = lens.con.execute("SELECT step, value FROM metrics WHERE key = 'train/loss'").fetchall()
        assert kept == [(4, 13.0)], "line 7 loads"
        assert [f.status for f in report.files if f.rejected] == ["partly"]
        with loss.open("ab") as file:
            file.write(b"\n")  # the cut line completed
        lens.load(root, progress=False)
        assert lens.con.execute("SELECT step FROM metrics WHERE key = 'train/loss' ORDER BY step").fetchall() == [
            (4,), (5,)]  # fmt: skip


def test_a_run_folder_without_meta_yaml_loads_once_with_a_located_reject(
    tmp_path: Path, stores: dict[str, Any]
) -> None:
    root = tmp_path / "mlruns"
    shutil.copytree(stores["root"] / "mlruns", root)
    parent = root / next(p.parent.parent.parent.relative_to(root) for p in root.rglob("metrics/train/loss"))
    (parent / "meta.yaml").unlink()
    first = parent / "metrics" / "eval" / "acc"  # the first metrics file, by name
    first.write_text("garbage\n" + first.read_text())
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(root, progress=False)
        entered = [f for f in report.files if f.format == "mlflow" and Path(f.path).is_relative_to(parent)]
        assert [Path(f.path) for f in entered] == [first], "loaded once, through its first metrics file"
        rejects = lens.con.execute("SELECT location, line, reason FROM rejects ORDER BY location").fetchall()
        assert rejects[0][:2] == (f"{parent.name}/meta.yaml", None) and "without meta.yaml" in rejects[0][2]
        assert rejects[1][:2] == (f"{parent.name}/metrics/eval/acc line 1", 1) and len(rejects) == 2
        run = lens.con.execute(
            "SELECT name, project, status, started_at, tags FROM runs WHERE run_id = ?", [f"mlflow:{parent.name}"]
        ).fetchall()
        assert run == [("lr3e-4", "sft", None, None, ["team=nlp"])], "name, project and tags from the other files"
        assert lens.sql("SELECT count(*) AS n FROM metrics WHERE run_id = ?", [f"mlflow:{parent.name}"]).n[0] == 15


def test_a_run_with_twenty_thousand_metric_keys_loads(tmp_path: Path) -> None:
    """Per-layer metrics: 20,000 keys in nested folders, logged by MLflow in batches. (100,000 such keys load in
    about 30 s on two cores, half of it the folder walk and content hash every run folder gets.)"""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=f"file:{tmp_path / 'mlruns'}")
    run = client.create_run(client.create_experiment("wide")).info.run_id
    keys = 20_000
    for start in range(0, keys, 1000):
        client.log_batch(run, metrics=[Metric(f"layers/{k}/grad_norm", k + 0.5, T0 + k, k % 7)
                                       for k in range(start, start + 1000)])  # fmt: skip
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(tmp_path / "mlruns", progress=False)
        assert [f.rows_added["metrics"] for f in report.files if f.rows_added] == [keys] and report.rejected == 0
        last = lens.con.execute("SELECT step, value, epoch_ms(wall_time) FROM metrics WHERE key = ?",
                                [f"layers/{keys - 1}/grad_norm"]).fetchall()  # fmt: skip
        assert last == [((keys - 1) % 7, keys - 0.5, T0 + keys - 1)]


def test_a_sqlite_file_that_is_not_an_mlflow_store_is_not_taken_for_one(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE runs (run_uuid TEXT, name TEXT)")
        con.execute("CREATE TABLE metrics (key TEXT, value REAL)")
    with llmlens.open(tmp_path / "store.duckdb") as lens, pytest.raises(LoadError, match="cannot tell the format"):
        lens.load(other, progress=False)


def test_a_damaged_sqlite_store_fails_with_its_path(tmp_path: Path, stores: dict[str, Any]) -> None:
    db = tmp_path / "mlflow.db"
    shutil.copy(stores["root"] / "mlflow.db", db)
    with sqlite3.connect(db) as con:
        con.execute("DROP TABLE params")
        con.execute("CREATE TABLE params (key TEXT)")  # MLflow's tables, not its columns
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        with pytest.raises(LoadError, match=r"mlflow\.db: cannot read MLflow's tables"):
            lens.load(db, progress=False)
        assert lens.tables()["runs"] == 0, "nothing of it is written"


def test_a_run_of_more_than_a_row_group_of_points_dedupes_on_reload(tmp_path: Path) -> None:
    """130,000 points of one key (more than DuckDB's 122,880-row group; see llmlens.loaders.mlflow_runs on why the
    points come before the run's description): every point loads, and loading the grown file adds only the new one."""
    run = tmp_path / "mlruns" / "1" / ("ab" * 16)
    (run / "metrics" / "train").mkdir(parents=True)
    (run / "meta.yaml").write_text(f"run_id: {'ab' * 16}\nexperiment_id: '1'\nlifecycle_stage: active\nstatus: 1\n")
    points = 130_000
    loss = run / "metrics" / "train" / "loss"
    loss.write_text("".join(f"{T0 + step} {1 / (step + 1)} {step}\n" for step in range(points)))
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        first = lens.load(tmp_path / "mlruns", progress=False)
        assert first.files[0].rows_added["metrics"] == points
        with loss.open("a") as file:
            file.write(f"{T0 + points} 0.0 {points}\n")
        again = lens.load(tmp_path / "mlruns", progress=False)
        assert again.files[0].rows_added["metrics"] == 1
        ((count, superseded, last),) = lens.con.execute(
            "SELECT count(*), count(*) FILTER (WHERE superseded), max(step) FROM metrics").fetchall()  # fmt: skip
        assert (count, superseded, last) == (points + 1, 0, points)


def test_a_run_whose_meta_yaml_is_empty_loads_through_its_metrics_with_a_reject(
    tmp_path: Path, stores: dict[str, Any]
) -> None:
    root = tmp_path / "mlruns"
    shutil.copytree(stores["root"] / "mlruns", root)
    child = stores["files"]["ids"]["child"]
    (meta,) = root.glob(f"*/{child}/meta.yaml")
    meta.write_text("")  # emptied, as by a crash while it was rewritten
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(root, progress=False)
        assert [f.rejected for f in report.files if Path(f.path).is_relative_to(meta.parent)] == [1]
        ((location, reason),) = lens.con.execute("SELECT location, reason FROM rejects").fetchall()
        assert location == f"{child}/meta.yaml" and reason.startswith("meta.yaml holds no mapping")
        run = lens.con.execute("SELECT name, project, attributes->>'parent_run_id' FROM runs WHERE run_id = ?",
                               [f"mlflow:{child}"]).fetchall()  # fmt: skip
        assert run == [("eval", "sft", stores["files"]["ids"]["parent"])]
        assert lens.tables()["metrics"] == 17
