"""Where the embedding map draws its points on a page, for the browser tests and the rendering benchmark: the
view it reports (``data-view``), data coordinates to page pixels, and which points a drawn polygon holds."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt


class MapView(NamedTuple):
    """The map's view (its centre in data coordinates and its scale) and its canvas's box on the page."""

    cx: float
    cy: float
    scale: float
    box: dict[str, float]


def map_view(root: Any) -> MapView:
    """The view of the map whose root element (``.ll-map``) is ``root``."""
    cx, cy, scale = (float(v) for v in root.get_attribute("data-view").split(","))
    return MapView(cx, cy, scale, root.locator("canvas.ll-map-canvas").first.bounding_box())


def to_page(xy: npt.ArrayLike, view: MapView) -> npt.NDArray[np.float64]:
    """Page pixels of data points ``xy`` (n, 2) as the map draws them: float64, as Playwright's mouse takes them."""
    points = np.asarray(xy, np.float64)
    x = view.box["x"] + view.box["width"] / 2 + (points[:, 0] - view.cx) * view.scale
    y = view.box["y"] + view.box["height"] / 2 - (points[:, 1] - view.cy) * view.scale
    return np.column_stack([x, y])


def inside(points: npt.NDArray[np.float64], polygon: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Even-odd point-in-polygon (the map's own rule), vectorised over ``points``.

    >>> inside(np.array([[1.0, 1.0], [3.0, 1.0]]), np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])).tolist()
    [True, False]
    """
    result = np.zeros(len(points), bool)
    x, y = points[:, 0], points[:, 1]
    for (x1, y1), (x2, y2) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        crosses = (y1 > y) != (y2 > y)
        at = x1 + (y - y1) * (x2 - x1) / np.where(y2 == y1, 1e-12, y2 - y1)
        result ^= crosses & (x < at)
    return result
