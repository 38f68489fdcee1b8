"""Runs side by side: the run table, params that differ, parallel coordinates, and the guard on ``where``."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd
import plotly.graph_objects as go
import pytest

import llmlens
import llmlens.demo
from llmlens.analysis.run_table import (
    RUN_COLUMNS,
    differing_params,
    parallel_coordinates,
    parallel_coordinates_frame,
    params_diff,
    run_table,
)
from llmlens.errors import LensError
from llmlens.where import check_where

SWEPT = {"lr", "batch_size", "warmup_steps", "seed", "node"}
FIXED = {"model", "optimizer", "max_steps", "weight_decay", "lr_schedule", "precision"}

HOSTILE = [
    "1=1; DROP TABLE runs",
    "true) UNION SELECT run_id, name, project, group_name, status, started_at, duration, steps FROM listed WHERE (true",
    "true) UNION (SELECT 'x'",
    "true) ORDER BY (1",
    "true) LIMIT (0",
    "DELETE FROM runs",
    "true) OR (DELETE FROM runs",
    "read_csv('/etc/passwd') IS NOT NULL",
    "length(read_text('/etc/passwd')) > 0",
    "run_id IN (SELECT content FROM read_text('/etc/passwd'))",
    "EXISTS (SELECT 1 FROM metrics)",
    "(SELECT count(*) FROM params) > 0",
    "nextval('seq') > 0",
    "current_setting('threads') IS NOT NULL",
    "status = $status",
    "status = 'x' /* unclosed",
    "   ",
]


@pytest.fixture
def small() -> Iterator[llmlens.Lens]:
    """Two runs with a row in ``runs`` and one only seen in ``metrics``; run ``a`` restarted at step 3."""
    with llmlens.open(":memory:") as lens:
        lens.con.execute(
            "INSERT INTO runs (run_id, name, status, started_at, ended_at) VALUES "
            "('a', 'alpha', 'finished', '2025-01-01 00:00Z', '2025-01-01 02:00Z'), "
            "('b', 'beta', 'killed', '2025-01-01 00:30Z', '2025-01-01 00:45Z')"
        )
        lens.con.execute(
            "INSERT INTO params (run_id, key, value) VALUES ('a', 'lr', '0.1'), ('b', 'lr', 'auto'), "
            "('a', 'layers', '2'), ('b', 'layers', '2')"
        )
        lens.con.execute(
            "INSERT INTO metrics (run_id, key, step, wall_time, value, seq, superseded) VALUES "
            "('a', 'loss', 0, '2025-01-01 00:00Z', 4.0, 0, false), "
            "('a', 'loss', 1, '2025-01-01 00:01Z', 3.0, 1, false), "
            "('a', 'loss', 2, '2025-01-01 00:02Z', 'nan', 2, false), "
            "('a', 'loss', 3, '2025-01-01 00:03Z', 0.5, 3, true), "
            "('a', 'loss', 4, '2025-01-01 00:04Z', 0.1, 4, true), "
            "('a', 'loss', 3, '2025-01-01 00:05Z', 2.0, 5, false), "
            "('a', 'loss', 4, '2025-01-01 00:06Z', '-inf', 6, false), "
            "('b', 'loss', 0, '2025-01-01 00:30Z', 5.0, 0, false), "
            "('orphan', 'loss', 0, '2025-01-01 03:00Z', 1.5, 0, false), "
            "('orphan', 'loss', 7, '2025-01-01 03:10Z', 1.25, 1, false)"
        )
        yield lens


def _demo_name(lens: llmlens.Lens, name: str) -> str:
    return str(lens.con.sql("SELECT run_id FROM runs WHERE name = $name", params={"name": name}).fetchall()[0][0])


def test_one_row_per_run_with_the_leading_columns_and_statuses(demo: llmlens.Lens) -> None:
    table = run_table(demo.con)
    assert len(table) == 12
    assert tuple(table.columns[: len(RUN_COLUMNS)]) == RUN_COLUMNS
    assert table.run_id.is_unique and table.name.is_unique
    assert table.status.value_counts().to_dict() == {"finished": 3, "running": 1, "failed": 1}
    failed = table[table.status == "failed"].iloc[0]
    assert failed["name"] == "lr1e-3-bs32-wu100" and failed.steps < 2000
    assert table.started_at.is_monotonic_increasing


def test_the_param_columns_are_exactly_the_params_that_differ(demo: llmlens.Lens) -> None:
    table = run_table(demo.con)
    param_columns = set(table.columns) - set(RUN_COLUMNS) - {c for c in table.columns if c.endswith((" last", " best"))}
    assert param_columns == SWEPT
    assert pd.api.types.is_float_dtype(table.lr)
    assert sorted(set(table.lr)) == [1e-4, 3e-4, 1e-3]
    assert pd.api.types.is_integer_dtype(table.batch_size) and set(table.batch_size) == {32, 64}
    assert set(table.node) == {"node-a", "node-b"}
    assert set(run_table(demo.con, params="all").columns) >= SWEPT | FIXED
    assert not (SWEPT | FIXED) & set(run_table(demo.con, params=None).columns)


def test_last_and_best_match_the_points(demo: llmlens.Lens) -> None:
    table = run_table(demo.con).set_index("run_id")
    assert table.attrs["metrics"] == ["eval/loss", "train/loss", "eval/accuracy"]
    assert table.attrs["best"] == {"eval/loss": "min", "train/loss": "min", "eval/accuracy": "max"}
    assert not [c for c in table.columns if c.startswith(("system/", "grad_norm/"))]
    want = demo.con.sql(
        "SELECT run_id, key, arg_max(value, step) AS last, "
        "min(value) FILTER (WHERE isfinite(value)) AS low, max(value) FILTER (WHERE isfinite(value)) AS high "
        "FROM metrics WHERE key IN ('eval/loss', 'eval/accuracy') AND NOT superseded GROUP BY ALL"
    ).fetchall()
    for run_id, key, last, low, high in want:
        assert table.loc[run_id, f"{key} best"] == (low if key == "eval/loss" else high)
        got = table.loc[run_id, f"{key} last"]
        assert got == last or (math.isnan(got) and math.isnan(last))
    # the run that blew up: its final eval loss is far above its best
    failed = table[table.status == "failed"].iloc[0]
    assert failed["eval/loss last"] > 5 * failed["eval/loss best"]
    assert math.isnan(failed["train/loss last"])


def test_the_running_run_lasts_until_its_last_point(demo: llmlens.Lens) -> None:
    table = run_table(demo.con).set_index("run_id")
    times = demo.con.sql(
        "SELECT r.run_id, r.status, r.started_at, r.ended_at, max(m.wall_time) AS last_point "
        "FROM runs r JOIN metrics m USING (run_id) GROUP BY ALL"
    ).df()
    for row in times.itertuples():
        if row.status == "running":
            assert pd.isna(row.ended_at)
            assert table.loc[row.run_id, "duration"] == row.last_point - row.started_at
        else:
            assert table.loc[row.run_id, "duration"] == row.ended_at - row.started_at
    running = table[table.status == "running"].iloc[0]
    assert isinstance(running.duration, pd.Timedelta) and running.duration > pd.Timedelta(minutes=10)


def test_where_keeps_the_runs_it_matches(demo: llmlens.Lens) -> None:
    failed = run_table(demo.con, where="status = 'failed'")
    assert len(failed) == 1 and failed.name.tolist() == ["lr1e-3-bs32-wu100"]
    assert len(run_table(demo.con, where="name LIKE 'lr1e-3%'")) == 4
    assert len(run_table(demo.con, where="steps < 1900 AND duration > INTERVAL 1 MINUTE")) == 2
    with pytest.raises(LensError, match="columns are"):
        run_table(demo.con, where="no_such_column = 1")


@pytest.mark.parametrize("where", HOSTILE)
def test_hostile_where_is_refused_and_the_store_is_untouched(demo: llmlens.Lens, where: str) -> None:
    with pytest.raises(LensError):
        run_table(demo.con, where=where)
    assert demo.con.sql("SELECT count(*) FROM runs").fetchall() == [(12,)]


@pytest.mark.parametrize("where", HOSTILE)
def test_hostile_where_changes_nothing_in_a_writable_store(small: llmlens.Lens, where: str) -> None:
    small.con.execute("CREATE SEQUENCE seq")
    with pytest.raises(LensError):
        check_where(small.con, where, "runs")
    with pytest.raises(LensError):
        run_table(small.con, where=where)
    assert small.con.sql("SELECT count(*) FROM runs").fetchall() == [(2,)]
    assert small.con.sql("SELECT nextval('seq')").fetchall() == [(1,)]


def test_params_diff_on_three_runs_by_name_and_id(demo: llmlens.Lens) -> None:
    names = ["lr1e-4-bs32-wu100", "lr1e-4-bs32-wu500", "lr1e-3-bs32-wu100"]
    diff = params_diff(demo.con, [names[0], names[1], _demo_name(demo, names[2])])
    assert diff.index.tolist() == ["lr", "node", "seed", "warmup_steps"]
    assert diff.columns.tolist() == names
    assert diff.loc["lr"].tolist() == ["0.0001", "0.0001", "0.001"]
    assert diff.loc["node"].tolist() == ["node-a", "node-b", "node-a"]
    assert differing_params(demo.con, names) == diff.index.tolist()
    assert set(params_diff(demo.con).index) == SWEPT
    with pytest.raises(LensError, match="no run"):
        params_diff(demo.con, ["lr9e-9-bs1-wu0"])


def test_parallel_coordinates_has_one_axis_per_differing_param_and_the_metric(demo: llmlens.Lens) -> None:
    frame = parallel_coordinates_frame(demo.con)
    assert len(frame) == 12 and frame.attrs["metric"] == "eval/loss"
    assert frame.attrs["categories"] == {"node": ["node-a", "node-b"]}
    assert set(frame.node) == {0, 1}
    figure = parallel_coordinates(demo.con)
    assert isinstance(figure, go.Figure)
    (trace,) = figure.data
    assert isinstance(trace, go.Parcoords)
    labels = [dimension.label for dimension in trace.dimensions]
    assert labels[-1] == "eval/loss" and set(labels[:-1]) == SWEPT and len(labels) == len(SWEPT) + 1
    node = trace.dimensions[labels.index("node")]
    assert list(node.ticktext) == ["node-a", "node-b"]
    assert len(trace.line.color) == 12
    runs = ["lr1e-4-bs32-wu100", "lr1e-3-bs64-wu500"]
    chosen = parallel_coordinates(demo.con, runs=runs, metric="eval/accuracy", params=["warmup_steps", "lr"])
    assert [dimension.label for dimension in chosen.data[0].dimensions] == ["warmup_steps", "lr", "eval/accuracy"]
    assert parallel_coordinates_frame(demo.con, runs=runs[::-1]).name.tolist() == runs[::-1]
    with pytest.raises(LensError, match="metric"):
        parallel_coordinates(demo.con, metric="eval/nope")
    with pytest.raises(LensError, match="param"):
        parallel_coordinates(demo.con, params=["dropout"])


def test_runs_seen_only_in_metrics_are_listed_and_restarts_are_left_out(small: llmlens.Lens) -> None:
    table = run_table(small.con).set_index("run_id")
    assert table.index.tolist() == ["a", "b", "orphan"]
    orphan = table.loc["orphan"]
    assert pd.isna(orphan["name"]) and pd.isna(orphan.status) and pd.isna(orphan.duration)
    assert orphan.steps == 7 and orphan["loss last"] == 1.25 and orphan["loss best"] == 1.25
    a = table.loc["a"]
    assert a.steps == 4  # the superseded points at steps 3 and 4 (0.5 and 0.1) no longer count
    assert a["loss last"] == -math.inf and a["loss best"] == 2.0
    assert a.duration == pd.Timedelta(hours=2)
    assert table.lr.tolist() == ["0.1", "auto", None]  # text: not every value is a number
    assert "layers" not in table.columns  # the same in both runs that have params
    assert run_table(small.con, where="run_id = 'orphan'").run_id.tolist() == ["orphan"]


def test_metrics_patterns_and_best_directions_can_be_chosen(demo: llmlens.Lens) -> None:
    table = run_table(demo.con, metrics=["eval/*"], best={"eval/loss": "max"}, params=None)
    assert table.columns[len(RUN_COLUMNS) :].tolist() == [
        "eval/accuracy last",
        "eval/accuracy best",
        "eval/loss last",
        "eval/loss best",
    ]
    highest = demo.con.sql(
        "SELECT max(value) FROM metrics WHERE key = 'eval/loss' AND isfinite(value) AND NOT superseded"
    ).fetchall()[0][0]
    assert table["eval/loss best"].max() == highest
    with pytest.raises(ValueError, match="min"):
        run_table(demo.con, best={"eval/loss": "lowest"})


def test_a_name_shared_by_runs_means_all_of_them_and_an_id_wins(small: llmlens.Lens) -> None:
    small.con.execute("INSERT INTO runs (run_id, name) VALUES ('c', 'alpha'), ('d', 'a')")
    small.con.execute("INSERT INTO params (run_id, key, value) VALUES ('c', 'lr', '0.5')")
    assert params_diff(small.con, ["alpha", "b"]).columns.tolist() == ["a", "c", "beta"]  # a shared name: by id
    assert params_diff(small.con, ["a", "b"]).columns.tolist() == ["alpha", "beta"]  # 'a' is an id before a name
    with pytest.raises(LensError, match="no run 'zeta'"):
        params_diff(small.con, ["zeta"])
