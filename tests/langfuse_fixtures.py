"""Langfuse exports as Langfuse writes them, for the loader's tests.

Blob-storage export rows follow the field reference (langfuse-docs ``blob-storage-export-fields.mdx``) and the
server's export code (``langfuse/langfuse``: ``LEGACY_OBSERVATION_EXPORT_FIELDS``, ``EVENTS_FIELDS``, the
traces and scores export queries): snake_case columns in that order, timestamps ``YYYY-MM-DD HH:MM:SS.ffffff``
in UTC, ``input``/``output``/``model_parameters`` as text, ``metadata`` a map of text, maps and arrays as JSON.
The writers copy Langfuse's: JSON is one compact array, JSON Lines one object per line, CSV quotes every field
(``transformStreamToCsv``: strings as they are, other values JSON-encoded, null empty), Parquet has ClickHouse's
types (maps, lists, timestamps in UTC). API objects come from the ``langfuse`` SDK's own models.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

T0 = dt.datetime(2024, 5, 29, 13, 46, 19, 963000, tzinfo=dt.timezone.utc)

TRACE = "3f2b9c4e8a1d4e6fb2c7a9d0e1f2a3b4"
"""A trace id as the Langfuse OpenTelemetry SDKs make them (32 hex digits)."""


def ts(ms: int) -> str:
    """A blob-export timestamp ``ms`` milliseconds after ``T0``."""
    return (T0 + dt.timedelta(milliseconds=ms)).strftime("%Y-%m-%d %H:%M:%S.%f")


CHAT_INPUT = [
    {"role": "system", "content": "You answer questions about the pricing page."},
    {"role": "user", "content": "How much is Pro?"},
]
CHAT_OUTPUT = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_price", "arguments": '{"plan":"pro"}'}}
    ],
}


def observation(
    id: str,
    type: str,
    parent: str = "",
    *,
    trace: str = TRACE,
    start: int = 0,
    end: int | None = 100,
    name: str | None = None,
    enriched: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """One observation row of a blob export: ``observations_v2/`` (``enriched``, with the trace's context) or the
    legacy ``observations/`` file (no trace context; a root's parent is null there, an empty string in v2)."""
    row: dict[str, Any] = {
        "id": id, "trace_id": trace, "project_id": "cm1proj", "environment": "production", "type": type,
        "parent_observation_id": parent if enriched else (parent or None),
        "start_time": ts(start), "end_time": None if end is None else ts(end), "name": name or id,
        "metadata": {"resourceAttributes": json.dumps({"service.name": "pricing-bot"})},
        "level": "DEFAULT", "status_message": "", "version": "", "input": "", "output": "",
        "provided_model_name": "", "model_parameters": "", "usage_details": {}, "cost_details": {},
        "completion_start_time": None, "prompt_name": "", "prompt_version": None, "total_cost": 0.0,
        "latency": None if end is None else (end - start) / 1000, "time_to_first_token": None, "model_id": "",
        "created_at": ts(end or start), "updated_at": ts(end or start), "prompt_id": "", "tool_calls": [],
        "tool_call_names": [], "tool_definitions": {}, "usage_pricing_tier_id": None,
        "usage_pricing_tier_name": None,
    }  # fmt: skip
    if enriched:
        row |= {"user_id": "user-7", "session_id": "session-1", "trace_name": "pricing-question",
                "tags": ["faq"], "release": "v1.2.0", "bookmarked": False, "public": False,
                "is_root_observation": not parent}  # fmt: skip
    else:
        row["status_message"] = row["version"] = row["prompt_name"] = row["prompt_id"] = None
        row["provided_model_name"] = row["model_parameters"] = row["model_id"] = None
    return row | fields


def generation(id: str, parent: str, **fields: Any) -> dict[str, Any]:
    """A chat GENERATION as the Langfuse OpenAI integration records it: messages in, the message out."""
    defaults: dict[str, Any] = {
        "name": "OpenAI-generation", "input": json.dumps(CHAT_INPUT), "output": json.dumps(CHAT_OUTPUT),
        "provided_model_name": "gpt-4o-2024-08-06",
        "model_parameters": json.dumps({"temperature": 0.2, "max_tokens": 256}),
        "usage_details": {"input": 50, "input_cached_tokens": 14, "output": 18, "total": 82},
        "cost_details": {"input": 0.000125, "input_cached_tokens": 0.0000175, "output": 0.00018, "total": 0.0003225},
        "total_cost": 0.0003225, "completion_start_time": ts(30), "tool_call_names": ["get_price"],
        "tool_calls": [json.dumps(CHAT_OUTPUT["tool_calls"][0])],
    }  # fmt: skip
    return observation(id, "GENERATION", parent, **(defaults | fields))


def trace_tree(trace: str = TRACE, *, enriched: bool = True) -> list[dict[str, Any]]:
    """One question answered: a root SPAN, a RETRIEVER, a GENERATION that calls a TOOL, a failing TOOL and an EVENT."""
    return [
        observation("a1b2c3d4e5f60708", "SPAN", trace=trace, end=900, name="answer", enriched=enriched,
                    input=json.dumps({"args": ["How much is Pro?"], "kwargs": {}}), output='"Pro costs $59."'),
        observation("1111111111111111", "RETRIEVER", "a1b2c3d4e5f60708", trace=trace, start=5, end=80,
                    name="search-docs", enriched=enriched, input='"pricing pro"', output='[{"id": "doc-3"}]'),
        generation("2222222222222222", "a1b2c3d4e5f60708", trace=trace, start=100, end=700, enriched=enriched),
        observation("3333333333333333", "TOOL", "2222222222222222", trace=trace, start=710, end=720,
                    name="get_price", enriched=enriched, input='{"plan":"pro"}', output='{"usd": 59}'),
        observation("4444444444444444", "TOOL", "a1b2c3d4e5f60708", trace=trace, start=730, end=740,
                    name="get_discount", enriched=enriched, level="ERROR", status_message="discount service down"),
        observation("5555555555555555", "EVENT", "a1b2c3d4e5f60708", trace=trace, start=800, end=None,
                    name="cache-miss", enriched=enriched),
    ]  # fmt: skip


def trace_row(trace: str = TRACE, **fields: Any) -> dict[str, Any]:
    """A row of the legacy ``traces/`` file (its fixed column set)."""
    return {
        "id": trace, "timestamp": ts(0), "name": "pricing-question", "environment": "production",
        "project_id": "cm1proj", "metadata": {"feature": "pricing"}, "user_id": "user-7", "session_id": "session-1",
        "release": "v1.2.0", "version": None, "public": False, "bookmarked": True, "tags": ["faq"],
        "input": json.dumps({"question": "How much is Pro?"}), "output": '"Pro costs $59."',
        "created_at": ts(0), "updated_at": ts(900),
    } | fields  # fmt: skip


def score(id: str, name: str, data_type: str, value: float, string_value: str | None = None, *,
          trace: str | None = TRACE, observation: str | None = None, source: str = "API", **fields: Any,
          ) -> dict[str, Any]:  # fmt: skip
    """A row of the ``scores/`` file."""
    return {
        "id": id, "timestamp": ts(1000), "project_id": "cm1proj", "environment": "production", "trace_id": trace,
        "observation_id": observation, "session_id": None, "dataset_run_id": None, "name": name, "value": value,
        "source": source, "comment": None, "data_type": data_type, "string_value": string_value,
        "created_at": ts(1000), "updated_at": ts(1000),
    } | fields  # fmt: skip


# ---- writers


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """JSON Lines as ClickHouse's JSONEachRow gives them."""
    path.write_text("".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows))
    return path


def write_json(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """One JSON array, as ``transformStreamToJson`` writes it."""
    path.write_text("[" + ",".join(json.dumps(row, separators=(",", ":")) for row in rows) + "]")
    return path


def _csv_field(value: Any) -> str:
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return '"' + text.replace('"', '""') + '"'


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """CSV as ``transformStreamToCsv`` writes it: the first row's keys as the header, every field quoted."""
    names = list(rows[0])
    lines = [",".join(_csv_field(name) for name in names)]
    lines += [",".join(_csv_field(row.get(name)) for name in names) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode())
    return path


_MAPS = {
    "usage_details": pa.map_(pa.string(), pa.uint64()), "cost_details": pa.map_(pa.string(), pa.float64()),
    "metadata": pa.map_(pa.string(), pa.string()), "tool_definitions": pa.map_(pa.string(), pa.string()),
}  # fmt: skip
_TIMES = {"start_time", "end_time", "completion_start_time", "created_at", "updated_at", "timestamp"}


def _parquet_type(name: str, values: list[Any]) -> pa.DataType:
    if name in _MAPS:
        return _MAPS[name]
    if name in _TIMES:
        return pa.timestamp("ms", tz="UTC")
    kinds = frozenset(type(v) for v in values if v is not None)
    by_kinds = {frozenset({bool}): pa.bool_(), frozenset({int}): pa.int64(), frozenset({float}): pa.float64(),
                frozenset({int, float}): pa.float64(), frozenset({list}): pa.list_(pa.string())}  # fmt: skip
    return by_kinds.get(kinds, pa.string())


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Parquet with the types ClickHouse writes for the export's columns."""
    columns = {}
    for name in rows[0]:
        values = [row.get(name) for row in rows]
        kind = _parquet_type(name, values)
        if name in _TIMES:
            values = [None if v is None else dt.datetime.strptime(v, "%Y-%m-%d %H:%M:%S.%f").replace(
                tzinfo=dt.timezone.utc) for v in values]  # fmt: skip
        elif pa.types.is_map(kind):
            values = [None if v is None else [(k, str(x) if kind.item_type == pa.string() else x)
                                              for k, x in v.items()] for v in values]  # fmt: skip
        columns[name] = pa.array(values, kind)
    pq.write_table(pa.table(columns), path)
    return path


WRITERS = {"json": write_json, "jsonl": write_jsonl, "csv": write_csv, "parquet": write_parquet}


# ---- the UI's batch exports (camelCase rows, as the worker's trace, observation and score streams build them)


def when(ms: int) -> dt.datetime:
    """A time ``ms`` after ``T0``: the UI's exports hold JavaScript Dates."""
    return T0 + dt.timedelta(milliseconds=ms)


def ui_trace(trace: str = TRACE) -> dict[str, Any]:
    """A row of the UI's traces export (scores flattened into a column per score name, then the comments)."""
    return {
        "id": trace, "timestamp": when(0), "name": "pricing-question", "userId": "user-7", "sessionId": "session-1",
        "release": "v1.2.0", "version": None, "environment": "production", "tags": ["faq"], "bookmarked": False,
        "public": False, "input": {"question": "How much is Pro?"}, "output": "Pro costs $59.",
        "metadata": {"feature": "pricing"}, "correctness": [0.9], "tone": ["friendly"], "comments": [],
    }  # fmt: skip


def ui_observations(trace: str = TRACE) -> list[dict[str, Any]]:
    """Rows of the UI's observations export: ``convertObservation`` with the trace's name, tags and user, and
    the model's prices; input and output parsed from JSON."""

    def row(id: str, type: str, parent: str | None, span: tuple[int, int], name: str, **fields: Any) -> dict[str, Any]:
        start, end = span
        return {
            "id": id, "traceId": trace, "startTime": when(start), "endTime": when(end), "projectId": "cm1proj",
            "parentObservationId": parent, "type": type, "environment": "production", "name": name,
            "level": "DEFAULT", "statusMessage": None, "version": None, "createdAt": when(end),
            "updatedAt": when(end), "input": None, "output": None, "metadata": {}, "model": None,
            "internalModelId": None, "modelParameters": None, "completionStartTime": None, "promptId": None,
            "promptName": None, "promptVersion": None, "latency": (end - start) / 1000, "timeToFirstToken": None,
            "providedUsageDetails": {}, "usageDetails": {}, "costDetails": {}, "providedCostDetails": {},
            "inputCost": None, "outputCost": None, "totalCost": 0, "inputUsage": 0, "outputUsage": 0,
            "totalUsage": 0, "usagePricingTierId": None, "usagePricingTierName": None, "toolDefinitions": None,
            "toolCalls": None, "toolCallNames": None, "traceName": "pricing-question", "traceTags": ["faq"],
            "traceTimestamp": when(0), "userId": "user-7", "toolDefinitionsCount": None, "toolCallsCount": None,
            "inputPrice": None, "outputPrice": None, "totalPrice": None, "helpful": None, "comments": [],
        } | fields  # fmt: skip

    return [
        row("a1b2c3d4e5f60708", "SPAN", None, (0, 900), "answer", input={"args": ["How much is Pro?"]},
            output="Pro costs $59."),
        row("2222222222222222", "GENERATION", "a1b2c3d4e5f60708", (100, 700), "OpenAI-generation", input=CHAT_INPUT,
            output=CHAT_OUTPUT, model="gpt-4o-2024-08-06", modelParameters={"temperature": 0.2},
            usageDetails={"input": 50, "output": 18, "total": 68}, costDetails={"total": 0.0003},
            inputUsage=50, outputUsage=18, totalUsage=68, totalCost=0.0003, inputPrice="0.0000025",
            helpful=[1]),
    ]  # fmt: skip


def ui_score(id: str, name: str, data_type: str, value: float | None, string_value: str | None = None,
             **fields: Any) -> dict[str, Any]:  # fmt: skip
    """A row of the UI's scores export."""
    return {
        "id": id, "traceId": TRACE, "sessionId": None, "datasetRunId": None, "timestamp": when(1000),
        "source": "ANNOTATION", "name": name, "dataType": data_type, "value": value, "stringValue": string_value,
        "comment": None, "metadata": {}, "observationId": None, "traceName": "pricing-question", "userId": "user-7",
        "traceTags": ["faq"], "environment": "production", "authorUserName": "Anna",
    } | fields  # fmt: skip


def _js(value: Any) -> Any:
    """A value as JSON.stringify writes it (Dates as ISO text in UTC with milliseconds)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, dict):
        return {k: _js(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js(v) for v in value]
    return value


def write_ui_json(path: Path, rows: list[dict[str, Any]]) -> Path:
    """The UI's JSON export (``transformStreamToJson``)."""
    return write_json(path, [_js(row) for row in rows])


def write_ui_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """The UI's CSV export: ``stringifyForCsv`` keeps strings as they are and JSON-encodes the rest (a Date becomes
    its ISO text in quotes); input and output are the stored text (not parsed for CSV)."""
    names = list(rows[0])
    cells = [list(names)]
    for row in rows:
        cells.append([
            "" if row.get(n) is None else row[n] if isinstance(row[n], str)
            else json.dumps(row[n], separators=(",", ":")) if n in ("input", "output")
            else json.dumps(_js(row[n]), separators=(",", ":"))
            for n in names
        ])  # fmt: skip
    path.write_text("".join(",".join('"' + c.replace('"', '""') + '"' for c in line) + "\n" for line in cells))
    return path
