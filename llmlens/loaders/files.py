"""Finding the files to load, and reading them as records without losing the ones that cannot be decoded."""

from __future__ import annotations

import contextlib
import glob
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from llmlens.errors import LensError

EXCERPT = 200
NEWLINE = ord("\n")
BLANK_CHECK = 64


IGNORED_FOLDERS = {".trash", ".git", ".ipynb_checkpoints", "__pycache__"}
"""Folders a folder walk never enters: MLflow's deleted experiments, version control, editor copies."""


class LoadError(LensError):
    """A file cannot be loaded at all (missing, unreadable, unknown format)."""


def expand(paths: tuple[str | os.PathLike[str], ...]) -> list[Path]:
    """Files named by ``paths``: files as given, globs expanded, folders walked; sorted, no duplicates.

    >>> expand(())
    []
    """
    found: dict[Path, None] = {}
    for item in paths:
        text = os.fspath(item)
        path = Path(text).expanduser()
        walked = path.is_dir()
        if walked:
            path = path.resolve()  # once: the files under a resolved folder need no resolving of their own
            matches = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                             and not IGNORED_FOLDERS.intersection(p.relative_to(path).parts))  # fmt: skip
        elif glob.has_magic(text):
            pattern = str(Path(text).expanduser())
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())  # noqa: PTH207
        else:
            matches = [path] if path.is_file() else []
        if not matches:
            raise LoadError(f"no file matches {text!r}")
        found.update((m if walked else m.resolve(), None) for m in matches)
    return list(found)


@dataclass(frozen=True)
class Records:
    """A file split into records (table: line, byte_offset, text) and the pieces that are not records."""

    table: pa.Table
    rejected: list[tuple[int, int, bytes, str]]  # line, byte_offset, raw, reason


def records_table(lines: list[int], offsets: list[int], texts: list[str]) -> pa.Table:
    """The Arrow table a loader's SQL reads its records from (in many batches, so it is parsed on every thread)."""
    return in_batches(pa.table({"line": pa.array(lines, pa.int64()), "byte_offset": pa.array(offsets, pa.int64()),
                                "text": pa.array(texts, pa.string())}))  # fmt: skip


def json_records(data: bytes) -> Records:
    """JSON Lines records, or the whole file as one record when its first line is not a complete JSON value.

    >>> json_records(b'{"a": 1}\\n\\xff\\n').rejected
    [(2, 9, b'\\xff', 'not valid UTF-8 text')]
    """
    return line_records(data) if first_json_line_is_complete(data) else _decoded_lines([data], 1, 0)


def line_records(
    data: bytes | memoryview,
    *,
    first_line: int = 1,
    first_offset: int = 0,
    newlines: np.ndarray[Any, Any] | None = None,
) -> Records:
    """One record per non-blank line, without copying: the text column points into ``data`` (``newlines``: the
    offsets of its newline bytes, when they are known).

    A chunk that is not valid UTF-8 is read line by line instead, and its undecodable lines are rejected.
    """
    newlines = newline_offsets(data) if newlines is None else newlines
    starts = np.concatenate([[0], newlines + 1]).astype(np.int64)
    ends = np.concatenate([newlines, [len(data)]]).astype(np.int64)
    keep = ends > starts
    short = np.flatnonzero(keep & (ends - starts <= BLANK_CHECK))  # only short lines can be all whitespace
    keep[short[[not bytes(data[starts[i] : ends[i]]).strip() for i in short]]] = False
    kept = np.flatnonzero(keep)
    # each record runs from its line's start to the next record's start: a trailing newline is JSON whitespace
    offsets = np.concatenate([starts[kept], [len(data)]]).astype(np.int64)
    text = pa.LargeStringArray.from_buffers(len(kept), pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return _decoded_lines(bytes(data).split(b"\n"), first_line, first_offset)
    table = pa.table({"line": pa.array(kept + first_line, pa.int64()),
                      "byte_offset": pa.array(starts[kept] + first_offset, pa.int64()), "text": text})  # fmt: skip
    return Records(in_batches(table), [])


def newline_offsets(data: bytes | memoryview, step: int = 16 * 1024 * 1024) -> np.ndarray[Any, Any]:
    """Offsets of the newline bytes, found 16 MB at a time (a mask of the whole chunk would double its memory).

    >>> newline_offsets(b"a\\nbc\\n\\n").tolist()
    [1, 4, 5]
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    found = [np.flatnonzero(buffer[start : start + step] == NEWLINE) + start for start in range(0, len(buffer), step)]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def in_batches(table: pa.Table, batches: int = 64) -> pa.Table:
    """The same rows in many small record batches, so DuckDB scans them on every thread."""
    size = max(1, -(-table.num_rows // batches))
    return pa.Table.from_batches(table.to_batches(max_chunksize=size), schema=table.schema)


def _decoded_lines(chunks: list[bytes], first_line: int, first_offset: int) -> Records:
    starts = np.cumsum([first_offset] + [len(chunk) + 1 for chunk in chunks[:-1]]).tolist()
    return decoded_records(
        (number, start, chunk)
        for number, (start, chunk) in enumerate(zip(starts, chunks, strict=True), start=first_line)
        if chunk.strip()
    )


def decoded_records(pieces: Iterable[tuple[int, int, bytes]]) -> Records:
    """Records from (line, byte offset, raw bytes) pieces; a piece that is not UTF-8 is rejected with its place."""
    lines, offsets, texts = [], [], []
    rejected: list[tuple[int, int, bytes, str]] = []
    for number, offset, raw in pieces:
        try:
            texts.append(raw.decode("utf-8"))
            lines.append(number)
            offsets.append(offset)
        except UnicodeDecodeError:
            rejected.append((number, offset, raw, "not valid UTF-8 text"))
    return Records(records_table(lines, offsets, texts), rejected)


def json_record_chunks(path: Path, chunk_bytes: int) -> Iterator[tuple[Records, int]]:
    """The records of a JSON Lines file, chunk by chunk (split at line ends), each with the bytes it covers.

    A file whose first line is not a complete JSON value is one document: it comes as one record. A chunk's
    records point into its bytes, so only about one chunk is in memory at a time.
    """
    with path.open("rb") as file:
        buffer = read_after(b"", file, chunk_bytes)
        while not FIRST_LINE_END.search(buffer) and (more := file.read(chunk_bytes)):
            buffer += more  # the first line decides between JSON Lines and one document
        if not first_json_line_is_complete(buffer):
            data = bytes(buffer) + file.read()
            yield _decoded_lines([data], 1, 0), len(data)
            return
        yield from line_chunks(file, chunk_bytes, buffer)


FIRST_LINE_END = re.compile(rb"\S[^\n]*\n")
"""A line end after the first character that is not whitespace."""


def line_chunks(file: io.BufferedIOBase, chunk_bytes: int, buffer: bytearray) -> Iterator[tuple[Records, int]]:
    """The records of ``file`` (one a line, see :func:`line_records`), about ``chunk_bytes`` of whole lines at a time,
    each chunk with the bytes it covers; ``buffer`` holds the bytes already read from it. A line longer than a chunk
    is read on to its end. Each chunk is a buffer of its own, which its records point into."""
    line, offset = 1, 0
    while buffer:
        cut = buffer.rfind(b"\n") + 1
        if not cut and (more := file.read(chunk_bytes)):
            buffer += more
            continue
        cut = cut or len(buffer)
        lines = memoryview(buffer)[:cut]
        newlines = newline_offsets(lines)  # found once: for the records and for the next chunk's first line number
        yield line_records(lines, first_line=line, first_offset=offset, newlines=newlines), cut
        line += len(newlines)
        del lines
        offset += cut
        rest = buffer[cut:]
        del buffer  # the chunk's records are done with: free it before reading the next one
        buffer = read_after(rest, file, chunk_bytes)


SMALL_READ = 64 * 1024
"""Bytes asked for at once of a file whose size does not say what is left of it (at its end, or a special file)."""


def read_after(start: bytes | bytearray, file: io.BufferedIOBase, size: int) -> bytearray:
    """``start`` followed by up to ``size`` more bytes of ``file``, read straight into one new buffer (the bytes read
    are not copied again to join them to ``start``).

    >>> import io
    >>> read_after(b"ab", io.BytesIO(b"cdef"), 3)
    bytearray(b'abcde')
    """
    with contextlib.suppress(OSError, io.UnsupportedOperation):  # a new buffer is zero-filled, at a cost: no
        left = os.fstat(file.fileno()).st_size - file.tell()  # larger than what is left of the file (a file that
        size = min(size, left if left > 0 else SMALL_READ)  # says it has nothing left is read in small steps)
    buffer = bytearray(len(start) + size)
    buffer[: len(start)] = start
    filled = len(start)
    with memoryview(buffer) as view:
        while filled < len(buffer) and (count := file.readinto(view[filled:])):
            filled += count
    del buffer[filled:]
    return buffer


def first_json_line_is_complete(data: bytes | bytearray) -> bool:
    """True when the first non-empty line is a JSON value on its own (JSON Lines), not the start of a document.

    >>> first_json_line_is_complete(b'{"a": 1}\\n{"a": 2}\\n'), first_json_line_is_complete(b'{\\n  "a": 1\\n}')
    (True, False)
    """
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end == -1 else end
        line = data[start:end]
        if line.strip():
            try:
                json.loads(line)
            except RecursionError:
                return True  # complete but deeply nested: DuckDB's parser reads it, or rejects it with its line
            except ValueError:
                return False
            return True
        start = end + 1
    return False


def excerpt(raw: bytes | str) -> str:
    """The first characters of a record, for display."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return text[:EXCERPT]
