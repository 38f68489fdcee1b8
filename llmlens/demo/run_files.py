"""The demo sweep's runs written as their trackers write them, to be loaded back with ``lens.load``.

Half the sweep logged to TensorBoard (event files; a resumed job writes a second file into the run's folder) and
half to MLflow (a ``mlruns/`` file store), as teams that change trackers mid-project have it. MLflow keeps each run's
status; TensorBoard has none, so the runs whose status tells a story (the largest learning rate's, of which one
failed; the one still running) are MLflow runs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from llmlens.demo import training
from llmlens.loaders import tfevents

EXPERIMENT_ID = "1"
MLFLOW_STATUS = {"running": 1, "finished": 3, "failed": 4}
"""MLflow's RunStatus numbers, as ``meta.yaml`` stores them."""


def tracker(config: training.RunConfig) -> str:
    """Which tracker a run of the sweep logged to."""
    return "mlflow" if config.lr >= 1e-3 or config.stop_at else "tensorboard"


def write_runs(folder: Path, tables: dict[str, pa.Table]) -> Path:
    """Write the sweep (``training.generate``'s tables) under ``folder``; return it, ready for ``lens.load``.

    >>> import tempfile, numpy as np
    >>> root = write_runs(Path(tempfile.mkdtemp()), training.generate(np.random.default_rng(0)))
    >>> sorted(p.name for p in root.iterdir())
    ['mlruns', 'tensorboard']
    """
    metrics = tables["metrics"].sort_by([("run_id", "ascending"), ("seq", "ascending")]).to_pydict()
    runs = {row["run_id"]: row for row in tables["runs"].to_pylist()}
    params: dict[str, dict[str, str]] = {}
    for row in tables["params"].to_pylist():
        params.setdefault(row["run_id"], {})[row["key"]] = row["value"]
    run_ids = np.array(metrics["run_id"], dtype=object)
    for config in training.sweep():
        rows = np.flatnonzero(run_ids == config.run_id)
        points = {name: [metrics[name][i] for i in rows] for name in ("key", "step", "wall_time", "value")}
        if tracker(config) == "tensorboard":
            _write_tensorboard(folder / "tensorboard" / training.PROJECT / config.name, points, params[config.run_id])
        else:
            _write_mlflow(folder / "mlruns", runs[config.run_id], points, params[config.run_id])
    return folder


def _write_tensorboard(folder: Path, points: dict[str, list[Any]], params: dict[str, str]) -> None:
    """One event per point, as PyTorch's ``SummaryWriter.add_scalar`` writes them; a new file where the job resumed
    (the step goes back), as a restarted writer starts one."""
    folder.mkdir(parents=True, exist_ok=True)
    steps = np.array(points["step"])
    restart = np.flatnonzero(steps[1:] < np.maximum.accumulate(steps)[:-1])
    cuts = [0, *(restart[:1] + 1).tolist(), len(steps)]
    event, summary, value = tfevents.EVENT, tfevents.PROTOS["Summary"], tfevents.PROTOS["SummaryValue"]
    for first, last in itertools.pairwise(cuts):
        start = points["wall_time"][first].timestamp()
        records = [event(wall_time=start, file_version="brain.Event:2"), _hparams_event(start, params)]
        records += [
            event(wall_time=points["wall_time"][i].timestamp(), step=points["step"][i],
                  summary=summary(value=[value(tag=points["key"][i], simple_value=points["value"][i])]))
            for i in range(first, last)
        ]  # fmt: skip
        path = folder / f"events.out.tfevents.{int(start)}.gpu-{folder.name}.{1000 + first}.0"
        path.write_bytes(b"".join(tfevents.record(r.SerializeToString()) for r in records))


def _hparams_event(wall_time: float, params: dict[str, str]) -> Any:
    """The run's config as the ``hparams`` plugin's session start, as ``add_hparams`` writes it."""
    info = tfevents.PROTOS["HParamsPluginData"]()
    for key, text in params.items():
        number = _number(text)
        entry = info.session_start_info.hparams.add(key=key)
        if number is None:
            entry.value.string_value = text
        else:
            entry.value.number_value = number
    metadata = tfevents.PROTOS["SummaryMetadata"]()
    metadata.plugin_data.plugin_name = "hparams"
    metadata.plugin_data.content = info.SerializeToString()
    value = tfevents.PROTOS["SummaryValue"](tag="_hparams_/session_start_info", metadata=metadata)
    return tfevents.EVENT(wall_time=wall_time, summary=tfevents.PROTOS["Summary"](value=[value]))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _write_mlflow(root: Path, run: dict[str, Any], points: dict[str, list[Any]], params: dict[str, str]) -> None:
    """The run as MLflow's file store keeps it: ``meta.yaml``, ``metrics/<key>`` lines ``ms value step``,
    ``params/<key>`` and ``tags/<key>`` files. System metrics take MLflow's own names."""
    experiment = root / EXPERIMENT_ID
    run_uuid = hashlib.md5(run["run_id"].encode(), usedforsecurity=False).hexdigest()
    folder = experiment / run_uuid
    (folder / "artifacts").mkdir(parents=True, exist_ok=True)
    started = _ms(run["started_at"])
    (experiment / "meta.yaml").write_text(_yaml({
        "artifact_location": f"file://{experiment}", "creation_time": started, "experiment_id": EXPERIMENT_ID,
        "last_update_time": started, "lifecycle_stage": "active", "name": training.PROJECT,
    }))  # fmt: skip
    (folder / "meta.yaml").write_text(_yaml({
        "artifact_uri": f"file://{folder / 'artifacts'}", "end_time": _ms(run["ended_at"]), "entry_point_name": "",
        "experiment_id": EXPERIMENT_ID, "lifecycle_stage": "active", "run_id": run_uuid, "run_name": run["name"],
        "run_uuid": run_uuid, "source_name": "", "source_type": 4, "source_version": "", "start_time": started,
        "status": MLFLOW_STATUS[run["status"]], "tags": [], "user_id": "demo",
    }))  # fmt: skip
    lines: dict[str, list[str]] = {}
    logged_points = zip(points["key"], points["step"], points["wall_time"], points["value"], strict=True)
    for key, step, moment, value in logged_points:
        lines.setdefault(_mlflow_key(key), []).append(f"{_ms(moment)} {_mlflow_value(value)} {step}\n")
    for key, logged in lines.items():
        _write(folder / "metrics" / key, "".join(logged))
    for key, value in params.items():
        _write(folder / "params" / key, value)
    tags = {"mlflow.runName": run["name"], "mlflow.user": "demo", "sweep": run["group_name"],
            **{f"attributes.{k}": str(v) for k, v in json.loads(run["attributes"]).items()}}  # fmt: skip
    for key, value in tags.items():
        _write(folder / "tags" / key, value)


def _mlflow_key(key: str) -> str:
    """A key as MLflow's system metrics monitor names it (``system/gpu.3.utilization`` is
    ``system/gpu_3_utilization_percentage``)."""
    if key.startswith("system/gpu."):
        _, gpu, what = key.split(".")
        return f"system/gpu_{gpu}_{what.replace('memory_allocated', 'memory_usage')}_percentage"
    return key


def _mlflow_value(value: float) -> str:
    return repr(value) if math.isfinite(value) else str(value)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _ms(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _yaml(fields: dict[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(fields, sort_keys=True))
