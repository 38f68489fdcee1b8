"""The demo store: deterministic, the right size, consistent, and every planted problem findable in SQL."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import llmlens
import llmlens.demo

TABLES = ("spans", "messages", "tokens", "documents", "embeddings", "edges", "runs", "params", "metrics", "annotations")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> llmlens.Lens:
    path = llmlens.demo.build(tmp_path_factory.mktemp("demo") / "demo.duckdb", progress=False)
    return llmlens.open(path, read_only=True)


def _fingerprint(lens: llmlens.Lens, table: str) -> str:
    columns = lens.sql(f"SELECT * FROM {table} LIMIT 0").columns
    order = ", ".join(f'"{c}"' for c in columns)
    frame = lens.sql(f"SELECT * EXCLUDE (source_id) FROM {table} ORDER BY {order}")
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()


def test_same_seed_gives_the_same_store_and_another_seed_differs(demo: llmlens.Lens, tmp_path: Path) -> None:
    with llmlens.open(":memory:") as again:
        llmlens.demo.insert_demo(again, seed=0, progress=False)
        for table in ("spans", "documents", "metrics", "annotations", "edges"):
            assert _fingerprint(again, table) == _fingerprint(demo, table), table
    with llmlens.open(":memory:") as other:
        llmlens.demo.insert_demo(other, seed=1, progress=False)
        assert _fingerprint(other, "spans") != _fingerprint(demo, "spans")


def test_sizes_are_realistic(demo: llmlens.Lens) -> None:
    counts = demo.sql(
        "SELECT (SELECT count(*) FROM traces WHERE root_name = 'rag_pipeline') AS rag_traces,"
        " (SELECT count(*) FROM embeddings WHERE role = 'chunk') AS chunks,"
        " (SELECT min(len(vector)) FROM embeddings) AS min_dim, (SELECT max(len(vector)) FROM embeddings) AS max_dim,"
        " (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM metrics) AS points,"
        " (SELECT count(DISTINCT span_id) FROM tokens) AS answers_with_logprobs"
    ).iloc[0]
    assert counts.rag_traces == 2_000
    assert counts.chunks == 5_000
    assert counts.min_dim == counts.max_dim == 384
    assert counts.runs == 12
    assert 100_000 < counts.points < 400_000
    assert counts.answers_with_logprobs == 2_000


def test_every_span_has_its_parent_and_every_row_its_source(demo: llmlens.Lens) -> None:
    orphans = demo.sql(
        "SELECT count(*) AS n FROM spans c WHERE parent_span_id IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM spans p WHERE p.trace_id = c.trace_id AND p.span_id = c.parent_span_id)"
    ).n[0]
    assert orphans == 0
    for table in TABLES:
        missing = demo.sql(
            f"SELECT count(*) AS n FROM {table} t "
            "WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.source_id = t.source_id)"
        ).n[0]
        assert missing == 0, table
    added = demo.sql("SELECT sum(rows_added['spans']) AS n FROM sources").n[0]
    assert added == demo.sql("SELECT count(*) AS n FROM spans").n[0]


def test_token_bytes_concatenate_to_the_answer_including_split_characters(demo: llmlens.Lens) -> None:
    rows = demo.sql(
        "SELECT t.span_id, list(t.bytes ORDER BY t.position) AS pieces, any_value(s.output_text) AS answer, "
        "bool_or(t.token LIKE '%\ufffd%') AS lossy "
        "FROM tokens t JOIN spans s USING (trace_id, span_id) GROUP BY t.span_id"
    )
    assert all(b"".join(pieces).decode() == answer for pieces, answer in zip(rows.pieces, rows.answer, strict=True))
    assert rows.lossy.sum() > 20, "some answers hold multi-byte characters split across tokens"
    alternatives = demo.sql(
        "SELECT len(alternatives) AS k, alternatives[1].logprob >= alternatives[2].logprob AS sorted FROM tokens"
    )
    assert (alternatives.k == 5).all() and alternatives.sorted.all()


def test_the_uncovered_topic_has_the_worst_retrieval_and_invented_answers(demo: llmlens.Lens) -> None:
    by_intent = demo.sql(
        "SELECT s.attributes->>'$.\"app.intent\"' AS intent, avg(d.score) AS top1 "
        "FROM documents d JOIN spans s ON s.trace_id = d.trace_id AND s.kind = 'CHAIN' "
        "WHERE d.position = 0 GROUP BY intent ORDER BY top1"
    )
    assert by_intent.intent[0] == "other"
    assert by_intent.top1[0] < by_intent.top1[1] - 0.3
    confidence = demo.sql(
        "SELECT s.attributes->>'$.\"app.intent\"' = 'other' AS uncovered, avg(t.logprob) AS mean_logprob "
        "FROM tokens t JOIN spans s ON s.trace_id = t.trace_id AND s.kind = 'CHAIN' GROUP BY uncovered"
    ).set_index("uncovered")
    assert confidence.mean_logprob[True] < confidence.mean_logprob[False] - 0.3


def test_stale_chunks_are_retrieved_for_pricing_and_draw_thumbs_down(demo: llmlens.Lens) -> None:
    stale = demo.sql(
        "SELECT (d.metadata->>'$.updated_at') < '2024' AS stale, count(*) AS n, avg(a.score) AS up_rate "
        "FROM documents d LEFT JOIN annotations a ON a.target_id = d.trace_id AND a.name = 'user_feedback' "
        "WHERE d.position = 0 AND d.metadata->>'$.topic' = 'pricing' GROUP BY stale"
    ).set_index("stale")
    assert 40 < stale.n[True] < 200
    assert stale.up_rate[True] < stale.up_rate[False] - 0.3
    answers = demo.sql(
        "SELECT count(*) AS n FROM documents d JOIN spans s ON s.trace_id = d.trace_id AND s.kind = 'LLM' "
        "WHERE d.position = 0 AND d.content LIKE '%$49%' AND s.output_text LIKE '%$49%'"
    ).n[0]
    assert answers > 5, "answers repeat the outdated price"


def test_the_slow_rag_tail_is_one_shard(demo: llmlens.Lens) -> None:
    slow = demo.sql(
        "SELECT s.attributes->>'$.\"db.shard\"' AS shard, count(*) AS n FROM spans s "
        "WHERE s.kind = 'RETRIEVER' AND s.duration_ms > 2000 GROUP BY shard"
    )
    assert slow.shard.tolist() == ["shard-7"]
    assert 40 < slow.n[0] < 150
    top = demo.sql(
        "SELECT t.trace_id FROM traces t WHERE t.root_name = 'rag_pipeline' ORDER BY t.duration_ms DESC LIMIT 20"
    )
    shards = demo.sql(
        "SELECT DISTINCT attributes->>'$.\"db.shard\"' AS shard FROM spans WHERE kind = 'RETRIEVER' "
        "AND list_contains(?, trace_id)",
        [top.trace_id.tolist()],
    )
    assert shards.shard.tolist() == ["shard-7"]


def test_a_tool_fails_and_handoffs_loop(demo: llmlens.Lens) -> None:
    tools = demo.sql(
        "SELECT name, count(*) FILTER (WHERE status_code = 'ERROR') AS errors FROM spans WHERE kind = 'TOOL' "
        "GROUP BY name ORDER BY errors DESC"
    )
    assert tools.name[0] == "execute_tool run_sql" and tools.errors[0] > 30
    assert tools.errors[1:].sum() == 0
    loops = demo.sql(
        "SELECT e.src_trace_id, count(*) AS hops, any_value(s.status_message) AS status FROM edges e "
        "JOIN spans s ON s.trace_id = e.src_trace_id AND s.parent_span_id IS NULL "
        "WHERE e.label = 'billing -> triage' GROUP BY e.src_trace_id HAVING count(*) >= 3"
    )
    assert len(loops) >= 5
    assert loops.status.str.startswith("MaxTurnsExceeded").all()


def test_exactly_one_run_goes_nan_and_failed(demo: llmlens.Lens) -> None:
    nan_runs = demo.sql(
        "SELECT r.name, r.status, min(m.step) AS first_nan FROM metrics m JOIN runs r USING (run_id) "
        "WHERE isnan(m.value) GROUP BY ALL"
    )
    assert len(nan_runs) == 1
    assert nan_runs.status[0] == "failed"
    before = demo.sql(
        "SELECT max(value) AS peak FROM metrics m JOIN runs r USING (run_id) "
        "WHERE r.name = ? AND key = 'train/grad_norm' AND step BETWEEN ? - 30 AND ? - 1",
        [nan_runs.name[0], int(nan_runs.first_nan[0]), int(nan_runs.first_nan[0])],
    ).peak[0]
    assert before > 20, "the gradient norm explodes before the NaN"


def test_a_loss_spike_a_restart_and_a_straggler_gpu(demo: llmlens.Lens) -> None:
    spikes = demo.sql(
        "SELECT run_id, min(step) AS step FROM (SELECT m.run_id, m.step, m.value - median(m.value) OVER "
        "(PARTITION BY m.run_id ORDER BY m.step ROWS BETWEEN 25 PRECEDING AND 1 PRECEDING) AS jump "
        "FROM metrics m JOIN runs r USING (run_id) WHERE m.key = 'train/loss' AND r.status <> 'failed') "
        "WHERE jump > 1.5 GROUP BY run_id"
    )
    assert len(spikes) == 1 and spikes.step[0] == 903
    restarts = demo.sql(
        "SELECT run_id, count(*) AS step_backs FROM (SELECT run_id, step, lag(step) OVER (PARTITION BY run_id "
        "ORDER BY seq) AS previous FROM metrics WHERE key = 'train/loss') WHERE step < previous GROUP BY run_id"
    )
    assert len(restarts) == 1 and restarts.step_backs[0] == 1
    utilisation = demo.sql(
        "SELECT split_part(key, '/', 2) AS gpu, avg(value) AS util FROM metrics WHERE key LIKE 'gpu/%/util' "
        "GROUP BY ALL ORDER BY util"
    )
    assert utilisation.gpu[0] == "5" and utilisation.util[0] < utilisation.util[1] - 10


def test_open_builds_on_first_use_then_reuses(tmp_path: Path) -> None:
    path = tmp_path / "d.duckdb"
    with llmlens.demo.open(path) as lens:
        assert lens.info().sources == 3
        lens.sql("INSERT INTO annotations (target_kind, target_id, name, label) VALUES ('trace', 'x', 'check', 'ok')")
    with llmlens.demo.open(path) as lens:
        assert lens.sql("SELECT count(*) AS n FROM annotations WHERE name = 'check'").n[0] == 1
    with llmlens.demo.open(path, rebuild=True) as lens:
        assert lens.sql("SELECT count(*) AS n FROM annotations WHERE name = 'check'").n[0] == 0


def test_rebuilding_never_replaces_a_store_with_real_data(tmp_path: Path) -> None:
    path = tmp_path / "team.duckdb"
    with llmlens.open(path) as lens:
        lens.sql("INSERT INTO sources (uri, format) VALUES ('/data/traces.jsonl', 'otlp-json')")
    with pytest.raises(llmlens.LensError, match="not replacing it"):
        llmlens.demo.build(path, progress=False)
    notes = tmp_path / "notes.duckdb"
    notes.write_text("my notes")
    with pytest.raises(llmlens.LensError, match="not a demo store"):
        llmlens.demo.open(notes, rebuild=True)
    assert notes.read_text() == "my notes"
    with llmlens.open(path, read_only=True) as lens:
        assert lens.info().sources == 1
