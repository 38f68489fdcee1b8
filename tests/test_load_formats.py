from __future__ import annotations

import json
from pathlib import Path

import llmlens
from tests.otel_fixtures import console_output, conversation_spans, protobuf_json, rag_spans

COLUMNS = (
    "trace_id, span_id, parent_span_id, name, kind, otel_kind, status_code, status_message, "
    "model, provider, input_text, output_text, input_tokens, output_tokens, total_tokens, cost_usd, session_id, "
    "user_id, agent_name, service_name"
)


def _load(text: str, path: Path) -> llmlens.Lens:
    path.write_text(text)
    lens = llmlens.open(":memory:")
    report = lens.load(path, progress=False)
    assert report.rejected == 0, report
    return lens


def test_console_exporter_output_loads_like_the_otlp_export_of_the_same_spans(tmp_path: Path) -> None:
    spans = rag_spans() + conversation_spans()
    console = _load(console_output(spans), tmp_path / "console.log")
    assert console.sql("SELECT DISTINCT format FROM sources").format.tolist() == ["otel-console"]
    otlp = _load(json.dumps(protobuf_json(spans)), tmp_path / "otlp.json")
    query = f"SELECT {COLUMNS} FROM spans ORDER BY span_id"
    assert console.sql(query).equals(otlp.sql(query))
    # The console prints times rounded to the microsecond; OTLP carries nanoseconds.
    times = "SELECT epoch_us(start_time) AS s, epoch_us(end_time) AS e FROM spans ORDER BY span_id"
    assert ((console.sql(times) - otlp.sql(times)).abs() <= 1).all().all()
    for table, key in (("messages", "side, position, role, content, parts"), ("documents", "position, document_id"),
                       ("edges", "kind, src_span_id, dst_span_id")):  # fmt: skip
        assert console.sql(f"SELECT {key} FROM {table} ORDER BY ALL").equals(
            otlp.sql(f"SELECT {key} FROM {table} ORDER BY ALL")
        )
    attributes = console.sql("SELECT attributes FROM spans WHERE name = 'ChatCompletion'").attributes[0]
    assert json.loads(attributes)["tag.tags"] == ["pricing", "faq"]


def test_a_truncated_console_dump_keeps_the_complete_spans(tmp_path: Path) -> None:
    text = console_output(rag_spans())
    cut = text[: len(text) - 40]
    path = tmp_path / "console.log"
    path.write_text(cut)
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False)
        assert report.rows_added["spans"] == 3
        reject = lens.sql("SELECT line, reason, raw FROM rejects")
        assert reject.reason.tolist() == ["not a JSON object (truncated or corrupt)"]
        assert reject.line[0] == cut[: cut.rindex('{\n    "name"')].count("\n") + 1
        assert cut.endswith(reject.raw[0].decode())


def test_otlp_protobuf_files_load_like_their_json_form(tmp_path: Path) -> None:
    import struct

    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    spans = rag_spans() + conversation_spans()
    single = tmp_path / "traces.binpb"
    single.write_bytes(encode_spans(spans).SerializeToString())
    framed = tmp_path / "traces.proto.stream"
    bodies = [encode_spans(spans[:3]).SerializeToString(), encode_spans(spans[3:]).SerializeToString()]
    framed.write_bytes(b"".join(struct.pack(">I", len(body)) + body for body in bodies))
    reference = _load(json.dumps(protobuf_json(spans)), tmp_path / "otlp.json")
    query = f"SELECT {COLUMNS} FROM spans ORDER BY span_id"
    for path in (single, framed):
        with llmlens.open(":memory:") as lens:
            report = lens.load(path, progress=False)
            assert report.files[0].format == "otlp-proto" and report.rejected == 0
            assert lens.sql(query).equals(reference.sql(query))


def test_binary_garbage_is_not_mistaken_for_protobuf(tmp_path: Path) -> None:
    import random

    import pytest

    from llmlens.loaders import LoadError

    path = tmp_path / "garbage.bin"
    path.write_bytes(random.Random(7).randbytes(4096))
    with llmlens.open(":memory:") as lens, pytest.raises(LoadError, match="cannot tell the format"):
        lens.load(path, progress=False)
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, format="otlp-proto", progress=False)
        assert report.files[0].status == "rejected"
        assert lens.sql("SELECT raw FROM rejects").raw[0] == path.read_bytes()
