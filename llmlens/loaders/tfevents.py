"""TensorBoard event files (``events.out.tfevents.*``) into ``runs``, ``params`` and ``metrics``: every point.

A file is a sequence of records: ``u64 length``, ``u32 masked CRC32C(length)``, ``data``, ``u32 masked
CRC32C(data)``, each ``data`` an ``Event`` protobuf. Both CRCs are checked. A record whose data fails its check is
rejected with its byte offset and reading goes on (its length was sound); a length that fails its check, or a file
cut mid-record, ends the readable part: the rest is rejected with its byte offset, and what came before loads.

Scalars come as ``simple_value`` (PyTorch, tensorboardX, TF1) or as TF2 ``tensor`` values of one number (the
``scalars`` plugin is named only in a tag's first summary; any one-number tensor reads as a scalar). Histograms
are kept as statistics: ``<tag>/min``, ``/max``, ``/mean``, ``/std`` and ``/count`` per step. Hyperparameters
written by the ``hparams`` plugin become ``params``.

A run is the folder of its event files: a restarted job writes a new file into the same folder, and its points
join the run. ``seq`` is the event's wall time in microseconds, which orders the points of several files, so a
step that goes back marks the points it supersedes (``metrics.superseded``) instead of dropping them.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import google_crc32c
import numpy as np
import pyarrow as pa

from llmlens.loaders.files import Records
from llmlens.loaders.protobuf import message_classes
from llmlens.query import run_script

NAME = "tensorboard"

CHUNK_EVENTS = 4_000_000
"""Events decoded before a chunk of points is handed to the store (bounds memory on very large files)."""

_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8
_DT_FLOAT, _DT_DOUBLE, _DT_INT32, _DT_HALF, _DT_INT64, _DT_BFLOAT16 = 1, 2, 3, 19, 9, 14
_TENSOR_DTYPES = {_DT_FLOAT: "<f4", _DT_DOUBLE: "<f8", _DT_INT32: "<i4", _DT_INT64: "<i8", _DT_HALF: "<f2"}

PROTOS = message_classes(
    "llmlens.tensorboard",
    {
        "Event": [("wall_time", 1, "double"), ("step", 2, "int64"), ("file_version", 3, "string"),
                  ("summary", 5, "Summary"), ("session_log", 7, "SessionLog")],
        "SessionLog": [("status", 1, "enum"), ("checkpoint_path", 2, "string"), ("msg", 3, "string")],
        "Summary": [("value", 1, "repeated SummaryValue")],
        "SummaryValue": [("tag", 1, "string"), ("simple_value", 2, "float"), ("histo", 5, "Histogram"),
                         ("tensor", 8, "Tensor"), ("metadata", 9, "SummaryMetadata")],
        "SummaryMetadata": [("plugin_data", 1, "PluginData")],
        "PluginData": [("plugin_name", 1, "string"), ("content", 2, "bytes")],
        "Histogram": [("min", 1, "double"), ("max", 2, "double"), ("num", 3, "double"), ("sum", 4, "double"),
                      ("sum_squares", 5, "double"), ("bucket_limit", 6, "repeated double"),
                      ("bucket", 7, "repeated double")],
        "Tensor": [("dtype", 1, "enum"), ("tensor_shape", 2, "TensorShape"), ("tensor_content", 4, "bytes"),
                   ("float_val", 5, "repeated float"), ("double_val", 6, "repeated double"),
                   ("int_val", 7, "repeated int32"), ("int64_val", 10, "repeated int64"),
                   ("half_val", 13, "repeated int32")],
        "TensorShape": [("dim", 2, "repeated Dim")],
        "Dim": [("size", 1, "int64")],
        "HParamsPluginData": [("session_start_info", 3, "SessionStartInfo")],
        "SessionStartInfo": [("hparams", 1, "repeated HParam"), ("group_name", 4, "string"),
                             ("start_time_secs", 5, "double")],
        "HParam": [("key", 1, "string"), ("value", 2, "Value")],  # a map<string, Value> entry
    },
)  # fmt: skip
"""The messages of an event file that llmlens reads (and the demo writes), by name."""
EVENT = PROTOS["Event"]
_HPARAMS = PROTOS["HParamsPluginData"]

POINTS = pa.schema([("key", pa.string()), ("step", pa.int64()), ("wall_time", pa.float64()),
                    ("value", pa.float64()), ("kind", pa.string())])  # fmt: skip
"""What a chunk of an event file decodes to: one row per point (kind: scalar, histogram or hparam)."""


def masked_crc(data: bytes | memoryview) -> int:
    """TensorBoard's masked CRC32C of ``data``.

    >>> hex(masked_crc(b"brain.Event:2"))
    '0x7c0601ee'
    """
    crc = int(google_crc32c.value(bytes(data)))
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def record(payload: bytes) -> bytes:
    """One framed record of an event file, as TensorBoard's writers frame it.

    >>> record(b"") == bytes(8) + masked_crc(bytes(8)).to_bytes(4, "little") + masked_crc(b"").to_bytes(4, "little")
    True
    """
    length = _HEADER.pack(len(payload), 0)[:8]
    return length + _CRC.pack(masked_crc(length)) + payload + _CRC.pack(masked_crc(payload))


def could_be(head: bytes, size: int) -> bool:
    """True when ``head`` starts with a well-framed first record (TensorBoard files begin with a version event).

    >>> could_be(b"\\x18" + bytes(7) + b"junk", 100)
    False
    """
    if len(head) < _HEADER.size:
        return False
    length, length_crc = _HEADER.unpack_from(head)
    return bool(length < size and masked_crc(head[:8]) == length_crc)


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """The points of an event file, chunk by chunk, with the records that could not be read and their offsets."""
    with path.open("rb") as file:
        data = file.read()
    size, done = len(data), 0
    starts, lengths, rejected = frame(data)
    plugins: dict[str, str] = {}
    for first in range(0, max(len(starts), 1), CHUNK_EVENTS):
        chunk = slice(first, first + CHUNK_EVENTS)
        bad = check_crcs(data, starts[chunk], lengths[chunk])
        good = np.flatnonzero(~bad)
        table, failed = decode(data, starts[chunk][good], lengths[chunk][good], plugins)
        damaged = [(int(i), "data CRC mismatch") for i in np.flatnonzero(bad)]
        undecoded = [(int(good[i]), why) for i, why in failed]
        rejected += [_record(data, first + i, int(starts[first + i]), int(lengths[first + i]), why)
                     for i, why in damaged + undecoded]  # fmt: skip
        end = size if first + CHUNK_EVENTS >= len(starts) else int(starts[first + CHUNK_EVENTS]) - _HEADER.size
        yield Records(table, sorted(rejected)), end - done
        rejected, done = [], end


def _record(data: bytes, index: int, start: int, length: int, why: str) -> tuple[int, int, bytes, str]:
    """A rejected record: its number (from 1), offset, bytes (framing included) and why."""
    offset = start - _HEADER.size
    return index + 1, offset, data[offset : start + length + 4], f"corrupt record at byte {offset:,} ({why})"


def frame(data: bytes) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], list[tuple[int, int, bytes, str]]]:
    """Where each record's payload starts and how long it is; and the unreadable rest of the file, if any.

    Lengths are checked against their CRCs: from the first record whose length fails its check, or that runs past
    the end of the file, nothing can be framed, and the rest is rejected with its offset.

    >>> starts, lengths, rest = frame(b"")
    >>> len(starts), rest
    (0, [])
    """
    unpack, size = _HEADER.unpack_from, len(data)
    positions: list[int] = []
    append = positions.append
    position = 0
    while position + _HEADER.size <= size:
        end = position + unpack(data, position)[0] + _HEADER.size + 4
        if end > size:
            break
        append(position)
        position = end
    heads = np.array(positions, dtype=np.int64)
    lengths = np.diff(heads, append=position) - _HEADER.size - 4
    buffer = np.frombuffer(data, dtype=np.uint8)
    sound = _masked_crcs(buffer, heads, 8) == buffer[heads[:, None] + np.arange(8, 12)].view("<u4").reshape(-1)
    broken = np.flatnonzero(~sound)
    why = ""
    if len(broken):
        position, why = int(heads[broken[0]]), "corrupt record length (CRC mismatch)"
    elif position < size:
        tail = data[position : position + _HEADER.size]
        why = (
            "truncated record header"
            if len(tail) < _HEADER.size
            else "corrupt record length (CRC mismatch)"
            if masked_crc(tail[:8]) != _CRC.unpack_from(tail, 8)[0]
            else f"truncated record ({_HEADER.unpack_from(tail)[0]:,} bytes announced)"
        )
    count = int(broken[0]) if len(broken) else len(heads)
    rest = []
    if why:
        reason = f"{why} at byte {position:,}: the last {size - position:,} bytes are unread"
        rest = [(count + 1, position, data[position:], reason)]
    return heads[:count] + _HEADER.size, lengths[:count], rest


def check_crcs(data: bytes, starts: np.ndarray[Any, Any], lengths: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """True for each record whose payload fails its masked CRC32C."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    expected = buffer[(starts + lengths)[:, None] + np.arange(4)].view("<u4").reshape(-1)
    actual = np.empty(len(starts), dtype=np.uint32)
    values, counts = np.unique(lengths, return_counts=True)
    for length, count in zip(values.tolist(), counts.tolist(), strict=True):
        rows = np.flatnonzero(lengths == length)
        if count >= _VECTOR_CRC_ROWS:
            actual[rows] = _masked_crcs(buffer, starts[rows], length)
        else:
            actual[rows] = [masked_crc(data[start : start + length]) for start in starts[rows].tolist()]
    mismatched: np.ndarray[Any, Any] = actual != expected
    return mismatched


_VECTOR_CRC_ROWS = 256
"""Records of one length computed together by the vectorised CRC (fewer go one by one through the C library)."""


def _crc_table() -> np.ndarray[Any, Any]:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ 0x82F63B78, table >> 1).astype(np.uint32)
    return table


_CRC_TABLE = _crc_table()


def _masked_crcs(buffer: np.ndarray[Any, Any], starts: np.ndarray[Any, Any], length: int) -> np.ndarray[Any, Any]:
    """Masked CRC32C of ``length`` bytes at each of ``starts``, one byte of all of them at a time."""
    crc = np.full(len(starts), 0xFFFFFFFF, dtype=np.uint32)
    for offset in range(length):
        crc = _CRC_TABLE[(crc ^ buffer[starts + offset]) & 0xFF] ^ (crc >> 8)
    crc ^= np.uint32(0xFFFFFFFF)
    return ((crc >> 15) | (crc << 17)) + np.uint32(_MASK_DELTA)


def decode(
    data: bytes, starts: np.ndarray[Any, Any], lengths: np.ndarray[Any, Any], plugins: dict[str, str]
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The points of the events at ``starts``, and (index, reason) for the events that are not Event protobufs.

    Events of one ``simple_value`` (what PyTorch and tensorboardX write) are decoded together with numpy; any
    other event is parsed on its own with the protobuf runtime.
    """
    padded = np.frombuffer(data + bytes(_PADDING), dtype=np.uint8)  # reads a little past a record's end are safe
    fast, table = _simple_scalars(padded, starts, lengths)
    points, failed = _Points(plugins), []
    parse = EVENT.FromString
    for index in np.flatnonzero(~fast).tolist():
        start = int(starts[index])
        try:
            points.add(parse(data[start : start + int(lengths[index])]))
        except Exception as error:
            failed.append((index, f"not an Event protobuf ({error})"))
    return pa.concat_tables([table, points.table()]), failed


def _simple_scalars(
    buffer: np.ndarray[Any, Any], starts: np.ndarray[Any, Any], lengths: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], pa.Table]:
    """Decode, all at once, the events laid out as ``wall_time, step, summary{value{tag, simple_value}}`` or with
    a TF2 scalar tensor in place of ``simple_value`` (fields in number order, as protobuf writes them); return which
    events matched and their points."""
    ends = starts + lengths
    ok = (lengths >= 20) & (_at(buffer, starts) == 0x09) & (_at(buffer, starts + 9) == 0x10)
    step, position = _varints(buffer, starts + 10, ok)
    ok &= _at(buffer, position) == 0x2A  # summary, field 5
    summary_length, position = _lengths(*_varints(buffer, position + 1, ok))
    ok &= (position + summary_length == ends) & (_at(buffer, position) == 0x0A)  # one value, field 1
    value_length, position = _lengths(*_varints(buffer, position + 1, ok))
    ok &= (position + value_length == ends) & (_at(buffer, position) == 0x0A)  # tag, field 1
    tag_length, tag_start = _lengths(*_varints(buffer, position + 1, ok))
    after = tag_start + tag_length
    simple = (after + 5 == ends) & (_at(buffer, after) == 0x15)  # simple_value, field 2: then the event ends
    tensor = (after + 12 == ends) & (_at(buffer, after[:, None] + np.arange(8)) == _TF2_SCALAR).all(axis=1)
    ok &= simple | tensor
    rows = np.flatnonzero(ok)
    wall = buffer[(starts[rows] + 1)[:, None] + np.arange(8)].view("<f8").reshape(-1)
    value_at = np.where(simple, after + 1, after + len(_TF2_SCALAR))[rows]
    value = buffer[value_at[:, None] + np.arange(4)].view("<f4").reshape(-1)
    tag_offsets = np.concatenate([[0], np.cumsum(tag_length[rows])]).astype(np.int64)
    tag_bytes = buffer[np.repeat(tag_start[rows] - tag_offsets[:-1], tag_length[rows]) + np.arange(tag_offsets[-1])]
    tags = pa.LargeStringArray.from_buffers(len(rows), pa.py_buffer(tag_offsets), pa.py_buffer(tag_bytes.tobytes()))
    try:
        tags.validate(full=True)
    except pa.ArrowInvalid:  # a tag that is not UTF-8: leave these events to the protobuf parser
        return np.zeros(len(starts), dtype=bool), POINTS.empty_table()
    table = pa.table(
        [tags.cast(pa.string()), pa.array(step[rows].view(np.int64)), pa.array(wall),
         pa.array(value.astype(np.float64)), pa.array(np.full(len(rows), "scalar"), pa.string())],
        schema=POINTS,
    )  # fmt: skip
    return ok, table


_TF2_SCALAR = np.array([0x42, 0x0A, 0x08, _DT_FLOAT, 0x12, 0x00, 0x2A, 0x04], dtype=np.uint8)
"""A TF2 scalar summary's value after its tag: tensor (field 8, 10 bytes) of dtype float, shape [], one float_val.
TF2 names the ``scalars`` plugin in a tag's first summary only; the later ones are laid out exactly so."""


def _lengths(values: np.ndarray[Any, Any], after: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], ...]:
    """Varints read as lengths: int64, capped (a corrupt length only fails the layout check)."""
    return np.minimum(values, np.uint64(1 << 40)).astype(np.int64), after


_PADDING = 16
"""Zero bytes after the data the fast decoder reads, so that a window of a varint can run past the last record."""


def _at(buffer: np.ndarray[Any, Any], positions: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The bytes at ``positions`` (the last, zero padding byte past the end of the buffer)."""
    found: np.ndarray[Any, Any] = buffer[np.minimum(positions, len(buffer) - 1)]
    return found


def _varints(
    buffer: np.ndarray[Any, Any], positions: np.ndarray[Any, Any], ok: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The base-128 varints at ``positions`` (as uint64) and the position after each; a varint longer than ten
    bytes clears its row of ``ok``."""
    first = _at(buffer, positions)
    values, after = first.astype(np.uint64), positions + 1
    longer = np.flatnonzero(first >= 0x80)  # most varints here are one byte: decode only the others in full
    if len(longer):
        window = _at(buffer, positions[longer, None] + np.arange(10)).astype(np.uint64)
        last = np.argmax(window < 0x80, axis=1)
        ok[longer] &= window[np.arange(len(longer)), last] < 0x80
        used = np.arange(10) <= last[:, None]
        parts = ((window & np.uint64(0x7F)) << (np.uint64(7) * np.arange(10, dtype=np.uint64))) * used
        values[longer] = np.bitwise_or.reduce(parts, axis=1)
        after[longer] = positions[longer] + last + 1
    return values, after


class _Points:
    """Points decoded from events, gathered column by column."""

    def __init__(self, plugins: dict[str, str] | None = None) -> None:
        self.keys: list[str] = []
        self.steps: list[int] = []
        self.times: list[float] = []
        self.values: list[float] = []
        self.kinds: list[str] = []
        self.count = 0
        self.plugins = plugins if plugins is not None else {}  # tag -> plugin, named in the tag's first summary

    def add(self, event: Any) -> None:
        self.count += 1
        if not event.HasField("summary"):
            return
        step, time = event.step, event.wall_time
        for value in event.summary.value:
            tag = value.tag
            if value.HasField("metadata"):
                plugin = self.plugins[tag] = value.metadata.plugin_data.plugin_name
                if plugin == "hparams":  # the hyperparameters are in the metadata; the value is empty
                    self._hparams(step, time, value.metadata.plugin_data.content)
                    continue
            which = _which(value)
            if which == "simple_value":
                self._point(tag, step, time, value.simple_value, "scalar")
            elif which == "tensor":
                self._tensor(tag, step, time, value)
            elif which == "histo":
                self._histogram(tag, step, time, _histogram_stats(value.histo))

    def _point(self, key: str, step: int, time: float, value: float, kind: str) -> None:
        self.keys.append(key)
        self.steps.append(step)
        self.times.append(time)
        self.values.append(value)
        self.kinds.append(kind)

    def _tensor(self, tag: str, step: int, time: float, value: Any) -> None:
        tensor = value.tensor
        numbers = tensor.float_val or tensor.double_val or tensor.int_val or tensor.int64_val
        if len(numbers) == 1 and not tensor.tensor_shape.dim and tensor.dtype != _DT_HALF:
            self._point(tag, step, time, float(numbers[0]), "scalar")  # the usual TF2 scalar, read directly
            return
        array = tensor_array(tensor)
        if array is None:
            return
        if self.plugins.get(tag) == "histograms" and array.ndim == 2 and array.shape[1] == 3:
            self._histogram(tag, step, time, _bucket_stats(array))
        elif array.size == 1 and array.ndim <= 1:
            self._point(tag, step, time, float(array.reshape(-1)[0]), "scalar")

    def _histogram(self, tag: str, step: int, time: float, stats: dict[str, float]) -> None:
        for name, stat in stats.items():
            self._point(f"{tag}/{name}", step, time, stat, "histogram")

    def _hparams(self, step: int, time: float, content: bytes) -> None:
        info = _HPARAMS.FromString(content).session_start_info
        for item in info.hparams:
            kind = item.value.WhichOneof("kind")
            text = {"number_value": None, "string_value": item.value.string_value,
                    "bool_value": "true" if item.value.bool_value else "false"}.get(kind or "", "")  # fmt: skip
            if text is None:
                number = item.value.number_value
                text = str(int(number)) if number.is_integer() else repr(number)
            self.keys.append(item.key)
            self.steps.append(step)
            self.times.append(time)
            self.values.append(math.nan)
            self.kinds.append("hparam:" + text)

    def table(self) -> pa.Table:
        return pa.table(
            [pa.array(self.keys, pa.string()), pa.array(self.steps, pa.int64()), pa.array(self.times, pa.float64()),
             pa.array(self.values, pa.float64()), pa.array(self.kinds, pa.string())],
            schema=POINTS,
        )  # fmt: skip


def _which(value: Any) -> str | None:
    for name in ("simple_value", "tensor", "histo"):
        if value.HasField(name):
            return name
    return None


def tensor_array(tensor: Any) -> np.ndarray[Any, Any] | None:
    """A ``TensorProto``'s numbers as a numpy array of its shape; None for types that are not numbers.

    >>> t = PROTOS["Tensor"](dtype=_DT_FLOAT, float_val=[0.5])
    >>> tensor_array(t).tolist()  # a scalar: no dimensions
    0.5
    """
    shape = [dim.size for dim in tensor.tensor_shape.dim]
    dtype = _TENSOR_DTYPES.get(tensor.dtype)
    if dtype is None:
        return None
    if tensor.tensor_content:
        flat = np.frombuffer(tensor.tensor_content, dtype=dtype)
    elif tensor.dtype == _DT_HALF:
        flat = np.array(tensor.half_val, dtype=np.uint16).view(np.float16)
    else:
        field = {_DT_FLOAT: "float_val", _DT_DOUBLE: "double_val", _DT_INT32: "int_val", _DT_INT64: "int64_val"}
        flat = np.array(getattr(tensor, field[tensor.dtype]), dtype=dtype)
    count = int(np.prod(shape)) if shape else 1
    if flat.size == 1 and count > 1:
        flat = np.repeat(flat, count)  # a tensor of one repeated value stores it once
    if flat.size != count:
        return None
    return flat.astype(np.float64).reshape(shape)


def _histogram_stats(histogram: Any) -> dict[str, float]:
    count = histogram.num
    mean = histogram.sum / count if count else math.nan
    variance = histogram.sum_squares / count - mean * mean if count else math.nan
    return {"min": histogram.min, "max": histogram.max, "mean": mean,
            "std": math.sqrt(max(variance, 0.0)) if count else math.nan, "count": count}  # fmt: skip


def _bucket_stats(buckets: np.ndarray[Any, Any]) -> dict[str, float]:
    """Statistics of a TF2 histogram (rows of left edge, right edge, count), from bucket centres."""
    left, right, counts = buckets[:, 0], buckets[:, 1], buckets[:, 2]
    filled = np.flatnonzero(counts > 0)
    count = float(counts.sum())
    if not count:
        return {"min": math.nan, "max": math.nan, "mean": math.nan, "std": math.nan, "count": 0.0}
    centres = (left + right) / 2
    mean = float((centres * counts).sum() / count)
    std = math.sqrt(max(float((counts * (centres - mean) ** 2).sum() / count), 0.0))
    return {"min": float(left[filled[0]]), "max": float(right[filled[-1]]), "mean": mean, "std": std, "count": count}


STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_tb_run AS
SELECT 'tb:' || regexp_replace(uri, '[/\\][^/\\]*$', '') AS run_id,
       regexp_replace(uri, '[/\\][^/\\]*$', '') AS folder FROM llmlens_source;

CREATE OR REPLACE TEMP TABLE llmlens_stage_metrics AS
SELECT (SELECT run_id FROM llmlens_tb_run) AS run_id, key, step,
       make_timestamptz(CAST(round(wall_time * 1e6) AS BIGINT)) AS wall_time, value,
       CAST(round(wall_time * 1e6) AS BIGINT) AS seq
FROM llmlens_records_arrow WHERE NOT starts_with(kind, 'hparam:');

CREATE OR REPLACE TEMP TABLE llmlens_stage_params AS
SELECT (SELECT run_id FROM llmlens_tb_run) AS run_id, key, arg_max(kind[8:], wall_time) AS value
FROM llmlens_records_arrow WHERE starts_with(kind, 'hparam:') GROUP BY key;

CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS
SELECT run_id, regexp_extract(folder, '([^/\\]+)[/\\][^/\\]+$', 1) AS project,
       regexp_extract(folder, '([^/\\]+)$', 1) AS name, NULL::VARCHAR AS group_name,
       (SELECT min(wall_time) FROM llmlens_stage_metrics) AS started_at,
       (SELECT max(wall_time) FROM llmlens_stage_metrics) AS ended_at,
       NULL::VARCHAR AS status, []::VARCHAR[] AS tags, json_object('folder', folder) AS attributes
FROM llmlens_tb_run;
"""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the run (the file's folder), its hyperparameters and every point of one chunk of the file."""
    run_script(con, STAGE, {"source_id": source_id})
