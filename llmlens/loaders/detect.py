"""Telling a file's format from its content, never from its name."""

from __future__ import annotations

import re
from collections.abc import Mapping

from llmlens.loaders import agents_sdk, langfuse_export, langsmith_runs, metric_tables

SNIFF_BYTES = 65_536

_SIGNATURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # an Inspect AI .json log: "version" and "status", then "eval" (the spec, opening with one of its first fields),
    # lead (its samples may quote OpenAI responses; a W&B history row may open with an "eval" object of metrics)
    (
        "inspect",
        re.compile(
            r'\A\s*\{\s*(?:"(?:version|status)"\s*:\s*(?:\d+|"\w+")\s*,\s*){0,2}"eval"\s*:\s*\{'
            r'\s*"(?:eval_set_id|eval_id|run_id|created|task)"\s*:'
        ),
    ),
    ("otlp-json", re.compile(r"\"resource(Spans|Logs)\"\s*:")),
    ("otel-console", re.compile(r"\"context\"\s*:\s*\{\s*\"trace_id\"\s*:\s*\"0x")),
    ("hf-trainer", re.compile(r"\"log_history\"\s*:\s*\[")),
    # LangSmith runs (before openai-log: their outputs quote OpenAI responses)
    (langsmith_runs.NAME, langsmith_runs.SIGNATURE),
    # Langfuse exports (before openai-log: an exported generation's output may be an OpenAI response); CSV headers
    # are told after the metric tables, in loaders._format_of
    (langfuse_export.NAME, langfuse_export.JSON_SIGNATURE),
    # OpenAI Agents SDK exports (before openai-log: a custom span's data may quote anything)
    (agents_sdk.NAME, agents_sdk.SIGNATURE),
    ("openai-log", re.compile(r"\"object\"\s*:\s*\"(chat\.completion(\.chunk)?|text_completion|response)\"")),
    # a W&B history or events line (older SDKs); a summary (whose "_wandb" is an object) is not
    ("wandb-history", re.compile(r'\A\s*\{(?=[^\n]*"_runtime":)(?=[^\n]*"_timestamp":)(?![^\n]*"_wandb":\s*\{)')),
)


def sniff(head: bytes, columns: Mapping[str, str] | None = None) -> str | None:
    """The format whose signature appears in the first bytes of a file, else the metric table its header names
    (a CSV header or a first JSON object: long, wide, W&B export or Lightning, see
    :func:`llmlens.loaders.metric_tables.sniff`; ``columns`` as ``load`` takes it), or None.

    >>> sniff(b'{"resourceSpans": [{"scopeSpans": []}]}')
    'otlp-json'
    >>> sniff(b'{\\n    "name": "chat",\\n    "context": {\\n        "trace_id": "0x5b8e"')
    'otel-console'
    >>> sniff(b"epoch,step,loss\\n0,1,0.5\\n"), sniff(b"run,step,loss\\n"), sniff(b"run,metric,step,value\\n")
    ('lightning-csv', 'metrics-wide', 'metrics-long')
    >>> sniff(b"lr: 0.1\\n") is None
    True
    """
    text = head[:SNIFF_BYTES].decode("utf-8", errors="replace")
    for name, signature in _SIGNATURES:
        if signature.search(text):
            return name
    return metric_tables.sniff(head, columns)
