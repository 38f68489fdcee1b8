"""Langfuse scores as annotations (staged by :mod:`llmlens.loaders.langfuse_export`).

A score (blob-storage ``scores/`` rows, the UI's scores export, the API's ``Score`` and ``ScoreV3``) becomes one
annotation whose ``external_id`` is ``langfuse:score:<id>``, so loading it again replaces it:

- NUMERIC and BOOLEAN values are the ``score`` (1/0 for booleans, ``true``/``false`` too); CATEGORICAL values are
  both (the category as ``label``, its value as ``score``); TEXT and CORRECTION values are the ``label``. The
  comment is the ``note``.
- The target is the observation (``span``), else the trace, else the session, else the dataset run (``run``),
  whether or not it is loaded (``observation_id``, ``trace_id``, ``session_id``, ``dataset_run_id``, or the
  ``subject`` of a ``ScoreV3``).
- Source ANNOTATION is a ``human``, EVAL an ``llm`` judge, API a ``check``; the annotator is the author (its name
  in the UI's export, else its user id), else ``langfuse:<source>``; the queue is ``queue_id``.
- The whole score is kept in ``metadata`` (with ``trace_id`` and ``observation_id`` as loaded).

A score without an id, a name or a target, or whose NUMERIC or BOOLEAN value is not a number, is rejected.
"""

from __future__ import annotations

SCORES = r"""
CREATE OR REPLACE TEMP TABLE llmlens_lf_scores AS
SELECT ord, place, line, byte_offset, obj, f, llmlens_lf_text(f.id) AS id,
       upper(llmlens_lf_text(coalesce(f.data_type, f.dataType))) AS data_type,
       upper(llmlens_lf_text(f.source)) AS score_source,
       llmlens_lf_id(coalesce(llmlens_lf_text(f.observation_id), llmlens_lf_text(f.observationId),
           CASE WHEN json_extract_string(f.subject, '$.kind') = 'observation'
                THEN json_extract_string(f.subject, '$.id') END)) AS observation_id,
       llmlens_lf_id(coalesce(llmlens_lf_text(f.trace_id), llmlens_lf_text(f.traceId),
           CASE WHEN json_extract_string(f.subject, '$.kind') = 'trace' THEN json_extract_string(f.subject, '$.id') END,
           json_extract_string(f.subject, '$.traceId'), parent_trace)) AS trace_id,
       coalesce(llmlens_lf_text(f.session_id), llmlens_lf_text(f.sessionId),
           CASE WHEN json_extract_string(f.subject, '$.kind') = 'session'
                THEN json_extract_string(f.subject, '$.id') END) AS session_id,
       coalesce(llmlens_lf_text(f.dataset_run_id), llmlens_lf_text(f.datasetRunId),
           CASE WHEN json_extract_string(f.subject, '$.kind') = 'experiment'
                THEN json_extract_string(f.subject, '$.id') END) AS run_id,
       llmlens_lf_text(f.value) AS value_text,
       coalesce(llmlens_lf_number(f.value), CASE lower(llmlens_lf_text(f.value)) WHEN 'true' THEN 1.0
                                                 WHEN 'false' THEN 0.0 END) AS value
FROM llmlens_lf_fields WHERE class = 'score';

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, place, line, byte_offset, reason, left(CAST(obj AS VARCHAR), 200), encode(CAST(obj AS VARCHAR))
FROM (
    SELECT *, CASE
        WHEN coalesce(observation_id, trace_id, session_id, run_id) IS NULL
            THEN 'a Langfuse score without a trace, observation, session or dataset run'
        WHEN llmlens_lf_text(f.name) IS NULL THEN 'a Langfuse score without a name'
        WHEN value_text IS NOT NULL AND value IS NULL AND data_type IN ('NUMERIC', 'BOOLEAN')
            THEN 'a Langfuse score whose value is not a number: ' || left(value_text, 80) END AS reason
    FROM llmlens_lf_scores
) WHERE reason IS NOT NULL;

INSERT INTO llmlens_stage_annotations BY NAME
SELECT CASE WHEN observation_id IS NOT NULL THEN 'span' WHEN trace_id IS NOT NULL THEN 'trace'
            WHEN session_id IS NOT NULL THEN 'session' ELSE 'run' END AS target_kind,
       coalesce(observation_id, trace_id, session_id, run_id) AS target_id,
       llmlens_lf_text(f.name) AS name,
       coalesce(llmlens_lf_text(coalesce(f.string_value, f.stringValue)),
                CASE WHEN data_type = 'BOOLEAN' THEN CASE value WHEN 1 THEN 'True' WHEN 0 THEN 'False' END
                     WHEN value IS NULL AND data_type IN ('CATEGORICAL', 'TEXT', 'CORRECTION') THEN value_text END)
           AS label,
       CASE WHEN data_type IN ('TEXT', 'CORRECTION') THEN NULL ELSE value END AS score,
       llmlens_lf_text(f.comment) AS note,
       coalesce(llmlens_lf_text(f.authorUserName), llmlens_lf_text(coalesce(f.author_user_id, f.authorUserId)),
                'langfuse:' || lower(coalesce(score_source, 'api'))) AS annotator,
       CASE score_source WHEN 'ANNOTATION' THEN 'human' WHEN 'EVAL' THEN 'llm' ELSE 'check' END AS annotator_kind,
       coalesce(llmlens_lf_time(f.timestamp), llmlens_lf_time(coalesce(f.created_at, f.createdAt))) AS created_at,
       llmlens_lf_text(coalesce(f.queue_id, f.queueId)) AS queue,
       json_merge_patch(obj, json_object('trace_id', trace_id, 'observation_id', observation_id)) AS metadata,
       'langfuse:score:' || id AS external_id
FROM llmlens_lf_scores
WHERE coalesce(observation_id, trace_id, session_id, run_id) IS NOT NULL AND llmlens_lf_text(f.name) IS NOT NULL
  AND NOT (value_text IS NOT NULL AND value IS NULL AND data_type IN ('NUMERIC', 'BOOLEAN'))
QUALIFY row_number() OVER (PARTITION BY id ORDER BY ord DESC) = 1;
"""
"""Reads the rows classed as scores in ``llmlens_lf_fields``; inserts into ``llmlens_stage_annotations`` and
``llmlens_stage_rejects``. The latest row of a score id in a chunk wins."""
