"""Telling a file's format from its content, never from its name."""

from __future__ import annotations

import re

SNIFF_BYTES = 65_536

_SIGNATURES: tuple[tuple[str, re.Pattern[str]], ...] = (("otlp-json", re.compile(r"\"resourceSpans\"\s*:")),)


def sniff(head: bytes) -> str | None:
    """The format whose signature appears in the first bytes of a file, or None.

    >>> sniff(b'{"resourceSpans": [{"scopeSpans": []}]}')
    'otlp-json'
    >>> sniff(b"step,loss\\n1,0.5\\n") is None
    True
    """
    text = head[:SNIFF_BYTES].decode("utf-8", errors="replace")
    for name, signature in _SIGNATURES:
        if signature.search(text):
            return name
    return None
