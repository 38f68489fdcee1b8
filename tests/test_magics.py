from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.core.error import UsageError

import llmlens
from llmlens.lens import current_lens


@pytest.fixture
def ip(shell: Any) -> Any:
    return shell


@pytest.fixture
def store(ip: Any, tmp_path: Path) -> llmlens.Lens:
    lens = ip.run_line_magic("lens", f"open {tmp_path / 'magic.duckdb'}")
    lens.sql(
        "INSERT INTO spans (trace_id, span_id, name, kind, model) VALUES "
        "('t1', 's1', 'chat', 'LLM', 'gpt-4o'), ('t2', 's2', 'chat', 'LLM', 'gpt-4o-mini')"
    )
    return lens  # type: ignore[no-any-return]


def test_help_lists_every_command(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("lens", "help")
    out = capsys.readouterr().out
    for command in ("open", "info", "demo", "close", "%%lens"):
        assert command in out


def test_open_makes_the_store_current_for_sql_cells(ip: Any, store: llmlens.Lens) -> None:
    assert current_lens() is store
    frame = ip.run_cell_magic("lens", "", "SELECT count(*) AS n FROM spans")
    assert int(frame.n[0]) == 2


def test_python_variables_are_bound_as_parameters_not_pasted(ip: Any, store: llmlens.Lens) -> None:
    ip.user_ns["model"] = "gpt-4o"
    ip.user_ns["hostile"] = "x' OR 1=1; DROP TABLE spans; --"
    frame = ip.run_cell_magic("lens", "", "SELECT span_id, '{model}' AS literal FROM spans WHERE model = {model}")
    assert frame.span_id.tolist() == ["s1"]
    assert frame.literal.tolist() == ["{model}"]
    assert ip.run_cell_magic("lens", "", "SELECT * FROM spans WHERE name = {hostile}").empty
    assert int(store.sql("SELECT count(*) AS n FROM spans").n[0]) == 2


def test_lists_bind_as_lists(ip: Any, store: llmlens.Lens) -> None:
    ip.user_ns["wanted"] = ["s2", "nope"]
    frame = ip.run_cell_magic("lens", "", "SELECT span_id FROM spans WHERE list_contains({wanted}, span_id)")
    assert frame.span_id.tolist() == ["s2"]


def test_output_option_keeps_the_result(ip: Any, store: llmlens.Lens) -> None:
    result = ip.run_cell_magic("lens", "-o slow -q", "SELECT span_id FROM spans ORDER BY span_id")
    assert result is None
    assert isinstance(ip.user_ns["slow"], pd.DataFrame)
    assert ip.user_ns["slow"].span_id.tolist() == ["s1", "s2"]


def test_a_missing_variable_is_a_usage_error(ip: Any, store: llmlens.Lens) -> None:
    ip.user_ns.pop("undefined_name", None)
    with pytest.raises(UsageError, match="no Python variable named undefined_name"):
        ip.run_cell_magic("lens", "", "SELECT {undefined_name}")


def test_sql_errors_show_message_and_position_without_traceback(
    ip: Any, store: llmlens.Lens, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ip.run_cell("%%lens\nSELECT name,\n  nope\nFROM spans")
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert 'Referenced column "nope" not found' in err
    assert "LINE 2:   nope" in err and "^^^^" in err
    assert "Traceback" not in err


def test_writing_through_a_read_only_store_shows_duckdbs_refusal(
    ip: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "shared.duckdb"
    llmlens.open(path).close()
    ip.run_line_magic("lens", f"open --read-only {path}")
    result = ip.run_cell("%%lens\nINSERT INTO runs (run_id) VALUES ('r1')")
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert "read-only" in err and "Traceback" not in err


def test_store_errors_are_usage_errors(ip: Any, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no llmlens store at"):
        ip.run_line_magic("lens", f"open --read-only {tmp_path / 'missing.duckdb'}")


def test_info_summarises_the_current_store(ip: Any, store: llmlens.Lens, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("lens", "info")
    out = capsys.readouterr().out
    assert "magic.duckdb" in out and "spans" in out and "2" in out


def test_close_releases_the_store(ip: Any, store: llmlens.Lens) -> None:
    ip.run_line_magic("lens", "close")
    assert store.closed and current_lens() is None


def test_unknown_commands_and_options_are_usage_errors(ip: Any) -> None:
    with pytest.raises(UsageError, match="unknown command 'lod'"):
        ip.run_line_magic("lens", "lod traces.jsonl")
    with pytest.raises(UsageError, match="unrecognized arguments: --bogus"):
        ip.run_line_magic("lens", "open --bogus")


def test_a_lens_displays_as_a_compact_summary(store: llmlens.Lens) -> None:
    html = store._repr_html_()
    assert "magic.duckdb" in html and "<code>spans</code>" in html and "2" in html
    assert "annotations" not in html  # empty tables stay out of the way


def test_tokens_shows_the_token_viewer_for_a_span(ip: Any, store: llmlens.Lens) -> None:
    store.sql(
        "INSERT INTO tokens (trace_id, span_id, side, choice, position, token, bytes, logprob) VALUES "
        "('t1', 's1', 'output', 0, 0, 'Hi', 'Hi'::BLOB, -0.1), ('t1', 's1', 'output', 0, 1, '!', '!'::BLOB, -2.0)"
    )
    view = ip.run_line_magic("lens", "tokens s1")
    assert view.count == 2 and view.title == "chat · gpt-4o"
    assert ip.run_line_magic("lens", "tokens s2 --trace t2").count == 0  # no token data: the view says so
    with pytest.raises(UsageError, match="no span 'nope'"):
        ip.run_line_magic("lens", "tokens nope")


@pytest.fixture
def runs_store(ip: Any, store: llmlens.Lens) -> llmlens.Lens:
    store.sql(
        "INSERT INTO runs (run_id, name, status) VALUES ('r1', 'base', 'finished'), ('r2', 'high-lr', 'failed');"
        "INSERT INTO params (run_id, key, value) VALUES ('r1', 'lr', '1e-4'), ('r2', 'lr', '1e-3'),"
        " ('r1', 'seed', '1'), ('r2', 'seed', '1');"
        "INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r' || (1 + i % 2), k, i // 2,"
        " CASE WHEN i % 2 = 1 AND i > 300 THEN 'nan'::DOUBLE ELSE 2 - i / 1000 END, i"
        " FROM range(400) t(i), (VALUES ('train/loss'), ('layer_0'), ('layer_1')) k(k)"
    )
    return store


def test_run_comparison_commands_reach_the_lens(ip: Any, runs_store: llmlens.Lens) -> None:
    table = ip.run_line_magic("lens", "runs --where \"status = 'failed'\"")
    assert table.name.tolist() == ["high-lr"]
    charts = ip.run_line_magic("lens", "compare train/* --runs base,high-lr --smoothing ema --group-by lr")
    assert charts.metrics == ["train/loss"] and charts.series == ["1e-4", "1e-3"] and charts.smoothing == "ema"
    assert ip.run_line_magic("lens", "params_diff base high-lr").index.tolist() == ["lr"]
    assert ip.run_line_magic("lens", "heatmap layer_* base").data[0].y == ("layer_0", "layer_1")
    found = ip.run_line_magic("lens", "anomalies --runs high-lr --metrics train/*")
    assert found[["run_id", "key", "kind"]].values.tolist() == [["r2", "train/loss", "non_finite"]]
    with pytest.raises(UsageError, match="no metric val/"):
        ip.run_line_magic("lens", "compare val/*")
    with pytest.raises(UsageError, match="a logged metric"):
        ip.run_line_magic("lens", "compare --x tokens")
