"""Answers as the provider returns them with ``logprobs``: byte pieces, log-probabilities, top-5 alternatives.

A multi-byte character (€, é, an emoji) is split across two pieces, as byte-level BPE does: each piece's text
is lossy, and only the concatenated bytes decode. Confidence depends on how the answer relates to the truth;
invented answers are least sure exactly at names and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from llmlens.demo.text import tokenize

ALTERNATIVES = 5

_SPREAD = {"correct": 0.12, "stale": 0.15, "unknown": 0.35, "invented": 0.9}
"""Typical |logprob| of an ordinary piece, by how the answer relates to the truth."""
_FACT_PENALTY = {"correct": 0.15, "stale": 0.15, "unknown": 0.3, "invented": 1.6}
"""Extra |logprob| of a piece that starts a name or a number (where an invented answer invents)."""
_RUNNER_UP_SHARES = (4.0, 2.0, 1.0, 0.6)
"""Dirichlet weights splitting the probability the chosen piece leaves to the other four alternatives."""


@dataclass(frozen=True)
class AnswerTokens:
    """Token rows of all answers, flat: ``owner[i]`` is the answer that token ``i`` belongs to."""

    owner: np.ndarray[Any, np.dtype[np.int64]]
    position: np.ndarray[Any, np.dtype[np.int64]]
    pieces: list[bytes]
    logprob: np.ndarray[Any, np.dtype[np.float64]]
    alternatives: pa.ListArray

    def counts(self, answers: int) -> np.ndarray[Any, np.dtype[np.int64]]:
        """Output tokens of each of ``answers`` answers."""
        return np.bincount(self.owner, minlength=answers)

    def texts(self) -> list[str]:
        """Each piece as text; a piece holding part of a character shows U+FFFD, as providers print it."""
        return [piece.decode("utf-8", errors="replace") for piece in self.pieces]


def answer_tokens(rng: np.random.Generator, answers: list[str], outcome: list[str]) -> AnswerTokens:
    """Tokenise ``answers`` and draw each piece's logprob and alternatives; ``outcome`` says how each is wrong."""
    split = [pieces(answer) for answer in answers]
    lengths = np.array([len(p) for p in split])
    owner = np.repeat(np.arange(len(answers)), lengths)
    position = np.arange(len(owner)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    flat = [piece for answer in split for piece in answer]
    spread = np.array([_SPREAD[o] for o in outcome])[owner]
    penalty = np.array([_FACT_PENALTY[o] for o in outcome])[owner]
    starts_fact = np.array([piece.strip()[:1].isdigit() or piece.strip()[:1].isupper() for piece in flat])
    logprob = -np.abs(rng.normal(0, spread)) - starts_fact * np.abs(rng.normal(penalty, penalty / 2))
    return AnswerTokens(owner, position, flat, logprob, _alternatives(rng, flat, logprob))


def pieces(text: str) -> list[bytes]:
    """``text`` as byte pieces; a multi-byte character is cut in two, mid-character.

    >>> pieces("55 €")
    [b'5', b'5', b' \\xe2', b'\\x82\\xac']
    """
    out: list[bytes] = []
    for token in tokenize(text):
        raw = token.encode()
        if len(raw) > len(token):
            cut = len(raw) // 2
            out += [raw[:cut], raw[cut:]]
        else:
            out.append(raw)
    return out


def _alternatives(rng: np.random.Generator, chosen: list[bytes], logprob: np.ndarray[Any, Any]) -> pa.ListArray:
    """Top-``ALTERNATIVES`` list per token, most likely first: the chosen piece and four other pieces."""
    others = _other_pieces(rng, chosen)
    rest = np.clip(1.0 - np.exp(logprob), 1e-6, None) * 0.95
    shares = -np.sort(-rng.dirichlet(_RUNNER_UP_SHARES, len(chosen)), axis=1)
    candidate_logprob = np.column_stack([logprob, np.log(rest[:, None] * shares)])
    candidates = np.column_stack([np.array(chosen, dtype=object), others])
    order = np.argsort(-candidate_logprob, axis=1, kind="stable")
    flat_bytes: list[bytes] = np.take_along_axis(candidates, order, axis=1).reshape(-1).tolist()
    flat_logprob = np.take_along_axis(candidate_logprob, order, axis=1).reshape(-1)
    entries = pa.StructArray.from_arrays(
        [
            pa.array([b.decode("utf-8", errors="replace") for b in flat_bytes]),
            pa.array(flat_bytes, pa.binary()),
            pa.array(flat_logprob),
        ],
        names=["token", "bytes", "logprob"],
    )
    offsets = pa.array(np.arange(0, len(flat_bytes) + 1, ALTERNATIVES, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, entries)


def _other_pieces(rng: np.random.Generator, chosen: list[bytes]) -> np.ndarray[Any, Any]:
    """For each token, ``ALTERNATIVES - 1`` distinct other ASCII pieces from the answers, of the same shape where
    there are enough (a digit for a digit, a capitalised word for a capitalised word), none equal to the chosen."""
    pool = sorted({piece for piece in chosen if piece.isascii()}, key=lambda piece: (_shape(piece), piece))
    shapes = np.array([_shape(piece) for piece in pool])
    first = {int(shape): int(np.searchsorted(shapes, shape)) for shape in np.unique(shapes)}
    size = {shape: int(np.searchsorted(shapes, shape, side="right")) - start for shape, start in first.items()}
    wanted = [_shape(piece) for piece in chosen]
    enough = [shape in size and size[shape] > ALTERNATIVES for shape in wanted]
    start = np.array([first[shape] if ok else 0 for shape, ok in zip(wanted, enough, strict=True)])
    count = np.array([size[shape] if ok else len(pool) for shape, ok in zip(wanted, enough, strict=True)])
    gaps = 1 + rng.integers(0, (count // (ALTERNATIVES + 1))[:, None], (len(chosen), ALTERNATIVES))
    drawn = start[:, None] + (rng.integers(0, count)[:, None] + np.cumsum(gaps, axis=1)) % count[:, None]
    where = {piece: i for i, piece in enumerate(pool)}
    chosen_index = np.array([where.get(piece, -1) for piece in chosen])
    keep = np.argsort(drawn == chosen_index[:, None], axis=1, kind="stable")[:, : ALTERNATIVES - 1]
    others: np.ndarray[Any, Any] = np.array(pool, dtype=object)[np.take_along_axis(drawn, keep, axis=1)]
    return others


def _shape(piece: bytes) -> int:
    """A piece's shape: leading space or not, times digit, capitalised word, lower-case word or symbol."""
    body = piece.lstrip(b" ")
    kind = 0 if body[:1].isdigit() else 1 if body[:1].isupper() else 2 if body[:1].isalpha() else 3
    return kind + 4 * (len(body) < len(piece))
