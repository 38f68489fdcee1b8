"""The RAG assistant's index: chunks of the Nimbus docs, their embeddings, and a forgotten 2023 pricing archive.

Vectors have topic structure: each topic has a centroid, each sentence of a topic a direction near it, and a
chunk's vector mixes its two sentences plus noise. The archived pricing chunks form their own tight sub-cluster
next to the current pricing facts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from llmlens.demo.text import BOILERPLATE, STALE_DETAILS, STALE_PAGES, STALE_PRICING_FACTS, TOPICS

DIM = 384
N_CHUNKS = 5_000
N_STALE = 150
STALE_SECTION = "Plans and pricing (2023)"

Vectors = np.ndarray[Any, np.dtype[np.floating[Any]]]
Indices = np.ndarray[Any, np.dtype[np.integer[Any]]]

N_FACTS = len(TOPICS[0].facts)
N_SENTENCES = N_FACTS + max(len(t.details) for t in TOPICS)
"""Sentences per topic: its facts first, then its details."""

TOPIC_NAMES = [t.name for t in TOPICS]
PRICING = TOPIC_NAMES.index("pricing")


@dataclass(frozen=True)
class Corpus:
    """The indexed chunks. ``fact`` is a chunk's first sentence (always a fact), ``second`` its second sentence
    (a fact when below ``N_FACTS``, else a detail); for stale chunks both index the 2023 facts and details."""

    ids: list[str]
    texts: list[str]
    topic: Indices
    fact: Indices
    second: Indices
    stale: np.ndarray[Any, np.dtype[np.bool_]]
    vectors: Vectors
    sources: list[str]
    updated_at: list[str]


def unit(vectors: Vectors) -> Vectors:
    """``vectors`` scaled to length 1 along the last axis."""
    scaled: Vectors = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    return scaled


def noise(rng: np.random.Generator, count: int) -> Vectors:
    """``count`` random unit vectors."""
    return unit(rng.normal(size=(count, DIM)))


def sentence_vectors(rng: np.random.Generator) -> Vectors:
    """One unit direction per (topic, sentence), shape (topics, N_SENTENCES, DIM), near its topic's centroid."""
    centroids = unit(rng.normal(size=(len(TOPICS), DIM)))
    # The uncovered topic sits between SSO and pricing: its nearest chunks come from there, weakly.
    onprem = TOPIC_NAMES.index("onprem")
    centroids[onprem] = unit(centroids[onprem] + 0.35 * centroids[TOPIC_NAMES.index("sso")] + 0.3 * centroids[PRICING])
    spread = unit(rng.normal(size=(len(TOPICS), N_SENTENCES, DIM)))
    return unit(centroids[:, None, :] + 0.75 * spread)


def build_corpus(rng: np.random.Generator, sentences: Vectors) -> Corpus:
    """``N_CHUNKS`` chunks: the 2023 pricing archive (indexed first, never removed), then the current docs."""
    parts = (_stale_chunks(rng, sentences), _fresh_chunks(rng, sentences, N_CHUNKS - N_STALE, first_id=N_STALE))
    return Corpus(
        ids=[chunk for part in parts for chunk in part.ids],
        texts=[text for part in parts for text in part.texts],
        topic=np.concatenate([part.topic for part in parts]),
        fact=np.concatenate([part.fact for part in parts]),
        second=np.concatenate([part.second for part in parts]),
        stale=np.concatenate([part.stale for part in parts]),
        vectors=np.concatenate([part.vectors for part in parts]).astype(np.float32),
        sources=[source for part in parts for source in part.sources],
        updated_at=[day for part in parts for day in part.updated_at],
    )


def _fresh_chunks(rng: np.random.Generator, sentences: Vectors, count: int, *, first_id: int) -> Corpus:
    covered = np.array([i for i, t in enumerate(TOPICS) if t.covered])
    topic = covered[rng.integers(0, len(covered), count)]
    page = rng.integers(0, len(TOPICS[0].pages), count)
    fact = rng.integers(0, N_FACTS, count)
    second = (fact + rng.integers(1, N_SENTENCES, count)) % N_SENTENCES
    boiler = rng.integers(0, len(BOILERPLATE), count)
    mix = sentences[topic, fact] + 0.35 * sentences[topic, second]
    vectors = unit(mix + 0.55 * noise(rng, count))
    page_age = rng.integers(0, 120, (len(TOPICS), len(TOPICS[0].pages)))
    texts, sources, updated = [], [], []
    for t, p, f, s, b in zip(topic, page, fact, second, boiler, strict=True):
        spec = TOPICS[t]
        texts.append(f"{spec.section} › {spec.pages[p]}\n\n{_sentence(t, f)} {_sentence(t, s)}{BOILERPLATE[b]}")
        sources.append(f"docs/{spec.name}/page-{p:02d}-{_slug(spec.pages[p])}.md")
        updated.append((dt.date(2026, 11, 1) - dt.timedelta(days=int(page_age[t, p]))).isoformat())
    ids = _chunk_ids(first_id, count)
    return Corpus(ids, texts, topic, fact, second, np.zeros(count, bool), vectors, sources, updated)


def _stale_chunks(rng: np.random.Generator, sentences: Vectors) -> Corpus:
    page = rng.integers(0, len(STALE_PAGES), N_STALE)
    fact = rng.integers(0, len(STALE_PRICING_FACTS), N_STALE)
    detail = rng.integers(0, len(STALE_DETAILS), N_STALE)
    archive_direction = _orthogonal(noise(rng, 1), sentences[PRICING])
    vectors = unit(sentences[PRICING, fact] + 0.3 * archive_direction + 0.385 * noise(rng, N_STALE))
    texts = [
        f"{STALE_SECTION} › {STALE_PAGES[p]}\n\n{STALE_PRICING_FACTS[f]} {STALE_DETAILS[d]}"
        for p, f, d in zip(page, fact, detail, strict=True)
    ]
    sources = [f"docs/archive/pricing-2023/page-{p:02d}-{_slug(STALE_PAGES[p])}.md" for p in page]
    updated = [(dt.date(2023, 3, 14) + dt.timedelta(days=7 * int(p))).isoformat() for p in page]
    topic = np.full(N_STALE, PRICING)
    ids = _chunk_ids(0, N_STALE)
    return Corpus(ids, texts, topic, fact, detail + N_FACTS, np.ones(N_STALE, bool), vectors, sources, updated)


def _orthogonal(direction: Vectors, basis: Vectors) -> Vectors:
    """``direction`` with its component in the span of ``basis`` (rows) removed, unit length."""
    q, _ = np.linalg.qr(basis.T)
    return unit(direction - (direction @ q) @ q.T)


def _chunk_ids(first: int, count: int) -> list[str]:
    return [f"chunk-{i:05d}" for i in range(first, first + count)]


def _sentence(topic: int, sentence: int) -> str:
    spec = TOPICS[topic]
    return spec.facts[sentence] if sentence < N_FACTS else spec.details[sentence - N_FACTS]


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
