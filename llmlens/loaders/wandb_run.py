"""Weights & Biases runs (``wandb/run-*/run-<id>.wandb``, ``offline-run-*``) into ``runs``, ``params`` and
``metrics``.

The file is decoded by :mod:`llmlens.loaders.wandb_records`; everything else is SQL over its rows:

- **History** becomes points: each numeric value at the row's ``_step``, ``wall_time`` from ``_timestamp``; keys as
  W&B shows them (nested dicts joined with ``.``: ``eval.acc``; ``train/loss`` as logged). ``_step``, ``_runtime``
  and ``_timestamp`` are the row's coordinates, not metrics (``_runtime`` is ``wall_time`` less the start). NaN and
  infinities are kept. Histograms (``wandb.Histogram``) are kept as statistics: ``<key>/min``, ``/max``, ``/mean``,
  ``/std`` and ``/count``, from the bin centres. Other values (text, images, tables, booleans) are not metrics:
  their counts by key are in ``runs.attributes.skipped_history`` (for a file read in several chunks, over a million
  items, those of the last chunk).
- **Stats** (the system monitor) become ``system/`` points with no step, at the sample's time, named as the
  ``metrics.key`` comment says: ``gpu.<i>.gpu`` → ``system/gpu.<i>.utilization``, ``gpu.<i>.memoryAllocated`` →
  ``system/gpu.<i>.memory_allocated``, ``gpu.<i>.temp`` → ``system/gpu.<i>.temperature``, ``gpu.<i>.powerWatts`` →
  ``system/gpu.<i>.power_watts``, ``cpu`` (the process's CPU percent) → ``system/cpu.utilization``,
  ``memory_percent`` → ``system/memory.utilization``, ``disk./.usagePercent`` → ``system/disk.utilization``,
  ``network.sent``/``network.recv`` → ``system/network.sent``/``received``; any other ``<name>`` →
  ``system/<name>``.
- **Config** becomes ``params`` (nested dicts flattened to dotted keys; strings as text, other values as JSON);
  ``files/config.yaml``, when the run folder has it, is the authority (its ``{value, desc}`` wrappers unwrapped).
  W&B's own ``_wandb`` entry is left out.
- **Summary** (the last value of each key, or ``files/wandb-summary.json`` when present) goes to
  ``runs.attributes.summary`` (NaN and infinities as strings there, as JSON has no such numbers; media left out), as
  do the run's entity, job type, host, notes, sweep, git, exit code, runtime, its environment records (merged: the
  system monitor writes one for the machine, another for its GPUs) and ``files/wandb-metadata.json``.
- **The run**: ``run_id`` is ``wandb:<run id>`` (the id from the run record, or from the file name when that record
  is unreadable), as the older SDKs' history files and W&B history exports name it, so they join the same run (W&B
  ids are random and unique within a project: two projects' runs given the same custom id would share a
  ``run_id``); ``project`` is the project, ``name`` the display name, ``group_name`` the group. ``status`` is
  ``finished`` (exit code 0) or ``failed`` (any other) once the exit record is written, ``running`` before: a run
  that died without one reads as running, as llmlens cannot tell a live run from a crashed one. ``ended_at`` is the
  latest of the last point and the start plus the exit record's runtime.

``seq`` is the point's time in microseconds, so a resumed run's files (the same id, another folder) join one run,
and steps that go back mark the points they supersede.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from llmlens.loaders import wandb_records
from llmlens.query import run_script

NAME = "wandb"

RUN_FILES = ("config.yaml", "wandb-summary.json", "wandb-metadata.json")
"""The files beside a run's log that are read with it (in ``files/`` next to a ``.wandb`` file)."""

FILES = pa.schema([("kind", pa.string()), ("key", pa.string()), ("value_json", pa.string())])
"""The run folder's files as rows: ``config`` and ``summary`` (one per top-level key), ``metadata`` (the whole
object), ``reject`` (a file that cannot be read: key is its name, value_json the reason)."""

SYSTEM_KEY = r"""
CREATE OR REPLACE TEMP MACRO llmlens_wandb_system_key(k) AS 'system/' || CASE
    WHEN regexp_matches(k, '^gpu\.\d+\.gpu$') THEN regexp_replace(k, '\.gpu$', '.utilization')
    WHEN regexp_matches(k, '^gpu\.\d+\.memoryAllocated$')
        THEN regexp_replace(k, '\.memoryAllocated$', '.memory_allocated')
    WHEN regexp_matches(k, '^gpu\.\d+\.temp$') THEN regexp_replace(k, '\.temp$', '.temperature')
    WHEN regexp_matches(k, '^gpu\.\d+\.powerWatts$') THEN regexp_replace(k, '\.powerWatts$', '.power_watts')
    WHEN k = 'cpu' THEN 'cpu.utilization'
    WHEN k IN ('memory_percent', 'memory') THEN 'memory.utilization'
    WHEN k IN ('disk./.usagePercent', 'disk') THEN 'disk.utilization'
    WHEN k = 'network.recv' THEN 'network.received'
    ELSE k END;
"""
"""W&B's system metric names onto llmlens's scheme (see the ``metrics.key`` comment); ``memory`` and ``disk`` are
the older SDKs' names for the same percentages."""

POINTS = r"""
CREATE OR REPLACE TEMP TABLE llmlens_wandb_rows AS
SELECT record, kind,
       coalesce(TRY_CAST(TRY_CAST(max(value_json) FILTER (WHERE key = '_step') AS DOUBLE) AS BIGINT), any_value(step))
           AS row_step,
       coalesce(CAST(round(TRY_CAST(max(value_json) FILTER (WHERE key = '_timestamp') AS DOUBLE) * 1e6) AS BIGINT),
                any_value(time_us)) AS us,
       CAST(round(TRY_CAST(max(value_json) FILTER (WHERE key = '_runtime') AS DOUBLE) * 1e6) AS BIGINT) AS runtime_us
FROM llmlens_wandb_items WHERE kind IN ('history', 'stats') GROUP BY record, kind;

-- nested objects flattened to dotted keys: history values, config and summary
CREATE OR REPLACE TEMP TABLE llmlens_wandb_leaves AS
WITH RECURSIVE flat(record, kind, key, value_json, obj, depth) AS (
    SELECT record, kind, key, value_json,
           CASE WHEN starts_with(value_json, '{') THEN TRY_CAST(value_json AS JSON) END, 0
    FROM (SELECT record, kind, key, value_json FROM llmlens_wandb_items
          WHERE kind = 'history' AND NOT starts_with(key, '_')
          UNION ALL
          SELECT record, kind, key, value_json FROM llmlens_wandb_state
          WHERE key <> '_wandb' AND NOT starts_with(key, '_wandb.'))
    UNION ALL
    SELECT f.record, f.kind, f.key || '.' || e.key, CAST(e.value AS VARCHAR),
           CASE WHEN e.type = 'OBJECT' THEN e.value END, f.depth + 1
    FROM flat f, LATERAL json_each(f.obj) e
    WHERE f.obj IS NOT NULL AND f.depth < 64
)
SELECT record, kind, key, value_json FROM flat
WHERE obj IS NULL OR CAST(obj AS VARCHAR) = '{}' OR depth >= 64;

-- values W&B marks with a _type (histograms, images, tables, ...): the keys under <prefix>.
CREATE OR REPLACE TEMP TABLE llmlens_wandb_media AS
SELECT record, kind, key[:-7] AS prefix, coalesce(TRY_CAST(value_json AS JSON)->>'$', value_json) AS type
FROM llmlens_wandb_leaves WHERE ends_with(key, '._type');

CREATE OR REPLACE TEMP TABLE llmlens_wandb_values AS
SELECT l.*, m.prefix FROM llmlens_wandb_leaves l
LEFT JOIN llmlens_wandb_media m ON l.record = m.record AND l.kind = m.kind AND starts_with(l.key, m.prefix || '.');

CREATE OR REPLACE TEMP TABLE llmlens_wandb_histograms AS
SELECT h.*, len(counts) > 0 AND len(edges) = len(counts) + 1
            AND list_count(counts) = len(counts) AND list_count(edges) = len(edges) AS usable
FROM (
    SELECT m.record, m.prefix,
           TRY_CAST(max(v.value_json) FILTER (WHERE v.key = m.prefix || '.values') AS DOUBLE[]) AS counts,
           coalesce(
               TRY_CAST(max(v.value_json) FILTER (WHERE v.key = m.prefix || '.bins') AS DOUBLE[]),
               list_transform(
                   range(TRY_CAST(max(v.value_json) FILTER (WHERE v.key = m.prefix || '.packedBins.count')
                                  AS BIGINT) + 1),
                   lambda i: TRY_CAST(max(v.value_json) FILTER (WHERE v.key = m.prefix || '.packedBins.min') AS DOUBLE)
                       + i * TRY_CAST(max(v.value_json) FILTER (WHERE v.key = m.prefix || '.packedBins.size')
                                      AS DOUBLE))) AS edges
    FROM llmlens_wandb_media m JOIN llmlens_wandb_values v ON v.record = m.record AND v.prefix = m.prefix
    WHERE m.kind = 'history' AND m.type = 'histogram' AND v.kind = 'history'
    GROUP BY m.record, m.prefix
) h;

CREATE OR REPLACE TEMP TABLE llmlens_stage_metrics AS
SELECT (SELECT run_id FROM llmlens_wandb_run) AS run_id, v.key, r.row_step AS step,
       make_timestamptz(r.us) AS wall_time, TRY_CAST(v.value_json AS DOUBLE) AS value, r.us AS seq
FROM llmlens_wandb_values v JOIN llmlens_wandb_rows r ON r.record = v.record AND r.kind = 'history'
WHERE v.kind = 'history' AND v.prefix IS NULL AND TRY_CAST(v.value_json AS DOUBLE) IS NOT NULL
UNION ALL
SELECT (SELECT run_id FROM llmlens_wandb_run), h.prefix || '/' || s.stat, r.row_step,
       make_timestamptz(r.us), s.value, r.us
FROM (
    SELECT record, prefix, CAST(sum(n) AS DOUBLE) AS count,
           min(lo) FILTER (WHERE n > 0) AS min, max(hi) FILTER (WHERE n > 0) AS max,
           sum(n * (lo + hi) / 2) / nullif(sum(n), 0) AS mean,
           sqrt(greatest(sum(n * ((lo + hi) / 2) ** 2) / nullif(sum(n), 0)
                         - (sum(n * (lo + hi) / 2) / nullif(sum(n), 0)) ** 2, 0)) AS std
    FROM (SELECT record, prefix, unnest(counts) AS n, unnest(edges[:-2]) AS lo, unnest(edges[2:]) AS hi
          FROM llmlens_wandb_histograms WHERE usable)
    GROUP BY record, prefix
) h
JOIN llmlens_wandb_rows r ON r.record = h.record AND r.kind = 'history',
LATERAL (SELECT unnest(['min', 'max', 'mean', 'std', 'count']) AS stat,
                unnest([coalesce(h.min, 'NaN'), coalesce(h.max, 'NaN'), coalesce(h.mean, 'NaN'),
                        coalesce(h.std, 'NaN'), h.count]) AS value) s
UNION ALL
SELECT (SELECT run_id FROM llmlens_wandb_run), llmlens_wandb_system_key(i.key), NULL,
       make_timestamptz(r.us), TRY_CAST(i.value_json AS DOUBLE), r.us
FROM llmlens_wandb_items i JOIN llmlens_wandb_rows r ON r.record = i.record AND r.kind = 'stats'
WHERE i.kind = 'stats' AND NOT starts_with(i.key, '_') AND TRY_CAST(i.value_json AS DOUBLE) IS NOT NULL;

-- history values that are not metrics, by key: text, booleans, media other than histograms
CREATE OR REPLACE TEMP TABLE llmlens_wandb_skipped AS
SELECT coalesce(json_group_object(key, n), '{}') AS skipped FROM (
    SELECT key, count(*) AS n FROM (
        SELECT key FROM llmlens_wandb_values
        WHERE kind = 'history' AND prefix IS NULL AND TRY_CAST(value_json AS DOUBLE) IS NULL
        UNION ALL
        SELECT m.prefix FROM llmlens_wandb_media m
        LEFT JOIN llmlens_wandb_histograms h ON h.record = m.record AND h.prefix = m.prefix
        WHERE m.kind = 'history' AND NOT coalesce(h.usable, false)
    ) GROUP BY key
);

CREATE OR REPLACE TEMP TABLE llmlens_stage_params AS
SELECT (SELECT run_id FROM llmlens_wandb_run) AS run_id, key,
       CASE WHEN json_type(TRY_CAST(value_json AS JSON)) = 'VARCHAR' THEN TRY_CAST(value_json AS JSON)->>'$'
            ELSE value_json END AS value
FROM llmlens_wandb_values WHERE kind = 'config'
QUALIFY row_number() OVER (PARTITION BY key ORDER BY record DESC) = 1;

-- the summary as W&B shows it: each key's last value (media left out; NaN and infinities as strings)
CREATE OR REPLACE TEMP TABLE llmlens_wandb_summary AS
SELECT coalesce(json_group_object(key, CASE WHEN isfinite(TRY_CAST(value_json AS DOUBLE)) IS FALSE
                                            THEN to_json(value_json)
                                            ELSE coalesce(TRY_CAST(value_json AS JSON), to_json(value_json)) END),
                '{}') AS summary
FROM (SELECT key, value_json FROM llmlens_wandb_values WHERE kind = 'summary' AND prefix IS NULL
      QUALIFY row_number() OVER (PARTITION BY key ORDER BY record DESC) = 1);

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, key, NULL, NULL, value_json, left(value_json, 200), encode(value_json)
FROM llmlens_wandb_files WHERE kind = 'reject';
"""
"""What both W&B formats share: from ``llmlens_wandb_items`` (record, byte_offset, kind, step, key, value_json,
time_us: ``history`` and ``stats`` items), ``llmlens_wandb_state`` (record, kind, key, value_json: ``config``
and ``summary`` as they stand) and ``llmlens_wandb_run`` (run_id), stage the points and params, and the summary
and skipped values for the run's attributes."""

STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_wandb_items AS
SELECT record, byte_offset, kind, step, key, value_json, time_us FROM llmlens_records_arrow
WHERE kind IN ('history', 'stats');

-- config and summary: the run folder's files when it has them, else the log's (the last update of each key, unless
-- a later removal took it, or a key above it, away)
CREATE OR REPLACE TEMP TABLE llmlens_wandb_updates AS
SELECT record, kind, key, value_json FROM llmlens_records_arrow
WHERE kind IN ('config', 'summary') AND kind NOT IN (SELECT kind FROM llmlens_wandb_files);

CREATE OR REPLACE TEMP TABLE llmlens_wandb_state AS
SELECT record, kind, key, value_json FROM (
    SELECT * FROM llmlens_wandb_updates
    QUALIFY row_number() OVER (PARTITION BY kind, key ORDER BY record DESC, value_json IS NOT NULL DESC) = 1
) u
WHERE value_json IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM llmlens_wandb_updates r
    WHERE r.value_json IS NULL AND r.kind = u.kind AND r.record > u.record AND starts_with(u.key || '.', r.key || '.'))
UNION ALL
SELECT 0, kind, key, value_json FROM llmlens_wandb_files WHERE kind IN ('config', 'summary');

CREATE OR REPLACE TEMP TABLE llmlens_wandb_run AS
SELECT 'wandb:' || id AS run_id, * EXCLUDE (started),
       coalesce(started, environment_started) AS started
FROM (
    SELECT coalesce(nullif(run->>'run_id', ''), nullif(regexp_extract(uri, 'run-([^/\\]+)\.wandb$', 1), ''),
                    regexp_extract(uri, '([^/\\]+)$', 1)) AS id,
           nullif(run->>'project', '') AS project, run, started, environment_started, exit, environment, folder
    FROM (SELECT uri, regexp_replace(uri, '[/\\][^/\\]*$', '') AS folder FROM llmlens_source),
         (SELECT TRY_CAST(max(value_json) FILTER (WHERE kind = 'run') AS JSON) AS run,
                 max(time_us) FILTER (WHERE kind = 'run') AS started,
                 min(time_us) FILTER (WHERE kind = 'environment') AS environment_started,
                 TRY_CAST(max(value_json) FILTER (WHERE kind = 'exit') AS JSON) AS exit,
                 list_reduce(list(TRY_CAST(value_json AS JSON) ORDER BY record) FILTER (WHERE kind = 'environment'),
                             lambda a, b: json_merge_patch(a, b)) AS environment
          FROM llmlens_records_arrow WHERE kind IN ('run', 'exit', 'environment'))
);
"""

RUN = r"""
CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS
SELECT run_id, project, coalesce(nullif(run->>'display_name', ''), id) AS name,
       nullif(run->>'run_group', '') AS group_name,
       make_timestamptz(coalesce(started, (SELECT min(us - runtime_us) FROM llmlens_wandb_rows))) AS started_at,
       CASE WHEN exit IS NOT NULL THEN greatest(
           make_timestamptz((SELECT max(time_us) FROM llmlens_records_arrow WHERE kind = 'clock')),
           make_timestamptz(started + CAST(coalesce(TRY_CAST(exit->>'runtime' AS DOUBLE), 0) * 1e6 AS BIGINT)))
       END AS ended_at,
       CASE WHEN exit IS NULL THEN 'running'
            WHEN coalesce(TRY_CAST(exit->>'exit_code' AS BIGINT), 0) = 0 THEN 'finished' ELSE 'failed' END AS status,
       coalesce(TRY_CAST(run->'tags' AS VARCHAR[]), []) AS tags,
       json_object('id', id, 'entity', nullif(run->>'entity', ''), 'job_type', nullif(run->>'job_type', ''),
                   'host', nullif(run->>'host', ''), 'notes', nullif(run->>'notes', ''),
                   'sweep_id', nullif(run->>'sweep_id', ''), 'resumed', run->'resumed', 'forked', run->'forked',
                   'starting_step', run->'starting_step', 'git', run->'git',
                   'exit_code', CASE WHEN exit IS NOT NULL THEN coalesce(exit->'exit_code', '0') END,
                   'runtime', exit->'runtime', 'environment', environment,
                   'metadata', (SELECT TRY_CAST(value_json AS JSON) FROM llmlens_wandb_files WHERE kind = 'metadata'),
                   'summary', (SELECT summary FROM llmlens_wandb_summary),
                   'skipped_history', (SELECT skipped FROM llmlens_wandb_skipped), 'folder', folder) AS attributes
FROM llmlens_wandb_run;
"""


def read(path: Path) -> Any:
    """The decoded rows of a run file, chunk by chunk (see :func:`llmlens.loaders.wandb_records.read`).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run-abc.wandb"
    >>> _ = path.write_bytes(wandb_records.MAGIC + bytes(1))
    >>> [(records.table["kind"].to_pylist(), records.rejected) for records, _ in read(path)]
    [(['clock'], [])]
    """
    return wandb_records.read(path)


def covers(path: Path) -> list[Path]:
    """The files read with a run's ``.wandb`` file: those of ``RUN_FILES`` in the ``files/`` folder beside it.

    >>> covers(Path("/nowhere/run-abc.wandb"))
    []
    """
    return [path.parent / "files" / name for name in RUN_FILES if (path.parent / "files" / name).is_file()]


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the run, its params and points from the registered rows of one chunk of a ``.wandb`` file."""
    ((uri,),) = con.execute("SELECT uri FROM llmlens_source").fetchall()
    stage_with_files(con, source_id, Path(uri).parent / "files", STAGE, RUN)


def stage_with_files(con: duckdb.DuckDBPyConnection, source_id: int, folder: Path, *scripts: str) -> None:
    """Run ``scripts`` around the shared ``POINTS`` script, with the run files in ``folder`` registered as
    ``llmlens_wandb_files`` (the first script builds the items, state and run tables, the last the run's row)."""
    llmlens_files = run_files(folder)  # noqa: F841 (read by name in the statement below)
    con.execute("CREATE OR REPLACE TEMP TABLE llmlens_wandb_files AS SELECT * FROM llmlens_files")
    first, *rest = scripts
    run_script(con, first, {"source_id": source_id})
    run_script(con, SYSTEM_KEY + POINTS, {"source_id": source_id})
    for script in rest:
        run_script(con, script, {"source_id": source_id})


def run_files(folder: Path) -> pa.Table:
    """The run files in ``folder`` as rows (see ``FILES``): config and summary one row per top-level key, the
    metadata whole; a file that cannot be read gives a ``reject`` row with the reason.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.yaml").write_text("wandb_version: 1\\n\\nlr:\\n  desc: null\\n  value: 0.001\\n")
    >>> run_files(folder).to_pylist()
    [{'kind': 'config', 'key': 'lr', 'value_json': '0.001'}]
    """
    import yaml

    rows: list[tuple[str, str, str]] = []
    for name in RUN_FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
            loaded = yaml.safe_load(text) if name.endswith(".yaml") else json.loads(text)
        except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
            rows.append(("reject", str(path), f"{path}: cannot read this run file ({error})"))
            continue
        if not isinstance(loaded, dict):
            rows.append(("reject", str(path), f"{path}: not an object of keys"))
        elif name == "wandb-metadata.json":
            rows.append(("metadata", "", _json(loaded)))
        else:
            kind = "config" if name == "config.yaml" else "summary"
            rows += [(kind, str(key), _json(_unwrap(value)))
                     for key, value in loaded.items() if key != "wandb_version"]  # fmt: skip
    return pa.table([pa.array(column, pa.string()) for column in zip(*rows, strict=True)] if rows else
                    [pa.array([], pa.string())] * 3, schema=FILES)  # fmt: skip


def _unwrap(value: Any) -> Any:
    """A config.yaml entry's value: W&B writes each top-level key as ``{desc: ..., value: ...}``."""
    return value["value"] if isinstance(value, dict) and "value" in value else value


def _json(value: Any) -> str:
    """JSON as W&B writes it: no spaces (NaN and infinities as JavaScript writes them; DuckDB reads them)."""
    return json.dumps(value, separators=(",", ":"), default=str)
