"""Notebook widgets (anywidget): thin classes over plain data functions, each exportable to a kernel-free page."""

from llmlens.widgets.charts import RunCharts
from llmlens.widgets.tokens import TokenView

__all__ = ["RunCharts", "TokenView"]
