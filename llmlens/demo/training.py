"""A 12-run fine-tuning sweep: configs, loss/lr/grad-norm/eval curves, per-layer grad norms, 8 GPUs per run.

Planted: a straggler GPU on one node, a loss spike, a run that goes NaN, a crash-and-resume where the step
goes back, and a run still in progress.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from llmlens.demo.common import epoch_us, micros, table

PROJECT = "sft-llama-8b"
SWEEP = "sweep-2026-11-14"
MAX_STEPS = 2_000
EVAL_EVERY = 100
LAYER_EVERY = 10
GPU_EVERY = 10
N_LAYERS = 32
N_GPUS = 8
GPU_MEMORY_GB = 80
STRAGGLER_NODE, STRAGGLER_GPU = "node-b", 5
SWEEP_START = dt.datetime(2026, 11, 14, 22, 0, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class RunConfig:
    """One point of the sweep and what happens to it."""

    index: int
    lr: float
    batch_size: int
    warmup: int
    node: str
    nan_at: int | None = None
    spike_at: int | None = None
    crash_at: int | None = None
    resume_from: int | None = None
    stop_at: int | None = None

    @property
    def run_id(self) -> str:
        return f"{SWEEP}-{self.index:02d}"

    @property
    def name(self) -> str:
        return f"lr{self.lr:.0e}-bs{self.batch_size}-wu{self.warmup}".replace("e-0", "e-")


def sweep() -> list[RunConfig]:
    """The 12 runs: lr x batch size x warmup, with the planted incidents."""
    runs = []
    for index, (lr, batch, warmup) in enumerate(itertools.product((1e-4, 3e-4, 1e-3), (32, 64), (100, 500))):
        incident: dict[str, int] = {}
        if (lr, batch, warmup) == (1e-3, 32, 100):
            incident = {"nan_at": 1_412}
        elif (lr, batch, warmup) == (1e-3, 64, 100):
            incident = {"spike_at": 903}
        elif (lr, batch, warmup) == (3e-4, 32, 500):
            incident = {"crash_at": 1_350, "resume_from": 1_200}
        elif (lr, batch, warmup) == (1e-4, 64, 500):
            incident = {"stop_at": 1_730}
        runs.append(RunConfig(index, lr, batch, warmup, STRAGGLER_NODE if index % 3 == 1 else "node-a", **incident))
    return runs


def _schedule(config: RunConfig, steps: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    warm = np.minimum(1.0, (steps + 1) / config.warmup)
    progress = np.clip((steps - config.warmup) / (MAX_STEPS - config.warmup), 0, 1)
    return config.lr * np.where(steps < config.warmup, warm, 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * progress)))


def _expected_loss(config: RunConfig, steps: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The loss without batch noise: a power-law decay (faster with a higher lr), plus the run's incidents."""
    speed = (config.lr / 1e-4) ** 0.55 * (config.batch_size / 32) ** 0.3
    floor = 1.05 + 0.04 * np.log10(config.lr / 1e-4) ** 2 + (0.02 if config.batch_size == 64 else 0)
    loss: np.ndarray[Any, Any] = floor + 1.9 * (1 + speed * steps / 60) ** -0.55
    if config.spike_at is not None:
        loss = loss + _spike(config.spike_at, steps)
    if config.nan_at is not None:
        blowup = np.clip(steps - (config.nan_at - 60), 0, None)
        loss = np.where(steps >= config.nan_at, np.nan, loss + np.where(blowup > 0, np.exp(blowup / 20) - 1, 0))
    return loss


def _spike(at: int, steps: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A bad batch at step ``at``: the loss jumps, then recovers over ~100 steps."""
    bump: np.ndarray[Any, Any] = np.where(steps >= at, 2.6 * np.exp(-np.clip(steps - at, 0, None) / 35), 0)
    return bump


def _curves(
    config: RunConfig, rng: np.random.Generator, steps: np.ndarray[Any, Any], expected: np.ndarray[Any, Any]
) -> dict[str, np.ndarray[Any, Any]]:
    """Per-step train/loss (expected loss + batch noise, noisier with a high lr), train/lr and train/grad_norm."""
    noise = rng.normal(0, 0.045 * (32 / config.batch_size) ** 0.5 * (1 + config.lr / 1e-3), len(steps))
    grad = 0.9 + 2.5 * np.exp(-steps / 150) + np.abs(rng.normal(0, 0.12, len(steps))) * (config.lr / 3e-4)
    if config.spike_at is not None:
        grad = grad + np.where(steps == config.spike_at, 41.0, 0) + 4 * _spike(config.spike_at, steps)
    if config.nan_at is not None:
        blowup = np.clip(steps - (config.nan_at - 60), 0, None)
        grad = np.where(steps >= config.nan_at, np.nan, grad * np.exp(blowup / 14))
    return {"train/loss": expected + noise, "train/lr": _schedule(config, steps), "train/grad_norm": grad}


def _logged_steps(config: RunConfig) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Steps in the order they were logged, and the seconds at which each was logged (restart included)."""
    step_seconds = (0.9 if config.batch_size == 32 else 1.6) * (1.35 if config.node == STRAGGLER_NODE else 1.0)
    last = config.stop_at or (config.nan_at + 40 if config.nan_at else MAX_STEPS)
    if config.crash_at is None or config.resume_from is None:
        steps = np.arange(0, last)
        return steps, steps * step_seconds
    first = np.arange(0, config.crash_at)
    second = np.arange(config.resume_from, last)
    gap = 21 * 60  # the job was re-queued
    return np.concatenate([first, second]), np.concatenate(
        [first * step_seconds, config.crash_at * step_seconds + gap + (second - config.resume_from) * step_seconds]
    )


def _run_metrics(config: RunConfig, rng: np.random.Generator, start_us: int) -> dict[str, Any]:
    """Every point one run logged, as arrays ``key``, ``step``, ``wall_time`` (µs), ``value`` and ``seq``."""
    steps, seconds = _logged_steps(config)
    expected = _expected_loss(config, steps)
    curves = _curves(config, rng, steps, expected)
    keys: list[np.ndarray[Any, Any]] = []
    values: list[np.ndarray[Any, Any]] = []
    at: list[np.ndarray[Any, Any]] = []
    order: list[np.ndarray[Any, Any]] = []

    def add(key: str, mask: np.ndarray[Any, Any], value: np.ndarray[Any, Any], rank: int) -> None:
        keys.append(np.full(int(mask.sum()), key, dtype=object))
        values.append(value)
        at.append(np.flatnonzero(mask))
        order.append(np.full(int(mask.sum()), rank))

    every = np.ones(len(steps), bool)
    for rank, (key, curve) in enumerate(curves.items()):
        add(key, every, curve, rank)
    evals = steps % EVAL_EVERY == EVAL_EVERY - 1
    add("eval/loss", evals, expected[evals] + 0.08 + rng.normal(0, 0.01, int(evals.sum())), 3)
    accuracy = np.clip(0.92 - 0.33 * (expected[evals] - 1.0) + rng.normal(0, 0.004, int(evals.sum())), 0, 1)
    add("eval/accuracy", evals, accuracy, 4)
    layers = steps % LAYER_EVERY == 0
    depth_scale = np.linspace(1.8, 0.4, N_LAYERS)
    for layer in range(N_LAYERS):
        norm = curves["train/grad_norm"][layers] * depth_scale[layer] / 6 * rng.lognormal(0, 0.1, int(layers.sum()))
        add(f"grad_norm/layer_{layer:02d}", layers, norm, 5 + layer)
    gpus = steps % GPU_EVERY == 0
    n = int(gpus.sum())
    for gpu in range(N_GPUS):
        straggler = config.node == STRAGGLER_NODE and gpu == STRAGGLER_GPU
        util = np.clip(rng.normal(56 if straggler else 95, 4 if straggler else 1.5, n), 0, 100)
        memory_gb = 61.0 + config.batch_size / 16 + rng.normal(0, 0.3, n) + (5.5 if straggler else 0)
        add(f"system/gpu.{gpu}.utilization", gpus, util, 100 + 2 * gpu)
        add(f"system/gpu.{gpu}.memory_allocated", gpus, memory_gb / GPU_MEMORY_GB * 100, 101 + 2 * gpu)

    index = np.concatenate(at)
    logged_order = np.lexsort((np.concatenate(order), index))
    seq = np.empty(len(index), dtype=np.int64)
    seq[logged_order] = np.arange(len(index))
    return {
        "key": np.concatenate(keys),
        "step": steps[index],
        "wall_time": start_us + (seconds[index] * 1e6).astype(np.int64),
        "value": np.concatenate(values).astype(np.float64),
        "seq": seq,
    }


def generate(rng: np.random.Generator) -> dict[str, pa.Table]:
    """Tables runs, params and metrics for the sweep."""
    configs = sweep()
    metrics = [_run_metrics(config, rng, _start_us(config)) for config in configs]
    return {
        "runs": _runs(configs, metrics),
        "params": _params(configs),
        "metrics": _metrics_table(configs, metrics),
    }


def _start_us(config: RunConfig) -> int:
    """The sweep launches one run every 7 minutes."""
    return epoch_us(SWEEP_START) + config.index * 7 * 60 * 1_000_000


def _status(config: RunConfig) -> str:
    return "failed" if config.nan_at else ("running" if config.stop_at else "finished")


def _runs(configs: list[RunConfig], metrics: list[dict[str, Any]]) -> pa.Table:
    """One row per run; a run still running has no end, the others end a few seconds after their last point."""
    ended = [
        None if _status(config) == "running" else int(points["wall_time"].max()) + 5_000_000
        for config, points in zip(configs, metrics, strict=True)
    ]
    return table({
        "run_id": [config.run_id for config in configs],
        "project": [PROJECT] * len(configs),
        "name": [config.name for config in configs],
        "group_name": [SWEEP] * len(configs),
        "status": [_status(config) for config in configs],
        "tags": [["sweep", "sft", config.node] for config in configs],
        "attributes": [json.dumps({"host": c.node, "gpus": N_GPUS, "git_commit": "3f9c2ab"}) for c in configs],
        "started_at": micros(np.array([_start_us(config) for config in configs])),
        "ended_at": pa.array(ended, pa.timestamp("us", tz="UTC")),
    })  # fmt: skip


def _params(configs: list[RunConfig]) -> pa.Table:
    """The configuration of each run, one row per key, values as text."""
    columns: dict[str, list[str]] = {"run_id": [], "key": [], "value": []}
    for config in configs:
        values = {
            "model": "meta-llama/Llama-3.1-8B", "optimizer": "adamw", "lr": config.lr, "batch_size": config.batch_size,
            "warmup_steps": config.warmup, "seed": 1000 + config.index, "max_steps": MAX_STEPS, "weight_decay": 0.1,
            "lr_schedule": "cosine", "precision": "bf16", "node": config.node,
        }  # fmt: skip
        for key, value in values.items():
            columns["run_id"].append(config.run_id)
            columns["key"].append(key)
            columns["value"].append(str(value))
    return table(columns)


def _metrics_table(configs: list[RunConfig], metrics: list[dict[str, Any]]) -> pa.Table:
    """All runs' points in one table, sorted by (run_id, key, step) and then by the order they were logged."""
    run_ids = [np.full(len(p["key"]), c.run_id, dtype=object) for c, p in zip(configs, metrics, strict=True)]
    merged = {key: np.concatenate([points[key] for points in metrics]) for key in metrics[0]}
    merged["run_id"] = np.concatenate(run_ids)
    order = np.lexsort((merged["seq"], merged["step"], merged["key"], merged["run_id"]))
    return pa.table({
        "run_id": pa.array(merged["run_id"][order].tolist()),
        "key": pa.array(merged["key"][order].tolist()),
        "step": pa.array(merged["step"][order]),
        "wall_time": micros(merged["wall_time"][order]),
        "value": pa.array(merged["value"][order], from_pandas=False),
        "seq": pa.array(merged["seq"][order]),
    })  # fmt: skip
