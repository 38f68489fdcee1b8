"""Finding the files to load, and reading them as records without losing the ones that cannot be decoded."""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from llmlens.errors import LensError

EXCERPT = 200


class LoadError(LensError):
    """A file cannot be loaded at all (missing, unreadable, unknown format)."""


def expand(paths: tuple[str | os.PathLike[str], ...]) -> list[Path]:
    """Files named by ``paths``: files as given, globs expanded, folders walked; sorted, no duplicates.

    >>> expand(())
    []
    """
    found: list[Path] = []
    for item in paths:
        text = os.fspath(item)
        path = Path(text).expanduser()
        if path.is_dir():
            matches = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif glob.has_magic(text):
            pattern = str(Path(text).expanduser())
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())  # noqa: PTH207
        else:
            matches = [path] if path.is_file() else []
        if not matches:
            raise LoadError(f"no file matches {text!r}")
        found += [m.resolve() for m in matches if m.resolve() not in found]
    return found


@dataclass(frozen=True)
class Records:
    """A file split into records (table: line, byte_offset, text) and the pieces that are not records."""

    table: pa.Table
    rejected: list[tuple[int, int, bytes, str]]  # line, byte_offset, raw, reason


def records_table(lines: list[int], offsets: list[int], texts: list[str]) -> pa.Table:
    """The Arrow table a loader's SQL reads its records from."""
    return pa.table({"line": pa.array(lines, pa.int64()), "byte_offset": pa.array(offsets, pa.int64()),
                     "text": pa.array(texts, pa.string())})  # fmt: skip


def json_records(data: bytes) -> Records:
    """JSON Lines records, or the whole file as one record when its first line is not a complete JSON value.

    >>> json_records(b'{"a": 1}\\n\\xff\\n').rejected
    [(2, 9, b'\\xff', 'not valid UTF-8 text')]
    """
    chunks = data.split(b"\n") if first_json_line_is_complete(data) else [data]
    lines, offsets, texts = [], [], []
    rejected: list[tuple[int, int, bytes, str]] = []
    offset = 0
    for number, chunk in enumerate(chunks, start=1):
        if chunk.strip():
            try:
                texts.append(chunk.decode("utf-8"))
                lines.append(number)
                offsets.append(offset)
            except UnicodeDecodeError:
                rejected.append((number, offset, chunk, "not valid UTF-8 text"))
        offset += len(chunk) + 1
    return Records(records_table(lines, offsets, texts), rejected)


def first_json_line_is_complete(data: bytes) -> bool:
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
