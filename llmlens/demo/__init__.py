"""Demo data: a RAG assistant, agents and a training sweep, with the problems a weekly review should find.

>>> import llmlens.demo
>>> lens = llmlens.demo.open()  # doctest: +SKIP
"""

from llmlens.demo.build import DEFAULT_PATH, build, insert_demo, open

__all__ = ["DEFAULT_PATH", "build", "insert_demo", "open"]
