"""Run logs: Hugging Face Trainer state files written by transformers' own TrainerState."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import llmlens

TRAIN = [
    {"loss": 2.31, "grad_norm": 4.5, "learning_rate": 1e-4, "epoch": 0.5, "step": 10},
    {"eval_loss": 2.05, "eval_runtime": 1.5, "eval_samples_per_second": 66.1, "epoch": 0.5, "step": 10},
]
LATER = [
    {"loss": float("nan"), "grad_norm": float("inf"), "learning_rate": 5e-5, "epoch": 1.0, "step": 20},
    {"train_runtime": 31.2, "train_loss": 2.2, "total_flos": 1.5e12, "epoch": 1.0, "step": 20},
]


def _run_folder(root: Path) -> Path:
    """A Trainer output folder: a checkpoint's copy of the state and the final state, as transformers saves them."""
    from transformers.trainer_callback import TrainerState

    folder = root / "sft-lr1e-4"
    (folder / "checkpoint-10").mkdir(parents=True)
    early = TrainerState(global_step=10, max_steps=20, num_train_epochs=1, log_history=list(TRAIN),
                         trial_params={"learning_rate": 1e-4, "optim": "adamw"})  # fmt: skip
    early.save_to_json(str(folder / "checkpoint-10" / "trainer_state.json"))
    final = TrainerState(global_step=20, max_steps=20, num_train_epochs=1, log_history=TRAIN + LATER,
                         trial_params={"learning_rate": 1e-4, "optim": "adamw"})  # fmt: skip
    final.save_to_json(str(folder / "trainer_state.json"))
    return folder


def _points(lens: llmlens.Lens) -> list[tuple[Any, ...]]:
    return [
        tuple(row) for row in lens.con.execute("SELECT key, step, value, seq FROM metrics ORDER BY seq, key").fetchall()
    ]


def test_every_logged_point_of_a_trainer_run_loads_once(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(folder, progress=False)
        assert [f.format for f in report.files] == ["hf-trainer", "hf-trainer"]
        points = _points(lens)
        expected = [(key, row["step"], value, seq) for seq, row in enumerate(TRAIN + LATER)
                    for key, value in sorted(row.items()) if key != "step"]  # fmt: skip
        assert len(points) == len(expected) == 16
        for got, want in zip(points, expected, strict=True):
            assert got[:2] == want[:2] and got[3] == want[3]
            assert got[2] == want[2] or (math.isnan(got[2]) and math.isnan(want[2]))
        assert math.isinf(lens.sql("SELECT value FROM metrics WHERE key = 'grad_norm' AND step = 20").value[0])
        run = lens.con.execute("SELECT run_id, name, status, attributes FROM runs").fetchall()
        assert len(run) == 1 and run[0][1:3] == ("sft-lr1e-4", "finished")
        assert run[0][0] == f"hf:{folder}" and json.loads(run[0][3])["global_step"] == 20
        params = dict(lens.con.execute("SELECT key, value FROM params").fetchall())
        assert params["max_steps"] == "20" and params["trial_params.optim"] == "adamw"
        assert params["trial_params.learning_rate"] == "0.0001"

        again = lens.load(folder / "trainer_state.json", format="hf-trainer", progress=False)  # same content
        assert again.files[0].skipped
        copy = tmp_path / "copy" / "trainer_state.json"
        copy.parent.mkdir()
        copy.write_text((folder / "trainer_state.json").read_text() + "\n")  # other bytes, another folder
        assert lens.load(copy, progress=False).rows_added["metrics"] == 16  # another run
        assert lens.tables()["runs"] == 2


def test_bad_state_files_are_rejected_with_their_place(tmp_path: Path) -> None:
    truncated = tmp_path / "a" / "trainer_state.json"
    truncated.parent.mkdir()
    truncated.write_text('{"log_history": [{"loss": 1.0, "step": 1}, {"loss": 0.9, ')
    odd = tmp_path / "b" / "trainer_state.json"
    odd.parent.mkdir()
    odd.write_text(json.dumps({"log_history": [{"loss": 1.0, "step": 1}, "not a row", {"note": "text", "step": 2}]}))
    with llmlens.open(":memory:") as lens:
        report = lens.load(truncated, odd, format="hf-trainer", progress=False)
        assert report.files[0].rejected == 1 and "not valid JSON" in report.files[0].reasons[0]
        assert report.files[1].rejected == 1 and "log_history[1]" in lens.sql(
            "SELECT location FROM rejects WHERE reason LIKE '%not an object%'").location[0]  # fmt: skip
        assert _points(lens) == [("loss", 1, 1.0, 0)]  # the valid point loads; the text value is not a metric


def _lightning_version(root: Path) -> Path:
    """A CSVLogger version folder in the shape Lightning writes it: csv.DictWriter rows, one column per key seen,
    empty cells for keys a call did not log, and hparams.yaml beside it."""
    import csv

    folder = root / "lightning_logs" / "version_3"
    folder.mkdir(parents=True)
    rows = [
        {"epoch": 0, "step": 49, "train_loss": 0.91},
        {"epoch": 0, "step": 99, "train_loss": 0.73},
        {"epoch": 0, "step": 99, "val_loss": 0.70, "val/acc@1": 0.61},
        {"epoch": 1, "step": 149, "train_loss": float("nan")},
        {"epoch": 1, "step": 199, "train_loss": "0.5x"},  # a corrupt cell
    ]
    keys = list(dict.fromkeys(key for row in rows for key in row))
    with (folder / "metrics.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    (folder / "hparams.yaml").write_text("lr: 0.001\nmodel:\n  layers: 4\n  dropout: 0.1\nname: baseline\n")
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "epoch=1-step=199.ckpt").write_bytes(b"\x80\x04\x95 not a log")
    return folder


def test_a_lightning_csv_run_unpivots_with_params_and_a_located_reject(tmp_path: Path) -> None:
    folder = _lightning_version(tmp_path)
    with llmlens.open(":memory:") as lens:
        report = lens.load(tmp_path / "lightning_logs", progress=False)  # the folder: configs and checkpoints too
        formats = {Path(f.path).name: (f.format, f.status) for f in report.files}
        assert formats["metrics.csv"] == ("lightning-csv", "partly")
        assert formats["hparams.yaml"][1] == formats["epoch=1-step=199.ckpt"][1] == "skipped"
        points = _points(lens)
        assert len(points) == 10 and ("val/acc@1", 99, 0.61, 2) in points
        assert math.isnan(next(p[2] for p in points if p[0] == "train_loss" and p[1] == 149))
        reject = lens.con.execute("SELECT location, reason, line FROM rejects").fetchall()
        assert reject == [("line 6, column train_loss", "not a number: 0.5x", 6)]
        assert lens.con.execute("SELECT run_id, project, name FROM runs").fetchall() == [
            (f"lightning:{folder}", "lightning_logs", "lightning_logs/version_3")
        ]
        params = dict(lens.con.execute("SELECT key, value FROM params").fetchall())
        assert params == {"lr": "0.001", "model.layers": "4", "model.dropout": "0.1", "name": "baseline"}


def test_a_file_named_outright_must_be_a_known_format(tmp_path: Path) -> None:
    import pytest

    folder = _lightning_version(tmp_path)
    with llmlens.open(":memory:") as lens, pytest.raises(llmlens.LensError, match="cannot tell the format"):
        lens.load(folder / "hparams.yaml", progress=False)


def test_points_written_after_an_empty_chunk_are_seen_in_the_same_session(tmp_path: Path) -> None:
    """DuckDB 2.0 misreads a table after an empty INSERT and a large one in one transaction: none is ever empty."""
    import pyarrow as pa

    from llmlens.loaders.writes import write_staged

    def points(count: int) -> pa.Table:
        return pa.table({"run_id": ["r"] * count, "key": ["loss"] * count, "step": list(range(count)),
                         "wall_time": pa.nulls(count, pa.timestamp("us", tz="UTC")), "value": [1.0] * count,
                         "seq": list(range(count))})  # fmt: skip

    with llmlens.open(tmp_path / "store.duckdb") as lens:
        lens.con.execute("BEGIN TRANSACTION")
        write_staged(lens.con, 1, {"metrics": points(0)})
        write_staged(lens.con, 1, {"metrics": points(130_000)})
        write_staged(lens.con, 1, {"metrics": points(130_000)})  # all stored already: nothing new
        assert lens.con.execute("SELECT count(*), min(step) FROM metrics").fetchall() == [(130_000, 0)]
        lens.con.execute("COMMIT")
        assert lens.con.execute("SELECT count(*), max(step) FROM metrics").fetchall() == [(130_000, 129_999)]
