from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

import llmlens
from llmlens.store import schema as migrations
from tests.conftest import Holder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_default_store_is_created_under_the_working_directory(tmp_path: Path) -> None:
    with llmlens.open() as lens:
        assert lens.path == str(tmp_path / ".llmlens" / "lens.duckdb")
    assert (tmp_path / ".llmlens" / "lens.duckdb").is_file()


def test_llmlens_db_environment_variable_overrides_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMLENS_DB", str(tmp_path / "team" / "shared.duckdb"))
    with llmlens.open() as lens:
        assert lens.path == str(tmp_path / "team" / "shared.duckdb")
    assert not (tmp_path / ".llmlens").exists()


def test_memory_store_has_the_full_schema() -> None:
    with llmlens.open(":memory:") as lens:
        tables = lens.tables()
    expected = {"sources", "rejects", "spans", "messages", "tokens", "documents", "embeddings", "edges",
                "runs", "params", "metrics", "annotations"}  # fmt: skip
    assert expected <= set(tables)
    assert all(rows == 0 for rows in tables.values())


def test_every_column_is_documented_in_the_schema_and_in_docs() -> None:
    with llmlens.open(":memory:") as lens:
        columns = lens.sql(
            "SELECT table_name, column_name, comment FROM duckdb_columns() "
            "WHERE table_name NOT LIKE 'llmlens_%' AND database_name = current_database()"
        )
    undocumented = columns[columns.comment.isna() | (columns.comment == "")]
    assert undocumented.empty, undocumented
    doc = (Path(__file__).parent.parent / "docs" / "schema.md").read_text()
    from llmlens.store.schema_doc import render

    assert doc == render(), "docs/schema.md is stale: run `python -m llmlens.store.schema_doc > docs/schema.md`"


def test_opening_an_older_store_migrates_it_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrations.migrate(con, upto=2)
    con.execute("INSERT INTO spans (trace_id, span_id, name, kind) VALUES ('t1', 's1', 'root', 'CHAIN')")
    con.close()

    with llmlens.open(path) as lens:
        assert lens.info().schema_version == migrations.latest_version()
        assert lens.sql("SELECT name FROM spans").name.tolist() == ["root"]
        assert "metrics" in lens.tables() and "annotations" in lens.tables()
        history = lens.sql("SELECT version FROM llmlens_schema_history ORDER BY version").version.tolist()
    assert history == list(range(1, migrations.latest_version() + 1))


def test_an_older_store_opened_read_only_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    migrations.migrate(con, upto=1)
    con.close()
    before = _sha256(path)
    with pytest.raises(llmlens.SchemaVersionError, match="open it once for writing"):
        llmlens.open(path, read_only=True)
    assert _sha256(path) == before


def test_a_store_from_a_newer_llmlens_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    llmlens.open(path).close()
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO llmlens_schema_history (version, name, llmlens_version) VALUES (999, 'from_the_future', '9.0')"
    )
    con.close()
    before = _sha256(path)
    with pytest.raises(llmlens.SchemaVersionError, match=r"version 999.*upgrade"):
        llmlens.open(path)
    assert _sha256(path) == before


@pytest.mark.parametrize("content", [b"", b"trace_id,span_id\nabc,def\n", bytes(range(256)) * 64])
def test_a_file_that_is_not_duckdb_gives_an_error_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_bytes(content)
    with pytest.raises(llmlens.StoreError, match=r"notes\.duckdb is not a DuckDB database"):
        llmlens.open(path)
    assert path.read_bytes() == content


def test_a_foreign_duckdb_database_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE orders (id INTEGER)")
    con.close()
    with pytest.raises(llmlens.StoreError, match="not an llmlens store"):
        llmlens.open(path)
    con = duckdb.connect(str(path), read_only=True)
    assert [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()] == ["orders"]
    con.close()


def test_an_unwritable_location_gives_a_clear_error() -> None:
    with pytest.raises(llmlens.StoreError, match=r"cannot create the folder for the store /proc/llmlens"):
        llmlens.open("/proc/llmlens/lens.duckdb")


def test_a_store_in_a_folder_that_cannot_be_written_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(llmlens.StoreError, match="cannot create the folder"):
        llmlens.open(blocker / "lens.duckdb")


def test_a_folder_path_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(llmlens.StoreError, match="is a directory"):
        llmlens.open(tmp_path)


def test_read_only_needs_an_existing_store(tmp_path: Path) -> None:
    with pytest.raises(llmlens.StoreError, match="no llmlens store at"):
        llmlens.open(tmp_path / "missing.duckdb", read_only=True)
    assert not (tmp_path / "missing.duckdb").exists()


def test_read_only_store_refuses_writes_with_duckdbs_message(tmp_path: Path) -> None:
    path = tmp_path / "lens.duckdb"
    llmlens.open(path).close()
    with llmlens.open(path, read_only=True) as lens, pytest.raises(llmlens.SQLError, match="read-only"):
        lens.sql("INSERT INTO runs (run_id) VALUES ('r1')")


def test_two_processes_share_a_store_read_only(tmp_path: Path, hold_store: Callable[..., Holder]) -> None:
    path = tmp_path / "shared.duckdb"
    with llmlens.open(path) as lens:
        lens.sql("INSERT INTO runs (run_id, name) VALUES ('r1', 'baseline')")
    hold_store(path, read_only=True)
    with llmlens.open(path, read_only=True) as lens:
        assert lens.sql("SELECT name FROM runs").name.tolist() == ["baseline"]


def test_a_writer_in_another_process_gives_a_lock_error_that_explains_read_only(
    tmp_path: Path, hold_store: Callable[..., Holder]
) -> None:
    path = tmp_path / "busy.duckdb"
    llmlens.open(path).close()
    holder = hold_store(path, read_only=False)
    for read_only in (False, True):
        with pytest.raises(llmlens.StoreLockedError) as caught:
            llmlens.open(path, read_only=read_only)
        message = str(caught.value)
        assert f"PID {holder.process.pid}" in message
        assert "read_only=True" in message and "busy.duckdb" in message
    holder.stop()
    with llmlens.open(path, read_only=True) as lens:
        assert lens.read_only


def test_opening_the_same_file_in_two_modes_in_one_process_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "lens.duckdb"
    with llmlens.open(path), pytest.raises(llmlens.StoreError, match="already open in this process"):
        llmlens.open(path, read_only=True)


def test_the_html_summary_escapes_the_path(tmp_path: Path) -> None:
    hostile = tmp_path / "<img src=x onerror=alert(1)>"
    with llmlens.open(hostile / "lens.duckdb") as lens:
        lens.sql("INSERT INTO runs (run_id) VALUES ('r1')")
        html = lens._repr_html_()
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<code>runs</code>" in html
