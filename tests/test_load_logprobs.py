"""Token log-probabilities recovered from raw OpenAI responses stored in span outputs (OpenInference output.value)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai.types import Completion
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response

import llmlens
from tests.otel_fixtures import write_jsonl

TRACE = "5b8efff798038103d269b633813fc60c"


def _token(text: bytes, logprob: float, top: list[tuple[bytes, float]]) -> dict[str, Any]:
    def entry(raw: bytes, value: float) -> dict[str, Any]:
        return {"token": raw.decode("utf-8", errors="replace"), "logprob": value, "bytes": list(raw)}

    return {**entry(text, logprob), "top_logprobs": [entry(raw, value) for raw, value in top]}


def chat_completion() -> ChatCompletion:
    """'Hi €' where the euro sign is split over two tokens, one alternative outside the top 20 (-9999)."""
    euro = "€".encode()
    content = [
        _token(b"Hi", -0.01, [(b"Hi", -0.01), (b"Hello", -4.7)]),
        _token(b" " + euro[:1], -0.5, [(b" " + euro[:1], -0.5), (b" $", -1.2)]),
        _token(euro[1:], -0.02, [(euro[1:], -0.02), (b"x", -9999.0)]),
    ]
    return ChatCompletion.model_validate({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_763_000_000, "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi €"},
             "logprobs": {"content": content, "refusal": None}},
            {"index": 1, "finish_reason": "stop", "message": {"role": "assistant", "content": None, "refusal": "No"},
             "logprobs": {"content": None, "refusal": [_token(b"No", -0.3, [(b"No", -0.3)])]}},
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    })  # fmt: skip


def legacy_completion() -> Completion:
    return Completion.model_validate({
        "id": "cmpl-1", "object": "text_completion", "created": 1_763_000_000, "model": "gpt-3.5-turbo-instruct",
        "choices": [{"index": 0, "text": " yes", "finish_reason": "stop", "logprobs": {
            "tokens": [" yes", "."], "token_logprobs": [-0.2, -0.05], "text_offset": [0, 4],
            "top_logprobs": [{" no": -1.8, " yes": -0.2}, {"!": -3.1, ".": -0.05}]}}],
    })  # fmt: skip


def _span(span_id: str, output_json: str) -> dict[str, Any]:
    return {"traceId": TRACE, "spanId": span_id, "name": "ChatCompletion",
            "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
                           {"key": "output.value", "value": {"stringValue": output_json}},
                           {"key": "output.mime_type", "value": {"stringValue": "application/json"}}]}  # fmt: skip


@pytest.fixture
def lens(tmp_path: Path) -> llmlens.Lens:
    spans = [_span("0000000000000001", chat_completion().model_dump_json()),
             _span("0000000000000002", legacy_completion().model_dump_json())]  # fmt: skip
    lens = llmlens.open(":memory:")
    lens.load(
        write_jsonl(tmp_path / "t.jsonl", [{"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}]), progress=False
    )
    return lens


def test_chat_logprobs_keep_bytes_so_split_characters_render(lens: llmlens.Lens) -> None:
    rows = lens.sql(
        "SELECT position, token, bytes, logprob FROM tokens WHERE span_id = '0000000000000001' AND choice = 0 "
        "ORDER BY position"
    )
    assert rows.position.tolist() == [0, 1, 2]
    assert b"".join(rows.bytes).decode() == "Hi €"
    assert "\ufffd" in rows.token[1]  # the token text alone is lossy
    assert rows.logprob.tolist() == [-0.01, -0.5, -0.02]


def test_alternatives_are_kept_and_the_minus_9999_sentinel_is_missing_not_a_value(lens: llmlens.Lens) -> None:
    alternatives = lens.sql(
        "SELECT alternatives FROM tokens WHERE span_id = '0000000000000001' AND choice = 0 ORDER BY position"
    ).alternatives
    assert [a["token"] for a in alternatives[0]] == ["Hi", "Hello"]
    assert alternatives[1][1]["bytes"] == b" $"
    outside_top_20 = alternatives[2][1]
    assert (outside_top_20["token"], outside_top_20["logprob"]) == ("x", None)


def test_refusal_logprobs_are_read_when_content_has_none(lens: llmlens.Lens) -> None:
    refusal = lens.sql("SELECT token, logprob FROM tokens WHERE span_id = '0000000000000001' AND choice = 1")
    assert refusal.values.tolist() == [["No", -0.3]]


def test_legacy_completion_parallel_arrays(lens: llmlens.Lens) -> None:
    rows = lens.sql(
        "SELECT token, logprob, alternatives FROM tokens WHERE span_id = '0000000000000002' ORDER BY position"
    )
    assert rows.token.tolist() == [" yes", "."]
    assert rows.logprob.tolist() == [-0.2, -0.05]
    assert [(a["token"], a["logprob"]) for a in rows.alternatives[0]] == [(" yes", -0.2), (" no", -1.8)]
    assert [(a["token"], a["logprob"]) for a in rows.alternatives[1]] == [(".", -0.05), ("!", -3.1)]


def test_openai_log_files_become_llm_spans_with_messages_and_tokens(tmp_path: Path) -> None:
    request = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."},
                                                    {"role": "user", "content": [{"type": "text", "text": "Price?"}]}],
               "logprobs": True, "top_logprobs": 2, "user": "u-9"}  # fmt: skip
    pairs = tmp_path / "gateway.jsonl"
    pairs.write_text(
        json.dumps({"request": request, "response": json.loads(chat_completion().model_dump_json())}) + "\n"
        + legacy_completion().model_dump_json() + "\n"
        + '{"request": {}, "response": {"error": "rate limited"}}\n'
    )  # fmt: skip
    with llmlens.open(":memory:") as lens:
        report = lens.load(pairs, progress=False)
        assert report.files[0].format == "openai-log"
        assert report.rows_added["spans"] == 2 and report.rejected == 1
        spans = lens.sql(
            "SELECT name, kind, model, provider, output_text, input_tokens, user_id FROM spans ORDER BY name"
        )
        assert spans.values.tolist()[0] == ["chat gpt-4o-mini", "LLM", "gpt-4o-mini", "openai", "Hi €", 5, "u-9"]
        assert spans.name.tolist()[1] == "completion gpt-3.5-turbo-instruct"
        messages = lens.sql("SELECT side, position, role, content FROM messages ORDER BY side, position, role")
        assert messages.values.tolist()[:2] == [["input", 0, "system", "Be brief."], ["input", 1, "user", "Price?"]]
        assert ["output", 1, "assistant", "No"] in messages.values.tolist()
        raw = lens.sql("SELECT list(bytes ORDER BY position) AS b FROM tokens t JOIN spans s USING (span_id) "
                       "WHERE s.name LIKE 'chat%' AND choice = 0").b[0]  # fmt: skip
        assert b"".join(raw).decode() == "Hi €"
        assert lens.sql("SELECT reason FROM rejects").reason.tolist() == [
            "not an OpenAI response: no choices or output list"
        ]
        again = lens.load(pairs, format="openai-log", progress=False)
        assert again.files[0].status == "skipped"


def responses_api_response(status: str = "completed") -> Response:
    """A Responses API response: reasoning, two output_text parts with logprobs, and a function call."""

    def token(text: str, logprob: float, top: list[tuple[str, float]]) -> dict[str, Any]:
        return {"token": text, "bytes": list(text.encode()), "logprob": logprob,
                "top_logprobs": [{"token": t, "bytes": list(t.encode()), "logprob": p} for t, p in top]}  # fmt: skip

    return Response.model_validate({
        "id": "resp_1", "object": "response", "created_at": 1_763_000_000, "model": "gpt-4.1-mini", "status": status,
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": [
                {"type": "output_text", "text": "Hi", "annotations": [],
                 "logprobs": [token("Hi", -0.1, [("Hi", -0.1), ("Hey", -2.5)])]},
                {"type": "output_text", "text": " there", "annotations": [],
                 "logprobs": [token(" there", -0.3, [])]}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "lookup",
             "arguments": '{"q": 1}', "status": "completed"}],
        "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        "usage": {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10,
                  "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens_details": {"reasoning_tokens": 0}},
    })  # fmt: skip


def chat_chunks() -> list[ChatCompletionChunk]:
    """A streamed chat completion: role, then 'Hi €' token by token with logprobs, a tool call in two deltas,
    the finish reason, and a final usage-only chunk."""
    euro = "€".encode()
    base = {"id": "chatcmpl-stream", "object": "chat.completion.chunk", "created": 1_763_000_000,
            "model": "gpt-4o-mini", "system_fingerprint": "fp_1"}  # fmt: skip

    def chunk(delta: dict[str, Any], tokens: list[dict[str, Any]] | None, finish: str | None = None) -> dict[str, Any]:
        logprobs = None if tokens is None else {"content": tokens, "refusal": None}
        return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]}

    chunks = [
        chunk({"role": "assistant", "content": "", "refusal": None}, []),
        chunk({"content": "Hi"}, [_token(b"Hi", -0.01, [(b"Hi", -0.01)])]),
        chunk({"content": " €"}, [_token(b" " + euro[:1], -0.5, []), _token(euro[1:], -0.02, [])]),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_9",
                        "type": "function",
                        "function": {"name": "price", "arguments": '{"sku"'},
                    }
                ]
            },
            None,
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ': "A1"}'}}]}, None),
        chunk({}, None, "tool_calls"),
        {**base, "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}},
    ]
    return [ChatCompletionChunk.model_validate(c) for c in chunks]


def _sse(events: list[tuple[str | None, str]]) -> str:
    return "".join((f"event: {name}\n" if name else "") + f"data: {data}\n\n" for name, data in events)


def test_responses_api_logs_read_messages_tool_calls_and_logprobs(tmp_path: Path) -> None:
    request = {"model": "gpt-4.1-mini", "instructions": "Be brief.", "include": ["message.output_text.logprobs"],
               "input": [{"role": "user", "content": [{"type": "input_text", "text": "Price of A1?"}]},
                         {"type": "function_call", "call_id": "call_0", "name": "lookup", "arguments": "{}"},
                         {"type": "function_call_output", "call_id": "call_0", "output": "12 EUR"}]}  # fmt: skip
    path = tmp_path / "responses.jsonl"
    path.write_text(
        json.dumps({"request": request, "response": json.loads(responses_api_response().model_dump_json())})
    )
    with llmlens.open(":memory:") as lens:
        assert lens.load(path, progress=False).files[0].format == "openai-log"
        span = lens.sql("SELECT name, output_text, input_tokens, output_tokens, status_code FROM spans")
        assert span.values.tolist() == [["response gpt-4.1-mini", "Hi there", 7, 3, "OK"]]
        messages = lens.sql(
            "SELECT side, role, coalesce(content, '-') AS content, parts FROM messages ORDER BY side, position"
        )
        assert messages[["side", "role", "content"]].values.tolist() == [
            ["input", "system", "Be brief."], ["input", "user", "Price of A1?"], ["input", "assistant", "-"],
            ["input", "tool", "12 EUR"], ["output", "assistant", "Hi there"],
        ]  # fmt: skip
        calls = [p for p in json.loads(messages.parts.iloc[-1]) if p["type"] == "tool_call"]
        assert calls == [{"type": "tool_call", "id": "call_1", "name": "lookup", "arguments": '{"q": 1}'}]
        tokens = lens.sql("SELECT position, token, logprob, len(alternatives) AS k FROM tokens ORDER BY position")
        assert tokens.values.tolist() == [[0, "Hi", -0.1, 2], [1, " there", -0.3, 0]]


def test_a_failed_response_is_an_error_span(tmp_path: Path) -> None:
    failed = json.loads(responses_api_response("failed").model_dump_json())
    failed["error"] = {"code": "server_error", "message": "The model crashed."}
    path = write_jsonl(tmp_path / "failed.jsonl", [failed])
    with llmlens.open(":memory:") as lens:
        lens.load(path, progress=False)
        assert lens.sql("SELECT status_code, status_message FROM spans").values.tolist() == [
            ["ERROR", "The model crashed."]
        ]


@pytest.mark.parametrize("shape", ["sse", "jsonl"])
def test_streamed_chat_chunks_merge_into_one_response(tmp_path: Path, shape: str) -> None:
    lines = [chunk.model_dump_json() for chunk in chat_chunks()]
    path = tmp_path / f"stream.{shape}"
    path.write_text(_sse([(None, line) for line in lines]) + "data: [DONE]\n\n" if shape == "sse" else "\n".join(lines))
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False)
        assert (report.files[0].format, report.rows_added["spans"], report.rejected) == ("openai-log", 1, 0)
        span = lens.sql("SELECT name, output_text, input_tokens, output_tokens FROM spans")
        assert span.values.tolist() == [["chat gpt-4o-mini", "Hi €", 9, 4]]
        raw = lens.sql("SELECT list(bytes ORDER BY position) AS b, list(position) AS p FROM tokens")
        assert b"".join(raw.b[0]).decode() == "Hi €" and sorted(raw.p[0]) == [0, 1, 2]
        output = lens.sql("SELECT parts, finish_reason FROM messages WHERE side = 'output'")
        assert output.finish_reason[0] == "tool_calls"
        calls = [p for p in json.loads(output.parts[0]) if p["type"] == "tool_call"]
        assert calls == [{"type": "tool_call", "id": "call_9", "name": "price", "arguments": '{"sku": "A1"}'}]


def test_responses_api_stream_events_use_the_final_response(tmp_path: Path) -> None:
    final = responses_api_response()
    created = responses_api_response("in_progress").model_copy(update={"output": []})
    events = [
        ("response.created", json.dumps({"type": "response.created", "sequence_number": 0,
                                         "response": json.loads(created.model_dump_json())})),
        ("response.output_text.delta", json.dumps({"type": "response.output_text.delta", "sequence_number": 1,
                                                   "item_id": "msg_1", "output_index": 1, "content_index": 0,
                                                   "delta": "Hi", "logprobs": []})),
        ("response.completed", json.dumps({"type": "response.completed", "sequence_number": 2,
                                           "response": json.loads(final.model_dump_json())})),
    ]  # fmt: skip
    path = tmp_path / "responses.sse"
    path.write_text(_sse(events))
    cut = tmp_path / "cut.sse"
    cut.write_text(_sse(events[:2]))
    with llmlens.open(":memory:") as lens:
        report = lens.load(path, progress=False)
        assert (report.rows_added["spans"], report.rejected) == (1, 0)
        assert lens.sql("SELECT output_text FROM spans").output_text.tolist() == ["Hi there"]
        assert int(lens.sql("SELECT count(*) AS n FROM tokens").n[0]) == 2
        cut_report = lens.load(cut, progress=False)
        assert cut_report.files[0].rejected == 1
        assert "no final response event" in cut_report.files[0].reasons[0]


def test_openinference_instrumented_calls_keep_their_logprobs(tmp_path: Path) -> None:
    """The real OpenInference OpenAI instrumentor, with the openai client on a mock HTTP transport."""
    import httpx
    import openai
    from openinference.instrumentation.openai import OpenAIInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tests.otel_fixtures import hex_ids, protobuf_json

    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/responses"):
            return httpx.Response(200, json=json.loads(responses_api_response().model_dump_json()))
        if json.loads(request.content).get("stream"):
            stream = _sse([(None, chunk.model_dump_json()) for chunk in chat_chunks()]) + "data: [DONE]\n\n"
            return httpx.Response(200, content=stream.encode(), headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=json.loads(chat_completion().model_dump_json()))

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(api_key="test", base_url="http://llm.test/v1",
                               http_client=httpx.Client(transport=httpx.MockTransport(reply)))  # fmt: skip
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Price?"}],
                                       logprobs=True, top_logprobs=2)  # fmt: skip
        client.responses.create(model="gpt-4.1-mini", input="Hi?", include=["message.output_text.logprobs"])
        streamed = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Price?"}], logprobs=True, stream=True
        )
        assert "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices) == "Hi €"
    finally:
        instrumentor.uninstrument()
    path = write_jsonl(tmp_path / "spans.jsonl", [hex_ids(protobuf_json(exporter.get_finished_spans()))])
    with llmlens.open(":memory:") as lens:
        lens.load(path, progress=False)
        spans = lens.sql("SELECT name, kind, model, input_tokens FROM spans ORDER BY ALL").values.tolist()
        assert spans == [["ChatCompletion", "LLM", "gpt-4o-mini", 5], ["ChatCompletion", "LLM", "gpt-4o-mini", 9],
                         ["Response", "LLM", "gpt-4.1-mini", 7]]  # fmt: skip
        tokens = lens.sql(
            "SELECT s.name, t.choice, count(*) AS n FROM tokens t JOIN spans s USING (trace_id, span_id) "
            "GROUP BY s.span_id, s.name, t.choice ORDER BY s.name, t.choice, n"
        ).values.tolist()
        assert tokens == [
            ["ChatCompletion", 0, 3],
            ["ChatCompletion", 0, 3],
            ["ChatCompletion", 1, 1],
            ["Response", 0, 2],
        ]
        output = lens.sql(
            "SELECT content FROM messages m JOIN spans s USING (trace_id, span_id) "
            "WHERE s.name = 'Response' AND side = 'output' ORDER BY position"
        ).content.tolist()
        assert "Hi there" in output


def test_one_response_of_100k_tokens_loads_into_a_file_store_within_the_memory_limit(tmp_path: Path) -> None:
    """A 34 MB response: no field may re-parse all of it (that took 20 s and failed under the 1 GB load limit)."""
    top = [{"token": t, "logprob": -1.5, "bytes": list(t.encode())} for t in (" a", " b", " c", " d", " e")]
    content = [{"token": " a", "logprob": -0.2, "bytes": [32, 97], "top_logprobs": top}] * 100_000
    response = {"object": "chat.completion", "id": "long", "model": "m", "usage": {"completion_tokens": 100_000},
                "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": "a"},
                             "logprobs": {"content": content}}]}  # fmt: skip
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(response) + "\n")
    assert path.stat().st_size > 30_000_000
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        report = lens.load(path, progress=False).files[0]
        assert (report.rows_added["spans"], report.rows_added["tokens"]) == (1, 100_000)
        assert lens.sql("SELECT output_tokens, model FROM spans").values.tolist() == [[100_000, "m"]]
        alternatives = lens.sql("SELECT sum(len(alternatives)) AS n FROM tokens").n[0]
        assert int(alternatives) == 500_000
