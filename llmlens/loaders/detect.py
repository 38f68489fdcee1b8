"""Telling a file's format from its content, never from its name."""

from __future__ import annotations

import re

SNIFF_BYTES = 65_536

_SIGNATURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("otlp-json", re.compile(r"\"resource(Spans|Logs)\"\s*:")),
    ("otel-console", re.compile(r"\"context\"\s*:\s*\{\s*\"trace_id\"\s*:\s*\"0x")),
    ("hf-trainer", re.compile(r"\"log_history\"\s*:\s*\[")),
    # a CSV header of plain metric names with a step column: Lightning's CSVLogger
    ("lightning-csv", re.compile(r"\A(?=[^\n]*,)(?=[^\n]*\bstep\b)[\w./ :@\-,]+\r?\n")),
    ("openai-log", re.compile(r"\"object\"\s*:\s*\"(chat\.completion(\.chunk)?|text_completion|response)\"")),
)


def sniff(head: bytes) -> str | None:
    """The format whose signature appears in the first bytes of a file, or None.

    >>> sniff(b'{"resourceSpans": [{"scopeSpans": []}]}')
    'otlp-json'
    >>> sniff(b'{\\n    "name": "chat",\\n    "context": {\\n        "trace_id": "0x5b8e"')
    'otel-console'
    >>> sniff(b"epoch,step,loss\\n0,1,0.5\\n")
    'lightning-csv'
    >>> sniff(b"lr: 0.1\\n") is None
    True
    """
    text = head[:SNIFF_BYTES].decode("utf-8", errors="replace")
    for name, signature in _SIGNATURES:
        if signature.search(text):
            return name
    return None
