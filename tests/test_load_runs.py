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
