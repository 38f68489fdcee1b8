"""Reading the members of a zip archive into memory, bounded.

Nothing is extracted to disk and member names are never used as paths (they are labels). A member is read from
its local header with its own decompressor, whose output is capped: a member that claims more than
``MEMBER_LIMIT`` bytes, or more than ``RATIO_LIMIT`` times its compressed size, is refused before anything is
inflated; one that inflates past the size it declares is stopped there and refused; members whose data overlap
(the overlapping-entries zip bomb) are refused. Stored, deflate, bzip2 and Zstandard members are read (Zstandard
with the ``zstandard`` package, which ``inspect_ai`` installs); the CRC-32 of each is checked.

An archive whose central directory is missing or damaged (a file cut off while being written) is read from its
local headers instead, so every complete member before the damage is still found.
"""

from __future__ import annotations

import bz2
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MEMBER_LIMIT = 1 << 30
"""The most bytes one member may inflate to (1 GiB)."""

RATIO_LIMIT = 1000
"""The most a member may inflate, relative to its compressed size, once it is over ``RATIO_FLOOR`` bytes."""

RATIO_FLOOR = 1 << 20
"""Members up to this size (1 MiB) are not held to ``RATIO_LIMIT`` (a small file of blanks compresses to nothing)."""

LOCAL_HEADER = b"PK\x03\x04"
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_STORED, _DEFLATED, _BZIP2, _ZSTD = 0, 8, 12, 93
_METHODS = {_STORED: "stored", _DEFLATED: "deflate", _BZIP2: "bzip2", _ZSTD: "zstd", 14: "lzma"}


class MemberError(Exception):
    """A member that cannot be read safely; the message says why, in words a user can act on."""


@dataclass(frozen=True)
class Member:
    """One member as the archive describes it (central directory, or local header when that is all there is)."""

    name: str
    offset: int
    """Byte offset of the member's local header in the archive."""
    method: int
    compressed_size: int
    size: int
    crc: int


def is_zip(head: bytes) -> bool:
    """True when ``head`` starts like a zip archive (a local file header).

    >>> is_zip(b"PK\\x03\\x04rest"), is_zip(b"{}")
    (True, False)
    """
    return head.startswith(LOCAL_HEADER)


def first_member_name(head: bytes) -> str | None:
    """The name in the first local header of ``head`` (the first bytes of an archive), if it is there.

    >>> first_member_name(_LOCAL.pack(LOCAL_HEADER, 20, 0, 0, 0, 0, 0, 0, 0, 11, 0) + b"header.json")
    'header.json'
    """
    if not is_zip(head) or len(head) < _LOCAL.size:
        return None
    length = _LOCAL.unpack_from(head)[9]
    name = head[_LOCAL.size : _LOCAL.size + length]
    return name.decode("utf-8", errors="replace") if len(name) == length else None


def members(path: Path) -> tuple[list[Member], str | None]:
    """The members of the archive at ``path``, and why the central directory could not be used (None when it
    could). Without one, the members are those whose local headers follow each other from the start.

    >>> import io, pathlib, tempfile, zipfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.zip"
    >>> with zipfile.ZipFile(path, "w") as archive:
    ...     archive.writestr("header.json", "{}")
    >>> [m.name for m in members(path)[0]], members(path)[1]
    (['header.json'], None)
    """
    try:
        with zipfile.ZipFile(path) as archive:
            found = [
                Member(i.filename, i.header_offset, i.compress_type, i.compress_size, i.file_size, i.CRC)
                for i in archive.infolist()
                if not i.is_dir()
            ]
        return found, None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        with path.open("rb") as file:
            return list(_local_members(file)), f"the zip's central directory cannot be read ({error})"


def _local_members(file: BinaryIO) -> Iterator[Member]:
    """Members found by walking local headers from the start (sizes in the header; stops at the first that has
    none, or at anything that is not a local header)."""
    offset = 0
    while True:
        file.seek(offset)
        fixed = file.read(_LOCAL.size)
        if len(fixed) < _LOCAL.size or not fixed.startswith(LOCAL_HEADER):
            return
        _, _, flags, method, _, _, crc, compressed, size, name_length, extra_length = _LOCAL.unpack(fixed)
        name = file.read(name_length)
        extra = file.read(extra_length)
        if 0xFFFFFFFF in (compressed, size):
            size, compressed = _zip64_sizes(extra, size, compressed)
        if flags & 0x08 and not compressed:  # sizes only in a data descriptor after the data: cannot walk on
            return
        yield Member(name.decode("utf-8", errors="replace"), offset, method, compressed, size, crc)
        offset += _LOCAL.size + name_length + extra_length + compressed


def _zip64_sizes(extra: bytes, size: int, compressed: int) -> tuple[int, int]:
    position = 0
    while position + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, position)
        if kind == 1 and length >= 16:
            return struct.unpack_from("<QQ", extra, position + 4)
        position += 4 + length
    return size, compressed


def unsafe(found: list[Member], archive_size: int) -> dict[Member, str]:
    """Members not to inflate, with the reason: a declared size over the limits, data past the end of the archive,
    data shared with another member.

    >>> unsafe([Member("a", 0, 8, 10, 1 << 31, 0)], 100)[Member("a", 0, 8, 10, 1 << 31, 0)]
    'declares 2,147,483,648 bytes, over the 1,073,741,824-byte limit for one member (a zip bomb?)'
    """
    refused: dict[Member, str] = {}
    end = 0
    for member in sorted(found, key=lambda m: m.offset):
        if member.size > MEMBER_LIMIT:
            refused[member] = (f"declares {member.size:,} bytes, over the {MEMBER_LIMIT:,}-byte limit for one "
                                    "member (a zip bomb?)")  # fmt: skip
        elif member.size > RATIO_FLOOR and member.size > RATIO_LIMIT * max(member.compressed_size, 1):
            refused[member] = (f"declares {member.size:,} bytes from {member.compressed_size:,} compressed, "
                                    f"more than {RATIO_LIMIT}:1 (a zip bomb?)")  # fmt: skip
        elif member.offset + member.compressed_size > archive_size:
            refused[member] = "its data runs past the end of the archive (the file is cut off)"
        elif member.offset < end:
            refused[member] = "its data overlaps another member's (a zip bomb?)"
        if member not in refused:
            end = max(end, member.offset + _LOCAL.size + member.compressed_size)
    return refused


def read_member(file: BinaryIO, member: Member, limit: int = MEMBER_LIMIT) -> bytes:
    """The member's bytes, inflated in memory and never past ``min(member.size, limit)``; raises
    :class:`MemberError` when the member cannot be read or is not what it declares."""
    if member.size > limit:
        raise MemberError(f"declares {member.size:,} bytes, over the {limit:,}-byte limit for one member (a zip bomb?)")
    file.seek(member.offset)
    fixed = file.read(_LOCAL.size)
    if len(fixed) < _LOCAL.size or not fixed.startswith(LOCAL_HEADER):
        raise MemberError(f"no local header at byte {member.offset} (the archive is damaged)")
    name_length, extra_length = _LOCAL.unpack(fixed)[9:]
    file.seek(member.offset + _LOCAL.size + name_length + extra_length)
    compressed = file.read(member.compressed_size)
    if len(compressed) < member.compressed_size:
        raise MemberError("its data runs past the end of the archive (the file is cut off)")
    data = _inflate(member.method, compressed, member.size + 1)
    if len(data) > member.size:
        raise MemberError(f"inflates past the {member.size:,} bytes it declares (a zip bomb?)")
    if len(data) < member.size:
        raise MemberError(f"inflates to {len(data):,} bytes, not the {member.size:,} it declares (damaged)")
    if zlib.crc32(data) != member.crc:
        raise MemberError("its CRC-32 does not match its content (damaged)")
    return data


def _inflate(method: int, data: bytes, cap: int) -> bytes:
    """At most ``cap`` bytes of ``data`` inflated."""
    try:
        if method == _STORED:
            return data[:cap]
        if method == _DEFLATED:
            return zlib.decompressobj(-15).decompress(data, cap)
        if method == _BZIP2:
            return bz2.BZ2Decompressor().decompress(data, max_length=cap)
        if method == _ZSTD:
            return _unzstd(data, cap)
    except (zlib.error, OSError, ValueError, EOFError) as error:
        raise MemberError(f"cannot be inflated ({_METHODS.get(method, method)}: {error})") from error
    raise MemberError(f"uses compression method {_METHODS.get(method, method)}, which llmlens does not read")


def _unzstd(data: bytes, cap: int) -> bytes:
    try:
        import zstandard
    except ImportError as error:
        raise MemberError("is compressed with Zstandard: install the zstandard package to read it") from error
    out = bytearray()
    try:
        with zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True) as reader:
            while len(out) < cap and (block := reader.read(min(1 << 20, cap - len(out)))):
                out += block
    except zstandard.ZstdError as error:
        raise MemberError(f"cannot be inflated (zstd: {error})") from error
    return bytes(out)
