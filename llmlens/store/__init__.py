"""The DuckDB store: where the file lives, how it is opened, and its schema."""

from llmlens.store.connection import DEFAULT_PATH, ENV_VAR, connect, resolve_path
from llmlens.store.schema import current_version, latest_version, migrate

__all__ = ["DEFAULT_PATH", "ENV_VAR", "connect", "current_version", "latest_version", "migrate", "resolve_path"]
