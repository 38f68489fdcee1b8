"""The demo store: deterministic, the right size, consistent, and every planted problem findable in plain SQL."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import llmlens
import llmlens.demo

TABLES = ("spans", "messages", "tokens", "documents", "embeddings", "edges", "runs", "params", "metrics", "annotations")
RAG = "WHERE root_name = 'rag_pipeline'"


_IN_FOLDER = r"regexp_replace({column}, '/[^\"]*/runs/', '/runs/', 'g')"
"""Run files name the folder they were written to (TensorBoard run ids, artifact locations): the demo's folder
differs from build to build, the rest must not."""


def _fingerprint(lens: llmlens.Lens, table: str) -> tuple[int, int]:
    """Row count and an order-independent hash of every row (all columns but the source id; run files' folder
    left out)."""
    columns = [c for c in lens.con.sql(f"SELECT * FROM {table} LIMIT 0").columns if c != "source_id"]
    shown = ", ".join(_IN_FOLDER.format(column=f"{c}::VARCHAR") if c in ("run_id", "attributes") else c
                      for c in columns)  # fmt: skip
    row = lens.sql(f"SELECT count(*) AS n, sum(hash(t)::HUGEINT) AS h FROM (SELECT {shown} FROM {table}) t")
    return int(row.n[0]), int(row.h[0])


def _one(lens: llmlens.Lens, query: str, params: list[object] | None = None) -> float:
    return float(lens.sql(query, params).iloc[0, 0])


def test_same_seed_gives_the_same_rows_and_another_seed_differs(demo: llmlens.Lens) -> None:
    with llmlens.open(":memory:") as again:
        llmlens.demo.insert_demo(again, seed=0, progress=False)
        for table in TABLES:
            assert _fingerprint(again, table) == _fingerprint(demo, table), table
        sources = "SELECT regexp_extract(uri, '[^/]*$') AS name, format, rows_added FROM sources ORDER BY source_id"
        assert again.sql(sources).equals(demo.sql(sources))
    with llmlens.open(":memory:") as other:
        llmlens.demo.insert_demo(other, seed=1, progress=False)
        for table in ("spans", "tokens", "embeddings", "metrics", "annotations"):
            assert _fingerprint(other, table) != _fingerprint(demo, table), table


def test_sizes_are_as_specified(demo: llmlens.Lens) -> None:
    counts = demo.sql(
        f"SELECT (SELECT count(*) FROM traces {RAG}) AS rag_traces,"
        " (SELECT count(*) FROM traces WHERE root_name = 'invoke_agent support_agent') AS tool_loops,"
        " (SELECT count(*) FROM traces WHERE root_name = 'agent_run support_network') AS networks,"
        " (SELECT count(*) FROM embeddings WHERE role = 'chunk') AS chunks,"
        " (SELECT count(DISTINCT text) FROM embeddings WHERE role = 'chunk') AS distinct_chunks,"
        " (SELECT count(DISTINCT text) FROM embeddings WHERE role = 'query') AS distinct_queries,"
        " (SELECT min(len(vector)) FROM embeddings) AS min_dim, (SELECT max(len(vector)) FROM embeddings) AS max_dim,"
        " (SELECT count(*) FROM documents) AS documents,"
        " (SELECT count(DISTINCT user_id) FROM spans WHERE service_name = 'nimbus-support-rag') AS users,"
        " (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM metrics) AS points,"
        " (SELECT count(DISTINCT span_id) FROM tokens t JOIN spans s USING (trace_id, span_id)"
        "  WHERE s.service_name = 'nimbus-support-rag') AS answers_with_logprobs,"
        " (SELECT count(*) FROM annotations WHERE name = 'user_feedback') AS feedback"
    ).iloc[0]
    assert (counts.rag_traces, counts.tool_loops, counts.networks) == (2_000, 300, 150)
    assert counts.chunks == 5_000 and counts.distinct_chunks > 2_500, "chunks are varied, not a few texts repeated"
    assert counts.distinct_queries > 1_000
    assert counts.min_dim == counts.max_dim == 384
    assert counts.documents == 5 * 2_000
    assert 150 < counts.users <= 300
    assert counts.runs == 12
    assert 150_000 < counts.points < 400_000
    assert counts.answers_with_logprobs == 2_000
    assert 0.12 * 2_000 < counts.feedback < 0.18 * 2_000


def test_ids_parents_sources_and_times_are_consistent(demo: llmlens.Lens) -> None:
    assert _one(demo, "SELECT count(*) FROM orphan_spans") == 0
    assert _one(demo, "SELECT count(*) FROM spans WHERE NOT regexp_full_match(trace_id, '[0-9a-f]{32}')") == 0
    assert _one(demo, "SELECT count(*) FROM spans WHERE NOT regexp_full_match(span_id, '[0-9a-f]{16}')") == 0
    assert _one(demo, "SELECT count(*) - count(DISTINCT (trace_id, span_id)) FROM spans") == 0
    outside = (
        "SELECT count(*) FROM spans c JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id "
        "WHERE c.start_time < p.start_time OR c.end_time > p.end_time OR c.end_time < c.start_time"
    )
    assert _one(demo, outside) == 0, "every span lies within its parent"
    for table in TABLES:
        missing = (
            f"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.source_id = t.source_id)"
        )
        assert _one(demo, missing) == 0, table
    added = demo.sql("SELECT sum(rows_added[k]) AS n, k FROM sources, unnest(map_keys(rows_added)) AS u(k) GROUP BY k")
    for table, rows in zip(added.k, added.n, strict=True):
        if table not in ("runs", "params"):  # a run's row and params are replaced by its latest file (a restart)
            assert rows == demo.tables()[table], table
    formats = demo.sql(
        "SELECT format, count(*) AS n FROM sources WHERE json_extract(options, '$.demo') IS NOT NULL GROUP BY ALL"
    )
    assert dict(zip(formats.format, formats.n, strict=True)) == {
        "otlp-json": 2, "openai-log": 1, "tensorboard": 8, "mlflow": 5, "llmlens-demo": 2,
    }  # fmt: skip


def test_embeddings_are_unit_vectors_linked_to_spans_and_documents(demo: llmlens.Lens) -> None:
    assert _one(demo, "SELECT max(abs(sqrt(list_dot_product(vector, vector)) - 1)) FROM embeddings") < 1e-4
    unlinked_queries = (
        "SELECT count(*) FROM embeddings e WHERE role = 'query' AND NOT EXISTS "
        "(SELECT 1 FROM spans s WHERE s.trace_id = e.trace_id AND s.span_id = e.span_id AND s.kind = 'EMBEDDING')"
    )
    assert _one(demo, unlinked_queries) == 0
    unknown_documents = (
        "SELECT count(*) FROM documents d WHERE NOT EXISTS "
        "(SELECT 1 FROM embeddings e WHERE e.role = 'chunk' AND e.document_id = d.document_id)"
    )
    assert _one(demo, unknown_documents) == 0
    recomputed = (
        "SELECT max(abs(d.score - list_cosine_similarity(q.vector, c.vector))) FROM documents d "
        "JOIN embeddings q ON q.role = 'query' AND q.trace_id = d.trace_id "
        "JOIN embeddings c ON c.role = 'chunk' AND c.document_id = d.document_id"
    )
    assert _one(demo, recomputed) < 1e-3, "document scores are the cosine similarity of the stored vectors"


def test_llm_tokens_and_costs_add_up(demo: llmlens.Lens) -> None:
    mismatched = (
        "SELECT count(*) FROM spans s WHERE kind = 'LLM' AND service_name = 'nimbus-support-rag' "
        "AND output_tokens <> (SELECT count(*) FROM tokens t WHERE t.trace_id = s.trace_id AND t.span_id = s.span_id)"
    )
    assert _one(demo, mismatched) == 0
    cost = (
        "SELECT max(abs(cost_usd - (input_tokens * CASE model WHEN 'gpt-4o' THEN 2.5 ELSE 0.15 END "
        "+ output_tokens * CASE model WHEN 'gpt-4o' THEN 10.0 ELSE 0.6 END) / 1e6)) FROM spans WHERE kind = 'LLM'"
    )
    assert _one(demo, cost) < 1e-12
    apps = "WHERE kind = 'LLM' AND service_name IS NOT NULL"  # the gateway-logged router has no service
    assert set(demo.sql(f"SELECT DISTINCT model FROM spans {apps}").model) == {"gpt-4o", "gpt-4o-mini"}
    assert _one(demo, "SELECT count(*) FROM spans WHERE total_tokens <> input_tokens + output_tokens") == 0


def test_token_bytes_concatenate_to_the_answer_including_split_characters(demo: llmlens.Lens) -> None:
    rows = demo.sql(
        "SELECT t.span_id, list(t.bytes ORDER BY t.position) AS pieces, any_value(m.content) AS answer, "
        "bool_or(t.token LIKE '%\ufffd%') AS lossy "
        "FROM tokens t JOIN messages m ON m.trace_id = t.trace_id AND m.span_id = t.span_id AND m.side = 'output' "
        "GROUP BY t.span_id"
    )
    assert all(b"".join(pieces).decode() == answer for pieces, answer in zip(rows.pieces, rows.answer, strict=True))
    assert rows.lossy.sum() > 20, "some answers hold multi-byte characters split across tokens"
    for character in ("€", "é", "👍"):
        assert rows.answer.str.contains(character).any(), character
    alternatives = demo.sql(
        "SELECT len(alternatives) AS k, list_sort(list_transform(alternatives, lambda a: a.logprob), 'DESC') "
        "= list_transform(alternatives, lambda a: a.logprob) AS most_likely_first, "
        "list_contains(list_transform(alternatives, lambda a: a.bytes), bytes) AS has_chosen, "
        "len(list_distinct(list_transform(alternatives, lambda a: a.bytes))) AS distinct_alternatives "
        "FROM tokens t JOIN spans s USING (trace_id, span_id) WHERE s.service_name = 'nimbus-support-rag'"
    )
    assert (alternatives.k == 5).all() and alternatives.most_likely_first.all() and alternatives.has_chosen.all()
    assert (alternatives.distinct_alternatives == 5).all()


def test_the_uncovered_topic_has_the_worst_retrieval_invented_answers_and_thumbs_down(demo: llmlens.Lens) -> None:
    by_intent = demo.sql(
        "SELECT s.attributes->>'$.\"app.intent\"' AS intent, avg(d.score) AS top1, avg(a.score) AS up_rate "
        "FROM documents d JOIN spans s ON s.trace_id = d.trace_id AND s.kind = 'CHAIN' "
        "LEFT JOIN annotations a ON a.target_id = d.trace_id AND a.name = 'user_feedback' "
        "WHERE d.position = 0 GROUP BY intent ORDER BY top1"
    )
    assert by_intent.intent[0] == "other"
    assert by_intent.top1[0] < by_intent.top1[1] - 0.3
    assert by_intent.up_rate[0] == by_intent.up_rate.min() < by_intent.up_rate[1:].mean() - 0.3
    questions = demo.sql(
        "SELECT input_text FROM spans WHERE kind = 'CHAIN' AND attributes->>'$.\"app.intent\"' = 'other'"
    )
    assert questions.input_text.str.contains("on-prem|self-host|own servers|air-gapped|LDAP", case=False).mean() > 0.8
    confidence = demo.sql(
        "SELECT s.attributes->>'$.\"app.intent\"' = 'other' AS uncovered, avg(t.logprob) AS mean_logprob "
        "FROM tokens t JOIN spans s ON s.trace_id = t.trace_id AND s.kind = 'CHAIN' GROUP BY uncovered"
    ).set_index("uncovered")
    assert confidence.mean_logprob[True] < confidence.mean_logprob[False] - 0.5


def test_stale_chunks_form_a_cluster_win_pricing_questions_and_draw_thumbs_down(demo: llmlens.Lens) -> None:
    stale = demo.sql(
        "SELECT (d.metadata->>'$.updated_at') < '2024' AS stale, count(*) AS n, avg(a.score) AS up_rate "
        "FROM documents d JOIN spans s ON s.trace_id = d.trace_id AND s.kind = 'CHAIN' "
        "LEFT JOIN annotations a ON a.target_id = d.trace_id AND a.name = 'user_feedback' "
        "WHERE d.position = 0 AND s.attributes->>'$.\"app.intent\"' = 'pricing' GROUP BY stale"
    ).set_index("stale")
    assert 40 < stale.n[True] < 200
    assert stale.up_rate[True] < stale.up_rate[False] - 0.3
    outdated = (
        "SELECT count(*) FROM documents d JOIN spans s ON s.trace_id = d.trace_id AND s.kind = 'LLM' "
        "WHERE d.position = 0 AND d.content LIKE '%$49%' AND s.output_text LIKE '%$49%'"
    )
    assert _one(demo, outdated) > 5, "answers repeat the outdated price"
    nearest_is_stale = demo.sql(
        "SELECT (a.metadata->>'$.updated_at' < '2024') AS stale, avg(nearest_stale::INT) AS share FROM ("
        "SELECT a.document_id, any_value(a.metadata) AS metadata, "
        "arg_max(b.metadata->>'$.updated_at' < '2024', list_cosine_similarity(a.vector, b.vector)) AS nearest_stale "
        "FROM embeddings a JOIN embeddings b ON a.document_id <> b.document_id "
        "WHERE a.role = 'chunk' AND b.role = 'chunk' AND a.metadata->>'$.topic' = 'pricing' "
        "AND b.metadata->>'$.topic' = 'pricing' GROUP BY a.document_id) a GROUP BY stale"
    ).set_index("stale")
    assert nearest_is_stale.share[True] > 0.95 and nearest_is_stale.share[False] < 0.05, "a distinct sub-cluster"


def test_the_slowest_rag_traces_are_the_stalling_shard(demo: llmlens.Lens) -> None:
    slow = demo.sql(
        "SELECT attributes->>'$.\"db.shard\"' AS shard, count(*) AS n FROM spans "
        "WHERE kind = 'RETRIEVER' AND duration_ms > 2000 GROUP BY shard"
    )
    assert slow.shard.tolist() == ["shard-7"]
    assert 0.03 * 2_000 < slow.n[0] < 0.05 * 2_000
    slowest = demo.sql(
        "SELECT t.trace_id, s.name AS slowest_span, s.attributes->>'$.\"db.shard\"' AS shard FROM traces t "
        "JOIN spans s ON s.trace_id = t.trace_id AND s.parent_span_id IS NOT NULL WHERE t.root_name = 'rag_pipeline' "
        "QUALIFY row_number() OVER (PARTITION BY t.trace_id ORDER BY s.duration_ms DESC) = 1 "
        "ORDER BY t.duration_ms DESC LIMIT 30"
    )
    assert set(slowest.slowest_span) == {"vector_search"} and set(slowest.shard) == {"shard-7"}
    assert _one(demo, f"SELECT median(duration_ms) FROM traces {RAG}") < 2_000


def test_run_sql_is_the_one_failing_tool(demo: llmlens.Lens) -> None:
    tools = demo.sql(
        "SELECT name, count(*) AS calls, count(*) FILTER (WHERE status_code = 'ERROR') AS errors, "
        "count(*) FILTER (WHERE status_message LIKE 'Timeout%' AND duration_ms >= 30000) AS timeouts "
        "FROM spans WHERE kind = 'TOOL' GROUP BY name ORDER BY errors DESC"
    )
    assert tools.name[0] == "execute_tool run_sql"
    assert 0.25 < tools.errors[0] / tools.calls[0] < 0.6 and tools.timeouts[0] > 10
    assert tools.errors[1:].sum() == 0
    gave_up = demo.sql(
        "SELECT count(*) AS n FROM spans r WHERE r.kind = 'AGENT' AND r.parent_span_id IS NULL "
        "AND r.output_text LIKE 'Sorry%' AND (SELECT count(*) FROM spans t WHERE t.trace_id = r.trace_id "
        "AND t.name = 'execute_tool run_sql' AND t.status_code = 'ERROR') = 2"
    ).n[0]
    assert gave_up > 10, "after two failed run_sql calls the agent apologises"


def test_handoff_loops_repeat_edges_until_max_turns(demo: llmlens.Lens) -> None:
    loops = demo.sql(
        "SELECT e.src_trace_id, count(*) AS bounces, any_value(s.status_message) AS status FROM edges e "
        "JOIN spans s ON s.trace_id = e.src_trace_id AND s.parent_span_id IS NULL "
        "WHERE e.kind = 'handoff' AND e.label = 'billing -> triage' GROUP BY e.src_trace_id HAVING count(*) >= 3"
    )
    assert len(loops) >= 10
    assert loops.status.str.startswith("MaxTurnsExceeded").all()
    errors = demo.sql(
        "SELECT count(*) AS n FROM spans WHERE parent_span_id IS NULL AND status_message LIKE 'MaxTurnsExceeded%'"
    ).n[0]
    assert errors == len(loops), "every looping trace, and only those, hits max turns"
    edges_match_spans = (
        "SELECT count(*) FROM edges e JOIN spans src ON src.trace_id = e.src_trace_id AND src.span_id = e.src_span_id "
        "JOIN spans dst ON dst.trace_id = e.dst_trace_id AND dst.span_id = e.dst_span_id "
        "WHERE src.kind = 'AGENT' AND dst.kind = 'AGENT' AND e.label = src.agent_name || ' -> ' || dst.agent_name "
        "AND e.attributes->>'$.from_agent' = src.agent_name AND e.attributes->>'$.to_agent' = dst.agent_name"
    )
    assert _one(demo, edges_match_spans) == _one(demo, "SELECT count(*) FROM edges")
    assert _one(demo, "SELECT count(*) FROM edges") == _one(demo, "SELECT count(*) FROM spans WHERE kind = 'HANDOFF'")


def test_each_files_metrics_are_stored_sorted_by_run_key_and_step(demo: llmlens.Lens) -> None:
    unsorted = (
        "SELECT count(*) FROM (SELECT run_id, key, step, lag(run_id) OVER w AS r, lag(key) OVER w AS k, "
        "lag(step) OVER w AS s FROM metrics WINDOW w AS (PARTITION BY source_id ORDER BY rowid)) "
        "WHERE r IS NOT NULL AND (run_id, key, step) < (r, k, s)"
    )
    assert _one(demo, unsorted) == 0
    assert _one(demo, "SELECT count(*) - count(DISTINCT (run_id, key, seq)) FROM metrics") == 0


def test_exactly_one_run_goes_nan_and_failed(demo: llmlens.Lens) -> None:
    nan_runs = demo.sql(
        "SELECT r.run_id, r.status, min(m.step) AS first_nan FROM metrics m JOIN runs r USING (run_id) "
        "WHERE isnan(m.value) AND m.key = 'train/loss' GROUP BY ALL"
    )
    assert len(nan_runs) == 1 and nan_runs.status[0] == "failed"
    assert demo.sql("SELECT count(*) AS n FROM runs WHERE status = 'failed'").n[0] == 1
    before = _one(
        demo,
        "SELECT max(value) FROM metrics WHERE run_id = ? AND key = 'train/grad_norm' AND step BETWEEN ? - 30 AND ? - 1",
        [nan_runs.run_id[0], int(nan_runs.first_nan[0]), int(nan_runs.first_nan[0])],
    )
    assert before > 20, "the gradient norm explodes before the NaN"


def test_a_loss_spike_with_a_grad_norm_spike_at_the_same_step(demo: llmlens.Lens) -> None:
    spikes = demo.sql(
        "SELECT run_id, min(step) AS step FROM (SELECT m.run_id, m.step, m.value - median(m.value) OVER "
        "(PARTITION BY m.run_id ORDER BY m.step ROWS BETWEEN 25 PRECEDING AND 1 PRECEDING) AS jump "
        "FROM metrics m JOIN runs r USING (run_id) WHERE m.key = 'train/loss' AND r.status <> 'failed') "
        "WHERE jump > 1.5 GROUP BY run_id"
    )
    assert len(spikes) == 1 and spikes.step[0] == 903
    grad_peak = demo.sql(
        "SELECT step FROM metrics WHERE run_id = ? AND key = 'train/grad_norm' ORDER BY value DESC LIMIT 1",
        [spikes.run_id[0]],
    ).step[0]
    assert grad_peak == 903


def test_a_restart_steps_back_while_seq_goes_on(demo: llmlens.Lens) -> None:
    restarts = demo.sql(
        "SELECT run_id, step, previous, wall_time - previous_time AS gap FROM (SELECT run_id, step, wall_time, "
        "lag(step) OVER w AS previous, lag(wall_time) OVER w AS previous_time FROM metrics WHERE key = 'train/loss' "
        "WINDOW w AS (PARTITION BY run_id ORDER BY seq)) WHERE step < previous"
    )
    assert len(restarts) == 1
    assert restarts.previous[0] - restarts.step[0] > 100
    assert restarts.gap[0].total_seconds() > 10 * 60, "wall time shows the job waiting to be re-queued"
    twice = demo.sql(
        "SELECT count(*) AS n FROM (SELECT step FROM metrics WHERE run_id = ? AND key = 'train/loss' "
        "GROUP BY step HAVING count(*) = 2)",
        [restarts.run_id[0]],
    ).n[0]
    assert twice == restarts.previous[0] + 1 - restarts.step[0]
    superseded = demo.sql(
        "SELECT min(step) AS first, max(step) AS last, count(*) AS n FROM metrics "
        "WHERE run_id = ? AND key = 'train/loss' AND superseded",
        [restarts.run_id[0]],
    )
    assert (superseded.first[0], superseded.last[0], superseded.n[0]) == (restarts.step[0], restarts.previous[0], twice)


def test_a_straggler_gpu_idles_on_one_node(demo: llmlens.Lens) -> None:
    utilisation = demo.sql(
        "SELECT split_part(key, '.', 2) AS gpu, avg(value) AS util FROM metrics "
        "WHERE key LIKE 'system/gpu.%.utilization' GROUP BY ALL ORDER BY util"
    )
    assert len(utilisation) == 8, "TensorBoard and MLflow runs name their GPUs alike"
    assert utilisation.gpu[0] == "5" and utilisation.util[0] < utilisation.util[1] - 10
    per_run = demo.sql(
        "SELECT m.run_id, p.value = 'node-b' AS node_b, avg(m.value) AS util FROM metrics m "
        "JOIN params p ON p.run_id = m.run_id AND p.key = 'node' WHERE m.key = 'system/gpu.5.utilization' GROUP BY ALL"
    )
    assert (per_run[per_run.node_b].util < 70).all() and (per_run[~per_run.node_b].util > 90).all()
    assert 0 < per_run.node_b.sum() < len(per_run)


def test_open_builds_on_first_use_then_reuses(tmp_path: Path) -> None:
    path = tmp_path / "d.duckdb"
    with llmlens.demo.open(path) as lens:
        assert lens.info().sources == 18  # 3 trace files, 8 event files, 5 MLflow runs, corpus, feedback
        lens.sql("INSERT INTO annotations (target_kind, target_id, name, label) VALUES ('trace', 'x', 'check', 'ok')")
    with llmlens.demo.open(path) as lens:
        assert lens.sql("SELECT count(*) AS n FROM annotations WHERE name = 'check'").n[0] == 1
    with llmlens.demo.open(path, rebuild=True) as lens:
        assert lens.sql("SELECT count(*) AS n FROM annotations WHERE name = 'check'").n[0] == 0


def test_build_replaces_the_file_and_its_wal_and_uses_the_default_path(tmp_path: Path) -> None:
    assert Path(".llmlens") / "demo.duckdb" == llmlens.demo.DEFAULT_PATH
    where = llmlens.demo.build(progress=False)  # the tests run in tmp_path
    assert where == (tmp_path / ".llmlens" / "demo.duckdb").resolve()
    with llmlens.open(where) as lens:  # leave a write in the WAL, as a crashed session would
        lens.con.execute("PRAGMA disable_checkpoint_on_shutdown")
        lens.sql("INSERT INTO annotations (target_kind, target_id, name) VALUES ('trace', 'x', 'check')")
    assert where.with_name(where.name + ".wal").exists()
    assert llmlens.demo.build(seed=1, progress=False) == where
    with llmlens.open(where, read_only=True) as lens:
        seeds = lens.sql("SELECT DISTINCT options->'demo'->>'seed' AS seed FROM sources").seed.tolist()
        assert seeds == ["1"]
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


SPAN_COLUMNS = (
    "trace_id, span_id, parent_span_id, name, kind, otel_kind, start_time, end_time, status_code, status_message, "
    "model, provider, input_text, input_tokens, output_tokens, total_tokens, cost_usd, session_id, user_id, "
    "agent_name, service_name"
)
COMPARED = {
    "spans": SPAN_COLUMNS,
    "messages": "trace_id, span_id, side, position, role, content, finish_reason",
    "documents": "trace_id, span_id, position, document_id, content, score, metadata->>'$.updated_at'",
    "tokens": "trace_id, span_id, side, choice, position, token, bytes, logprob, alternatives",
    "embeddings": "trace_id, span_id, role, text, model, vector",
}


def _differences(lens: llmlens.Lens, table: str, generated: pa.Table, columns: str, where: str = "true") -> int:
    """Generated rows missing from the store's ``table`` (a column the generator leaves out is NULL)."""
    names = [c.strip() for c in columns.split(", ")]
    theirs = ", ".join(c if not c.isidentifier() or c in generated.column_names else f"NULL AS {c}" for c in names)
    lens.con.register("generated", generated)
    try:
        return int(_one(lens, f"SELECT count(*) FROM (SELECT {theirs} FROM generated WHERE {where} "
                              f"EXCEPT ALL SELECT {columns} FROM {table} WHERE {where})"))  # fmt: skip
    finally:
        lens.con.unregister("generated")


def test_the_demo_traces_are_real_otlp_files_that_load_back_to_every_generated_row(
    demo_path: Path, demo: llmlens.Lens
) -> None:
    import numpy as np

    from llmlens.demo import agents, rag

    files = sorted(p.name for p in (demo_path.parent / "demo-files").iterdir())
    assert files == ["agents.otlp.jsonl", "rag.otlp.jsonl", "runs", "ticket-router.openai.jsonl"]
    streams = np.random.SeedSequence(0).spawn(3)
    generated = {"rag": rag.generate(np.random.default_rng(streams[0])),
                 "agents": agents.generate(np.random.default_rng(streams[1]))}  # fmt: skip
    for workload, tables in generated.items():
        for table, columns in COMPARED.items():
            if table not in tables:
                continue
            rows, compared = tables[table], columns
            if table == "embeddings":
                rows = rows.filter(rows["span_id"].is_valid())
                compared = columns.replace("role", "'query' AS role")
            assert _differences(demo, table, rows, compared) == 0, (workload, table)
        # an LLM call's output is the raw response (with logprobs), as OpenInference records it
        plain = "kind <> 'LLM' OR service_name <> 'nimbus-support-rag'"
        assert _differences(demo, "spans", tables["spans"], "trace_id, span_id, output_text", plain) == 0, workload
    edges = generated["agents"]["edges"]
    same = "kind, src_trace_id, src_span_id, dst_trace_id, dst_span_id, label"
    assert _differences(demo, "edges", edges, same) == 0 and len(edges) == demo.tables()["edges"]


def test_mixed_topic_tickets_get_unsure_labels_and_are_often_misrouted(demo: llmlens.Lens) -> None:
    tickets = demo.sql(
        "SELECT m.content AS ticket, s.output_text AS label, t.logprob, len(t.alternatives) AS k "
        "FROM spans s JOIN messages m ON m.span_id = s.span_id AND m.side = 'input' AND m.role = 'user' "
        "JOIN tokens t ON t.span_id = s.span_id WHERE s.name LIKE 'chat gpt-4o-mini%'"
    )
    assert len(tickets) == 300 and (tickets.k == 4).all()
    mixed = tickets.ticket.str.contains("charged anyway|overage|still being billed")
    assert 0.08 < mixed.mean() < 0.25
    assert tickets.logprob[mixed].mean() < tickets.logprob[~mixed].mean() - 0.3
    assert set(tickets.label) <= {"billing", "technical", "account", "sales"}


def test_the_demo_sweep_loads_back_from_its_event_files_and_mlflow_store_point_for_point(demo: llmlens.Lens) -> None:
    import numpy as np

    from llmlens.demo import training
    from llmlens.demo.run_files import tracker

    generated = training.generate(np.random.default_rng(np.random.SeedSequence(0).spawn(3)[2]))
    names = {config.run_id: config.name for config in training.sweep()}
    trackers = {config.name: tracker(config) for config in training.sweep()}
    points = generated["metrics"].to_pandas()
    points["name"] = points.run_id.map(names)
    demo.con.register("generated_points", points)
    try:
        # GPU keys: TensorBoard keeps the generator's names, MLflow's system metrics are renamed back to them
        compared = demo.sql(
            "SELECT g.name, count(*) AS n, count(m.value) AS found, max(abs(g.value - m.value)) AS error "
            "FROM generated_points g LEFT JOIN (SELECT r.name, m.* FROM metrics m JOIN runs r USING (run_id)) m "
            "ON m.name = g.name AND m.key = g.key AND m.step = g.step AND m.wall_time = g.wall_time "
            "GROUP BY g.name"
        )
    finally:
        demo.con.unregister("generated_points")
    assert len(compared) == 12 and (compared.n == compared.found).all(), "every generated point, none lost"
    for name, error in zip(compared.name, compared.error, strict=True):
        # event files store float32 (as PyTorch's SummaryWriter does); MLflow's text keeps every digit
        assert error <= (1e-5 if trackers[name] == "tensorboard" else 0), name
    assert demo.tables()["metrics"] == len(points)
