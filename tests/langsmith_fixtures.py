"""LangSmith runs as the ``langsmith`` SDK sends them, for the loader's tests, made offline.

The SDK's own client serialises the runs: its request to ``/runs/batch`` (``Client._post_batch_ingest_runs``) is
caught, and its body (``{"post": [...], "patch": [...]}``, what the SDK POSTs) kept, so nothing leaves the process.
Runs come from ``RunTree`` (posted when they start, patched when they end, as ``@traceable`` does), from
``wrap_openai`` around a real OpenAI client answered by an ``httpx.MockTransport``, and from LangChain's
``LangChainTracer`` following a LangGraph graph with a fake chat model. Run objects as ``Client.list_runs`` gives
them are ``langsmith.schemas.Run`` built from the posted runs, serialised as users save them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

T0 = dt.datetime(2025, 3, 4, 12, 0, 0, 250000, tzinfo=dt.timezone.utc)

QUESTION = "How do I rotate my API key?"
ANSWER = "Open Settings, then API keys, then Rotate."

_BATCH_CONFIG = {
    "use_multipart_endpoint": False,  # the JSON /runs/batch endpoint
    "size_limit": 100,
    "size_limit_bytes": 20_000_000,
    "scale_up_qsize_trigger": 1000,
    "scale_up_nthreads_limit": 1,
    "scale_down_nempty_trigger": 4,
}


@contextlib.contextmanager
def capture() -> Iterator[tuple[Any, list[bytes]]]:
    """A LangSmith client whose batch requests are kept (their bodies, in order) instead of sent."""
    from langsmith import Client

    bodies: list[bytes] = []
    original = Client._post_batch_ingest_runs
    Client._post_batch_ingest_runs = lambda self, body, **_: bodies.append(bytes(body))  # type: ignore[method-assign]
    client = Client(api_url="http://127.0.0.1:9", api_key="offline", info={"version": "0.0",
                    "batch_ingest_config": _BATCH_CONFIG}, omit_traced_runtime_info=False)  # fmt: skip
    try:
        yield client, bodies
    finally:
        client.flush()
        Client._post_batch_ingest_runs = original  # type: ignore[method-assign]


def _token(text: str, logprob: float, *alternatives: tuple[str, float]) -> dict[str, Any]:
    top = [(text, logprob), *alternatives]
    return {"token": text, "logprob": logprob, "bytes": list(text.encode()),
            "top_logprobs": [{"token": t, "logprob": p, "bytes": list(t.encode())} for t, p in top]}  # fmt: skip


COMPLETION = {
    "id": "chatcmpl-ls1",
    "object": "chat.completion",
    "created": 1741089600,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": ANSWER, "refusal": None},
            "logprobs": {
                "content": [_token("Open", -0.02, ("Go", -4.1)), _token(" Settings", -0.3), _token("é", -9999.0)],
                "refusal": None,
            },
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 41, "completion_tokens": 9, "total_tokens": 50},
}
"""The chat completion the mock OpenAI server answers with (logprobs requested; one outside the top 20)."""


def _openai() -> Any:
    import httpx
    import openai
    from langsmith.wrappers import wrap_openai

    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=COMPLETION))
    return wrap_openai(openai.OpenAI(api_key="offline", base_url="http://openai.test/v1",
                                     http_client=httpx.Client(transport=transport)))  # fmt: skip


def rag_batches() -> list[bytes]:
    """One RAG trace as the SDK sends it, request by request: the root posted, a retriever posted then patched
    in a later request, an LLM call through ``wrap_openai`` (raw completion with logprobs), a tool that fails,
    and the root's patch last."""
    from langsmith import RunTree, tracing_context

    with capture() as (client, bodies):
        root = RunTree(name="support-rag", run_type="chain", inputs={"question": QUESTION}, ls_client=client,
                       project_name="support-bot", start_time=T0, tags=["prod"],
                       extra={"metadata": {"thread_id": "thread-7", "user_id": "u-42"}})  # fmt: skip
        root.post()
        client.flush()
        retriever = root.create_child("search-docs", run_type="retriever", inputs={"query": QUESTION},
                                      start_time=T0 + dt.timedelta(milliseconds=5))  # fmt: skip
        retriever.post()
        client.flush()
        retriever.end(outputs={"documents": [
            {"page_content": "API keys are rotated under Settings.", "metadata": {"source": "keys.md", "score": 0.91},
             "type": "Document"},
            {"page_content": "Billing FAQ.", "metadata": {"source": "billing.md", "score": 0.42}, "type": "Document"},
        ]}, end_time=T0 + dt.timedelta(milliseconds=80))  # fmt: skip
        retriever.patch()
        client.flush()
        with tracing_context(parent=root, client=client, enabled=True, project_name="support-bot"):
            _openai().chat.completions.create(
                model="gpt-4o-mini", logprobs=True, top_logprobs=2,
                messages=[{"role": "system", "content": "Answer from the docs."},
                          {"role": "user", "content": QUESTION}],
            )  # fmt: skip
        client.flush()
        tool = root.create_child("send-email", run_type="tool", inputs={"to": "u-42"})
        tool.post()
        tool.end(error="TimeoutError: SMTP server did not answer")
        tool.patch()
        client.flush()
        root.end(outputs={"answer": ANSWER})
        root.patch()
        client.flush()
    return bodies


def langgraph_batches() -> list[bytes]:
    """A LangGraph agent (agent → tools → agent) traced by LangChain's ``LangChainTracer``: chat model runs with
    LangChain-serialised messages, tool calls, a tool run, LangGraph node metadata and triggers."""
    from typing import Annotated, TypedDict

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
    from langchain_core.tools import tool
    from langchain_core.tracers.langchain import LangChainTracer
    from langgraph.graph import END, START, StateGraph
    from langgraph.graph.message import add_messages

    @tool
    def weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    logprobs = {"content": [_token("call", -0.05, ("Sun", -3.2))]}
    replies = iter([
        AIMessage(content="", tool_calls=[{"name": "weather", "args": {"city": "Paris"}, "id": "call_w1",
                                           "type": "tool_call"}],
                  response_metadata={"logprobs": logprobs, "model_name": "gpt-4o-2024-08-06",
                                     "finish_reason": "tool_calls"},
                  usage_metadata={"input_tokens": 30, "output_tokens": 7, "total_tokens": 37}),
        AIMessage(content="It is sunny in Paris.", response_metadata={"model_name": "gpt-4o-2024-08-06"},
                  usage_metadata={"input_tokens": 52, "output_tokens": 8, "total_tokens": 60}),
    ])  # fmt: skip
    model = GenericFakeChatModel(messages=replies)

    State = TypedDict("State", {"messages": Annotated[list[Any], add_messages]})  # noqa: UP013 (no string annotation)

    def agent(state: Any) -> dict[str, Any]:
        return {"messages": [model.invoke([SystemMessage("Be brief."), *state["messages"]])]}

    def tools(state: Any) -> dict[str, Any]:
        call = state["messages"][-1].tool_calls[0]
        return {"messages": [ToolMessage(weather.invoke(call["args"]), tool_call_id=call["id"], name="weather")]}

    def route(state: Any) -> str:
        return "tools" if state["messages"][-1].tool_calls else END

    graph = StateGraph(State)
    graph.add_node("agent", agent)
    graph.add_node("tools", tools)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route, ["tools", END])
    graph.add_edge("tools", "agent")
    with capture() as (client, bodies):
        tracer = LangChainTracer(client=client, project_name="weather-agent")
        graph.compile().invoke({"messages": [HumanMessage("Weather in Paris?")]},
                               config={"callbacks": [tracer], "metadata": {"thread_id": "conv-1"}})  # fmt: skip
        tracer.wait_for_futures()
    return bodies


def posted_runs(bodies: list[bytes]) -> list[dict[str, Any]]:
    """The runs of batch bodies, each as the server keeps it (its posts with its patches applied, in order)."""
    runs: dict[str, dict[str, Any]] = {}
    for body in bodies:
        batch = json.loads(body)
        for run in batch.get("post", []):
            runs[run["id"]] = dict(run)
        for patch in batch.get("patch", []):
            runs[patch["id"]].update({k: v for k, v in patch.items() if v is not None})
    return list(runs.values())


def run_objects(bodies: list[bytes], project_id: str = "7b8f3c1e-2d4a-4e5b-9c6d-0f1e2d3c4b5a") -> list[Any]:
    """``langsmith.schemas.Run`` objects of the runs, as ``Client.list_runs`` returns them: the project as a
    ``session_id``, a status, token counts and costs (LLM runs their own, other runs the sums of their LLM runs, as
    LangSmith shows them) and the root's feedback stats."""
    from langsmith.schemas import Run

    runs = posted_runs(bodies)
    llm = [r for r in runs if r["run_type"] == "llm"]
    objects = []
    for run in runs:
        usage = (run.get("extra") or {}).get("metadata", {}).get("usage_metadata") or {}
        prompt, completion = (usage.get("input_tokens", 0), usage.get("output_tokens", 0)) if run in llm else (
            sum(r["extra"]["metadata"]["usage_metadata"]["input_tokens"] for r in llm),
            sum(r["extra"]["metadata"]["usage_metadata"]["output_tokens"] for r in llm))  # fmt: skip
        fields = {k: v for k, v in run.items() if k not in ("session_name",)}
        objects.append(Run(
            **fields, session_id=project_id, status="error" if run.get("error") else "success",
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
            prompt_cost=prompt * 2.5e-6, completion_cost=completion * 1e-5,
            total_cost=prompt * 2.5e-6 + completion * 1e-5,
            feedback_stats=None if run.get("parent_run_id") else {"correctness": {"n": 2, "avg": 0.5, "values": {}}},
        ))  # fmt: skip
    return objects
