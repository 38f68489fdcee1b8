"""PyTorch Lightning ``CSVLogger`` runs (``<name>/version_N/metrics.csv`` and ``hparams.yaml``).

``metrics.csv`` is wide and sparse: one column per logged key, one row per logging call, empty cells for keys not
logged in that call, and ``step`` (and usually ``epoch``) columns. Each non-empty cell becomes a point at its row's
``step``; ``epoch`` is a metric like the others. A cell that is not a number is rejected with its line and column,
and the rest of its row still loads. A run is the ``version_N`` folder; ``hparams.yaml`` beside the file becomes
``params`` (nested keys flattened with dots).

It is told from other wide metric tables by its header: ``step`` and ``epoch`` columns and no run column. Every
column but ``step`` is a metric (``epoch`` too, and a key named like a time column).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from llmlens.loaders.metric_tables import LIGHTNING, stage_table
from llmlens.query import run_script

NAME = LIGHTNING

RUN = r"""
CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS
SELECT 'lightning:' || folder AS run_id,
       regexp_extract(folder, '([^/\\]+)[/\\][^/\\]+$', 1) AS project,
       regexp_extract(folder, '([^/\\]+[/\\][^/\\]+)$', 1) AS name,
       NULL::VARCHAR AS group_name, NULL::TIMESTAMPTZ AS started_at, NULL::TIMESTAMPTZ AS ended_at,
       NULL::VARCHAR AS status, []::VARCHAR[] AS tags, json_object('folder', folder) AS attributes
FROM (SELECT regexp_replace(uri, '[/\\][^/\\]*$', '') AS folder FROM llmlens_source);
"""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the run, its points (read as any wide metric table is, :mod:`llmlens.loaders.metric_tables`) and the
    ``hparams.yaml`` beside the file as params."""
    ((uri,),) = con.execute("SELECT uri FROM llmlens_source").fetchall()
    folder = Path(uri).parent
    run_id = f"lightning:{folder}"
    stage_table(con, source_id, NAME, file_run=run_id)
    run_script(con, RUN)
    pairs = hparams(folder / "hparams.yaml")
    llmlens_params = pa.table(  # noqa: F841 (read by name in the statement below)
        {"run_id": [run_id] * len(pairs), "key": [k for k, _ in pairs], "value": [v for _, v in pairs]},
        schema=pa.schema([("run_id", pa.string()), ("key", pa.string()), ("value", pa.string())]),
    )
    con.execute("CREATE OR REPLACE TEMP TABLE llmlens_stage_params AS SELECT * FROM llmlens_params")


def hparams(path: Path) -> list[tuple[str, str]]:
    """The hyperparameters in ``path`` (Lightning's ``hparams.yaml``) as (dotted key, text value) pairs; none when
    the file is missing or empty.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "hparams.yaml"
    >>> _ = path.write_text("lr: 0.001\\noptimizer:\\n  name: adamw\\n  betas: [0.9, 0.95]\\n")
    >>> hparams(path)
    [('lr', '0.001'), ('optimizer.betas', '[0.9, 0.95]'), ('optimizer.name', 'adamw')]
    """
    import yaml

    if not path.is_file():
        return []
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return sorted(_flatten(loaded, "")) if isinstance(loaded, dict) else []


def _flatten(value: Any, prefix: str) -> list[tuple[str, str]]:
    if isinstance(value, dict) and value:
        return [pair for key, item in value.items() for pair in _flatten(item, f"{prefix}{key}.")]
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return [(prefix.rstrip("."), text)]
