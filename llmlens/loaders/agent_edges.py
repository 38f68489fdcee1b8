"""Agent graph edges from OTLP spans: OpenInference ``graph.node.*`` and handoffs between agents.

Runs after the OTLP staging (``llmlens_stage_spans`` with its graph and handoff columns) and adds to
``llmlens_stage_edges``:

- ``graph_node``: a span with ``graph.node.parent_id = P`` is reached from the latest span of its trace whose
  ``graph.node.id`` is P (OpenInference sets this on an agent reached by a handoff, and on nodes of other graphs).
- ``handoff``: a handoff span (OpenInference's ``handoff to <agent>`` TOOL span, with the agents in
  ``input.value``/``output.value``, or ``gen_ai.agent.handoff.{source,target}.name``) links the latest span of the
  source agent before it to the first span of the target agent after it; the handoff span itself stands in for an
  agent that is not in the trace.

Edges are declared by (``via_*``) the span carrying the attribute, so loading that span again replaces them.
"""

from __future__ import annotations

EDGES = r"""
CREATE OR REPLACE TEMP TABLE llmlens_agent_spans AS
SELECT n, trace_id, span_id, name, kind, start_time, agent_name, graph_node_id, graph_parent_id,
       coalesce(handoff_from, CASE WHEN kind = 'TOOL' AND name LIKE 'handoff to %' THEN input_text END) AS handoff_from,
       coalesce(handoff_to, CASE WHEN kind = 'TOOL' AND name LIKE 'handoff to %' THEN output_text END) AS handoff_to
FROM llmlens_stage_spans
WHERE agent_name IS NOT NULL OR graph_node_id IS NOT NULL OR graph_parent_id IS NOT NULL
   OR handoff_from IS NOT NULL OR handoff_to IS NOT NULL OR (kind = 'TOOL' AND name LIKE 'handoff to %');

INSERT INTO llmlens_stage_edges BY NAME
SELECT 'graph_node' AS kind, c.trace_id AS src_trace_id,
       (SELECT p.span_id FROM llmlens_agent_spans p
        WHERE p.trace_id = c.trace_id AND p.graph_node_id = c.graph_parent_id AND p.n <> c.n
          AND p.start_time <= c.start_time
        ORDER BY p.start_time DESC, p.n DESC LIMIT 1) AS src_span_id,
       c.trace_id AS dst_trace_id, c.span_id AS dst_span_id,
       c.graph_parent_id || ' -> ' || coalesce(c.graph_node_id, c.name) AS label,
       json_object('from', c.graph_parent_id, 'to', c.graph_node_id) AS attributes,
       c.trace_id AS via_trace_id, c.span_id AS via_span_id
FROM llmlens_agent_spans c
WHERE c.graph_parent_id IS NOT NULL;

INSERT INTO llmlens_stage_edges BY NAME
SELECT 'handoff' AS kind, h.trace_id AS src_trace_id,
       coalesce((SELECT a.span_id FROM llmlens_agent_spans a
                 WHERE a.trace_id = h.trace_id AND a.agent_name = h.handoff_from AND a.n <> h.n
                   AND a.start_time <= h.start_time
                 ORDER BY a.kind = 'AGENT' DESC, a.start_time DESC, a.n DESC LIMIT 1), h.span_id) AS src_span_id,
       h.trace_id AS dst_trace_id,
       coalesce((SELECT a.span_id FROM llmlens_agent_spans a
                 WHERE a.trace_id = h.trace_id AND a.agent_name = h.handoff_to AND a.n <> h.n
                   AND a.start_time >= h.start_time
                 ORDER BY a.kind = 'AGENT' DESC, a.start_time, a.n LIMIT 1), h.span_id) AS dst_span_id,
       coalesce(h.handoff_from, '?') || ' -> ' || coalesce(h.handoff_to, '?') AS label,
       json_object('from_agent', h.handoff_from, 'to_agent', h.handoff_to, 'handoff_span_id', h.span_id) AS attributes,
       h.trace_id AS via_trace_id, h.span_id AS via_span_id
FROM llmlens_agent_spans h
WHERE h.handoff_from IS NOT NULL OR h.handoff_to IS NOT NULL;
"""
"""SQL adding agent graph and handoff edges to ``llmlens_stage_edges``."""
