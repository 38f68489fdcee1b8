"""OTLP log records: GenAI events from OpenTelemetry's own instrumentation become the span's messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import llmlens
from tests.otel_fixtures import genai_log_call, hex_ids, logs_protobuf_json, protobuf_json, write_jsonl

EXPECTED_MESSAGES = [
    ["input", 0, "system", "Answer briefly.", None],
    ["input", 1, "user", "How much is Pro?", None],
    ["output", 0, "assistant", "Let me look.", "tool_calls"],
]


def _messages(lens: llmlens.Lens) -> list[list[Any]]:
    rows = lens.con.execute(
        "SELECT side, position, role, content, finish_reason FROM messages ORDER BY side, position"
    ).fetchall()
    return [list(row) for row in rows]


@pytest.fixture(scope="module")
def call() -> tuple[list[Any], list[Any]]:
    return genai_log_call()


@pytest.mark.parametrize("logs_first", [True, False])
def test_openai_v2_log_events_become_the_messages_of_their_span(
    tmp_path: Path, call: tuple[list[Any], list[Any]], logs_first: bool
) -> None:
    spans, records = call
    assert not any(span.events for span in spans)  # the instrumentation puts the conversation in logs only
    spans_file = write_jsonl(tmp_path / "spans.jsonl", [hex_ids(protobuf_json(spans))])
    logs_file = write_jsonl(tmp_path / "logs.jsonl", [logs_protobuf_json(records)])  # base64 ids, as protobuf maps
    with llmlens.open(str(tmp_path / "store.duckdb")) as lens:
        first, second = (logs_file, spans_file) if logs_first else (spans_file, logs_file)
        reports = [lens.load(first, progress=False), lens.load(second, progress=False)]
        assert [r.files[0].format for r in reports] == ["otlp-json", "otlp-json"]
        assert _messages(lens) == EXPECTED_MESSAGES
        parts = json.loads(lens.sql("SELECT parts FROM messages WHERE side = 'output'").parts[0])
        assert parts[1] == {"type": "tool_call", "id": "call_1", "name": "lookup_price", "arguments": '{"plan": "pro"}'}
        logs = lens.sql("SELECT event_name, body, attributes, resource FROM logs ORDER BY seq")
        assert logs.event_name.tolist() == ["gen_ai.system.message", "gen_ai.user.message", "gen_ai.choice"]
        assert json.loads(logs.body[2])["message"]["tool_calls"][0]["function"]["name"] == "lookup_price"
        assert json.loads(logs.attributes[0]) == {"gen_ai.system": "openai"}
        assert json.loads(logs.resource[0])["otel.scope.name"] == "opentelemetry.instrumentation.openai_v2"
        span = lens.sql("SELECT trace_id, span_id, model, input_tokens FROM spans").values.tolist()[0]
        linked = lens.sql("SELECT DISTINCT trace_id, span_id FROM logs").values.tolist()
        assert linked == [span[:2]] and span[2:] == ["gpt-4o-mini", 21]

        # the same records again, in another file (an overlapping export), and the spans again: nothing doubles
        again = write_jsonl(tmp_path / "logs-again.jsonl", [hex_ids(logs_protobuf_json(records))])
        assert not any(lens.load(again, progress=False).files[0].rows_added.values())
        lens.load(write_jsonl(tmp_path / "spans-again.jsonl", [protobuf_json(spans)]), progress=False)
        assert _messages(lens) == EXPECTED_MESSAGES
        assert int(lens.sql("SELECT count(*) AS n FROM logs").n[0]) == 3


def test_a_span_with_messages_of_its_own_keeps_them(tmp_path: Path, call: tuple[list[Any], list[Any]]) -> None:
    spans, records = call
    document = hex_ids(protobuf_json(spans))
    span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]  # type: ignore[index]
    span["attributes"].append({"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": "From the span"}]}])}})  # fmt: skip
    with llmlens.open(":memory:") as lens:
        lens.load(write_jsonl(tmp_path / "logs.jsonl", [logs_protobuf_json(records)]), progress=False)
        assert len(_messages(lens)) == 3
        lens.load(write_jsonl(tmp_path / "spans.jsonl", [document]), progress=False)
        assert _messages(lens) == [["input", 0, "user", "From the span", None]]
        lens.load(write_jsonl(tmp_path / "logs-later.jsonl", [hex_ids(logs_protobuf_json(records))]), progress=False)
        assert _messages(lens) == [["input", 0, "user", "From the span", None]]


def test_protobuf_log_files_and_the_receiver_read_logs(tmp_path: Path, call: tuple[list[Any], list[Any]]) -> None:
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

    _, records = call
    binary = tmp_path / "logs.binpb"
    binary.write_bytes(encode_logs(records).SerializeToString())
    with llmlens.open(":memory:") as lens:
        report = lens.load(binary, progress=False).files[0]
        assert (report.format, report.rows_added["logs"], report.rows_added["messages"]) == ("otlp-proto", 3, 3)
    with llmlens.open(":memory:") as lens:
        collector = lens.collect(port=0)
        try:
            exporter = OTLPLogExporter(endpoint=collector.endpoint + "/v1/logs")
            assert exporter.export(records).name == "SUCCESS"
            collector.flush()
        finally:
            collector.stop()
        assert _messages(lens) == EXPECTED_MESSAGES


def _log_record(**fields: Any) -> dict[str, Any]:
    return {"resourceLogs": [{"scopeLogs": [{"scope": {"name": "judge"}, "logRecords": [fields]}]}]}


def test_evaluation_events_become_annotations_and_plain_logs_are_kept(tmp_path: Path) -> None:
    trace_id, span_id = "5B8EFFF798038103D269B633813FC60C", "EEE19B7EC3C1B174"
    attributes = [
        {"key": "gen_ai.evaluation.name", "value": {"stringValue": "relevance"}},
        {"key": "gen_ai.evaluation.score.value", "value": {"doubleValue": 0.25}},
        {"key": "gen_ai.evaluation.score.label", "value": {"stringValue": "irrelevant"}},
        {"key": "gen_ai.evaluation.explanation", "value": {"stringValue": "Talks about weather."}},
    ]
    evaluation = _log_record(traceId=trace_id, spanId=span_id, eventName="gen_ai.evaluation.result",
                             timeUnixNano="1763000000000000000", attributes=attributes)  # fmt: skip
    plain = _log_record(severityNumber="SEVERITY_NUMBER_WARN2", severityText="WARN",
                        body={"stringValue": "retrying"}, observedTimeUnixNano=1763000000500000000)  # fmt: skip
    nested = _log_record(body="DEEP", attributes=[{"key": "event.name", "value": {"stringValue": "deep"}}])
    bad_id = _log_record(traceId="not-an-id", eventName="gen_ai.user.message")
    path = write_jsonl(tmp_path / "logs.jsonl", [evaluation, plain, nested, bad_id, {"resourceMetrics": []}])
    deep = '{"kvlistValue": {"values": [{"key": "k", "value": ' * 10_000 + '{"stringValue": "bottom"}' + "}]}}" * 10_000
    path.write_text(path.read_text().replace('"DEEP"', deep))
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False).files[0]
        assert report.rows_added["logs"] == 3 and report.rows_added["annotations"] == 1
        assert report.rejected == 2
        assert any("traceId is not 32 hex digits" in reason for reason in report.reasons)
        assert any("no resourceSpans or resourceLogs" in reason for reason in report.reasons)
        annotation = lens.sql("SELECT target_kind, target_id, name, label, score, note, annotator FROM annotations")
        assert annotation.values.tolist() == [
            ["span", span_id.lower(), "relevance", "irrelevant", 0.25, "Talks about weather.", "judge"]
        ]
        rows = lens.con.execute(
            "SELECT severity_number, severity_text, body, event_name FROM logs ORDER BY seq"
        ).fetchall()
        assert rows[1][:3] == (14, "WARN", '"retrying"')
        assert rows[2][3] == "deep" and "bottom" in rows[2][2]  # deeper than we unwrap: kept whole, not lost
