-- Spans whose parent is not in the store (yet): kept, and findable.
CREATE VIEW orphan_spans AS
SELECT s.*
FROM spans s
WHERE s.parent_span_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM spans p WHERE p.trace_id = s.trace_id AND p.span_id = s.parent_span_id);
COMMENT ON VIEW orphan_spans IS 'Spans whose parent span never arrived (a partial export, or a parent still to be loaded). They stay in spans; this view finds them, and a span leaves it once its parent is loaded.';
COMMENT ON COLUMN orphan_spans.source_id IS 'As spans.source_id.';
COMMENT ON COLUMN orphan_spans.trace_id IS 'As spans.trace_id.';
COMMENT ON COLUMN orphan_spans.span_id IS 'As spans.span_id.';
COMMENT ON COLUMN orphan_spans.parent_span_id IS 'As spans.parent_span_id.';
COMMENT ON COLUMN orphan_spans.name IS 'As spans.name.';
COMMENT ON COLUMN orphan_spans.kind IS 'As spans.kind.';
COMMENT ON COLUMN orphan_spans.otel_kind IS 'As spans.otel_kind.';
COMMENT ON COLUMN orphan_spans.start_time IS 'As spans.start_time.';
COMMENT ON COLUMN orphan_spans.end_time IS 'As spans.end_time.';
COMMENT ON COLUMN orphan_spans.duration_ms IS 'As spans.duration_ms.';
COMMENT ON COLUMN orphan_spans.status_code IS 'As spans.status_code.';
COMMENT ON COLUMN orphan_spans.status_message IS 'As spans.status_message.';
COMMENT ON COLUMN orphan_spans.model IS 'As spans.model.';
COMMENT ON COLUMN orphan_spans.provider IS 'As spans.provider.';
COMMENT ON COLUMN orphan_spans.input_text IS 'As spans.input_text.';
COMMENT ON COLUMN orphan_spans.output_text IS 'As spans.output_text.';
COMMENT ON COLUMN orphan_spans.input_tokens IS 'As spans.input_tokens.';
COMMENT ON COLUMN orphan_spans.output_tokens IS 'As spans.output_tokens.';
COMMENT ON COLUMN orphan_spans.total_tokens IS 'As spans.total_tokens.';
COMMENT ON COLUMN orphan_spans.cost_usd IS 'As spans.cost_usd.';
COMMENT ON COLUMN orphan_spans.session_id IS 'As spans.session_id.';
COMMENT ON COLUMN orphan_spans.user_id IS 'As spans.user_id.';
COMMENT ON COLUMN orphan_spans.agent_name IS 'As spans.agent_name.';
COMMENT ON COLUMN orphan_spans.service_name IS 'As spans.service_name.';
COMMENT ON COLUMN orphan_spans.attributes IS 'As spans.attributes.';
COMMENT ON COLUMN orphan_spans.resource IS 'As spans.resource.';
COMMENT ON COLUMN orphan_spans.events IS 'As spans.events.';
