"""Weights & Biases run files (``run-<id>.wandb``): the LevelDB-log framing and the ``Record`` protobufs in it.

The file starts with a 7-byte header (``:W&B``, ``u16 0xBEE1``, ``u8`` version 0), then 32 KiB blocks of
fragments: ``u32 CRC-32``, ``u16 length``, ``u8 type`` (1 full, 2 first, 3 middle, 4 last), then the payload. The
CRC is zlib's CRC-32 of the payload, seeded with the CRC-32 of the type byte (unmasked). A block tail shorter than a
fragment header is zero padding. A fragment that fails its check, or runs past its block, spoils the rest of its
block: that is rejected with its byte offset and reading resumes at the next block, as LevelDB readers do, so the
records before and after it load. A file cut mid-record loses only that record.

Each record is a ``wandb_internal.Record``; the messages llmlens reads are declared here (field numbers as in
``wandb/proto/wandb_internal.proto``), so wandb is not needed to read its files. Decoding gives one row per history
or stats item (the points), per config or summary item updated or removed, and per run, environment or exit
record; the SQL in :mod:`llmlens.loaders.wandb_run` turns these into runs, params and metrics.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Iterator
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmlens.loaders.files import Records
from llmlens.loaders.protobuf import message_classes

MAGIC = b":W&B\xe1\xbe"
"""The file header without its version byte: ``:W&B`` and ``0xBEE1`` (little-endian)."""
HEADER_SIZE = 7
BLOCK_SIZE = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_FRAGMENT = struct.Struct("<IHB")

CHUNK_ROWS = 1_000_000
"""Items (history, stats, config and summary) decoded before a chunk is handed to the store (bounds memory)."""

_KIND_CRCS = [zlib.crc32(bytes([kind])) for kind in range(256)]

PROTOS = message_classes(
    "llmlens.wandb",
    {
        "Record": [("num", 1, "int64"), ("history", 2, "HistoryRecord"), ("summary", 3, "SummaryRecord"),
                   ("config", 5, "ConfigRecord"), ("stats", 7, "StatsRecord"), ("run", 17, "RunRecord"),
                   ("exit", 18, "RunExitRecord"), ("environment", 26, "EnvironmentRecord")],
        "HistoryRecord": [("item", 1, "repeated HistoryItem"), ("step", 2, "HistoryStep")],
        "HistoryItem": [("key", 1, "string"), ("nested_key", 2, "repeated string"), ("value_json", 16, "string")],
        "HistoryStep": [("num", 1, "int64")],
        "SummaryRecord": [("update", 1, "repeated SummaryItem"), ("remove", 2, "repeated SummaryItem")],
        "SummaryItem": [("key", 1, "string"), ("nested_key", 2, "repeated string"), ("value_json", 16, "string")],
        "ConfigRecord": [("update", 1, "repeated ConfigItem"), ("remove", 2, "repeated ConfigItem")],
        "ConfigItem": [("key", 1, "string"), ("nested_key", 2, "repeated string"), ("value_json", 16, "string")],
        "StatsRecord": [("stats_type", 1, "enum"), ("timestamp", 2, "Timestamp"), ("item", 3, "repeated StatsItem")],
        "StatsItem": [("key", 1, "string"), ("value_json", 16, "string")],
        "RunRecord": [("run_id", 1, "string"), ("entity", 2, "string"), ("project", 3, "string"),
                      ("config", 4, "ConfigRecord"), ("summary", 5, "SummaryRecord"), ("run_group", 6, "string"),
                      ("job_type", 7, "string"), ("display_name", 8, "string"), ("notes", 9, "string"),
                      ("tags", 10, "repeated string"), ("sweep_id", 12, "string"), ("host", 13, "string"),
                      ("starting_step", 14, "int64"), ("start_time", 17, "Timestamp"), ("resumed", 18, "bool"),
                      ("runtime", 20, "int32"), ("git", 21, "GitRepoRecord"), ("forked", 22, "bool")],
        "RunExitRecord": [("exit_code", 1, "int32"), ("runtime", 2, "int32"), ("not_complete", 3, "bool")],
        "EnvironmentRecord": [("os", 1, "string"), ("python", 2, "string"), ("started_at", 3, "Timestamp"),
                              ("docker", 4, "string"), ("args", 5, "repeated string"), ("program", 6, "string"),
                              ("code_path", 7, "string"), ("git", 9, "GitRepoRecord"), ("root", 11, "string"),
                              ("host", 12, "string"), ("executable", 14, "string"), ("cpu_count", 16, "int64"),
                              ("cpu_count_logical", 17, "int64"), ("gpu_type", 18, "string"),
                              ("gpu_count", 19, "int64"), ("cuda_version", 25, "string")],
        "GitRepoRecord": [("remote_url", 1, "string"), ("commit", 2, "string")],
        "Timestamp": [("seconds", 1, "int64"), ("nanos", 2, "int32")],  # google.protobuf.Timestamp
    },
)  # fmt: skip
"""The ``wandb_internal`` messages llmlens reads, by wandb's names (``Timestamp`` is google.protobuf's)."""
_RECORD = PROTOS["Record"]

ROWS = pa.schema([("record", pa.int64()), ("byte_offset", pa.int64()), ("kind", pa.string()), ("step", pa.int64()),
                  ("key", pa.string()), ("value_json", pa.string()), ("time_us", pa.int64())])  # fmt: skip
"""What a chunk of a run file decodes to. ``kind``: ``history`` and ``stats`` (one row per item: the points),
``config`` and ``summary`` (one row per item updated; a removal has no ``value_json``), ``run``, ``environment`` and
``exit`` (one row per record, its fields as a JSON object in ``value_json``), and a last ``clock`` row: the latest
time a point of the file so far was logged at. ``record`` numbers the file's records from 1; ``time_us`` is a stats
record's time, the run's start or the clock, in microseconds since the epoch."""


class Reject(NamedTuple):
    """A piece of the file that could not be read."""

    record: int  # the number the next record would have (0 for a fragment, before :func:`frame` numbers it)
    byte_offset: int
    raw: bytes
    reason: str


def could_be(head: bytes) -> bool:
    """True when ``head`` starts with the header of a W&B run file.

    >>> could_be(b":W&B\\xe1\\xbe\\x00" + bytes(7)), could_be(b'{"_step": 0}')
    (True, False)
    """
    return head[: len(MAGIC)] == MAGIC


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """The rows of a run file (see ``ROWS``), chunk by chunk, with the pieces that could not be read.

    Each chunk holds its own rows and the state rows of the chunks before it (the latest of each config and summary
    key), so the last chunk has all it takes to stage the file's run, config and summary.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "run-abc.wandb"
    >>> _ = path.write_bytes(MAGIC + b"\\x00" + _fragment(FULL, b"\\x08\\x01"))  # a Record with only its number
    >>> [(records.table.num_rows, records.rejected, covered) for records, covered in read(path)]
    [(1, [], 16)]
    """
    data = path.read_bytes()
    yield from decode(data)


def decode(data: bytes) -> Iterator[tuple[Records, int]]:
    """Decode the records of a run file's bytes, chunk by chunk, with the bytes each chunk covers.

    >>> [(records.table["kind"].to_pylist(), records.rejected[0][3]) for records, _ in decode(b"not a run file")]
    [(['clock'], 'not a W&B run file: no :W&B header at byte 0')]
    """
    rows = _Rows([])
    rejected: list[tuple[int, int, bytes, str]] = []
    done = number = 0
    for piece in frame(data):
        if isinstance(piece, Reject):
            rejected.append(piece)
            continue
        offset, payload = piece
        number += 1
        try:
            _add(_RECORD.FromString(payload), (number, offset), rows)
        except Exception as error:  # any decoding failure is the record's fault
            rejected.append((number, offset, payload, f"record at byte {offset:,} is not a W&B Record ({error})"))
        if len(rows.keys) >= CHUNK_ROWS:
            yield Records(rows.table(), rejected), offset + len(payload) - done
            rows, rejected, done = _Rows(rows.state()), [], offset + len(payload)
    yield Records(rows.table(), rejected), len(data) - done


def frame(data: bytes) -> Iterator[tuple[int, bytes] | Reject]:
    """The records of a LevelDB log (``(byte offset, payload)``, the offset of the record's first fragment), and
    the pieces that cannot be read (``(record number, byte offset, raw bytes, reason)``), in file order.

    >>> list(frame(MAGIC + b"\\x00" + _fragment(FULL, b"abc") + _fragment(FIRST, b"d") + _fragment(LAST, b"e")))
    [(7, b'abc'), (17, b'de')]
    """
    number = 1  # the number the next record will have
    pending: list[bytes] = []
    start = 0
    for piece in _fragments(data):
        if isinstance(piece, Reject):
            _, offset, raw, why = piece
            if pending and not why.startswith("file ends"):
                yield Reject(number, start, b"".join(pending), f"record at byte {start:,} lost its end: {why}")
                pending = []
            yield Reject(number, offset, raw, why)
            continue
        position, kind, payload = piece
        if kind in (FULL, FIRST) and pending:
            yield Reject(
                number, start, b"".join(pending), f"record at byte {start:,} has no end (its last fragment is lost)"
            )
            pending = []
        if kind == FULL:
            yield position, payload
            number += 1
        elif kind == FIRST:
            start, pending = position, [payload]
        elif not pending:
            yield Reject(
                number, position, payload, f"fragment at byte {position:,} continues a record whose start was lost"
            )
        elif kind == MIDDLE:
            pending.append(payload)
        else:
            yield start, b"".join([*pending, payload])
            number += 1
            pending = []
    if pending:
        yield Reject(number, start, b"".join(pending), f"file ends inside the record at byte {start:,} (truncated)")


def _fragments(data: bytes) -> Iterator[tuple[int, int, bytes] | Reject]:
    """The fragments of a LevelDB log, ``(byte offset, type, payload)``, each checked against its CRC; a fragment
    that fails is rejected with the rest of its block (record number 0: :func:`frame` numbers them)."""
    size = len(data)
    if data[: len(MAGIC)] != MAGIC:
        yield Reject(0, 0, data, "not a W&B run file: no :W&B header at byte 0")
        return
    if size < HEADER_SIZE or data[len(MAGIC)] != 0:
        yield Reject(
            0, 0, data[:HEADER_SIZE], f"unknown W&B run file version {data[len(MAGIC) : HEADER_SIZE]!r} at byte 6"
        )
    unpack, crc32, kind_crcs, view = _FRAGMENT.unpack_from, zlib.crc32, _KIND_CRCS, memoryview(data)
    position = HEADER_SIZE
    while position < size:
        block_end = min((position // BLOCK_SIZE + 1) * BLOCK_SIZE, size)
        if block_end - position < HEADER_SIZE:  # a block's tail: zero padding
            if block_end == size and not _zeros(data, position, size):
                yield Reject(0, position, data[position:], f"file ends inside a fragment header at byte {position:,}")
            position = block_end
            continue
        crc, length, kind = unpack(data, position)
        end = position + HEADER_SIZE + length
        if (
            end <= block_end
            and FULL <= kind <= LAST
            and crc == crc32(view[position + HEADER_SIZE : end], kind_crcs[kind])
        ):
            yield position, kind, data[position + HEADER_SIZE : end]
            position = end
            continue
        if _zeros(data, position, block_end):
            position = block_end  # zeros to the block's end: space not yet written
            continue
        block = position - position % BLOCK_SIZE
        if end > size:
            why = f"file ends inside the fragment at byte {position:,} (truncated)"
        elif end > block_end:
            why = f"corrupt fragment length at byte {position:,}, in block at byte {block:,}"
        elif FULL <= kind <= LAST:
            why = f"CRC-32 mismatch in block at byte {block:,} (fragment at byte {position:,})"
        else:
            why = f"unknown fragment type {kind} at byte {position:,}, in block at byte {block:,}"
        yield Reject(
            0, position, data[position:block_end], why + ("" if end > size else "; the rest of the block is unread")
        )
        position = block_end


def _zeros(data: bytes, start: int, end: int) -> bool:
    return data.count(0, start, end) == end - start


def _fragment(kind: int, payload: bytes) -> bytes:
    """One fragment as a LevelDB log writer frames it (for examples and tests)."""
    return _FRAGMENT.pack(zlib.crc32(payload, _KIND_CRCS[kind]), len(payload), kind) + payload


class _Rows:
    """Rows gathered as they are decoded: per group of items (a record's history, stats, config or summary items)
    its record number, offset, kind, step, time and count; per item its key and value. A chunk starts with the
    run's state carried from the chunks before it (config and summary, run, environment, exit and clock rows)."""

    def __init__(self, carried: list[tuple[Any, ...]]) -> None:
        self.groups: list[tuple[int, int, str, int | None, int | None, int]] = []
        self.keys: list[str] = []
        self.values: list[str | None] = []
        self.clock: int | None = None  # the latest time a point was logged at, in microseconds
        for number, offset, kind, step, key, value, time in carried:
            if kind == "clock":
                self.clock = time
                continue
            self.groups.append((number, offset, kind, step, time, 1))
            self.keys.append(key)
            self.values.append(value)

    def add(self, where: tuple[int, int], kind: str, step: int | None, items: Any, time: int | None) -> None:
        """Add one row per item; the items of a removal (``*_remove`` kinds) have no value."""
        if kind == "stats":  # stats items have flat keys
            keys = [item.key for item in items]
        else:  # nested keys join with dots, as W&B shows them
            keys = [nk[0] if len(nk := item.nested_key) == 1 else item.key or ".".join(nk) for item in items]
        values = [None] * len(keys) if kind.endswith("_remove") else list(map(_VALUE_JSON, items))
        self.keys += keys
        self.values += values
        self.groups.append((*where, kind.removesuffix("_remove"), step, time, len(keys)))
        if kind in ("history", "stats"):
            if kind == "history" and "_timestamp" in keys:
                time = _rounded_us(values[keys.index("_timestamp")])
            if time is not None and (self.clock is None or time > self.clock):
                self.clock = time

    def record(self, where: tuple[int, int], kind: str, fields: str, time: int | None) -> None:
        """Add a run, environment or exit record's row: its fields as a JSON object."""
        self.keys.append("")
        self.values.append(fields)
        self.groups.append((*where, kind, None, time, 1))

    def table(self) -> pa.Table:
        """The rows, and a ``clock`` row: the latest time a point of the file so far was logged at."""
        groups = [*self.groups, (0, 0, "clock", None, self.clock, 1)]
        counts = np.array([group[5] for group in groups], dtype=np.int64)
        index = pa.array(np.repeat(np.arange(len(groups)), counts))

        def repeated(i: int, field: str) -> pa.Array:
            return pa.array([group[i] for group in groups], ROWS.field(field).type).take(index)

        return pa.table([repeated(0, "record"), repeated(1, "byte_offset"), repeated(2, "kind"), repeated(3, "step"),
                         pa.array([*self.keys, ""], pa.string()), pa.array([*self.values, None], pa.string()),
                         repeated(4, "time_us")], schema=ROWS)  # fmt: skip

    def state(self) -> list[tuple[Any, ...]]:
        """The state rows to carry into the next chunk, in file order: the latest row of each config and summary
        key (a removal included), the latest run, exit and clock rows, and every environment row."""
        table = self.table()
        table = table.append_column("i", pa.array(np.arange(table.num_rows)))
        kind = table["kind"]
        latest = table.filter(pc.invert(pc.is_in(kind, pa.array(["history", "stats", "environment"]))))
        indices = latest.group_by(["kind", "key"], use_threads=False).aggregate([("i", "max")])["i_max"].to_pylist()
        indices += table.filter(pc.equal(kind, "environment"))["i"].to_pylist()
        state = table.take(sorted(indices)).drop_columns(["i"])
        return list(zip(*(state[name].to_pylist() for name in ROWS.names), strict=True))


def _rounded_us(seconds: str | None) -> int | None:
    """A time in seconds (JSON text) in whole microseconds, rounded half up as DuckDB rounds; None if not a time.

    >>> _rounded_us("1795463184.3842864"), _rounded_us("NaN")
    (1795463184384287, None)
    """
    try:
        return math.floor(float(seconds or "") * 1e6 + 0.5)
    except (ValueError, OverflowError):
        return None


_VALUE_JSON = attrgetter("value_json")


def _add(record: Any, where: tuple[int, int], rows: _Rows) -> None:
    """Add a record's rows; ``where``: its number and byte offset."""
    if record.HasField("history"):
        history = record.history
        rows.add(where, "history", history.step.num if history.HasField("step") else None, history.item, None)
    if record.HasField("stats"):
        stats = record.stats
        time = _microseconds(stats.timestamp) if stats.HasField("timestamp") else None
        rows.add(where, "stats", None, stats.item, time)
    if record.HasField("config"):
        _update(rows, where, "config", record.config)
    if record.HasField("summary"):
        _update(rows, where, "summary", record.summary)
    if record.HasField("run"):
        run = record.run
        rows.record(where, "run", _fields(run), _microseconds(run.start_time) if run.HasField("start_time") else None)
        _update(rows, where, "config", run.config)
        _update(rows, where, "summary", run.summary)
    if record.HasField("environment"):
        # each part of the system monitor writes its own (the first has the OS and program, a later one the GPUs)
        environment = record.environment
        time = _microseconds(environment.started_at) if environment.HasField("started_at") else None
        rows.record(where, "environment", _fields(environment), time)
    if record.HasField("exit"):
        rows.record(where, "exit", _fields(record.exit), None)


def _update(rows: _Rows, where: tuple[int, int], kind: str, update: Any) -> None:
    """A config or summary record's rows: its removals, then its updates."""
    if update.remove:
        rows.add(where, f"{kind}_remove", None, update.remove, None)
    if update.update:
        rows.add(where, kind, None, update.update, None)


def _fields(message: Any) -> str:
    """The fields of ``message`` that are set, as a JSON object: scalars, lists, and its ``git`` record."""
    fields = {field.name: list(value) if field.is_repeated else value
              for field, value in message.ListFields() if field.type != field.TYPE_MESSAGE}  # fmt: skip
    if "git" in message.DESCRIPTOR.fields_by_name and message.HasField("git"):
        fields["git"] = {field.name: value for field, value in message.git.ListFields()}
    return json.dumps(fields)


def _microseconds(timestamp: Any) -> int:
    return int(timestamp.seconds) * 1_000_000 + int(timestamp.nanos) // 1000
