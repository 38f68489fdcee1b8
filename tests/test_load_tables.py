"""Run logs as metric tables: long and wide tables in CSV, JSON Lines and Parquet, and W&B history exports."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import llmlens
from llmlens.loaders import metric_tables
from llmlens.loaders.detect import sniff

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

# one long table: two runs, two metrics, a NaN and an infinity, times in three spellings
LONG = [
    {"run": "sft-a", "key": "train/loss", "step": 10, "value": 2.5, "time": "2025-03-01T12:00:00Z"},
    {"run": "sft-a", "key": "train/loss", "step": 20, "value": float("nan"), "time": "2025-03-01T12:00:10+00:00"},
    {"run": "sft-a", "key": "eval/acc", "step": 20, "value": float("inf"), "time": "1740830410"},
    {"run": "sft-b", "key": "train/loss", "step": 10, "value": 2.75, "time": "1740830400000"},
    {"run": "sft-b", "key": "train/loss", "step": 20, "value": -1e-300, "time": "2025-03-01 12:00:10"},
]
TIMES = [T0, T0 + dt.timedelta(seconds=10), T0 + dt.timedelta(seconds=10), T0, T0 + dt.timedelta(seconds=10)]


def _write_csv(path: Path, rows: list[dict[str, Any]], names: list[str] | None = None) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=names or list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _points(lens: llmlens.Lens, source: int | None = None) -> list[tuple[Any, ...]]:
    where = "" if source is None else f"WHERE source_id = {int(source)}"
    return [tuple(r) for r in lens.con.execute(
        f"SELECT run_id, key, step, wall_time, value, seq FROM metrics {where} ORDER BY run_id, key, step, seq"
    ).fetchall()]  # fmt: skip


def _same(got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> bool:
    """Equal rows, NaN equal to NaN."""

    def norm(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in row)

    return [norm(r) for r in got] == [norm(r) for r in want]


EXPECTED = sorted(
    [
        (f"{r['run']}", r["key"], r["step"], t, r["value"], seq)
        for seq, (r, t) in enumerate(zip(LONG, TIMES, strict=True))
    ],
    key=lambda p: (p[0], p[1], p[2], p[5]),
)


def test_a_long_csv_loads_every_point_with_nan_and_infinities_kept(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "runs.csv", LONG)
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False)
        assert report.files[0].format == "metrics-long" and report.files[0].status == "loaded"
        points = _points(lens)
        assert len(points) == 5 and _same(points, EXPECTED)
        runs = lens.con.execute("SELECT run_id, name, started_at, ended_at FROM runs ORDER BY run_id").fetchall()
        assert runs == [("sft-a", "sft-a", T0, T0 + dt.timedelta(seconds=10)),
                        ("sft-b", "sft-b", T0, T0 + dt.timedelta(seconds=10))]  # fmt: skip
        assert report.files[0].notes == ["2 points are NaN or infinite (kept as logged)"]


def test_long_tables_read_the_same_from_csv_json_lines_and_parquet(tmp_path: Path) -> None:
    """Synonyms for every role (run_id, metric, global_step, timestamp) and the three containers."""
    renamed = [{"run_id": r["run"], "metric": r["key"], "global_step": r["step"], "value": r["value"],
                "timestamp": r["time"]} for r in LONG]  # fmt: skip
    csv_path = _write_csv(tmp_path / "a.csv", renamed)
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in renamed))  # json.dumps writes NaN and Infinity
    parquet = tmp_path / "c.parquet"
    table = pa.table({"run_id": [r["run"] for r in LONG], "metric": [r["key"] for r in LONG],
                      "global_step": pa.array([r["step"] for r in LONG], pa.int32()),
                      "value": [r["value"] for r in LONG],
                      "timestamp": pa.array(TIMES, pa.timestamp("ms", "UTC"))})  # fmt: skip
    pq.write_table(table, parquet)
    for path in (csv_path, jsonl, parquet):
        with llmlens.open(":memory:") as lens:
            report = lens.load(path, progress=False)
            assert (report.files[0].format, report.files[0].rejected) == ("metrics-long", 0), path.name
            assert _same(_points(lens), EXPECTED), path.name


def _wide_rows() -> list[dict[str, Any]]:
    return [
        {"experiment": "lr-1e-4", "iter": 1, "ts": "2025-03-01T12:00:00Z", "loss": 2.0, "acc": "", "note": "warmup"},
        {"experiment": "lr-1e-4", "iter": 2, "ts": "2025-03-01T12:00:10Z", "loss": "nan", "acc": 0.5, "note": ""},
        {"experiment": "lr-1e-4", "iter": 3, "ts": "2025-03-01T12:00:20Z", "loss": "1.5x", "acc": 0.6, "note": "ok"},
        {"experiment": "lr-3e-4", "iter": 1, "ts": "2025-03-01T12:00:00Z", "loss": 1.9, "acc": "-inf", "note": ""},
    ]


def test_the_columns_mapping_names_unusual_columns_and_is_recorded(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "sweep.csv", _wide_rows())
    mapping = {"run": "experiment", "step": "iter", "time": "ts"}
    with llmlens.open(":memory:") as lens:
        with pytest.raises(llmlens.LensError, match="cannot tell the format"):
            lens.load(path, progress=False)  # no step column under a usual name
        report = lens.load(path, progress=False, columns=mapping)
        assert report.files[0].format == "metrics-wide"
        assert json.loads(lens.con.execute("SELECT options FROM sources").fetchall()[0][0]) == {"columns": mapping}
        points = lens.con.execute(
            "SELECT run_id, key, step, value, seq FROM metrics ORDER BY run_id, key, step").fetchall()  # fmt: skip
        assert _same(points, [("lr-1e-4", "acc", 2, 0.5, 1), ("lr-1e-4", "acc", 3, 0.6, 2),
                              ("lr-1e-4", "loss", 1, 2.0, 0), ("lr-1e-4", "loss", 2, float("nan"), 1),
                              ("lr-3e-4", "acc", 1, float("-inf"), 3), ("lr-3e-4", "loss", 1, 1.9, 3)])  # fmt: skip
        # the bad cell is rejected where it is; the rest of its row loads; the text column is not a metric
        assert lens.con.execute("SELECT location, reason, line, excerpt FROM rejects").fetchall() == [
            ("line 4, column loss", "not a number: 1.5x", 4, "1.5x")]  # fmt: skip
        attributes = json.loads(
            lens.con.execute("SELECT attributes FROM runs WHERE run_id = 'lr-1e-4'").fetchall()[0][0]
        )
        assert attributes["skipped_columns"] == ["note"] and attributes["format"] == "metrics-wide"
    with llmlens.open(":memory:") as lens:  # (a file already loaded is skipped, whatever the columns)
        with pytest.raises(llmlens.LensError, match="no column 'iteration'"):
            lens.load(path, progress=False, columns={"step": "iteration"}, format="metrics-wide")
        with pytest.raises(llmlens.LensError, match="unknown role 'epoch'"):
            lens.load(path, progress=False, columns={"epoch": "iter"}, format="metrics-wide")


def test_a_wide_parquet_without_a_run_column_is_one_run_the_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.parquet"
    table = pa.table({
        "step": pa.array([0, 1, 2], pa.int64()),
        "loss": pa.array([1.0, None, float("nan")]),  # a null cell: not logged at that step
        "tokens": pa.array([100, 200, None], pa.int64()),
        "phase": ["a", "b", "c"],  # text: not a metric
        "grad_hist": pa.array([[1.0, 2.0], None, [3.0]]),  # a list: not read
        "ratio": ["0.5", "0.25", "bad"],  # numbers as text: read, the bad one rejected with its row
    })  # fmt: skip
    pq.write_table(table, path)
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False)
        assert report.files[0].format == "metrics-wide"
        run_id = f"table:{path}"
        assert _same(
            lens.con.execute("SELECT run_id, key, step, value, seq FROM metrics ORDER BY key, step").fetchall(),
            [(run_id, "loss", 0, 1.0, 0), (run_id, "loss", 2, float("nan"), 2), (run_id, "ratio", 0, 0.5, 0),
             (run_id, "ratio", 1, 0.25, 1), (run_id, "tokens", 0, 100.0, 0), (run_id, "tokens", 1, 200.0, 1)],
        )  # fmt: skip
        assert lens.con.execute("SELECT location, line, reason FROM rejects").fetchall() == [
            ("row 3, column ratio", None, "not a number: bad")]  # fmt: skip
        ((name, project, attributes),) = lens.con.execute("SELECT name, project, attributes FROM runs").fetchall()
        assert (name, project) == ("metrics", tmp_path.name)
        assert json.loads(attributes)["skipped_columns"] == ["grad_hist", "phase"]


def _wandb_history_frame() -> Any:
    """What ``run.history()`` / ``scan_history()`` return: W&B's rows as a DataFrame (``_step``, ``_runtime``,
    ``_timestamp``, nested keys as logged, sparse columns, a media column of dicts)."""
    import pandas as pd

    rows = [
        {"_step": 0, "_runtime": 1.5, "_timestamp": 1740830400.25, "train/loss": 2.0, "lr": 1e-4},
        {"_step": 1, "_runtime": 2.5, "_timestamp": 1740830401.25, "train/loss": 1.5},
        {"_step": 2, "_runtime": 3.5, "_timestamp": 1740830402.25, "eval.acc": 0.5,
         "samples": {"_type": "table-file", "path": "media/table.json"}},
        {"_step": 3, "_runtime": 4.5, "_timestamp": 1740830403.25, "train/loss": float("inf")},
    ]  # fmt: skip
    return pd.DataFrame.from_records(rows)


def test_a_wandb_history_export_loads_from_csv_and_parquet(tmp_path: Path) -> None:
    frame = _wandb_history_frame()
    frame.to_csv(tmp_path / "history.csv")  # with pandas' index column
    frame.assign(samples=frame["samples"].map(lambda v: json.dumps(v) if isinstance(v, dict) else None)).to_parquet(
        tmp_path / "history.parquet"
    )
    expected_keys = {("eval.acc", 2): 0.5, ("lr", 0): 1e-4, ("train/loss", 0): 2.0, ("train/loss", 1): 1.5,
                     ("train/loss", 3): float("inf")}  # fmt: skip
    for name in ("history.csv", "history.parquet"):
        path = tmp_path / name
        with llmlens.open(":memory:") as lens:
            report = lens.load(path, progress=False)
            assert (report.files[0].format, report.files[0].rejected) == ("wandb-export", 0), name
            rows = lens.con.execute("SELECT run_id, key, step, wall_time, value, seq FROM metrics").fetchall()
            assert {(r[1], r[2]): r[4] for r in rows} == expected_keys, name  # _runtime and the media are not metrics
            for run_id, _key, step, wall_time, _value, seq in rows:
                assert run_id == f"wandb:{path}"
                assert wall_time == dt.datetime.fromtimestamp(1740830400.25 + step, UTC)
                assert seq == round((1740830400.25 + step) * 1e6)  # as a run read from its .wandb file
            attributes = json.loads(lens.con.execute("SELECT attributes FROM runs").fetchall()[0][0])
            assert attributes["skipped_columns"] == ["_runtime", "samples"], name


def test_a_wandb_export_with_a_run_column_names_wandb_runs(tmp_path: Path) -> None:
    frame = _wandb_history_frame()[["_step", "_timestamp", "train/loss"]]
    frame.insert(0, "run_id", ["demo/abc123"] * 2 + ["demo/def456"] * 2)
    frame.to_parquet(tmp_path / "project.parquet", index=False)
    with llmlens.open(":memory:") as lens:
        lens.load(tmp_path / "project.parquet", progress=False)
        assert lens.con.execute("SELECT run_id, count(*) FROM metrics GROUP BY ALL ORDER BY 1").fetchall() == [
            ("wandb:demo/abc123", 2), ("wandb:demo/def456", 1)]  # fmt: skip


def test_detection_tells_long_wide_wandb_and_lightning_apart() -> None:
    assert sniff(b"run,key,step,value\nr,loss,1,0.5\n") == "metrics-long"
    assert sniff(b"run_name,tag,iteration,value,wall_time\n") == "metrics-long"
    assert sniff(b"run,step,loss,acc\nr,1,0.5,0.1\n") == "metrics-wide"
    assert sniff(b"step,loss\n1,0.5\n") == "metrics-wide"
    assert sniff(b",_step,_runtime,_timestamp,train/loss\n0,0,1.0,1.7e9,0.5\n") == "wandb-export"
    assert sniff(b"epoch,step,train_loss,val_loss\n0,49,0.9,\n") == "lightning-csv"  # Lightning's CSVLogger
    assert sniff(b"epoch,run,step,loss\n") == "metrics-wide"  # a run column: not one Lightning run
    assert sniff(b'{"step": 1, "epoch": 0, "loss": 0.5}\n') == "metrics-wide"  # Lightning writes no JSON
    assert sniff(b"experiment,iter,loss\n", {"run": "experiment", "step": "iter"}) == "metrics-wide"
    assert sniff(b"experiment,iter,loss\n") is None
    assert sniff(b"a, b\nnotes, more notes\n") is None
    assert sniff(b"name,value\nlr,0.1\n") is None  # names and values, no steps: not told to be metrics
    assert sniff(b"epoch,step,loss\n", {"step": "nope"}) is None  # the mapping does not fit this file


def test_rejects_name_their_line_and_column_and_the_rest_loads(tmp_path: Path) -> None:
    path = tmp_path / "damaged.csv"
    path.write_text(
        "run,key,step,value,time\n"
        "a,loss,1,0.5,2025-03-01T12:00:00Z\n"
        "a,loss,1.5,0.4,2025-03-01T12:00:00Z\n"  # a step that is not whole
        "a,loss,2,0.3,yesterday\n"  # a time that is not one
        ",loss,3,0.3,\n"  # no run
        "a,,3,0.3,\n"  # no metric name
        "a,loss,4,0.2,,extra\n"  # more cells than columns
        "a,loss,5,zero,\n"  # not a number
        '"a","loss, smoothed",6,"0.1",\n'  # quoted cells (a comma inside one)
        "\n"
        "a,loss,7,0.05,\n"
    )
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False)
        assert report.files[0].status == "partly" and report.files[0].rejected == 6
        rejects = lens.con.execute("SELECT location, reason, line, byte_offset FROM rejects ORDER BY line").fetchall()
        offsets = [0, *[i + 1 for i, c in enumerate(path.read_bytes()) if c == ord("\n")]]
        assert [r[:3] for r in rejects] == [
            ("line 3, column step", "step is not a whole number: 1.5", 3),
            ("line 4, column time", "not a time (ISO 8601, or unix seconds, ms, µs or ns): yesterday", 4),
            ("line 5, column run", "no run: the run column is empty", 5),
            ("line 6, column key", "no metric name: the key column is empty", 6),
            ("line 7", "more cells (6) than the header has columns (5)", 7),
            ("line 8, column value", "not a number: zero", 8),
        ]
        assert all(offset == offsets[line - 1] for _, _, line, offset in rejects)
        assert [(r[1], r[2]) for r in _points(lens)] == [("loss", 1), ("loss", 7), ("loss, smoothed", 6)]


def test_a_step_that_goes_back_marks_the_points_it_supersedes(tmp_path: Path) -> None:
    rows = [{"run": "r", "key": "loss", "step": s, "value": v} for s, v in [(1, 1.0), (2, 0.9), (3, 0.8), (2, 0.85)]]
    path = _write_csv(tmp_path / "resumed.csv", rows)
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False)
        assert lens.con.execute("SELECT step, value, superseded FROM metrics ORDER BY seq").fetchall() == [
            (1, 1.0, False), (2, 0.9, True), (3, 0.8, True), (2, 0.85, False)]  # fmt: skip
        assert "2 points superseded by a restart (kept, marked superseded)" in report.files[0].notes


def test_big_tables_load_chunk_by_chunk_to_the_same_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"run": f"r{i % 3}", "step": i, "loss": i / 7, "acc": "" if i % 2 else i / 11} for i in range(400)]
    csv_path = _write_csv(tmp_path / "wide.csv", rows)
    parquet = tmp_path / "wide.parquet"
    pq.write_table(pa.Table.from_pylist([{**r, "acc": r["acc"] or None} for r in rows]), parquet, row_group_size=50)
    with llmlens.open(":memory:") as lens:
        lens.load(csv_path, parquet, progress=False)
        whole = [_points(lens, 1), _points(lens, 2)]
    monkeypatch.setattr(metric_tables, "TEXT_CHUNK_BYTES", 1000)  # each chunk starts with the header again
    monkeypatch.setattr(metric_tables, "PARQUET_CHUNK_CELLS", 100)
    with llmlens.open(":memory:") as lens:
        lens.load(csv_path, parquet, progress=False)
        assert [_points(lens, 1), _points(lens, 2)] == whole and len(whole[0]) == 600
        assert lens.con.execute("SELECT count(*) FROM rejects").fetchall() == [(0,)]


def test_column_names_are_data_never_sql(tmp_path: Path) -> None:
    hostile = ["step", "x'); DROP TABLE metrics; --", 'a"b', "$source_id", "c0"]
    path = tmp_path / "hostile.csv"
    with path.open("w", newline="") as file:
        csv.writer(file).writerows([hostile, [1, 0.5, 0.25, 0.125, 2.0]])
    parquet = tmp_path / "hostile.parquet"
    pq.write_table(pa.table({name: [1 if name == "step" else 0.5] for name in hostile}), parquet)
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, parquet, progress=False)
        assert [f.rows_added["metrics"] for f in report.files] == [4, 4]
        assert sorted({k for (k,) in lens.con.execute("SELECT key FROM metrics").fetchall()}) == sorted(hostile[1:])


def test_a_table_does_not_replace_a_run_the_store_already_holds(tmp_path: Path) -> None:
    first = _write_csv(tmp_path / "first.csv", LONG[:2])
    second = _write_csv(tmp_path / "second.csv", [{**LONG[0], "step": 30}])
    with llmlens.open(":memory:") as lens:
        lens.load(first, second, progress=False)
        ((attributes,),) = lens.con.execute("SELECT attributes FROM runs").fetchall()
        assert json.loads(attributes)["file"] == str(first)
        assert lens.con.execute("SELECT count(*) FROM metrics WHERE run_id = 'sft-a'").fetchall() == [(3,)]


def test_the_command_line_takes_the_columns_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from llmlens.cli import main

    path = _write_csv(tmp_path / "sweep.csv", _wide_rows())
    store = tmp_path / "store.duckdb"
    assert main(["load", "--db", str(store), "--columns", "run=experiment, step=iter, time=ts", str(path)]) == 0
    with llmlens.open(store, read_only=True) as lens:
        assert lens.con.execute("SELECT count(*) FROM metrics").fetchall() == [(6,)]
    assert main(["load", "--db", str(store), "--columns", "experiment", str(path)]) == 1
    assert "'experiment' is not role=column" in capsys.readouterr().err
