"""Reading Inspect AI eval logs into records: the log's header and its samples, one JSON text each.

Two readers give the same records. With the ``inspect_ai`` package installed, its own reader reads the log
(``read_eval_log`` for the header, ``read_eval_log_samples_by_id`` for the samples of a ``.eval``,
``read_eval_log`` for a ``.json`` log), with every ``attachment://`` reference and pooled message resolved
(``resolve_attachments="full"``). Without it, or for a log it cannot read, llmlens reads the log itself: the
``.eval`` zip through :mod:`llmlens.loaders.safezip` (in memory, bounded), the ``.json`` log split into its
samples with Python's JSON scanner; references are then resolved by the stage's SQL. A ``.eval`` is checked by
:mod:`llmlens.loaders.safezip` before ``inspect_ai`` opens it: an archive that is damaged or unsafe is read by
llmlens's reader, which refuses the bad members and reads the rest.

Records: ``line`` and ``byte_offset`` (of a sample in a ``.json`` log; of a member's local header in a ``.eval``),
``member`` (``header.json``, ``samples/3_epoch_1.json``, ``samples[2]``), ``kind`` (``header``, ``reductions``,
``sample``, or ``reject`` for what could not be read: ``reason`` and ``raw`` then say why and what), ``text``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa

from llmlens.loaders import safezip
from llmlens.loaders.files import Records, excerpt, in_batches

CHUNK_BYTES = 64 * 1024 * 1024
"""About how much sample text is staged at once (each chunk also carries the header)."""

BATCH_SAMPLES = 64
"""Samples ``inspect_ai`` reads per call (its zip directory is read once per call)."""

USE_INSPECT_AI = True
"""Read with ``inspect_ai`` when it is installed. Both readers give the same rows; llmlens's own is about three
times faster (``inspect_ai`` validates every event with pydantic and computes the sample's timelines), so set this
to False for large logs: ``llmlens.loaders.inspect_read.USE_INSPECT_AI = False``."""

SCHEMA = pa.schema([
    ("line", pa.int64()),
    ("byte_offset", pa.int64()),
    ("member", pa.string()),
    ("kind", pa.string()),
    ("text", pa.large_string()),
    ("reason", pa.string()),
    ("raw", pa.large_binary()),
])  # fmt: skip

_SAMPLE_MEMBER = re.compile(r"samples/[^/]+\.json")
_HEADERS = ("header.json", "_journal/start.json")  # start.json: the eval spec, written first (a cut log has it)

Record = dict[str, Any]
Chunks = Iterator[tuple[Records, int]]


def read(path: Path) -> Chunks:
    """The records of the log at ``path`` (a ``.eval`` zip or a ``.json`` log, told apart by content), chunk by
    chunk, read with ``inspect_ai`` when it is installed.

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "log.json"
    >>> _ = path.write_text('{"version": 2, "status": "success", "eval": {"task": "t"}, "samples": [{"id": 1}]}')
    >>> [(r["member"], r["kind"]) for records, _ in read_own(path) for r in records.table.to_pylist()]
    [('header', 'header'), ('samples[0]', 'sample')]
    """
    log = inspect_log_module() if USE_INSPECT_AI else None
    if log is None:
        return read_own(path)
    return _read_zip_inspect(path, log) if _is_zip(path) else _read_json_inspect(path, log)


def read_own(path: Path) -> Chunks:
    """The records of the log at ``path`` read by llmlens alone (no ``inspect_ai``)."""
    return _read_zip_own(path) if _is_zip(path) else _read_json_own(path)


def inspect_log_module() -> ModuleType | None:
    """``inspect_ai.log`` when it can be imported, else None."""
    try:
        import inspect_ai.log
    except ImportError:
        return None
    return inspect_ai.log


def _is_zip(path: Path) -> bool:
    with path.open("rb") as file:
        return safezip.is_zip(file.read(4))


def _chunks(header: list[Record], records: Iterator[tuple[Record, int]], size: int) -> Chunks:
    """Records in chunks of about ``CHUNK_BYTES`` of text, each led by the header records; ``records`` gives each
    record with the bytes of the file it covers, and the last chunk covers the rest of the file."""
    chunk: list[Record] = []
    text = covered = done = 0
    for record, length in records:
        chunk.append(record)
        text += len(record.get("text") or "")
        covered += length
        if text >= CHUNK_BYTES:
            yield _records(header + chunk), covered
            done += covered
            chunk, text, covered = [], 0, 0
    yield _records(header + chunk), max(size - done, 0)


def _records(rows: list[Record]) -> Records:
    columns = {name: [row.get(name) for row in rows] for name in SCHEMA.names}
    return Records(in_batches(pa.table(columns, schema=SCHEMA)), [])


def _reject(member: str, reason: str, raw: bytes, *, line: int | None = None, offset: int | None = None) -> Record:
    """A reject record: ``text`` holds the excerpt shown for it."""
    return {"line": line, "byte_offset": offset, "member": member, "kind": "reject", "reason": reason, "raw": raw,
            "text": excerpt(raw)}  # fmt: skip


def _text_record(member: str, kind: str, data: bytes, *, line: int | None = None, offset: int | None = None) -> Record:
    try:
        return {"line": line, "byte_offset": offset, "member": member, "kind": kind, "text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return _reject(member, "not valid UTF-8 text", data, line=line, offset=offset)


# --- .eval, read by llmlens ---------------------------------------------------------------------------------------


def _read_zip_own(path: Path, only: set[str] | None = None, *, with_header: bool = True) -> Chunks:
    """The header and samples of a ``.eval`` (``only``: just these sample members), each member inflated in memory
    within :mod:`llmlens.loaders.safezip`'s limits; a member that cannot be read is a reject record."""
    found, problem = safezip.members(path)
    size = path.stat().st_size
    refused = safezip.unsafe(found, size)
    by_name = {member.name: member for member in found}
    with path.open("rb") as file:

        def member_record(member: safezip.Member, kind: str) -> Record:
            if member in refused:
                return _reject(member.name, f"{member.name}: {refused[member]}", b"", offset=member.offset)
            try:
                data = safezip.read_member(file, member)
            except safezip.MemberError as error:
                return _reject(member.name, f"{member.name}: {error}", b"", offset=member.offset)
            return _text_record(member.name, kind, data, offset=member.offset)

        header: list[Record] = []
        if with_header:
            if problem:
                header.append(_reject("archive", f"{problem}; members read from their local headers", b"", offset=0))
            named = next((by_name[name] for name in _HEADERS if name in by_name), None)
            if named is None:
                header.append(_reject("header.json", "the log has no header.json (nor _journal/start.json): the "
                                      "eval's id, task and scorers are unknown", b""))  # fmt: skip
            else:
                header.append(member_record(named, "header"))
            if "reductions.json" in by_name:
                header.append(member_record(by_name["reductions.json"], "reductions"))
        samples = (
            m for m in found if _SAMPLE_MEMBER.fullmatch(m.name) and (only is None or m.name in only)
        )  # fmt: skip
        yield from _chunks(header, ((member_record(m, "sample"), m.compressed_size) for m in samples), size)


# --- .eval, read by inspect_ai ------------------------------------------------------------------------------------


def _read_zip_inspect(path: Path, log: ModuleType) -> Chunks:
    """A ``.eval`` whose samples ``inspect_ai`` reads once llmlens has checked it is a sound archive (the header is
    read as written, by llmlens); the samples it does not read (or fails on) are read by llmlens's reader."""
    found, problem = safezip.members(path)
    if problem or safezip.unsafe(found, path.stat().st_size):
        yield from _read_zip_own(path)
        return
    head = _zip_header(path, found)
    try:
        header = log.read_eval_log(str(path), header_only=True, format="eval")
    except Exception:
        yield from _read_zip_own(path)
        return
    offsets = {m.name: m for m in found if _SAMPLE_MEMBER.fullmatch(m.name)}
    epochs = header.eval.config.epochs or 1
    pairs = [
        (sample_id, epoch)
        for sample_id in header.eval.dataset.sample_ids or []
        for epoch in range(1, epochs + 1)
        if _member_name(sample_id, epoch) in offsets
    ]
    left = set(offsets) - {_member_name(sample_id, epoch) for sample_id, epoch in pairs}

    def sample_records() -> Iterator[tuple[Record, int]]:
        for start in range(0, len(pairs), BATCH_SAMPLES):
            batch = pairs[start : start + BATCH_SAMPLES]
            try:
                samples = log.read_eval_log_samples_by_id(str(path), batch, resolve_attachments="full", format="eval")
            except Exception:
                left.update(_member_name(sample_id, epoch) for sample_id, epoch in batch)
                continue
            for sample in samples:
                member = offsets[_member_name(sample.id, sample.epoch)]
                yield _sample_record(sample, member.name, offset=member.offset), member.compressed_size

    size = path.stat().st_size
    for chunk, covered in _chunks(head, sample_records(), 0):
        yield chunk, min(covered, size)
    if left:  # the file's bytes were counted with the samples inspect_ai read
        yield from ((chunk, 0) for chunk, _ in _read_zip_own(path, left, with_header=False))


def _zip_header(path: Path, found: list[safezip.Member]) -> list[Record]:
    """The header records of a sound ``.eval``, read as written (``inspect_ai`` would add its defaults)."""
    by_name = {member.name: member for member in found}
    records: list[Record] = []
    with path.open("rb") as file:
        for names, kind in ((_HEADERS, "header"), (("reductions.json",), "reductions")):
            member = next((by_name[name] for name in names if name in by_name), None)
            if member is None:
                continue
            try:
                records.append(_text_record(member.name, kind, safezip.read_member(file, member), offset=member.offset))
            except safezip.MemberError as error:
                records.append(_reject(member.name, f"{member.name}: {error}", b"", offset=member.offset))
    return records


def _member_name(sample_id: object, epoch: int) -> str:
    return f"samples/{sample_id}_epoch_{epoch}.json"


def _sample_record(sample: Any, member: str, *, offset: int | None = None, line: int | None = None) -> Record:
    text = sample.model_dump_json(exclude_none=True, fallback=lambda _: None)
    return {"line": line, "byte_offset": offset, "member": member, "kind": "sample", "text": text}


# --- .json, read by inspect_ai ------------------------------------------------------------------------------------


def _read_json_inspect(path: Path, log: ModuleType) -> Chunks:
    """A ``.json`` log whose samples ``inspect_ai`` reads (the header is read as written, by llmlens); a log with a
    sample that is not valid JSON, or one ``inspect_ai`` cannot read, is read by llmlens's reader alone, which
    rejects the broken samples and keeps the rest."""
    data = path.read_bytes()
    header, samples = split_json_log(data)
    if not any(record["kind"] == "reject" for record in header + samples):
        try:
            whole = log.read_eval_log(str(path), resolve_attachments="full", format="json")
        except Exception:
            whole = None
        if whole is not None and len(whole.samples or []) == len(samples):
            samples = [
                _sample_record(sample, record["member"], offset=record["byte_offset"], line=record["line"])
                for sample, record in zip(whole.samples or [], samples, strict=True)
            ]
    yield from _chunks(header, ((record, 0) for record in samples), len(data))


# --- .json, read by llmlens ---------------------------------------------------------------------------------------

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _read_json_own(path: Path) -> Chunks:
    data = path.read_bytes()
    header, samples = split_json_log(data)
    yield from _chunks(header, ((record, 0) for record in samples), len(data))


def split_json_log(data: bytes) -> tuple[list[Record], list[Record]]:
    """The header (every top-level key but ``samples``, as one JSON object) and the samples of a ``.json`` log,
    each sample with its line and byte offset; what cannot be read is a reject record, and a sample that is not
    valid JSON is skipped up to the next sample at its indentation, so the samples after it still load.

    >>> header, samples = split_json_log(b'{"eval": {"task": "t"},\\n "samples": [\\n  {"id": 1},\\n  {"id": 2,}\\n]}')
    >>> header[0]["text"], [(s["kind"], s["line"]) for s in samples]
    ('{"eval":{"task": "t"}}', [('sample', 3), ('reject', 4)])
    """
    text = data.decode("utf-8", errors="surrogateescape")
    positions = _Positions(text)
    members: list[tuple[str, str]] = []
    samples: list[Record] = []
    position = 0
    try:
        position = _expect(text, _skip(text, 0), "{")
        while True:
            position = _skip(text, position)
            if text.startswith("}", position):
                break
            key, position = _DECODER.raw_decode(text, position)
            position = _expect(text, _skip(text, position), ":")
            position = _skip(text, position)
            if key == "samples" and text.startswith("[", position):
                position = _split_samples(text, position + 1, positions, samples)
                if position >= len(text):  # cut off inside the samples: said with the sample it ends in
                    break
            else:
                _, end = _DECODER.raw_decode(text, position)
                members.append((str(key), text[position:end]))
                position = end
            position = _skip(text, position)
            if text.startswith(",", position):
                position += 1
    except (ValueError, RecursionError, _UnexpectedError) as error:
        line, offset = positions.at(position)
        reason = f"not an Inspect log: {_why(error)} at line {line} (the file is cut off or damaged)"
        samples.append(_reject(f"line {line}", reason, text[position:].encode("utf-8", "surrogateescape"),
                               line=line, offset=offset))  # fmt: skip
    body = ",".join(json.dumps(key) + ":" + value for key, value in members if key != "reductions")
    header = [{"member": "header", "kind": "header", "text": "{" + body + "}"}] if members else []
    header += [{"member": "reductions", "kind": "reductions", "text": v} for k, v in members if k == "reductions"]
    return [_check_text(record) for record in header], samples


class _UnexpectedError(Exception):
    pass


def _skip(text: str, position: int) -> int:
    match = _SPACE.match(text, position)
    return match.end() if match else position


def _expect(text: str, position: int, char: str) -> int:
    if not text.startswith(char, position):
        raise _UnexpectedError(f"expected {char!r}")
    return position + 1


def _why(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return error.msg if isinstance(error, json.JSONDecodeError) else str(error)


def _split_samples(text: str, position: int, positions: _Positions, samples: list[Record]) -> int:
    """Read the elements of the ``samples`` array from ``position``; return the position after its ``]``."""
    index = 0
    while True:
        position = _skip(text, position)
        if text.startswith("]", position):
            return position + 1
        start = position
        line, offset = positions.at(start)
        member = f"samples[{index}]"
        try:
            _, position = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError) as error:
            resume = _next_sample(text, start)
            raw = text[start:resume].rstrip().rstrip(",").encode("utf-8", "surrogateescape")
            cut = resume >= len(text)
            reason = f"sample {index + 1} is not valid JSON: {_why(error)}" + (
                " (the file ends inside it: cut off)" if cut else "; skipped to the next sample"
            )
            samples.append(_reject(member, reason, raw, line=line, offset=offset))
            if cut:
                return resume
            position = resume
        else:
            samples.append(_check_text({"line": line, "byte_offset": offset, "member": member, "kind": "sample",
                                        "text": text[start:position]}))  # fmt: skip
            position = _skip(text, position)
            if text.startswith(",", position):
                position += 1
        index += 1


def _next_sample(text: str, start: int) -> int:
    """Where the sample after the broken one at ``start`` begins: the next ``{`` at the start of a line indented
    as this sample's ``{`` is (a pretty-printed log), else the end of the text."""
    line_start = text.rfind("\n", 0, start) + 1
    indent = text[line_start:start]
    if line_start == 0 or indent.strip():
        return len(text)
    found = re.compile("\n" + re.escape(indent) + r"\{").search(text, start + 1)
    return found.start() + 1 + len(indent) if found else len(text)


def _check_text(record: Record) -> Record:
    """The record, or a reject when its text is not valid UTF-8 (it came from undecodable bytes)."""
    try:
        record["text"].encode("utf-8")
    except UnicodeEncodeError:
        raw = record["text"].encode("utf-8", "surrogateescape")
        return _reject(record["member"], "not valid UTF-8 text", raw, line=record.get("line"),
                       offset=record.get("byte_offset"))  # fmt: skip
    return record


class _Positions:
    """Line numbers and byte offsets of character positions, found moving forward through the text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.line = 1
        self.offset = 0

    def at(self, position: int) -> tuple[int, int]:
        if position < self.position:
            self.position, self.line, self.offset = 0, 1, 0
        piece = self.text[self.position : position]
        self.line += piece.count("\n")
        self.offset += len(piece.encode("utf-8", "surrogateescape"))
        self.position = position
        return self.line, self.offset
