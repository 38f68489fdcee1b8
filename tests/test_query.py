from __future__ import annotations

import pyarrow as pa
import pytest

import llmlens
from llmlens.query import mark_position, python_references


@pytest.fixture
def lens() -> llmlens.Lens:
    lens = llmlens.open(":memory:")
    lens.sql(
        "INSERT INTO spans (trace_id, span_id, name, kind, model) VALUES "
        "('t1', 's1', 'chat', 'LLM', 'gpt-4o'), ('t1', 's2', 'search', 'RETRIEVER', NULL)"
    )
    return lens


def test_sql_returns_a_dataframe(lens: llmlens.Lens) -> None:
    frame = lens.sql("SELECT name FROM spans ORDER BY name")
    assert frame.name.tolist() == ["chat", "search"]


def test_arrow_returns_a_table_without_pandas(lens: llmlens.Lens) -> None:
    table = lens.arrow("SELECT name, kind FROM spans ORDER BY name")
    assert isinstance(table, pa.Table)
    assert table.column("kind").to_pylist() == ["LLM", "RETRIEVER"]


def test_positional_and_named_parameters_are_bound(lens: llmlens.Lens) -> None:
    assert lens.sql("SELECT name FROM spans WHERE kind = ?", ["LLM"]).name.tolist() == ["chat"]
    assert lens.sql("SELECT name FROM spans WHERE kind = $k", {"k": "RETRIEVER"}).name.tolist() == ["search"]


def test_a_hostile_value_is_data_not_sql(lens: llmlens.Lens) -> None:
    hostile = "x' OR '1'='1'; DROP TABLE spans; --"
    assert lens.sql("SELECT name FROM spans WHERE name = ?", [hostile]).empty
    assert lens.sql("SELECT count(*) AS n FROM spans").n[0] == 2


def test_statements_without_results_return_an_empty_frame(lens: llmlens.Lens) -> None:
    assert lens.sql("CREATE TEMP TABLE scratch (x INTEGER)").empty
    assert lens.arrow("DROP TABLE scratch").num_rows == 0


def test_sql_errors_carry_duckdbs_message_and_the_failing_position(lens: llmlens.Lens) -> None:
    with pytest.raises(llmlens.SQLError) as caught:
        lens.sql("SELECT name,\n       nope\nFROM spans")
    error = caught.value
    assert error.kind == "Binder"
    assert 'Referenced column "nope" not found' in str(error)
    assert "LINE 2:        nope\n" in str(error)
    assert str(error).endswith("^^^^")
    assert error.position == len("SELECT name,\n       ")


def test_parser_errors_are_located_too(lens: llmlens.Lens) -> None:
    with pytest.raises(llmlens.SQLError, match=r"(?s)syntax error.*LINE 1: SELEC name"):
        lens.sql("SELEC name FROM spans")


def test_errors_inside_a_transaction_are_reported_and_the_store_recovers(lens: llmlens.Lens) -> None:
    lens.sql("BEGIN TRANSACTION")
    with pytest.raises(llmlens.SQLError, match="nope"):
        lens.sql("SELECT nope FROM spans")
    with pytest.raises(llmlens.SQLError, match="aborted"):
        lens.sql("SELECT 1")
    lens.sql("ROLLBACK")
    assert lens.sql("SELECT count(*) AS n FROM spans").n[0] == 2


def test_python_references_skip_literals_identifiers_and_comments() -> None:
    query = """SELECT {a}, '{b}', "{c}", $$ {d} $$, {'k': {e}} -- {f}
    /* {g} */ FROM t WHERE x = {a} AND y = 'it''s {h}'"""
    rewritten, names = python_references(query)
    assert names == ["a", "e"]
    assert rewritten.count("$a") == 2 and "$e" in rewritten
    for untouched in ("'{b}'", '"{c}"', "$$ {d} $$", "-- {f}", "/* {g} */", "'it''s {h}'"):
        assert untouched in rewritten


def test_mark_position_points_at_the_right_column() -> None:
    assert mark_position("SELECT 1\nFROM nowhere", 14, 7) == "LINE 2: FROM nowhere\n             ^^^^^^^"
