"""Anomaly marks: the demo sweep's planted NaN, spike, restart, stall and straggler GPU are found, and nothing else
of their kind; synthetic series pin each rule down."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import llmlens
from llmlens.analysis.anomalies import COLUMNS, anomalies, non_finite, restarts, spikes, stalls, stragglers
from llmlens.demo import training


@pytest.fixture
def found(demo: llmlens.Lens) -> pd.DataFrame:
    frame = anomalies(demo.con)
    names = dict(demo.con.execute("SELECT run_id, name FROM runs").fetchall())
    frame.insert(0, "run", frame.run_id.map(names))
    return frame


def _name(**incident: int) -> str:
    return next(c.name for c in training.sweep() if all(getattr(c, k) == v for k, v in incident.items()))


def test_the_demo_run_that_went_nan_is_found_where_it_did(found: pd.DataFrame) -> None:
    nan = found[(found.kind == "non_finite") & found.key.isin(["train/loss", "train/grad_norm"])]
    assert set(nan.run) == {_name(nan_at=1_412)}
    assert set(nan.step) == {1_412}
    assert "nan from step 1412 to 1451 (40 points)" in nan.detail.tolist()


def test_the_demo_spike_is_found_on_loss_and_grad_norm_and_nowhere_else(found: pd.DataFrame) -> None:
    top = found[(found.kind == "spike") & found.key.isin(["train/loss", "train/grad_norm"])]
    spiked = top[top.run == _name(spike_at=903)]
    assert sorted(spiked.key) == ["train/grad_norm", "train/loss"] and set(spiked.step) == {903}
    # elsewhere only the NaN run's blow-up just before it went NaN
    others = top[top.run != _name(spike_at=903)]
    assert set(others.run) <= {_name(nan_at=1_412)} and (others.step.between(1_352, 1_412)).all()
    calm = found[(found.kind == "spike") & (found.key.str.startswith(("train/lr", "eval/")))]
    assert calm.empty, calm[["run", "key", "step"]]


def test_the_demo_restart_and_its_stall_are_found(found: pd.DataFrame) -> None:
    restarted = _name(crash_at=1_350)
    runs = found[found.kind.isin(["restart", "stall"])]
    assert runs[["run", "kind", "step"]].values.tolist() == [[restarted, "restart", 1_200], [restarted, "stall", 1_200]]
    assert "after reaching step 1349" in runs.detail.iloc[0] and "21.0 min" in runs.detail.iloc[1]


def test_the_straggler_gpu_is_found_in_exactly_the_runs_of_its_node(found: pd.DataFrame) -> None:
    slow = found[found.kind == "straggler"]
    node_b = {c.name for c in training.sweep() if c.node == training.STRAGGLER_NODE}
    assert set(slow.run) == node_b and len(slow) == len(node_b)
    assert set(slow.key) == {f"system/gpu.{training.STRAGGLER_GPU}.utilization"}


def _store(query: str, params: dict[str, Any] | None = None) -> llmlens.Lens:
    lens = llmlens.open(":memory:")
    lens.con.execute(query, params)
    return lens


@pytest.fixture
def noisy() -> Iterator[llmlens.Lens]:
    """A noisy decaying loss of 50,000 steps with one bad step, and a warmup-then-cosine learning rate."""
    with _store(
        "INSERT INTO metrics (run_id, key, step, value, seq) "
        "SELECT 'r', 'loss', i, CASE WHEN i = 31337 THEN 6 ELSE 2 * exp(-i / 20000) + 0.05 * random() END, i "
        "FROM range(50000) t(i) UNION ALL "
        "SELECT 'r', 'lr', i, CASE WHEN i < 2000 THEN 1e-3 * i / 2000 "
        "ELSE 1e-3 * 0.5 * (1 + cos(pi() * (i - 2000) / 48000)) END, i FROM range(50000) t(i) UNION ALL "
        "SELECT 'r', 'lr_steps', i, 1e-3 * pow(0.1, i // 10000), i FROM range(50000) t(i)"
    ) as lens:
        yield lens


def test_one_bad_step_in_a_long_noisy_series_is_one_spike_and_schedules_are_not(noisy: llmlens.Lens) -> None:
    found = spikes(noisy.con)
    assert found[["key", "step", "value"]].values.tolist() == [["loss", 31337, 6.0]]
    assert found.score.iloc[0] > 8
    assert spikes(noisy.con, keys=["lr*"]).empty  # a warmup, a cosine, step decays: smooth or lasting changes


def test_non_finite_values_are_grouped_into_islands() -> None:
    with _store(
        "INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r', 'loss', i, "
        "CASE WHEN i IN (5, 6, 7) THEN 'nan'::DOUBLE WHEN i = 20 THEN 'inf'::DOUBLE ELSE 1 END, i "
        "FROM range(30) t(i)"
    ) as lens:
        found = non_finite(lens.con)
    assert found[["step", "step_end", "score"]].values.tolist() == [[5, 7, 3.0], [20, 20, 1.0]]
    assert found.detail.tolist() == ["nan from step 5 to 7 (3 points)", "inf at step 20"]


def test_restarts_stalls_and_stragglers_need_their_evidence() -> None:
    with _store(
        "INSERT INTO metrics (run_id, key, step, wall_time, value, seq) SELECT 'r', "
        "'system/gpu.' || g || '.utilization', s, make_timestamp(1763157600000000 + s * 1000000), "
        "90 + (g * 7 + s) % 5, s FROM range(8) a(g), range(300) b(s)"
    ) as lens:  # eight GPUs all busy, steady time, no step going back
        assert restarts(lens.con).empty and stalls(lens.con).empty and stragglers(lens.con).empty


def test_an_empty_store_gives_empty_findings_with_the_columns() -> None:
    with llmlens.open(":memory:") as lens:
        found = anomalies(lens.con)
    assert found.empty and list(found.columns) == COLUMNS
