"""OTLP trace files written from spans made by the real OpenTelemetry SDK."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode


def rag_spans() -> list[ReadableSpan]:
    """A RAG request traced with OpenInference and OpenTelemetry GenAI attributes, as instrumentors set them."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot", "deployment.environment": "ci"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("openinference.instrumentation.test", "1.2.3")
    with tracer.start_as_current_span(
        "rag",
        attributes={
            "openinference.span.kind": "CHAIN",
            "session.id": "s-1",
            "user.id": "u-7",
            "input.value": "How much is Pro?",
        },
    ):
        with tracer.start_as_current_span("retrieve", attributes={"openinference.span.kind": "RETRIEVER"}) as retrieve:
            retrieve.add_event("cache_miss", {"shard": 3})
        with tracer.start_as_current_span(
            "ChatCompletion",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o-mini",
                "llm.provider": "openai",
                "llm.token_count.prompt": 97,
                "llm.token_count.completion": 12,
                "llm.token_count.total": 109,
                "output.value": "Pro costs $59.",
                "llm.invocation_parameters": '{"temperature": 0.2}',
                "tag.tags": ["pricing", "faq"],
                "llm.cost.total": 0.0000217,
            },
            links=[Link(retrieve.get_span_context(), {"link.reason": "grounding"})],
        ):
            pass
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.usage.input_tokens": 40,
                "gen_ai.usage.output_tokens": 8,
                "gen_ai.agent.name": "pricing_agent",
            },
        ) as failing:
            failing.set_status(Status(StatusCode.ERROR, "rate limited"))
    provider.shutdown()
    return list(exporter.get_finished_spans())


def protobuf_json(spans: Sequence[ReadableSpan]) -> dict[str, object]:
    """ExportTraceServiceRequest as protobuf's JSON mapping writes it: base64 ids, int64 as strings."""
    return MessageToDict(encode_spans(spans))


def hex_ids(document: object) -> object:
    """The same document with hex ids, as the OTLP file exporter specification asks."""
    import base64

    if isinstance(document, dict):
        return {
            key: base64.b64decode(value).hex()
            if key in ("traceId", "spanId", "parentSpanId") and value
            else hex_ids(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [hex_ids(item) for item in document]
    return document


def write_jsonl(path: Path, documents: Sequence[object]) -> Path:
    path.write_text("".join(json.dumps(document) + "\n" for document in documents))
    return path


def conversation_spans() -> list[ReadableSpan]:
    """Spans carrying messages, retrieved documents and embeddings in each convention's own shape."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "conventions"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("fixtures")
    openinference = {
        "openinference.span.kind": "LLM",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You are terse.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.contents.0.message_content.type": "text",
        "llm.input_messages.1.message.contents.0.message_content.text": "Weather in ",
        "llm.input_messages.1.message.contents.1.message_content.type": "text",
        "llm.input_messages.1.message.contents.1.message_content.text": "Paris?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"city": "Paris"}',
    }
    with tracer.start_as_current_span("openinference llm", attributes=openinference):
        pass
    genai_input = [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]
    genai_output = [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me check."},
                {"type": "tool_call", "id": "1234", "name": "get_weather", "arguments": {"location": "Paris"}},
            ],
            "finish_reason": "tool_call",
        }
    ]
    with tracer.start_as_current_span(
        "chat gpt-4o",
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.input.messages": json.dumps(genai_input),
            "gen_ai.output.messages": json.dumps(genai_output),
        },
    ):
        pass
    with tracer.start_as_current_span(
        "openllmetry chat",
        attributes={
            "gen_ai.system": "openai",
            "gen_ai.prompt.0.role": "user",
            "gen_ai.prompt.0.content": "hello",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.content": "hi there",
            "gen_ai.completion.0.finish_reason": "stop",
        },
    ):
        pass
    with tracer.start_as_current_span(
        "retrieve",
        attributes={
            "openinference.span.kind": "RETRIEVER",
            "retrieval.documents.0.document.id": "doc-7",
            "retrieval.documents.0.document.content": "Paris is sunny.",
            "retrieval.documents.0.document.score": 0.91,
            "retrieval.documents.0.document.metadata": '{"source": "wiki"}',
            "retrieval.documents.1.document.id": "doc-2",
            "retrieval.documents.1.document.score": 0.42,
        },
    ):
        pass
    with tracer.start_as_current_span(
        "genai retrieval",
        attributes={
            "gen_ai.operation.name": "retrieval",
            "gen_ai.retrieval.documents": json.dumps([{"id": "a", "score": 0.5}, {"id": "b", "score": 0.25}]),
        },
    ):
        pass
    with tracer.start_as_current_span(
        "embed",
        attributes={
            "openinference.span.kind": "EMBEDDING",
            "embedding.model_name": "text-embedding-3-small",
            "embedding.embeddings.0.embedding.text": "Weather in Paris?",
            "embedding.embeddings.0.embedding.vector": [0.25, -0.5, 1.0],
        },
    ):
        pass
    provider.shutdown()
    return list(exporter.get_finished_spans())


def console_output(spans: Sequence[ReadableSpan]) -> str:
    """What the SDK's ConsoleSpanExporter prints for these spans."""
    import io

    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    out = io.StringIO()
    ConsoleSpanExporter(out=out).export(spans)
    return out.getvalue()


def genai_log_call() -> tuple[list[ReadableSpan], list[Any]]:
    """One chat call through OpenTelemetry's own OpenAI instrumentation (opentelemetry-instrumentation-openai-v2)
    with content capture on: the span carries no messages, the log records (GenAI events) carry them all."""
    import os

    import httpx
    import openai
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    response = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_763_000_000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "Let me look.",
                    "tool_calls": [
                        {"id": "call_1", "type": "function",
                         "function": {"name": "lookup_price", "arguments": '{"plan": "pro"}'}}
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30},
    }  # fmt: skip
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider, logger_provider = TracerProvider(), LoggerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, logger_provider=logger_provider)
    try:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json=response))
        http_client = httpx.Client(transport=transport)
        client = openai.OpenAI(api_key="test", base_url="http://llm.test/v1", http_client=http_client)
        system, user = {"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "How much is Pro?"}
        client.chat.completions.create(model="gpt-4o-mini", messages=[system, user])  # type: ignore[list-item]
    finally:
        instrumentor.uninstrument()
        del os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"]
    return list(spans.get_finished_spans()), list(logs.get_finished_logs())


def logs_protobuf_json(records: Sequence[Any]) -> dict[str, object]:
    """ExportLogsServiceRequest as protobuf's JSON mapping writes it (base64 ids, int64 as strings)."""
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

    return MessageToDict(encode_logs(records))
