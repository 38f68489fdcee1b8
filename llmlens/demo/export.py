"""The demo's traces written as the files real tools write, so the demo store is built through the loaders.

Spans become OTLP JSON Lines (one ``TracesData`` per line, hex ids, nanosecond times as strings), with
OpenInference attributes: ``openinference.span.kind``, ``input.value``/``output.value``, ``llm.*`` model,
provider, token counts and cost, flattened ``llm.input_messages.N``/``llm.output_messages.N``,
``retrieval.documents.N.document.*``, ``embedding.embeddings.N.embedding.*``, ``session.id``, ``user.id``,
``agent.name``, and handoffs as ``gen_ai.agent.handoff.{source,target}.name``. An LLM span with logprobs carries
the raw chat completion in ``output.value``, as the OpenInference OpenAI instrumentor records it. Gateway logs
are written as OpenAI ``{request, response}`` JSON Lines.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

SPANS_PER_LINE = 200

_OTEL_KIND = {"INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
_STATUS = {"OK": 1, "ERROR": 2}
_COLUMNS = {  # span column -> OpenInference attribute
    "input_text": "input.value",
    "output_text": "output.value",
    "provider": "llm.provider",
    "input_tokens": "llm.token_count.prompt",
    "output_tokens": "llm.token_count.completion",
    "total_tokens": "llm.token_count.total",
    "cost_usd": "llm.cost.total",
    "session_id": "session.id",
    "user_id": "user.id",
    "agent_name": "agent.name",
}


def write_otlp(path: Path, tables: dict[str, pa.Table]) -> Path:
    """Write the spans of ``tables`` (with their ``messages``, ``documents``, span ``embeddings`` and ``tokens``)
    as OTLP JSON Lines at ``path``; return it."""
    children = _children(tables)
    spans = tables["spans"].to_pylist()
    with path.open("w", encoding="utf-8") as out:
        for first in range(0, len(spans), SPANS_PER_LINE):
            batch = spans[first : first + SPANS_PER_LINE]
            by_service: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for span in batch:
                by_service[span["service_name"]].append(_span(span, children[(span["trace_id"], span["span_id"])]))
            out.write(json.dumps({"resourceSpans": [
                {"resource": {"attributes": [otlp_attribute("service.name", service)]},
                 "scopeSpans": [{"scope": {"name": "openinference.instrumentation.demo", "version": "1.0"},
                                 "spans": otlp_spans}]}
                for service, otlp_spans in by_service.items()
            ]}, ensure_ascii=False) + "\n")  # fmt: skip
    return path


def write_openai_log(path: Path, calls: list[dict[str, Any]]) -> Path:
    """Write ``{request, response}`` pairs as JSON Lines, as an LLM gateway logs them; return ``path``."""
    with path.open("w", encoding="utf-8") as out:
        for call in calls:
            out.write(json.dumps(call, ensure_ascii=False) + "\n")
    return path


def chat_completion(
    response_id: str, created: int, model: str, answer: str, tokens: list[dict[str, Any]], usage: tuple[int, int]
) -> dict[str, Any]:
    """A chat completion response with token logprobs, as the OpenAI API returns it."""
    return {
        "id": response_id, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": answer},
                     "logprobs": {"content": tokens, "refusal": None}}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }  # fmt: skip


def token_logprobs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``tokens`` table rows of one answer as the API's ``logprobs.content`` items (missing logprobs: -9999)."""

    def item(token: str, raw: bytes, logprob: float | None) -> dict[str, Any]:
        return {"token": token, "bytes": list(raw), "logprob": -9999.0 if logprob is None else logprob}

    return [
        {**item(row["token"], row["bytes"], row["logprob"]),
         "top_logprobs": [item(a["token"], a["bytes"], a["logprob"]) for a in row["alternatives"] or []]}
        for row in sorted(rows, key=lambda row: row["position"])
    ]  # fmt: skip


def _children(tables: dict[str, pa.Table]) -> dict[tuple[str, str], dict[str, list[dict[str, Any]]]]:
    found: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for name in ("messages", "documents", "embeddings", "tokens"):
        if name in tables:
            for row in tables[name].to_pylist():
                if row.get("span_id") is not None:
                    found[(row["trace_id"], row["span_id"])][name].append(row)
    return found


def _span(span: dict[str, Any], children: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    attributes: dict[str, Any] = {"openinference.span.kind": span["kind"]}
    for column, key in _COLUMNS.items():
        if span.get(column) is not None:
            attributes[key] = span[column]
    if span.get("model"):
        attributes["embedding.model_name" if span["kind"] == "EMBEDDING" else "llm.model_name"] = span["model"]
    extra = json.loads(span["attributes"]) if span.get("attributes") else {}
    attributes.update({key: json.dumps(value) if isinstance(value, dict | list) else value
                       for key, value in extra.items()})  # fmt: skip
    if span["kind"] == "HANDOFF":
        attributes["gen_ai.agent.handoff.source.name"] = span["input_text"]
        attributes["gen_ai.agent.handoff.target.name"] = span["output_text"]
    attributes.update(_messages(children["messages"]))
    attributes.update(_documents(children["documents"]))
    attributes.update(_embeddings(children["embeddings"]))
    if children["tokens"]:
        created = int(span["start_time"].timestamp())
        answer = next(m["content"] for m in children["messages"] if m["side"] == "output")
        usage = (span["input_tokens"], span["output_tokens"])
        response = chat_completion(
            f"chatcmpl-{span['span_id']}", created, span["model"], answer, token_logprobs(children["tokens"]), usage
        )
        attributes["output.value"] = json.dumps(response, ensure_ascii=False)
        attributes["output.mime_type"] = "application/json"
    status: dict[str, Any] = {"code": _STATUS.get(span["status_code"], 0)}
    if span.get("status_message"):
        status["message"] = span["status_message"]
    return {
        "traceId": span["trace_id"], "spanId": span["span_id"], "parentSpanId": span["parent_span_id"] or "",
        "name": span["name"], "kind": _OTEL_KIND.get(span["otel_kind"] or "", 1),
        "startTimeUnixNano": _nanos(span["start_time"]), "endTimeUnixNano": _nanos(span["end_time"]),
        "attributes": [otlp_attribute(key, value) for key, value in attributes.items()], "status": status,
    }  # fmt: skip


def _messages(rows: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    for row in rows:
        if row["side"] == "output" and row["position"] == 0 and row.get("finish_reason"):
            yield "llm.finish_reason", row["finish_reason"]
        prefix = f"llm.{row['side']}_messages.{row['position']}.message"
        yield f"{prefix}.role", row["role"]
        if row.get("content") is not None:
            yield f"{prefix}.content", row["content"]
        calls = [part for part in json.loads(row["parts"] or "[]") if part.get("type") == "tool_call"]
        for i, call in enumerate(calls):
            yield f"{prefix}.tool_calls.{i}.tool_call.id", call.get("id")
            yield f"{prefix}.tool_calls.{i}.tool_call.function.name", call.get("name")
            yield f"{prefix}.tool_calls.{i}.tool_call.function.arguments", call.get("arguments")


def _documents(rows: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    for row in rows:
        prefix = f"retrieval.documents.{row['position']}.document"
        yield f"{prefix}.id", row["document_id"]
        yield f"{prefix}.content", row["content"]
        yield f"{prefix}.score", row["score"]
        if row.get("metadata"):
            yield f"{prefix}.metadata", row["metadata"]


def _embeddings(rows: list[dict[str, Any]]) -> Iterator[tuple[str, Any]]:
    for i, row in enumerate(rows):
        yield f"embedding.embeddings.{i}.embedding.text", row["text"]
        yield f"embedding.embeddings.{i}.embedding.vector", [float(x) for x in row["vector"]]


def otlp_attribute(key: str, value: Any) -> dict[str, Any]:
    """An OTLP ``KeyValue`` as JSON: the ``AnyValue`` kind follows the Python type (lists become arrays)."""
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [otlp_attribute("", v)["value"] for v in value]}}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _nanos(moment: dt.datetime | None) -> str:
    return "0" if moment is None else str((moment - _EPOCH) // dt.timedelta(microseconds=1) * 1_000)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
