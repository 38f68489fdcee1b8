"""llmlens: look at LLM traces, tokens, retrieval and training runs inside Jupyter.

>>> import llmlens
>>> lens = llmlens.open(":memory:")
>>> lens.sql("SELECT count(*) AS spans FROM spans").spans[0]
np.int64(0)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from llmlens._version import __version__
from llmlens.errors import LensError, SchemaVersionError, SQLError, StoreError, StoreLockedError
from llmlens.lens import Lens, StoreInfo

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = [
    "Lens",
    "LensError",
    "SQLError",
    "SchemaVersionError",
    "StoreError",
    "StoreInfo",
    "StoreLockedError",
    "__version__",
    "load_ipython_extension",
    "open",
]


def open(path: str | os.PathLike[str] | None = None, read_only: bool = False) -> Lens:
    """Open the llmlens store at ``path`` (created and migrated when writable) and return a :class:`Lens`.

    ``path`` defaults to ``$LLMLENS_DB``, else ``.llmlens/lens.duckdb`` under the working directory;
    ``":memory:"`` gives a store that lives only in this process. Several processes can share one
    file when every one opens it with ``read_only=True``.

    >>> import llmlens
    >>> with llmlens.open(":memory:") as lens:
    ...     lens.info().schema_version >= 1
    True
    """
    return Lens(path, read_only=read_only)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register the ``%lens`` line magic and the ``%%lens`` SQL cell magic; IPython calls it on ``%load_ext llmlens``.

    >>> from IPython.testing import globalipapp
    >>> _ = globalipapp.start_ipython()
    >>> shell = globalipapp.get_ipython()
    >>> load_ipython_extension(shell)
    >>> "lens" in shell.magics_manager.magics["cell"]
    True
    """
    import llmlens.widgets  # noqa: F401 (imported now, so the first widget of the session shows without the wait)
    from llmlens.magics import LensMagics

    ipython.register_magics(LensMagics(ipython))
