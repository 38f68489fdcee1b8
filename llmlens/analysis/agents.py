"""The agent network of traces: agents and the tools they call as nodes; handoffs and tool calls as edges with
counts, latency and failures. For one trace it shows who handed to whom (a loop between agents is a cycle); over
many traces, how often, how slow and how often it fails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from llmlens.where import where_clause

_SCOPE = """
CREATE OR REPLACE TEMP TABLE llmlens_agent_scope AS
SELECT trace_id FROM traces {where}
"""

_NODES = """
WITH agent_runs AS (
    SELECT s.trace_id, s.span_id, s.agent_name AS agent, s.duration_ms, s.status_code = 'ERROR' AS failed
    FROM spans s SEMI JOIN llmlens_agent_scope USING (trace_id)
    WHERE s.kind = 'AGENT' AND s.agent_name IS NOT NULL
), tool_calls AS (
    SELECT s.trace_id, {tool} AS tool, s.duration_ms, s.status_code = 'ERROR' AS failed
    FROM spans s SEMI JOIN llmlens_agent_scope USING (trace_id)
    WHERE s.kind = 'TOOL' AND s.agent_name IS NOT NULL AND s.name NOT LIKE 'handoff%'
), llm_calls AS (
    SELECT s.agent_name AS agent, count(*) AS llm_calls, sum(coalesce(s.total_tokens, 0)) AS tokens
    FROM spans s SEMI JOIN llmlens_agent_scope USING (trace_id)
    WHERE s.kind = 'LLM' AND s.agent_name IS NOT NULL
    GROUP BY ALL
)
SELECT 'agent' AS type, agent AS node, count(*) AS runs, count(DISTINCT trace_id) AS traces,
       avg(duration_ms) AS mean_ms, count(*) FILTER (WHERE failed) AS failures,
       any_value(l.llm_calls) AS llm_calls, any_value(l.tokens) AS tokens
FROM agent_runs LEFT JOIN llm_calls l USING (agent)
GROUP BY agent
UNION ALL BY NAME
SELECT 'tool' AS type, 'tool:' || tool AS node, count(*) AS runs, count(DISTINCT trace_id) AS traces,
       avg(duration_ms) AS mean_ms, count(*) FILTER (WHERE failed) AS failures
FROM tool_calls GROUP BY tool
ORDER BY type, runs DESC, node
"""

_EDGES = """
WITH handoffs AS (
    SELECT coalesce(e.attributes->>'from_agent', src.agent_name) AS source,
           coalesce(e.attributes->>'to_agent', dst.agent_name) AS target,
           dst.duration_ms, dst.status_code = 'ERROR' AS failed, e.src_trace_id AS trace_id
    FROM edges e SEMI JOIN llmlens_agent_scope s ON e.src_trace_id = s.trace_id
    LEFT JOIN spans src ON src.trace_id = e.src_trace_id AND src.span_id = e.src_span_id
    LEFT JOIN spans dst ON dst.trace_id = e.dst_trace_id AND dst.span_id = e.dst_span_id
    WHERE e.kind = 'handoff'
), calls AS (
    SELECT s.agent_name AS source, 'tool:' || {tool} AS target, s.duration_ms, s.status_code = 'ERROR' AS failed,
           s.trace_id
    FROM spans s SEMI JOIN llmlens_agent_scope USING (trace_id)
    WHERE s.kind = 'TOOL' AND s.agent_name IS NOT NULL AND s.name NOT LIKE 'handoff%'
)
SELECT 'handoff' AS kind, source, target, count(*) AS count, count(DISTINCT trace_id) AS traces,
       avg(duration_ms) AS mean_ms, count(*) FILTER (WHERE failed) AS failures
FROM handoffs WHERE source IS NOT NULL AND target IS NOT NULL GROUP BY source, target
UNION ALL
SELECT 'tool_call', source, target, count(*), count(DISTINCT trace_id), avg(duration_ms),
       count(*) FILTER (WHERE failed)
FROM calls GROUP BY source, target
ORDER BY kind, count DESC, source, target
"""

_TOOL = "coalesce(s.attributes->>'gen_ai.tool.name', s.attributes->>'tool.name', s.name)"


@dataclass(frozen=True)
class AgentNetwork:
    """Agents and tools (``nodes``: type, node, runs, traces, mean_ms, failures, llm_calls, tokens) and what
    passes between them (``edges``: kind ``handoff`` or ``tool_call``, source, target, count, traces, mean_ms of
    the target's run, failures of the target)."""

    nodes: pd.DataFrame
    edges: pd.DataFrame

    def cycles(self) -> list[list[str]]:
        """Loops of handoffs between agents (each once, from its alphabetically first agent).

        >>> network = AgentNetwork(pd.DataFrame(), pd.DataFrame({"kind": ["handoff"] * 3,
        ...     "source": ["triage", "billing", "triage"], "target": ["billing", "triage", "refunds"]}))
        >>> network.cycles()
        [['billing', 'triage']]
        """
        if self.edges.empty:
            return []
        handoffs = self.edges[self.edges.kind == "handoff"]
        following: dict[str, set[str]] = {}
        for source, target in zip(handoffs.source, handoffs.target, strict=True):
            following.setdefault(source, set()).add(target)
        found: set[tuple[str, ...]] = set()
        for start in sorted(following):
            stack: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
            while stack:
                node, path = stack.pop()
                for nxt in following.get(node, ()):
                    if nxt == start:
                        found.add(path)
                    elif nxt not in path and nxt > start:
                        stack.append((nxt, (*path, nxt)))
        return sorted(list(cycle) for cycle in found)


def agent_network(
    con: duckdb.DuckDBPyConnection, *, where: str | None = None, trace_ids: Sequence[str] | None = None
) -> AgentNetwork:
    """The agent network of the traces ``where`` selects (a SQL condition on the columns of ``traces``, checked to
    be one read-only expression), or of ``trace_ids``; of every trace by default.

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> network = agent_network(lens.con)
    >>> sorted(network.nodes[network.nodes.type == "agent"].node)[:2]
    ['billing', 'refunds']
    >>> ["billing", "triage"] in network.cycles()
    True
    """
    cursor = con.cursor()  # its temporary table stays its own
    try:
        if trace_ids is not None:
            cursor.execute(
                "CREATE OR REPLACE TEMP TABLE llmlens_agent_scope AS SELECT unnest($ids::VARCHAR[]) AS trace_id",
                {"ids": list(trace_ids)},
            )
        else:
            cursor.execute(_SCOPE.format(where=where_clause(con, where, "traces") if where else ""))
        nodes: pd.DataFrame = cursor.sql(_NODES.format(tool=_TOOL)).df()
        edges: pd.DataFrame = cursor.sql(_EDGES.format(tool=_TOOL)).df()
    finally:
        cursor.execute("DROP TABLE IF EXISTS temp.llmlens_agent_scope")
        cursor.close()
    return AgentNetwork(nodes=nodes, edges=edges)
