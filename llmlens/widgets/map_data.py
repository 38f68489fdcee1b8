"""What the embedding map widget shows, as plain data: each point's attributes (retrieval score and count, the
verdict of its traces, its checks, model, week, cluster), colour and size codes with their legend, a point's
detail with its retrieval neighbours, text search, and the selected points as a DataFrame.

Everything is vectorised over the point set: a colour code is one byte a point, sent to the browser as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from llmlens.analysis.embedding_map import ROLES, MapPoints, trace_verdicts
from llmlens.widgets.token_data import ipc_bytes

ROLE_COLORS = ("#e8710a", "#1a73e8", "#9aa0a6")
"""Query, retrieved chunk, never-retrieved chunk."""

CATEGORY_COLORS = (
    "#1a73e8", "#e8710a", "#188038", "#d93025", "#9334e6", "#007b83", "#b06000", "#c5221f", "#12b5cb", "#e52592",
    "#7cb342", "#5f6368",
)  # fmt: skip
"""Categories in order of size; the rest share the last colour as "other"."""

SCALE_COLORS = ("#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725")
"""A sequential scale (viridis, 8 steps) for numbers such as the retrieval score."""

VERDICT_COLORS = {"failed": "#d93025", "passed": "#188038", "not judged": "#bdc1c6"}

MISSING = "#bdc1c6"

COLOR_OPTIONS = ("role", "score", "label", "check", "week", "model", "cluster")
"""What the map can colour by (``cluster`` once the diagnostics have run)."""

SIZE_OPTIONS = ("", "retrievals")
"""What the map can size by: nothing (all one size), or how often a point took part in a retrieval."""

TEXT_CHARS = 300
"""Texts are cut to this many characters for hover cards and exported pages."""


@dataclass(frozen=True)
class Coloring:
    """One byte a point (``codes``) and the legend: ``[{code, label, color, count}]``."""

    codes: npt.NDArray[np.uint8]
    legend: list[dict[str, Any]]


def point_attributes(points: MapPoints, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """What the map colours, sizes and reports each point by, one row a point.

    ``score`` is a query's best retrieval score or the best score a chunk was retrieved with; ``retrievals`` the
    links the point takes part in; ``label`` and ``check`` are ``failed``, ``passed`` or None: the verdict of a
    query's trace (see :func:`~llmlens.analysis.embedding_diagnostics.trace_verdicts`; checks only for ``check``),
    and for a chunk, ``failed`` when a trace that retrieved it failed; ``model`` is the model of a query's trace
    (the point set's ``model`` column without ``con``) and ``week`` the ISO week of a query. Without ``con``,
    ``label`` and ``check`` come from the point set's own ``label`` / ``check`` columns when it has them
    (:func:`from_frames` metadata), spread to chunks the same way. Unknown values are None (NaN in the frame).

    >>> import numpy as np
    >>> from llmlens.analysis.embedding_map import from_frames
    >>> links = pd.DataFrame({"query": [0, 1], "chunk": [0, 0], "score": [0.9, 0.2]})
    >>> points = from_frames(np.eye(2), np.eye(2), links)
    >>> point_attributes(points)[["score", "retrievals"]].round(2).to_dict("list")
    {'score': [0.9, 0.2, 0.9, nan], 'retrievals': [1, 1, 2, 0]}
    """
    n = len(points)
    links = points.links
    src, dst = links.src.astype(np.int64), links.dst.astype(np.int64)
    score = np.full(n, -np.inf)
    linked_score = np.nan_to_num(links.score.astype(np.float64), nan=-np.inf)
    np.maximum.at(score, src, linked_score)
    np.maximum.at(score, dst, linked_score)
    score[np.isinf(score)] = np.nan
    retrievals = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    frame = points.frame
    attributes = pd.DataFrame({"score": score, "retrievals": retrievals.astype(np.int64)})
    if con is not None:
        attributes["label"] = _verdicts(points, trace_verdicts(con))
        attributes["check"] = _verdicts(points, trace_verdicts(con, kinds=["check"]))
        attributes["model"] = _trace_models(con, points)
    else:
        for name in ("label", "check"):
            attributes[name] = _given_verdicts(points, frame[name]) if name in frame else np.full(n, None, object)
        attributes["model"] = frame["model"].to_numpy(object)
    time = pd.to_datetime(frame["time"], utc=True)
    week = np.full(n, None, object)
    known = time.notna().to_numpy(bool)
    calendar = time[known].dt.isocalendar()
    week[known] = [f"{year}-W{number:02d}" for year, number in zip(calendar.year, calendar.week, strict=True)]
    attributes["week"] = week
    return attributes


def _verdicts(points: MapPoints, verdicts: pd.DataFrame) -> npt.NDArray[Any]:
    """``failed`` / ``passed`` / None a point, from a (trace_id, bad) frame, spread to chunks (:func:`_spread`)."""
    return _spread(points, _by_trace(points, verdicts.set_index("trace_id")["bad"].astype(bool)))


def _by_trace(points: MapPoints, values: pd.Series) -> npt.NDArray[Any]:
    """``values`` (indexed by trace id) looked up for each point's trace, vectorised; None where there is none."""
    found = points.frame["trace_id"].astype(object).map(values[~values.index.duplicated()])
    return found.astype(object).where(found.notna(), None).to_numpy(object)


def _given_verdicts(points: MapPoints, column: pd.Series) -> npt.NDArray[Any]:
    """A caller's own label column (bad-sounding labels, or False, fail), spread to unlabelled chunks."""
    from llmlens.analysis.embedding_diagnostics import BAD_LABELS

    def bad(value: Any) -> bool | None:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, bool | np.bool_):
            return not value
        return str(value).lower() in BAD_LABELS

    return _spread(points, np.array([bad(value) for value in column.to_numpy(object)], dtype=object))


def _spread(points: MapPoints, bad: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Words for per-point verdicts (True bad, False good, None unjudged); a chunk without one of its own takes
    those of the queries that retrieved it (failed when one of them failed)."""
    judged = np.array([b is not None for b in bad], dtype=bool)
    state = np.full(len(bad), None, dtype=object)
    state[judged] = np.where(bad[judged].astype(bool), "failed", "passed")
    if len(points.links):
        fed = pd.DataFrame({"dst": points.links.dst, "bad": bad[points.links.src]}).dropna()
        fed = fed[pd.isna(bad[fed["dst"].to_numpy()])]
        worst = fed.groupby("dst")["bad"].any()
        state[worst.index.to_numpy()] = np.where(worst.to_numpy(bool), "failed", "passed")
    return state


def _trace_models(con: duckdb.DuckDBPyConnection, points: MapPoints) -> npt.NDArray[Any]:
    """The model of each point's trace (the LLM that answered the query); None for chunks."""
    traces = list(pd.unique(points.frame["trace_id"].dropna()))
    if not traces:
        return np.full(len(points), None, dtype=object)
    models = con.execute(
        "SELECT trace_id, model FROM traces SEMI JOIN unnest($1) t(id) ON trace_id = id", [traces]
    ).df()
    return _by_trace(points, models.set_index("trace_id")["model"])


def coloring(points: MapPoints, attributes: pd.DataFrame, by: str) -> Coloring:
    """The colour code of every point and the legend, for ``by`` in :data:`COLOR_OPTIONS` or any other column of
    ``attributes`` or of the point set's frame (as categories, e.g. a :func:`trace_values` column).

    >>> import numpy as np
    >>> from llmlens.analysis.embedding_map import from_frames
    >>> points = from_frames(np.eye(2), np.eye(2))
    >>> found = coloring(points, point_attributes(points), "role")
    >>> found.codes.tolist(), [(item["label"], item["count"]) for item in found.legend]
    ([0, 0, 2, 2], [('query', 2), ('retrieved chunk', 0), ('never-retrieved chunk', 2)])
    """
    if by == "role":
        codes = points.role_codes
        legend = [
            {"code": code, "label": role, "color": ROLE_COLORS[code], "count": int(np.sum(codes == code))}
            for code, role in enumerate(ROLES)
        ]
        return Coloring(codes.astype(np.uint8), legend)
    if by == "score":
        return _scale(attributes["score"].to_numpy(np.float64), "score")
    if by in ("label", "check"):
        return _categories(attributes[by].to_numpy(object), colors=VERDICT_COLORS, missing="not judged")
    if by in ("week", "model"):
        return _categories(attributes[by].to_numpy(object), missing=f"no {by}")
    if by == "cluster":
        if "cluster" not in attributes:
            raise ValueError("the clusters are not computed yet")
        cluster = attributes["cluster"].to_numpy(np.int64)
        named = np.array([f"cluster {c}" if c >= 0 else None for c in cluster], dtype=object)
        return _categories(named, missing="noise")
    for frame in (attributes, points.frame):
        if by in frame.columns and by not in ("embedding_id", "text", "time"):
            return _categories(frame[by].to_numpy(object), missing=f"no {by}")
    raise ValueError(
        f"cannot colour by {by!r}: use one of {', '.join(COLOR_OPTIONS)}, a column of traces or attributes.<key>"
    )


def trace_values(con: duckdb.DuckDBPyConnection, points: MapPoints, by: str) -> npt.NDArray[Any]:
    """The value of ``by`` (a column of ``traces``, or ``attributes.<key>`` of the root span, e.g. a prompt
    version) for each point's trace, as text; None for chunks and traces without it.

    >>> import llmlens.demo
    >>> from llmlens.analysis.embedding_map import map_points
    >>> lens = llmlens.demo.open()
    >>> values = trace_values(lens.con, map_points(lens.con, vectors=False), "attributes.app.intent")
    >>> sorted(set(values[:2000]))[:3]
    ['billing', 'export', 'gdpr']
    """
    from llmlens.analysis.sampling import strata_query

    strata, params = strata_query(con, by, verb="colour")
    traces = list(pd.unique(points.frame["trace_id"].dropna()))
    found = dict(
        con.execute(
            "WITH eligible AS (SELECT *, 0 AS _h FROM traces SEMI JOIN unnest($ids) t(id) ON trace_id = id) "
            f"SELECT trace_id, stratum FROM ({strata})",  # strata_query's SQL: its values are parameters
            {**params, "ids": traces},
        ).fetchall()
        if traces
        else []
    )
    return _by_trace(points, pd.Series(found, dtype=object))


def _scale(values: npt.NDArray[np.float64], name: str) -> Coloring:
    """Numbers in equal-width steps of :data:`SCALE_COLORS` between their min and max; code 0 for missing."""
    known = ~np.isnan(values)
    codes = np.zeros(len(values), np.uint8)
    legend: list[dict[str, Any]] = [{"code": 0, "label": f"no {name}", "color": MISSING, "count": int(np.sum(~known))}]
    if known.any():
        low, high = float(values[known].min()), float(values[known].max())
        steps = len(SCALE_COLORS)
        width = (high - low) / steps or 1.0
        step = np.clip(((values[known] - low) / width).astype(np.int64), 0, steps - 1)
        codes[known] = step + 1
        for i, color in enumerate(SCALE_COLORS):
            start = low + i * width
            legend.append(
                {
                    "code": i + 1,
                    "label": f"{start:.2f}–{start + width:.2f}",
                    "color": color,
                    "count": int(np.sum(step == i)),
                }
            )
    return Coloring(codes, legend)


def _categories(values: npt.NDArray[Any], *, colors: dict[str, str] | None = None, missing: str = "none") -> Coloring:
    """Categories by size (the largest get :data:`CATEGORY_COLORS`, the rest share "other"); code 0 for None."""
    series = pd.Series(values, dtype=object)
    counts = series.dropna().astype(str).value_counts(sort=True)
    order = [name for name in colors if name in counts.index] if colors is not None else counts.index.tolist()
    shown = order[: len(CATEGORY_COLORS) - 1] if len(order) > len(CATEGORY_COLORS) else order
    code_of = {name: i + 1 for i, name in enumerate(shown)}
    other = len(shown) + 1
    missing_values = series.isna().to_numpy(bool)
    codes = np.array(
        [0 if gone else code_of.get(str(value), other) for value, gone in zip(values, missing_values, strict=True)],
        dtype=np.uint8,
    )
    legend = [{"code": 0, "label": missing, "color": MISSING, "count": int(series.isna().sum())}]
    for name, code in code_of.items():
        color = colors[name] if colors is not None else CATEGORY_COLORS[(code - 1) % len(CATEGORY_COLORS)]
        legend.append({"code": code, "label": name, "color": color, "count": int(counts[name])})
    if len(order) > len(shown):
        legend.append(
            {"code": other, "label": "other", "color": CATEGORY_COLORS[-1], "count": int(np.sum(codes == other))}
        )
    return Coloring(codes, legend)


def size_codes(attributes: pd.DataFrame, by: str) -> npt.NDArray[np.uint8]:
    """One byte a point for its size (0 smallest, 255 largest), or an empty array for one size.

    >>> size_codes(pd.DataFrame({"retrievals": [0, 1, 99]}), "retrievals").tolist()
    [0, 38, 255]
    """
    if by == "":
        return np.zeros(0, np.uint8)
    if by != "retrievals":
        raise ValueError(f"cannot size by {by!r}: use one of {', '.join(repr(o) for o in SIZE_OPTIONS)}")
    count = np.log1p(attributes["retrievals"].to_numpy(np.float64))
    top = count.max(initial=0.0)
    return (np.round(count / top * 255) if top > 0 else np.zeros(len(count))).astype(np.uint8)


def neighbours(points: MapPoints, point: int) -> list[dict[str, Any]]:
    """The points ``point`` is linked to by retrieval: a query's chunks (by rank), a chunk's queries (by score).

    >>> import numpy as np
    >>> from llmlens.analysis.embedding_map import from_frames
    >>> links = pd.DataFrame({"query": [0, 1], "chunk": [0, 0], "score": [0.9, 0.2]})
    >>> points = from_frames(np.eye(2), np.eye(2), links)
    >>> neighbours(points, 2)
    [{'point': 0, 'score': 0.9, 'rank': 0}, {'point': 1, 'score': 0.2, 'rank': 0}]
    """
    links = points.links
    outgoing = np.flatnonzero(links.src == point)
    incoming = np.flatnonzero(links.dst == point)
    rows = [(int(links.dst[i]), links.score[i], int(links.rank[i])) for i in outgoing]
    rows += [(int(links.src[i]), links.score[i], int(links.rank[i])) for i in incoming]
    if incoming.size and not outgoing.size:
        rows.sort(key=lambda row: -np.nan_to_num(row[1], nan=-np.inf))
    return [{"point": p, "score": None if np.isnan(s) else round(float(s), 4), "rank": r} for p, s, r in rows]


def point_info(points: MapPoints, attributes: pd.DataFrame, point: int) -> dict[str, Any]:
    """A point's card: role, text (cut to :data:`TEXT_CHARS`), metadata, and its retrieval neighbours."""
    if not 0 <= point < len(points):
        raise IndexError(f"no point {point} (the map has {len(points)})")
    row = points.frame.iloc[point]
    text = "" if row["text"] is None or pd.isna(row["text"]) else str(row["text"])
    meta: dict[str, Any] = {"embedding_id": int(row["embedding_id"])}
    for column in ("trace_id", "document_id", "model"):
        if row[column] is not None and not pd.isna(row[column]):
            meta[column] = str(row[column])
    for name, value in attributes.iloc[point].items():
        plain = value.item() if isinstance(value, np.generic) else value
        if plain is not None and not (isinstance(plain, float) and np.isnan(plain)):
            meta[str(name)] = round(plain, 4) if isinstance(plain, float) else plain
    return {
        "point": point,
        "role": str(row["role"]),
        "text": _cut(text),
        "meta": meta,
        "neighbours": neighbours(points, point),
    }


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def search_points(points: MapPoints, text: str) -> npt.NDArray[np.int32]:
    """The points whose text contains ``text`` (any case; literal, not a pattern).

    >>> import numpy as np
    >>> from llmlens.analysis.embedding_map import from_frames
    >>> points = from_frames(pd.DataFrame({"vector": [[1.0], [2.0]], "text": ["Refund policy", "pricing"]}), np.eye(1))
    >>> search_points(points, "REFUND").tolist(), search_points(points, "").tolist()
    ([0], [])
    """
    if not text.strip():
        return np.zeros(0, np.int32)
    texts = points.frame["text"].astype("string").str.lower()
    found = texts.str.contains(text.lower(), regex=False).fillna(False).to_numpy(bool)
    return np.flatnonzero(found).astype(np.int32)


def selected_points(
    points: MapPoints, attributes: pd.DataFrame, xy: npt.NDArray[np.float32], rows: Sequence[int] | npt.NDArray[Any]
) -> pd.DataFrame:
    """The points ``rows`` with everything the map knows of them: their metadata (embedding id, role, text, trace,
    document, model, time, any of the caller's own columns), their place (``x``, ``y``) and their attributes
    (score, retrievals, label, check, model of the trace, week, cluster; named ``map_<name>`` where one of the
    caller's own columns has that name).

    >>> import numpy as np
    >>> from llmlens.analysis.embedding_map import from_frames
    >>> points = from_frames(np.eye(2), np.eye(2))
    >>> frame = selected_points(points, point_attributes(points), np.zeros((4, 2), np.float32), [3])
    >>> frame[["point", "embedding_id", "role", "retrievals"]].to_dict("records")
    [{'point': 3, 'embedding_id': 3, 'role': 'never-retrieved chunk', 'retrievals': 0}]
    """
    index = np.asarray(rows, dtype=np.int64)
    frame = points.frame.iloc[index].reset_index(drop=True)
    frame.insert(0, "point", index)
    frame["x"] = xy[index, 0] if len(xy) else np.nan
    frame["y"] = xy[index, 1] if len(xy) else np.nan
    extra = attributes.iloc[index].reset_index(drop=True).rename(columns={"model": "trace_model"})
    extra.columns = [f"map_{name}" if name in frame.columns else name for name in extra.columns]
    return pd.concat([frame, extra], axis=1)


def texts_ipc(points: MapPoints) -> bytes:
    """Every point's text, cut to :data:`TEXT_CHARS`, as Arrow IPC (one ``text`` column): what an exported page
    shows on hover and searches, having no kernel to ask."""
    texts = points.frame["text"].astype("string").fillna("")
    cut = texts.where(texts.str.len() <= TEXT_CHARS, texts.str.slice(0, TEXT_CHARS - 1) + "…")
    return ipc_bytes(pa.table({"text": pa.array(cut.to_numpy(object), pa.string())}))


def links_ipc(points: MapPoints) -> bytes:
    """The retrieval links as Arrow IPC (src, dst int32; score float32; rank int16), for an exported page."""
    links = points.links
    return ipc_bytes(
        pa.table(
            {
                "src": pa.array(links.src, pa.int32()),
                "dst": pa.array(links.dst, pa.int32()),
                "score": pa.array(links.score, pa.float32()),
                "rank": pa.array(links.rank, pa.int16()),
            }
        )
    )
