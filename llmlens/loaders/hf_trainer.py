"""Hugging Face Trainer state files (``trainer_state.json``) into ``runs``, ``params`` and ``metrics``.

``log_history`` holds one object per logging event: training rows (``loss``, ``grad_norm``, ``learning_rate``,
``epoch``, ``step``), evaluation rows (``eval_*``) and the final summary (``train_runtime``, ``train_loss``, ...).
Every numeric value becomes a point at that row's ``step``, under its own name; NaN and infinities are kept. A run
is the folder that holds the file, or the folder above a ``checkpoint-N`` folder, so the state saved at the end of
training and each checkpoint's copy make one run: points load once however many copies are read, and the run's
row and params come from the copy read last (folders are read in name order: checkpoints, then the final state).
The file has no times: ``wall_time`` is NULL.
"""

from __future__ import annotations

import duckdb

from llmlens.loaders.files import Records, decoded_records
from llmlens.query import run_script

NAME = "hf-trainer"

STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_hf_states AS
SELECT line, byte_offset, text, TRY_CAST(text AS JSON) AS doc,
       -- the run's folder: the file's folder, or the one above a checkpoint-N folder
       regexp_replace(regexp_replace((SELECT uri FROM llmlens_source), '[/\\][^/\\]*$', ''),
                      '[/\\]checkpoint-\d+$', '') AS run_dir
FROM llmlens_records;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line, line, byte_offset,
       CASE WHEN doc IS NULL THEN 'not valid JSON (truncated or corrupt file)'
            ELSE 'not a Trainer state: no log_history list' END,
       left(text, 200), encode(text)
FROM llmlens_hf_states WHERE json_type(doc, '$.log_history') IS DISTINCT FROM 'ARRAY';

DELETE FROM llmlens_hf_states WHERE json_type(doc, '$.log_history') IS DISTINCT FROM 'ARRAY';

CREATE OR REPLACE TEMP TABLE llmlens_hf_rows AS
SELECT 'hf:' || run_dir AS run_id, line, byte_offset, CAST(i - 1 AS BIGINT) AS seq, r AS row
FROM llmlens_hf_states,
     LATERAL (SELECT unnest(from_json(doc->'log_history', '["JSON"]')) AS r,
                     generate_subscripts(from_json(doc->'log_history', '["JSON"]'), 1) AS i);

CREATE OR REPLACE TEMP TABLE llmlens_stage_metrics AS
SELECT run_id, e.key AS key, TRY_CAST(row->>'step' AS BIGINT) AS step, NULL::TIMESTAMPTZ AS wall_time,
       TRY_CAST(CAST(e.value AS VARCHAR) AS DOUBLE) AS value, seq
FROM (SELECT run_id, seq, row, unnest(map_entries(TRY_CAST(row AS MAP(VARCHAR, JSON)))) AS e FROM llmlens_hf_rows)
WHERE e.key <> 'step' AND json_type(e.value) IN ('DOUBLE', 'BIGINT', 'UBIGINT');

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'line ' || line || ', log_history[' || seq || ']', line, byte_offset,
       'a log_history entry that is not an object', left(CAST(row AS VARCHAR), 200), encode(CAST(row AS VARCHAR))
FROM llmlens_hf_rows WHERE json_type(row) <> 'OBJECT';

CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS
SELECT 'hf:' || run_dir AS run_id, NULL::VARCHAR AS project,
       regexp_extract(run_dir, '([^/\\]+)$', 1) AS name, NULL::VARCHAR AS group_name,
       NULL::TIMESTAMPTZ AS started_at, NULL::TIMESTAMPTZ AS ended_at,
       -- the final summary row (train_runtime) is logged when training ends
       CASE WHEN len(list_filter(from_json(doc->'log_history', '["JSON"]'),
                                 lambda r: json_extract(r, '$.train_runtime') IS NOT NULL)) > 0
            THEN 'finished' ELSE 'running' END AS status,
       []::VARCHAR[] AS tags,
       json_object('global_step', doc->'global_step', 'epoch', doc->'epoch', 'max_steps', doc->'max_steps',
                   'best_metric', doc->'best_metric', 'best_model_checkpoint', doc->'best_model_checkpoint',
                   'trial_name', doc->'trial_name', 'is_hyper_param_search', doc->'is_hyper_param_search',
                   'folder', run_dir) AS attributes
FROM llmlens_hf_states;

CREATE OR REPLACE TEMP TABLE llmlens_stage_params AS
SELECT 'hf:' || run_dir AS run_id, key, CASE WHEN json_type(value) = 'VARCHAR' THEN value->>'$'
                                              ELSE CAST(value AS VARCHAR) END AS value
FROM (
    SELECT run_dir, unnest(['max_steps', 'num_train_epochs', 'logging_steps', 'eval_steps', 'save_steps',
                            'train_batch_size']) AS key, doc
    FROM llmlens_hf_states
), LATERAL (SELECT json_extract(doc, '$.' || key) AS value)
WHERE value IS NOT NULL AND json_type(value) <> 'NULL'
UNION ALL
SELECT 'hf:' || run_dir, 'trial_params.' || e.key,
       CASE WHEN json_type(e.value) = 'VARCHAR' THEN e.value->>'$' ELSE CAST(e.value AS VARCHAR) END
FROM (SELECT run_dir, unnest(map_entries(TRY_CAST(doc->'trial_params' AS MAP(VARCHAR, JSON)))) AS e
      FROM llmlens_hf_states WHERE json_type(doc->'trial_params') = 'OBJECT');
"""


def read(data: bytes) -> Records:
    """The whole file as one record (a state file is one JSON document).

    >>> read(b'{"log_history": []}').table.to_pylist()
    [{'line': 1, 'byte_offset': 0, 'text': '{"log_history": []}'}]
    """
    return decoded_records([(1, 0, data)])


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the run, its params and every logged point from the registered ``llmlens_records`` (one file)."""
    run_script(con, STAGE, {"source_id": source_id})
