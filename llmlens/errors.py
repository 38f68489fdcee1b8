"""Errors llmlens raises: each one says what went wrong and what to do about it."""

from __future__ import annotations


class LensError(Exception):
    """Base class of every error llmlens raises on purpose."""


class StoreError(LensError):
    """The store file cannot be opened or used (missing, corrupt, unwritable, foreign)."""


class StoreLockedError(StoreError):
    """Another process holds the store's write lock."""


class SchemaVersionError(StoreError):
    """The store's schema is newer than this llmlens knows, or too old to use read-only."""


class SQLError(LensError):
    """A query failed; the message carries DuckDB's text and the failing position."""

    def __init__(self, message: str, *, kind: str = "", position: int | None = None, query: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.position = position
        self.query = query
