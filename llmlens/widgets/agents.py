"""The agent network widget: a thin class over :func:`llmlens.analysis.agents.agent_network`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd
import traitlets

from llmlens.analysis.agents import AgentNetwork, agent_network
from llmlens.widgets.base import Widget


class AgentGraph(Widget):
    """Agents and the tools they call as nodes, handoffs and tool calls as edges labelled with their count, mean
    latency and failures; a loop of handoffs between agents is drawn in orange. Hover a node or edge for its
    numbers. Make one with :meth:`llmlens.Lens.agents` (many traces) or :meth:`TraceView.agents` (one trace).

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> graph = AgentGraph(lens.con, where="root_name LIKE 'agent_run%'")
    >>> ["billing", "triage"] in graph.cycles
    True
    """

    _bundle_name = "traces"

    _view = traitlets.Unicode("agents").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    nodes: traitlets.List[dict[str, Any]] = traitlets.List(traitlets.Dict()).tag(sync=True)
    edges: traitlets.List[dict[str, Any]] = traitlets.List(traitlets.Dict()).tag(sync=True)
    cycles: traitlets.List[list[str]] = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        where: str | None = None,
        trace_ids: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        network = agent_network(con, where=where, trace_ids=trace_ids)
        self.network: AgentNetwork = network  # the nodes and edges as DataFrames
        super().__init__(
            nodes=_records(network.nodes), edges=_records(network.edges), cycles=network.cycles(), **kwargs
        )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts JSON can carry (missing numbers as None)."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{str(k): _plain(v) for k, v in row.items()} for row in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
