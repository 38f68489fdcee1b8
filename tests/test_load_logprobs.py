"""Token log-probabilities recovered from raw OpenAI responses stored in span outputs (OpenInference output.value)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openai.types import Completion
from openai.types.chat import ChatCompletion

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
        assert lens.sql("SELECT reason FROM rejects").reason.tolist() == ["not an OpenAI completion: no choices list"]
        again = lens.load(pairs, format="openai-log", progress=False)
        assert again.files[0].status == "skipped"
