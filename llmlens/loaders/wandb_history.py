"""Weights & Biases history files of older SDKs (``wandb-history.jsonl``, ``wandb-events.jsonl``) into ``runs``,
``params`` and ``metrics``.

Each line is one JSON object: a history row (``_step``, ``_runtime``, ``_timestamp`` and the logged values) or, in
``wandb-events.jsonl``, a system sample (``system.gpu.0.gpu``, ``system.cpu``, ... with ``_runtime`` and
``_timestamp``, no ``_step``). They load as :mod:`llmlens.loaders.wandb_run` loads a ``.wandb`` file's history and
stats: the same keys, histograms as statistics, system metrics renamed to llmlens's scheme (the ``system.`` prefix
dropped first), ``seq`` the time in microseconds. A line that is not a JSON object is rejected with its line
number and byte offset; the other lines load.

A run is the folder holding the file (``run-<date>-<id>``): ``run_id`` is ``wandb:<id>``, as these files name no
project. ``config.yaml``, ``wandb-summary.json`` and ``wandb-metadata.json`` beside the file are read with it
(params, the summary, and the status and start the metadata records); with no start recorded, the start is the
earliest ``_timestamp - _runtime``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from llmlens.loaders.wandb_run import RUN_FILES, stage_with_files

NAME = "wandb-history"

ITEMS = r"""
CREATE OR REPLACE TEMP TABLE llmlens_wh_lines AS
SELECT line, byte_offset, text, TRY_CAST(text AS JSON) AS doc FROM llmlens_records;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line, line, byte_offset,
       CASE WHEN doc IS NULL THEN 'not valid JSON (truncated or corrupt line)' ELSE 'not a JSON object' END,
       left(text, 200), encode(text)
FROM llmlens_wh_lines WHERE doc IS NULL OR json_type(doc) <> 'OBJECT';

CREATE OR REPLACE TEMP TABLE llmlens_wandb_items AS
SELECT line AS record, byte_offset, kind, NULL::BIGINT AS step,
       CASE WHEN kind = 'stats' THEN regexp_replace(e.key, '^system\.', '') ELSE e.key END AS key,
       CAST(e.value AS VARCHAR) AS value_json,
       CAST(round(TRY_CAST(doc->>'_timestamp' AS DOUBLE) * 1e6) AS BIGINT) AS time_us
FROM (SELECT line, byte_offset, doc, CASE WHEN json_exists(doc, '$._step') THEN 'history' ELSE 'stats' END AS kind
      FROM llmlens_wh_lines WHERE json_type(doc) = 'OBJECT') l,
     LATERAL json_each(l.doc) e;

CREATE OR REPLACE TEMP TABLE llmlens_wandb_state AS
SELECT 0 AS record, kind, key, value_json FROM llmlens_wandb_files WHERE kind IN ('config', 'summary');

CREATE OR REPLACE TEMP TABLE llmlens_wandb_run AS
SELECT 'wandb:' || id AS run_id, id, folder,
       (SELECT TRY_CAST(value_json AS JSON) FROM llmlens_wandb_files WHERE kind = 'metadata') AS metadata
FROM (SELECT coalesce(nullif(regexp_extract(folder, '(^|[/\\])(offline-)?run-\d{8}_\d{6}-([^/\\]+)$', 3), ''),
                      regexp_extract(folder, '([^/\\]+)$', 1)) AS id, folder
      FROM (SELECT regexp_replace(uri, '[/\\][^/\\]*$', '') AS folder FROM llmlens_source));
"""

RUN = r"""
CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS
SELECT run_id, NULL::VARCHAR AS project, id AS name, NULL::VARCHAR AS group_name,
       coalesce(TRY_CAST(metadata->>'startedAt' AS TIMESTAMPTZ),
                (SELECT make_timestamptz(min(us - runtime_us)) FROM llmlens_wandb_rows))
           AS started_at,
       NULL::TIMESTAMPTZ AS ended_at,
       CASE WHEN metadata->>'state' IN ('running', 'finished', 'failed', 'crashed', 'killed')
            THEN metadata->>'state' END AS status,
       []::VARCHAR[] AS tags,
       json_object('id', id, 'host', metadata->>'host', 'metadata', metadata,
                   'summary', (SELECT summary FROM llmlens_wandb_summary),
                   'skipped_history', (SELECT skipped FROM llmlens_wandb_skipped), 'folder', folder) AS attributes
FROM llmlens_wandb_run;
"""


def covers(path: Path) -> list[Path]:
    """The run files beside a history file, read with it (``config.yaml``, ``wandb-summary.json``,
    ``wandb-metadata.json``).

    >>> covers(Path("/nowhere/wandb-history.jsonl"))
    []
    """
    return [path.parent / name for name in RUN_FILES if (path.parent / name).is_file()]


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the run, its params and points from the registered ``llmlens_records`` (the file's lines)."""
    ((uri,),) = con.execute("SELECT uri FROM llmlens_source").fetchall()
    stage_with_files(con, source_id, Path(uri).parent, ITEMS, RUN)
