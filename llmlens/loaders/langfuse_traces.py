"""The root span of each Langfuse trace, whatever the export shape and whatever loads first.

A Langfuse trace is the root of its observations (its span's id is the trace id; the top-level observations hang
under it). The span comes from the trace's row (legacy ``traces/`` files, the UI's traces export, a trace download
or API object): its name, timestamp, input, output, user, session and the rest of the row. Where no trace row is
loaded (enriched ``observations_v2/`` exports, the UI's observations export, API pages of observations), it is
derived from the observations (``"langfuse.derived": true``): the trace's name (else the top-level observation's),
the top-level observation's input and output (what Langfuse v4 shows as the trace's), the observations' span of
time, user, session, tags, release and environment.

The outcome does not depend on the order files load in, nor on how a file is cut into chunks:

- a trace row replaces a derived span; a derived span never replaces a trace row, stored or staged earlier in the
  same file;
- a trace row's end is the latest end of its observations, those loaded before it and those loaded after (a trace
  row loaded before is written again with the later end);
- derived spans of the same trace (in several chunks or files) merge: the earliest start, the latest end.

What earlier chunks of the file staged is kept in ``langfuse_file_traces``, a temporary table of the staging
connection (which lives as long as the file's load; rows are keyed by source, so nothing carries over).
"""

from __future__ import annotations

TRACE_SPANS = r"""
CREATE TEMP TABLE IF NOT EXISTS langfuse_file_traces (
    source_id INTEGER, trace_id VARCHAR, from_row BOOLEAN, name VARCHAR, start_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ, input_text VARCHAR, output_text VARCHAR, session_id VARCHAR, user_id VARCHAR,
    service_name VARCHAR, attributes JSON);

CREATE OR REPLACE TEMP TABLE llmlens_lf_touched AS
SELECT trace_id FROM llmlens_lf_trace_rows UNION SELECT trace_id FROM llmlens_lf_obs;

-- each trace's span as it stands: staged by an earlier chunk of this file, else stored
CREATE OR REPLACE TEMP TABLE llmlens_lf_prior AS
SELECT trace_id, from_row, name, start_time, end_time, input_text, output_text, session_id, user_id, service_name,
       attributes, true AS in_file
FROM langfuse_file_traces
WHERE source_id = $source_id AND trace_id IN (SELECT trace_id FROM llmlens_lf_touched)
UNION ALL
SELECT trace_id, json_extract(attributes, '$."langfuse.derived"') IS NULL, name, start_time, end_time, input_text,
       output_text, session_id, user_id, service_name, attributes, false
FROM spans
WHERE span_id = trace_id AND trace_id IN (SELECT trace_id FROM llmlens_lf_touched)
  AND json_extract_string(attributes, '$."langfuse.object"') = 'trace'
  AND trace_id NOT IN (SELECT trace_id FROM langfuse_file_traces WHERE source_id = $source_id);

-- the latest end of what the store holds of these traces (observations loaded before)
CREATE OR REPLACE TEMP TABLE llmlens_lf_stored_end AS
SELECT trace_id, max(coalesce(end_time, start_time)) AS end_time
FROM spans WHERE trace_id IN (SELECT trace_id FROM llmlens_lf_touched) GROUP BY trace_id;

-- this chunk's observations, per trace; "top" is the earliest top-level observation
CREATE OR REPLACE TEMP TABLE llmlens_lf_observed AS
SELECT trace_id, arg_min(line, ord) AS line, arg_min(byte_offset, ord) AS byte_offset,
       min(start_time) AS start_time, max(coalesce(end_time, start_time)) AS end_time,
       arg_min(ord, start_time) FILTER (WHERE parent_span_id = trace_id) AS top,
       arg_min(name, start_time) FILTER (WHERE parent_span_id = trace_id) AS top_name,
       any_value(trace_name) AS trace_name, any_value(session_id) AS session_id, any_value(user_id) AS user_id,
       any_value(json_extract_string(llmlens_lf_json(meta.resourceAttributes), '$."service.name"')) AS service_name,
       any_value(tags) AS tags, any_value(release) AS release, any_value(environment) AS environment,
       any_value(project_id) AS project_id, bool_or(span_id = trace_id) AS rooted
FROM llmlens_lf_obs GROUP BY trace_id;

CREATE OR REPLACE TEMP TABLE llmlens_lf_trace_spans AS
-- a trace row of this chunk (none where an observation has the trace's own id: that observation is the root)
SELECT t.line, t.byte_offset, t.trace_id, t.name, t.start_time,
       greatest(t.start_time + to_microseconds(CAST(t.latency * 1e6 AS BIGINT)), o.end_time, e.end_time, p.end_time)
           AS end_time,
       t.input_text, t.output_text, t.session_id, t.user_id, t.service_name, t.attributes, true AS from_row
FROM llmlens_lf_trace_rows t
LEFT JOIN llmlens_lf_observed o USING (trace_id)
LEFT JOIN llmlens_lf_stored_end e USING (trace_id)
LEFT JOIN llmlens_lf_prior p USING (trace_id)
WHERE NOT coalesce(o.rooted, false)
UNION ALL
-- a trace row loaded before (earlier in this file, or another file): again, ending with its latest observation
SELECT o.line, o.byte_offset, p.trace_id, p.name, p.start_time, greatest(p.end_time, o.end_time), p.input_text,
       p.output_text, p.session_id, p.user_id, p.service_name, p.attributes, true
FROM llmlens_lf_prior p JOIN llmlens_lf_observed o USING (trace_id)
WHERE p.from_row AND NOT o.rooted AND p.trace_id NOT IN (SELECT trace_id FROM llmlens_lf_trace_rows)
  AND (p.in_file OR o.end_time > p.end_time OR (p.end_time IS NULL AND o.end_time IS NOT NULL))
UNION ALL
-- no trace row: derived from the observations, merged with what was derived before
SELECT o.line, o.byte_offset, o.trace_id, coalesce(o.trace_name, o.top_name, p.name, 'trace'),
       least(o.start_time, p.start_time), greatest(o.end_time, p.end_time),
       coalesce(llmlens_lf_io_text(x.f.input), p.input_text), coalesce(llmlens_lf_io_text(x.f.output), p.output_text),
       coalesce(o.session_id, p.session_id), coalesce(o.user_id, p.user_id),
       coalesce(o.service_name, p.service_name),
       CASE WHEN p.attributes IS NULL OR o.trace_name IS NOT NULL
            THEN CAST(json_object('langfuse.object', 'trace', 'langfuse.derived', true, 'trace_name', o.trace_name,
                                  'tags', o.tags, 'release', o.release, 'environment', o.environment,
                                  'project_id', o.project_id) AS JSON)
            ELSE p.attributes END,
       false
FROM llmlens_lf_observed o
LEFT JOIN llmlens_lf_prior p USING (trace_id)
LEFT JOIN llmlens_lf_fields x ON x.ord = o.top
WHERE NOT o.rooted AND NOT coalesce(p.from_row, false)
  AND o.trace_id NOT IN (SELECT trace_id FROM llmlens_lf_trace_rows);

DELETE FROM langfuse_file_traces
WHERE source_id = $source_id AND trace_id IN (SELECT trace_id FROM llmlens_lf_trace_spans);

INSERT INTO langfuse_file_traces
SELECT $source_id, trace_id, from_row, name, start_time, end_time, input_text, output_text, session_id, user_id,
       service_name, attributes
FROM llmlens_lf_trace_spans;
"""
"""Reads ``llmlens_lf_trace_rows`` and ``llmlens_lf_obs`` (see :mod:`llmlens.loaders.langfuse_export`), the store's
``spans`` and the file's ``langfuse_file_traces``; gives ``llmlens_lf_trace_spans``."""
