"""Notebook widgets (anywidget): thin classes over plain data functions, each exportable to a kernel-free page."""

from llmlens.widgets.agents import AgentGraph
from llmlens.widgets.charts import RunCharts
from llmlens.widgets.embedding_map import EmbeddingMap
from llmlens.widgets.review import ReviewQueue
from llmlens.widgets.tokens import TokenView
from llmlens.widgets.traces import TraceTable, TraceView

__all__ = ["AgentGraph", "EmbeddingMap", "ReviewQueue", "RunCharts", "TokenView", "TraceTable", "TraceView"]
