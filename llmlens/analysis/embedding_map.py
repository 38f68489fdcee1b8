"""The embedding map's analysis layer, in one place: the point set, its layouts and cache, and its diagnostics.

The work is done in three modules with one job each; this one gathers their public functions for the widget:

- :mod:`llmlens.analysis.embedding_points`: :func:`map_points` (the store's queries and chunks, with retrieval
  links) and :func:`from_frames` (data not in the store);
- :mod:`llmlens.analysis.embedding_layout`: :func:`first_layout` (instant PCA), :func:`umap_layout` (sampled
  UMAP), the layout cache (:func:`cached_layout`, :func:`store_layout`, :func:`store_layout_key`) and the
  browser's columns (:func:`browser_table`);
- :mod:`llmlens.analysis.embedding_diagnostics`: :func:`coverage_gaps`, :func:`dead_corpus`, :func:`clusters`,
  :func:`failure_density` and :func:`drift`.

>>> import numpy as np
>>> points = from_frames(np.eye(3)[:2], np.eye(3))
>>> first_layout(points.vectors).shape, int(points.frame.role.value_counts()["never-retrieved chunk"])
((5, 2), 3)
"""

from __future__ import annotations

from llmlens.analysis.embedding_diagnostics import (
    BAD_LABELS,
    cluster_labels,
    clusters,
    coverage_gaps,
    dead_corpus,
    distinctive_terms,
    drift,
    failure_density,
    gap_threshold,
    nearest,
    recent_windows,
    trace_verdicts,
)
from llmlens.analysis.embedding_layout import (
    LayoutKey,
    browser_table,
    cached_layout,
    cached_umap_layout,
    first_layout,
    is_cached,
    layout_key,
    store_layout,
    store_layout_key,
    umap_layout,
    vector_set_hash,
)
from llmlens.analysis.embedding_points import (
    ROLES,
    Links,
    MapPoints,
    from_frames,
    map_points,
    point_frame,
    store_vector_hash,
)

__all__ = [
    "BAD_LABELS",
    "ROLES",
    "LayoutKey",
    "Links",
    "MapPoints",
    "browser_table",
    "cached_layout",
    "cached_umap_layout",
    "cluster_labels",
    "clusters",
    "coverage_gaps",
    "dead_corpus",
    "distinctive_terms",
    "drift",
    "failure_density",
    "first_layout",
    "from_frames",
    "gap_threshold",
    "is_cached",
    "layout_key",
    "map_points",
    "nearest",
    "point_frame",
    "recent_windows",
    "store_layout",
    "store_layout_key",
    "store_vector_hash",
    "trace_verdicts",
    "umap_layout",
    "vector_set_hash",
]
