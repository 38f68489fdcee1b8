"""PyTorch Lightning ``CSVLogger`` runs (``<name>/version_N/metrics.csv`` and ``hparams.yaml``).

``metrics.csv`` is wide and sparse: one column per logged key, one row per logging call, empty cells for keys not
logged in that call, and ``step`` (and usually ``epoch``) columns. Each non-empty cell becomes a point at its row's
``step``; ``epoch`` is a metric like the others. A cell that is not a number is rejected with its line and column,
and the rest of its row still loads. A run is the ``version_N`` folder; ``hparams.yaml`` beside the file becomes
``params`` (nested keys flattened with dots).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from llmlens.loaders.files import Records, line_records
from llmlens.query import run_script

NAME = "lightning-csv"

STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_csv_header AS
SELECT list_transform(string_split(text, ','), lambda c: trim(c, ' "')) AS columns
FROM llmlens_records ORDER BY line LIMIT 1;

CREATE OR REPLACE TEMP TABLE llmlens_csv_run AS
SELECT regexp_replace(uri, '[/\\][^/\\]*$', '') AS folder FROM llmlens_source;

CREATE OR REPLACE TEMP TABLE llmlens_csv_cells AS
SELECT r.line, r.byte_offset, CAST(r.line - 2 AS BIGINT) AS seq, c.i, h.columns[c.i] AS key, trim(c.cell) AS cell,
       trim(r.cells[list_position(h.columns, 'step')]) AS step_text
FROM (SELECT line, byte_offset, string_split(text, ',') AS cells FROM llmlens_records
      WHERE line > (SELECT min(line) FROM llmlens_records)) r,
     llmlens_csv_header h,
     LATERAL (SELECT unnest(r.cells) AS cell, generate_subscripts(r.cells, 1) AS i) c;

CREATE OR REPLACE TEMP TABLE llmlens_stage_metrics AS
SELECT 'lightning:' || (SELECT folder FROM llmlens_csv_run) AS run_id, key,
       TRY_CAST(TRY_CAST(step_text AS DOUBLE) AS BIGINT) AS step, NULL::TIMESTAMPTZ AS wall_time,
       TRY_CAST(cell AS DOUBLE) AS value, seq
FROM llmlens_csv_cells
WHERE key IS NOT NULL AND key <> 'step' AND cell <> '' AND TRY_CAST(cell AS DOUBLE) IS NOT NULL;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line || ', column ' || coalesce(key, '#' || i), line, byte_offset,
       CASE WHEN key IS NULL THEN 'more cells than the header has columns'
            ELSE 'not a number: ' || left(cell, 80) END,
       left(cell, 200), encode(cell)
FROM llmlens_csv_cells
WHERE cell <> '' AND (key IS NULL OR (key <> 'step' AND TRY_CAST(cell AS DOUBLE) IS NULL));

CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS
SELECT 'lightning:' || folder AS run_id,
       regexp_extract(folder, '([^/\\]+)[/\\][^/\\]+$', 1) AS project,
       regexp_extract(folder, '([^/\\]+[/\\][^/\\]+)$', 1) AS name,
       NULL::VARCHAR AS group_name, NULL::TIMESTAMPTZ AS started_at, NULL::TIMESTAMPTZ AS ended_at,
       NULL::VARCHAR AS status, []::VARCHAR[] AS tags, json_object('folder', folder) AS attributes
FROM llmlens_csv_run;
"""


def read(data: bytes) -> Records:
    """One record per line of ``metrics.csv`` (the first is the header).

    >>> read(b"epoch,step,loss\\n0,9,0.5\\n").table.column("text").to_pylist()
    ['epoch,step,loss\\n', '0,9,0.5\\n']
    """
    return line_records(data)


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the run, its points and the ``hparams.yaml`` beside the file as params."""
    run_script(con, STAGE, {"source_id": source_id})
    ((uri,),) = con.execute("SELECT uri FROM llmlens_source").fetchall()
    ((run_id,),) = con.execute("SELECT run_id FROM llmlens_stage_runs").fetchall()
    pairs = hparams(Path(uri).parent / "hparams.yaml")
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
