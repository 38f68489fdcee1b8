"""The embedding map's point set: query and chunk embeddings as one array of vectors, with who retrieved what.

Points are ordered queries first, then chunks (each by ``embedding_id`` when they come from the store). A chunk's
role is ``retrieved chunk`` when some query of the map retrieved it, else ``never-retrieved chunk``. Links go from a
query point to a chunk point, with the retriever's score and the chunk's 0-based rank.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from llmlens.errors import LensError
from llmlens.where import where_clause

ROLES = ("query", "retrieved chunk", "never-retrieved chunk")
"""The point roles, in the order of their codes (``MapPoints.role_codes``)."""

QUERY, RETRIEVED, NEVER_RETRIEVED = 0, 1, 2


@dataclass(frozen=True)
class Links:
    """Retrieval links: query point ``src[i]`` retrieved chunk point ``dst[i]`` with ``score[i]`` at ``rank[i]``."""

    src: npt.NDArray[np.int32]
    dst: npt.NDArray[np.int32]
    score: npt.NDArray[np.float32]
    rank: npt.NDArray[np.int16]

    def __len__(self) -> int:
        return len(self.src)

    @staticmethod
    def empty() -> Links:
        """No links."""
        return Links(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0, np.int16))

    def frame(self) -> pd.DataFrame:
        """The links as a DataFrame (src, dst, score, rank)."""
        return pd.DataFrame({"src": self.src, "dst": self.dst, "score": self.score, "rank": self.rank})


@dataclass(frozen=True)
class MapPoints:
    """Queries and chunks as one point set.

    ``frame`` has one row per point: ``embedding_id`` (int64), ``role`` (categorical, :data:`ROLES`), ``text``,
    ``trace_id``, ``document_id``, ``model`` and ``time`` (the query's trace start; NaT for chunks).
    ``vectors`` is float32, one row per point; ``links`` the retrieval links between points.
    """

    frame: pd.DataFrame
    vectors: npt.NDArray[np.float32]
    links: Links

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ids(self) -> npt.NDArray[np.int64]:
        """The embedding ids, one per point."""
        return self.frame["embedding_id"].to_numpy(np.int64)

    @property
    def role_codes(self) -> npt.NDArray[np.uint8]:
        """The role of each point as a code: 0 query, 1 retrieved chunk, 2 never-retrieved chunk."""
        return self.frame["role"].cat.codes.to_numpy().astype(np.uint8)

    @property
    def is_query(self) -> npt.NDArray[np.bool_]:
        """True for query points."""
        query: npt.NDArray[np.bool_] = self.role_codes == QUERY
        return query

    @property
    def keep(self) -> npt.NDArray[np.bool_]:
        """Points a sampled layout must always keep: every query and every retrieved chunk."""
        keep: npt.NDArray[np.bool_] = self.role_codes != NEVER_RETRIEVED
        return keep


def map_points(
    con: duckdb.DuckDBPyConnection, where: str | None = None, *, model: str | None = None, vectors: bool = True
) -> MapPoints:
    """The store's query and chunk embeddings as one point set, with the retrieval links between them.

    ``where`` is SQL over the columns of ``traces`` and picks the queries (those of matching traces); chunks are
    always all of them. ``model`` keeps one embedding model (needed when the store holds several dimensions).
    ``vectors=False`` leaves the vectors in the store (an (n, 0) array): what showing a cached layout needs.
    A query links to the documents its own span retrieved, or else to those retrieved in its trace; a document
    links to every chunk embedding with its ``document_id``.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> lens.con.execute("INSERT INTO embeddings (role, text, vector, trace_id, document_id) VALUES "
    ...     "('query', 'how?', [1, 0], 't1', NULL), ('chunk', 'like so', [1, 0.1], NULL, 'd1'), "
    ...     "('chunk', 'unrelated', [0, 1], NULL, 'd2')")  # doctest: +ELLIPSIS
    <...>
    >>> lens.con.execute("INSERT INTO documents (trace_id, span_id, position, document_id, score) "
    ...     "VALUES ('t1', 's1', 0, 'd1', 0.9)")  # doctest: +ELLIPSIS
    <...>
    >>> points = map_points(lens.con)
    >>> points.frame.role.tolist(), points.vectors.shape, points.links.dst.tolist()
    (['query', 'retrieved chunk', 'never-retrieved chunk'], (3, 2), [1])
    """
    selected = _selected(con, where, vectors=vectors)
    params = {"model": model}
    dims = (
        con.execute(
            f"SELECT len(vector) AS dim, list(DISTINCT model) FROM ({selected}) GROUP BY dim", params
        ).fetchall()
        if vectors
        else []
    )
    if len(dims) > 1:
        described = "; ".join(f"{dim}-d: {', '.join(str(m) for m in models)}" for dim, models in dims)
        raise LensError(f"the embeddings have several dimensions ({described}); pass model= to map one of them")
    table = con.sql(
        f"SELECT embedding_id, is_chunk, text, trace_id, document_id, model, time, "
        f"{'vector::FLOAT[]' if vectors else '[]::FLOAT[]'} AS vector "
        f"FROM ({selected}) ORDER BY point",
        params=params,
    ).to_arrow_table()
    links = con.sql(
        f"""
        WITH pts AS ({selected}),
        q AS (SELECT point, trace_id, span_id FROM pts WHERE NOT is_chunk AND trace_id IS NOT NULL),
        c AS (SELECT point, document_id FROM pts WHERE is_chunk AND document_id IS NOT NULL),
        own AS (SELECT q.point AS src, d.document_id, d.score, d.position
                FROM q JOIN documents d ON d.trace_id = q.trace_id AND d.span_id = q.span_id),
        traced AS (SELECT q.point AS src, d.document_id, d.score, d.position
                   FROM q JOIN documents d ON d.trace_id = q.trace_id
                   WHERE q.point NOT IN (SELECT src FROM own))
        SELECT l.src::INTEGER AS src, c.point::INTEGER AS dst, l.score::FLOAT AS score,
               least(l.position, 32767)::SMALLINT AS rank
        FROM (SELECT * FROM own UNION ALL SELECT * FROM traced) l JOIN c USING (document_id)
        ORDER BY src, rank, dst
        """,
        params=params,
    ).to_arrow_table()
    return _assemble(
        table.drop_columns(["vector"]).to_pandas(),
        _matrix(table["vector"]),
        Links(
            _np(links["src"], np.int32),
            _np(links["dst"], np.int32),
            _np(links["score"], np.float32, fill=np.nan),
            _np(links["rank"], np.int16),
        ),
    )


def _filter(con: duckdb.DuckDBPyConnection, where: str | None) -> str:
    """The condition on ``embeddings e`` that picks the map's rows (parameter ``$model``)."""
    trace_filter = "TRUE"
    if where is not None:
        trace_filter = "e.trace_id IN (SELECT trace_id FROM traces" + where_clause(con, where, "traces") + ")"
    return f"""(e.role = 'chunk' OR (e.role = 'query' AND {trace_filter}))
          AND ($model IS NULL OR e.model = $model)"""


def _selected(con: duckdb.DuckDBPyConnection, where: str | None, *, vectors: bool = True) -> str:
    """The map's embeddings as SQL (parameter ``$model``), numbered by ``point``: queries, then chunks."""
    return f"""
        SELECT e.embedding_id, e.role = 'chunk' AS is_chunk, e.text, e.trace_id, e.span_id, e.document_id,
               e.model, {"e.vector," if vectors else ""} t.start_time AS time,
               row_number() OVER (ORDER BY e.role = 'chunk', e.embedding_id) - 1 AS point
        FROM embeddings e LEFT JOIN traces t ON t.trace_id = e.trace_id AND e.role = 'query'
        WHERE {_filter(con, where)}
    """


def store_vector_hash(
    con: duckdb.DuckDBPyConnection, where: str | None = None, *, model: str | None = None
) -> tuple[str, npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """What re-opening a cached map needs, without reading a vector out of DuckDB: the hash of the vector set
    :func:`map_points` would return (computed inside DuckDB from the ids and the vectors), its embedding ids and
    its role codes, in point order (a chunk counts as retrieved when a document of a mapped query's trace names
    it). The hash is the ``vector_hash`` of :func:`~llmlens.analysis.embedding_layout.
    layout_key` for layouts of store data (it differs from the numpy hash of the same vectors).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO embeddings (role, vector, document_id) VALUES ('chunk', [1, 2], 'd')")
    >>> digest, ids, roles = store_vector_hash(lens.con)
    >>> len(digest), ids.tolist(), roles.tolist()
    (34, [1], [2])
    """
    params = {"model": model}
    row = con.sql(
        "SELECT count(*), bit_xor(hash(e.embedding_id, e.role, e.vector)) FROM embeddings e WHERE "
        + _filter(con, where),
        params=params,
    ).fetchall()[0]
    selected = _selected(con, where, vectors=False)
    digest = "db" + hashlib.blake2b(repr(tuple(row)).encode(), digest_size=16).hexdigest()
    table = con.sql(
        f"""
        WITH pts AS ({selected}),
        q AS (SELECT trace_id FROM pts WHERE NOT is_chunk AND trace_id IS NOT NULL),
        retrieved AS (SELECT DISTINCT d.document_id FROM documents d SEMI JOIN q USING (trace_id))
        SELECT embedding_id,
               CASE WHEN NOT is_chunk THEN 0 WHEN document_id IN (SELECT document_id FROM retrieved) THEN 1
                    ELSE 2 END::UTINYINT AS role
        FROM pts ORDER BY point
        """,
        params=params,
    ).to_arrow_table()
    return digest, _np(table["embedding_id"], np.int64), _np(table["role"], np.uint8)


def from_frames(
    queries: pd.DataFrame | npt.ArrayLike,
    chunks: pd.DataFrame | npt.ArrayLike,
    retrievals: pd.DataFrame | None = None,
) -> MapPoints:
    """A point set from data not in the store.

    ``queries`` and ``chunks`` are arrays of vectors (one row each) or DataFrames with a ``vector`` column and,
    optionally, ``text``, ``trace_id``, ``document_id``, ``model``, ``time`` and ``embedding_id`` (default: the
    row number, chunks numbered after queries); any other column is kept as metadata (a ``label`` column is what
    the map colours by label). ``retrievals`` has ``query`` and ``chunk`` (row numbers into
    ``queries`` and ``chunks``), and optionally ``score`` and ``rank``.

    >>> import numpy as np
    >>> points = from_frames(np.eye(3)[:1], np.eye(3), pd.DataFrame({"query": [0], "chunk": [0], "score": [1.0]}))
    >>> points.frame.role.tolist(), points.links.src.tolist(), points.links.dst.tolist()
    (['query', 'retrieved chunk', 'never-retrieved chunk', 'never-retrieved chunk'], [0], [1])
    """
    q_frame, q_vectors = _side(queries, "queries")
    c_frame, c_vectors = _side(chunks, "chunks")
    if q_vectors.shape[1] != c_vectors.shape[1] and len(q_vectors) and len(c_vectors):
        raise LensError(f"queries are {q_vectors.shape[1]}-d but chunks are {c_vectors.shape[1]}-d")
    n_q = len(q_frame)
    if "embedding_id" not in q_frame:
        q_frame["embedding_id"] = np.arange(n_q, dtype=np.int64)
    if "embedding_id" not in c_frame:
        c_frame["embedding_id"] = np.arange(n_q, n_q + len(c_frame), dtype=np.int64)
    q_frame["is_chunk"] = False
    c_frame["is_chunk"] = True
    frame = pd.concat([q_frame, c_frame], ignore_index=True)
    vectors = np.concatenate([q_vectors, c_vectors]) if len(frame) else np.zeros((0, 0), np.float32)
    links = Links.empty()
    if retrievals is not None and len(retrievals):
        query = retrievals["query"].to_numpy(np.int64)
        chunk = retrievals["chunk"].to_numpy(np.int64)
        if query.min() < 0 or query.max() >= n_q or chunk.min() < 0 or chunk.max() >= len(c_frame):
            raise LensError("retrievals name a query or chunk row that does not exist")
        score = retrievals["score"] if "score" in retrievals else np.full(len(query), np.nan)
        rank = retrievals["rank"] if "rank" in retrievals else np.zeros(len(query))
        order = np.lexsort((np.asarray(rank), query))
        links = Links(
            query[order].astype(np.int32),
            (chunk[order] + n_q).astype(np.int32),
            np.asarray(score, np.float32)[order],
            np.asarray(rank).astype(np.int16)[order],
        )
    return _assemble(frame, vectors.astype(np.float32, copy=False), links)


def _side(data: pd.DataFrame | npt.ArrayLike, name: str) -> tuple[pd.DataFrame, npt.NDArray[np.float32]]:
    if isinstance(data, pd.DataFrame):
        if "vector" not in data:
            raise LensError(f"{name} has no 'vector' column")
        column = data["vector"].tolist()
        vectors = np.asarray(column, np.float32) if column else np.zeros((0, 0), np.float32)
        frame = data.drop(columns=["vector"]).reset_index(drop=True).copy()
    else:
        vectors = np.asarray(data, np.float32)
        frame = pd.DataFrame(index=range(len(vectors)))
    if vectors.ndim != 2:
        raise LensError(f"{name} must be a 2-D array of vectors (one row each), not shape {vectors.shape}")
    return frame, vectors


def _assemble(frame: pd.DataFrame, vectors: npt.NDArray[np.float32], links: Links) -> MapPoints:
    """The point set from a frame holding ``is_chunk`` (and any of the metadata columns); vectors holding NaN or
    infinities are left out, with a warning naming them (no layout can place them)."""
    frame, vectors, links = _finite_only(frame, vectors, links)
    n = len(frame)
    is_chunk = frame["is_chunk"].to_numpy(bool)
    codes = np.where(is_chunk, NEVER_RETRIEVED, QUERY).astype(np.int8)
    codes[links.dst[is_chunk[links.dst]]] = RETRIEVED
    out = pd.DataFrame(
        {
            "embedding_id": frame["embedding_id"].to_numpy(np.int64),
            "role": pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(ROLES))),
        }
    )
    for column in ("text", "trace_id", "document_id", "model"):
        out[column] = frame[column].to_numpy(object) if column in frame else np.full(n, None, object)
    time = frame["time"] if "time" in frame else pd.Series(pd.NaT, index=range(n))
    out["time"] = pd.to_datetime(time.reset_index(drop=True), utc=True)
    for column in frame.columns.difference([*out.columns, "is_chunk"], sort=False):  # the caller's own metadata
        out[column] = frame[column].to_numpy()
    return MapPoints(out, np.ascontiguousarray(vectors, np.float32), links)


def _finite_only(
    frame: pd.DataFrame, vectors: npt.NDArray[np.float32], links: Links
) -> tuple[pd.DataFrame, npt.NDArray[np.float32], Links]:
    """The rows whose vectors are finite, with the links between them renumbered."""
    finite = np.ones(len(frame), dtype=np.bool_)
    if vectors.size:
        finite = np.asarray(np.isfinite(vectors).all(axis=1), dtype=np.bool_)
    if finite.all():
        return frame, vectors, links
    bad = frame["embedding_id"].to_numpy()[~finite]
    shown = ", ".join(str(i) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
    warnings.warn(
        f"{len(bad):,} embedding(s) with NaN or infinite values left out of the map (embedding_id {shown})",
        stacklevel=4,
    )
    number = np.cumsum(finite) - 1
    kept = finite[links.src] & finite[links.dst]
    links = Links(
        number[links.src[kept]].astype(np.int32),
        number[links.dst[kept]].astype(np.int32),
        links.score[kept],
        links.rank[kept],
    )
    kept_rows: pd.DataFrame = frame.loc[finite].reset_index(drop=True)
    return kept_rows, vectors[finite], links


def _matrix(column: pa.ChunkedArray) -> npt.NDArray[np.float32]:
    """A list column of equal-length vectors as a float32 matrix, without a Python loop."""
    array = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    n = len(array)
    if n == 0:
        return np.zeros((0, 0), np.float32)
    lengths = pc.list_value_length(array)
    bounds = pc.min_max(lengths)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    if low != high:
        raise LensError(f"embedding vectors differ in length ({low} to {high}); pass model= to map one model")
    flat = pc.list_flatten(array).to_numpy(zero_copy_only=False)
    return np.asarray(flat, np.float32).reshape(n, high)


def _np(column: pa.ChunkedArray, dtype: Any, *, fill: float = 0) -> npt.NDArray[Any]:
    filled = pc.fill_null(column, fill) if column.null_count else column
    return np.asarray(filled.to_numpy(), dtype=dtype)


def point_frame(points: MapPoints, rows: Sequence[int] | npt.NDArray[np.integer[Any]]) -> pd.DataFrame:
    """The metadata rows of ``rows`` (point numbers) with their point number as a column ``point``.

    >>> import numpy as np
    >>> point_frame(from_frames(np.eye(2), np.eye(2)), [2])[["point", "role"]].to_dict("records")
    [{'point': 2, 'role': 'never-retrieved chunk'}]
    """
    index = np.asarray(rows, dtype=np.int64)
    frame = points.frame.iloc[index].reset_index(drop=True)
    frame.insert(0, "point", index)
    return frame
