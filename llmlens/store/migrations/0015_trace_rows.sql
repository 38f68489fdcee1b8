-- Loads recompute the rows of traces only for the traces they touched: trace_rows(trace_ids) reads only
-- those traces' spans (the view's filter on trace_id was not pushed below its GROUP BY, so every chunk of
-- a load aggregated the whole store). trace_rollup stays, as trace_rows(NULL).
CREATE MACRO trace_rows(trace_ids) AS TABLE
WITH rolled AS (
    SELECT
        trace_id,
        arg_min({'span_id': span_id, 'name': name, 'kind': kind, 'status': status_code, 'input': input_text,
                 'output': output_text, 'service': service_name},
                {'nonroot': parent_span_id IS NOT NULL, 'start': start_time})              AS root,
        min(start_time)                                                                    AS start_time,
        max(end_time)                                                                      AS end_time,
        count(*)                                                                           AS n_spans,
        count(*) FILTER (WHERE status_code = 'ERROR')                                      AS n_errors,
        count(*) FILTER (WHERE kind = 'LLM')                                               AS n_llm_calls,
        sum(input_tokens) FILTER (WHERE kind = 'LLM')                                      AS input_tokens,
        sum(output_tokens) FILTER (WHERE kind = 'LLM')                                     AS output_tokens,
        sum(coalesce(total_tokens, input_tokens + output_tokens)) FILTER (WHERE kind = 'LLM') AS total_tokens,
        sum(cost_usd)                                                                      AS cost_usd,
        coalesce(mode(model) FILTER (WHERE kind = 'LLM'), mode(model))                     AS model,
        any_value(session_id)                                                              AS session_id,
        any_value(user_id)                                                                 AS user_id
    FROM spans
    WHERE trace_ids IS NULL OR trace_id IN (SELECT unnest(trace_ids))
    GROUP BY trace_id
)
SELECT
    trace_id,
    root.span_id                                                 AS root_span_id,
    root.name                                                    AS root_name,
    root.kind                                                    AS root_kind,
    start_time,
    end_time,
    date_diff('microsecond', start_time, end_time) / 1000.0      AS duration_ms,
    CASE WHEN n_errors > 0 THEN 'ERROR' ELSE root.status END     AS status,
    n_spans,
    n_errors,
    n_llm_calls,
    input_tokens,
    output_tokens,
    total_tokens,
    cost_usd,
    model,
    session_id,
    user_id,
    root.service                                                 AS service_name,
    root.input                                                   AS input_text,
    root.output                                                  AS output_text
FROM rolled;
COMMENT ON MACRO TABLE trace_rows IS 'The rows of traces for the traces given (a list of trace ids; NULL for all), computed from their spans: the definition of a row of traces.';

CREATE OR REPLACE VIEW trace_rollup AS SELECT * FROM trace_rows(NULL);
COMMENT ON VIEW trace_rollup IS 'One row per trace computed from its spans: the definition of a row of traces (which stores it, kept current by every load). Query traces; this view recomputes from all spans (trace_rows(NULL)).';
COMMENT ON COLUMN trace_rollup.trace_id IS 'As traces.trace_id.';
COMMENT ON COLUMN trace_rollup.root_span_id IS 'As traces.root_span_id.';
COMMENT ON COLUMN trace_rollup.root_name IS 'As traces.root_name.';
COMMENT ON COLUMN trace_rollup.root_kind IS 'As traces.root_kind.';
COMMENT ON COLUMN trace_rollup.start_time IS 'As traces.start_time.';
COMMENT ON COLUMN trace_rollup.end_time IS 'As traces.end_time.';
COMMENT ON COLUMN trace_rollup.duration_ms IS 'As traces.duration_ms.';
COMMENT ON COLUMN trace_rollup.status IS 'As traces.status.';
COMMENT ON COLUMN trace_rollup.n_spans IS 'As traces.n_spans.';
COMMENT ON COLUMN trace_rollup.n_errors IS 'As traces.n_errors.';
COMMENT ON COLUMN trace_rollup.n_llm_calls IS 'As traces.n_llm_calls.';
COMMENT ON COLUMN trace_rollup.input_tokens IS 'As traces.input_tokens.';
COMMENT ON COLUMN trace_rollup.output_tokens IS 'As traces.output_tokens.';
COMMENT ON COLUMN trace_rollup.total_tokens IS 'As traces.total_tokens.';
COMMENT ON COLUMN trace_rollup.cost_usd IS 'As traces.cost_usd.';
COMMENT ON COLUMN trace_rollup.model IS 'As traces.model.';
COMMENT ON COLUMN trace_rollup.session_id IS 'As traces.session_id.';
COMMENT ON COLUMN trace_rollup.user_id IS 'As traces.user_id.';
COMMENT ON COLUMN trace_rollup.service_name IS 'As traces.service_name.';
COMMENT ON COLUMN trace_rollup.input_text IS 'As traces.input_text.';
COMMENT ON COLUMN trace_rollup.output_text IS 'As traces.output_text.';
