-- Edges remember the span that declared them, so reloading that span replaces its edges.
ALTER TABLE edges ADD COLUMN via_trace_id VARCHAR;
ALTER TABLE edges ADD COLUMN via_span_id VARCHAR;
UPDATE edges SET via_trace_id = src_trace_id, via_span_id = src_span_id;
COMMENT ON COLUMN edges.via_trace_id IS 'Trace of the span that declared the edge.';
COMMENT ON COLUMN edges.via_span_id IS 'The span that declared the edge: the span holding the link, the handoff span, or the agent span carrying graph.node.parent_id. Loading that span again replaces its edges.';
