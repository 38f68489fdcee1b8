"""The live OTLP/HTTP receiver, fed by the real OpenTelemetry exporter and by hand-made requests."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

import llmlens
from llmlens.errors import LensError
from tests.otel_fixtures import hex_ids, protobuf_json, rag_spans


def _rag_trace() -> dict:  # type: ignore[type-arg]
    """The RAG trace as OTLP/JSON with hex ids, the way JSON exporters post it."""
    return hex_ids(protobuf_json(rag_spans()))  # type: ignore[return-value]


RAG_SPANS = len(rag_spans())
TOKEN = "test-token"


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait_for_spans(lens: llmlens.Lens, n: int, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = int(lens.sql("SELECT count(*) AS n FROM spans").n[0])
        if count >= n:
            return count
        time.sleep(0.05)
    return count


def _provider(exporter: OTLPSpanExporter, *, batch: bool = False) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "rag-api"}))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return provider


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip, Compression.Deflate])
def test_real_exporter_spans_arrive_with_attributes_and_tree(compression: Compression) -> None:
    with llmlens.open("store.duckdb") as lens, lens.collect(port=0) as collector:
        exporter = OTLPSpanExporter(endpoint=collector.url, compression=compression)
        provider = _provider(exporter)
        tracer = provider.get_tracer("app", "1.2")
        with tracer.start_as_current_span("rag") as root:
            root.set_attribute("openinference.span.kind", "CHAIN")
            root.set_attribute("session.id", "s-1")
            with tracer.start_as_current_span("retrieve") as child:
                child.set_attribute("openinference.span.kind", "RETRIEVER")
                child.set_attribute("retrieval.documents.0.document.content", "Refunds take 5 days.")
                child.set_attribute("retrieval.documents.0.document.score", 0.82)
        provider.shutdown()
        assert _wait_for_spans(lens, 2) == 2
        rows = lens.sql(
            "SELECT name, kind, session_id, parent_span_id IS NULL AS is_root, service_name, "
            "resource->>'otel.scope.name' AS scope FROM spans ORDER BY name"
        )
        assert rows.name.tolist() == ["rag", "retrieve"]
        assert rows.kind.tolist() == ["CHAIN", "RETRIEVER"]
        assert rows.is_root.tolist() == [True, False]
        assert set(rows.service_name) == {"rag-api"} and set(rows.scope) == {"app"}
        assert lens.sql("SELECT content, score FROM documents").to_dict("records") == [
            {"content": "Refunds take 5 days.", "score": 0.82}
        ]
        assert int(lens.sql("SELECT count(*) AS n FROM orphan_spans").n[0]) == 0
        assert lens.sql("SELECT DISTINCT uri FROM sources").uri.tolist() == [collector.url]


def test_many_batches_from_a_batch_processor_lose_nothing_and_queries_keep_working() -> None:
    with llmlens.open("store.duckdb") as lens, lens.collect(port=0) as collector:
        provider = _provider(OTLPSpanExporter(endpoint=collector.url), batch=True)
        tracer = provider.get_tracer("app")
        for i in range(1500):
            with tracer.start_as_current_span(f"call-{i}") as span:
                span.set_attribute("openinference.span.kind", "LLM")
                span.set_attribute("llm.token_count.prompt", i)
            if i % 300 == 0:
                lens.sql("SELECT count(*) FROM spans")  # the notebook queries while spans stream in
        provider.shutdown()
        assert _wait_for_spans(lens, 1500) == 1500
        assert int(lens.sql("SELECT sum(input_tokens) AS s FROM spans").s[0]) == sum(range(1500))
        assert collector.stats.requests >= 3 and collector.stats.refused == 0


def test_json_bodies_gzip_and_rejects_are_recorded(tmp_path: Path) -> None:
    trace = _rag_trace()
    trace["resourceSpans"][0]["scopeSpans"][0]["spans"].append({"traceId": "bad", "spanId": "0011223344556677"})
    body = json.dumps(trace).encode()
    with llmlens.open("store.duckdb") as lens, lens.collect(port=0) as collector:
        status, reply = _post(collector.url, gzip.compress(body), {"Content-Type": "application/json",
                                                                   "Content-Encoding": "gzip"})  # fmt: skip
        assert (status, json.loads(reply)) == (200, {})
        collector.flush()
        assert lens.sql("SELECT count(*) AS n FROM spans").n[0] == RAG_SPANS
        rejected = lens.sql("SELECT reason, line FROM rejects")
        assert rejected.reason[0].startswith("traceId is missing, or not 32 hex digits")
        assert collector.stats.rejected == 1


def test_spans_are_queryable_within_about_a_second() -> None:
    with llmlens.open("store.duckdb") as lens, lens.collect(port=0) as collector:
        started = time.monotonic()
        status, _ = _post(collector.url, json.dumps(_rag_trace()).encode(), {"Content-Type": "application/json"})
        assert status == 200
        assert _wait_for_spans(lens, 1, timeout=5) >= 1
        assert time.monotonic() - started < 5  # generous for slow CI; the writer flushes every 0.2 s


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "says"),
    [
        ("/v1/metrics", {"Content-Type": "application/json"}, b"{}", 404, "/v1/logs"),
        ("/v1/traces", {"Content-Type": "text/plain"}, b"{}", 415, "Content-Type"),
        ("/v1/traces", {"Content-Type": "application/json"}, b"{not json", 400, "cannot read"),
        ("/v1/traces", {"Content-Type": "application/json"}, b"[1, 2]", 400, "not a JSON object"),
        ("/v1/traces", {"Content-Type": "application/x-protobuf"}, b"\xff\xff\xff", 400, "ExportTraceServiceRequest"),
        ("/v1/traces", {"Content-Type": "application/json", "Content-Encoding": "br"}, b"{}", 415, "br"),
        ("/v1/traces", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, b"nope", 400, ""),
    ],
)
def test_bad_requests_get_clear_http_errors(
    path: str, headers: dict[str, str], body: bytes, status: int, says: str
) -> None:
    with llmlens.open(":memory:") as lens, lens.collect(port=0) as collector:
        got, reply = _post(collector.endpoint + path, body, headers)
        assert got == status
        assert says in json.loads(reply)["message"]
        assert collector.stats.refused == 1 and collector.stats.requests == 0


def test_bodies_over_the_limit_get_413_also_after_inflating() -> None:
    with llmlens.open(":memory:") as lens, lens.collect(port=0, max_body_bytes=10_000) as collector:
        big = json.dumps({"resourceSpans": [], "pad": "x" * 20_000}).encode()
        assert _post(collector.url, big, {"Content-Type": "application/json"})[0] == 413
        bomb = zlib.compress(b"{" + b" " * 1_000_000 + b"}")
        assert len(bomb) < 10_000
        assert _post(collector.url, bomb, {"Content-Type": "application/json", "Content-Encoding": "deflate"})[0] == 413
        assert collector.stats.refused == 2


def test_bearer_token_is_required_when_set() -> None:
    body = json.dumps(_rag_trace()).encode()
    with llmlens.open(":memory:") as lens, lens.collect(port=0, token=TOKEN) as collector:
        assert _post(collector.url, body, {"Content-Type": "application/json"})[0] == 401
        assert (
            _post(collector.url, body, {"Content-Type": "application/json", "Authorization": "Bearer nope"})[0] == 401
        )
        exporter = OTLPSpanExporter(endpoint=collector.url, headers={"Authorization": f"Bearer {TOKEN}"})
        provider = _provider(exporter)
        with provider.get_tracer("app").start_as_current_span("authorised"):
            pass
        provider.shutdown()
        assert _wait_for_spans(lens, 1) == 1


def test_stop_flushes_everything_received_and_closing_the_lens_stops_receivers() -> None:
    lens = llmlens.open("store.duckdb")
    collector = lens.collect(port=0)
    for i in range(20):
        trace = _rag_trace()
        for span in trace["resourceSpans"][0]["scopeSpans"][0]["spans"]:
            span["traceId"] = f"{i + 1:032x}"
        _post(collector.url, json.dumps(trace).encode(), {"Content-Type": "application/json"})
    stats = collector.stop()
    assert stats.requests == 20 and not collector.running
    assert lens.collectors == []
    spans = int(lens.sql("SELECT count(*) AS n FROM spans").n[0])
    assert spans == stats.rows_added["spans"] > 0
    again = lens.collect(port=0)
    lens.close()
    assert not again.running
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(again.url, timeout=2)


def test_a_busy_port_and_a_read_only_store_give_clear_errors(tmp_path: Path) -> None:
    with (
        llmlens.open(":memory:") as lens,
        lens.collect(port=0) as first,
        pytest.raises(LensError, match=f"cannot listen on 127.0.0.1:{first.port}.*port=0"),
    ):
        lens.collect(port=first.port)
    llmlens.open("ro.duckdb").close()
    with llmlens.open("ro.duckdb", read_only=True) as lens, pytest.raises(LensError, match="read-only"):
        lens.collect(port=0)


def test_repr_tells_where_to_point_exporters() -> None:
    with llmlens.open(":memory:") as lens, lens.collect(port=0) as collector:
        assert f"OTEL_EXPORTER_OTLP_ENDPOINT={collector.endpoint}" in repr(collector)
    assert "(stopped)" in repr(collector)


def test_magic_starts_and_stops_a_receiver(shell) -> None:
    shell.run_line_magic("lens", "open store.duckdb")
    collector = shell.run_line_magic("lens", "collect --port 0")
    assert collector.running
    shell.run_line_magic("lens", "collect --stop")
    assert not collector.running


def test_cli_collect_receives_until_interrupted(tmp_path: Path) -> None:
    import signal
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "llmlens.cli", "collect", "--db", str(tmp_path / "cli.duckdb"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert f"http://127.0.0.1:{port}/v1/traces" in process.stdout.readline()
        status, _ = _post(f"http://127.0.0.1:{port}/v1/traces", json.dumps(_rag_trace()).encode(),
                          {"Content-Type": "application/json"})  # fmt: skip
        assert status == 200
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0]
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert "stopped." in output
    with llmlens.open(tmp_path / "cli.duckdb", read_only=True) as lens:
        assert int(lens.sql("SELECT count(*) AS n FROM spans").n[0]) == RAG_SPANS
