"""The RAG assistant: queries over the corpus, top-5 retrieval, answers with logprobs, spans and user feedback.

Planted: questions on a topic the corpus does not cover (retrieval scores low, the answer is invented, with low
confidence); the 2023 pricing archive wins retrieval for some pricing questions (confident, outdated answers,
thumbs down); one vector-store shard stalls now and then (a heavy tail of slow retrievals).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from llmlens.demo.common import WEEK_END, epoch_us, hex_ids, micros, table
from llmlens.demo.corpus import (
    DIM,
    N_FACTS,
    PRICING,
    Corpus,
    Indices,
    Vectors,
    build_corpus,
    noise,
    sentence_vectors,
    unit,
)
from llmlens.demo.logprobs import ALTERNATIVES, AnswerTokens, answer_tokens
from llmlens.demo.text import (
    ANSWER_PREFIXES,
    ANSWER_SUFFIXES,
    DONT_KNOW,
    INVENTED_ANSWERS,
    QUESTION_CLOSERS,
    QUESTION_OPENERS,
    STALE_PRICING_FACTS,
    SYSTEM_PROMPT,
    TOPICS,
    ask,
    tokenize,
)

N_QUERIES = 2_000
N_USERS = 300
TOP_K = 5
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
SERVICE = "nimbus-support-rag"
N_SHARDS = 8
SLOW_SHARD = "shard-7"
MODELS = {"gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00)}  # USD per million input / output tokens

_TOPIC_WEIGHT = {"pricing": 1.4, "onprem": 0.5}
_THUMBS_DOWN = {"correct": 0.08, "stale": 0.7, "invented": 0.75, "unknown": 0.45}
_NOTES = {
    "stale": ("Price is wrong, Pro is $59 now", "old pricing again", "quoted last year's plan limits"),
    "invented": ("This is made up, we don't ship a Docker image", "we don't even offer on-prem??", "wrong"),
    "unknown": ("didn't answer my question", "useless"),
    "slow": ("took forever to answer", "so slow"),
    "correct": ("perfect, thanks", "helpful"),
}


@dataclass(frozen=True)
class Queries:
    """What users asked: topic and fact of each question, its text and its embedding."""

    topic: Indices
    fact: Indices
    texts: list[str]
    vectors: Vectors


@dataclass(frozen=True)
class Exchange:
    """Every question with its retrieval, its answer and the ids of its trace and four spans."""

    queries: Queries
    corpus: Corpus
    top: Indices
    scores: Vectors
    outcome: list[str]
    answers: list[str]
    trace_ids: list[str]
    span_ids: tuple[list[str], list[str], list[str], list[str]]  # chain, embedding, retriever, llm


@dataclass(frozen=True)
class Timing:
    """When each span of each trace starts and ends (microseconds), and where the search ran."""

    start: np.ndarray[Any, np.dtype[np.int64]]
    embed: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]
    retrieve: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]
    llm: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]
    shard: np.ndarray[Any, Any]


def generate(rng: np.random.Generator) -> dict[str, pa.Table]:
    """All RAG tables: spans, messages, tokens, documents, embeddings, annotations."""
    sentences = sentence_vectors(rng)
    corpus = build_corpus(rng, sentences)
    queries = ask_questions(rng, sentences)
    top, scores = retrieve(queries.vectors, corpus.vectors)
    outcome = outcomes(queries, corpus, top)
    exchange = Exchange(
        queries, corpus, top, scores, outcome, _answers(rng, queries, outcome),
        hex_ids(rng, N_QUERIES, 32), _span_ids(rng),
    )  # fmt: skip
    tokens = answer_tokens(rng, exchange.answers, outcome)
    timing = _timing(rng, tokens.counts(N_QUERIES))
    users = _users(rng, timing.start)
    return {
        "spans": _spans(rng, exchange, timing, tokens, users),
        "messages": _messages(exchange),
        "tokens": _tokens(exchange, tokens),
        "documents": _documents(exchange),
        "embeddings": _embeddings(exchange),
        "annotations": _feedback(rng, exchange, timing, users[0]),
    }


def ask_questions(rng: np.random.Generator, sentences: Vectors) -> Queries:
    """``N_QUERIES`` questions; their vectors sit near the fact they ask about, offset the way queries are."""
    weights = np.array([_TOPIC_WEIGHT.get(t.name, 1.0) for t in TOPICS])
    topic = rng.choice(len(TOPICS), N_QUERIES, p=weights / weights.sum())
    fact = rng.integers(0, N_FACTS, N_QUERIES)
    phrasing = rng.integers(0, len(TOPICS[0].questions[0]), N_QUERIES)
    opener = rng.integers(0, len(QUESTION_OPENERS), N_QUERIES)
    closer = rng.integers(0, len(QUESTION_CLOSERS), N_QUERIES)
    texts = [
        ask(QUESTION_OPENERS[o], TOPICS[t].questions[f][p], QUESTION_CLOSERS[c])
        for t, f, p, o, c in zip(topic, fact, phrasing, opener, closer, strict=True)
    ]
    question_direction = noise(rng, 1)  # questions are phrased unlike the docs, all in a similar way
    vagueness = rng.lognormal(np.log(0.6), 0.3, N_QUERIES)[:, None]
    mix = sentences[topic, fact] + 0.3 * question_direction + vagueness * noise(rng, N_QUERIES)
    return Queries(topic, fact, texts, unit(mix).astype(np.float32))


def retrieve(queries: Vectors, chunks: Vectors) -> tuple[Indices, Vectors]:
    """Top-``TOP_K`` chunks of each query by cosine similarity (vectors are unit length), best first."""
    similarity = queries @ chunks.T
    top = np.argpartition(-similarity, TOP_K, axis=1)[:, :TOP_K]
    order = np.argsort(-np.take_along_axis(similarity, top, axis=1), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    return top, np.take_along_axis(similarity, top, axis=1)


def outcomes(queries: Queries, corpus: Corpus, top: Indices) -> list[str]:
    """How each answer relates to the truth: correct, stale (quotes the 2023 archive), invented, or unknown (the
    model says it found nothing: no retrieved chunk states the fact)."""
    topic, fact = queries.topic[:, None], queries.fact[:, None]
    states_fact = (corpus.fact[top] == fact) | (corpus.second[top] == fact)
    answers_it = (corpus.topic[top] == topic) & states_fact & ~corpus.stale[top]
    first = top[:, 0]
    outdated = corpus.stale[first] & (queries.topic == PRICING) & (corpus.fact[first] == queries.fact)
    covered = np.array([t.covered for t in TOPICS])[queries.topic]
    kinds = np.select([~covered, outdated, answers_it.any(axis=1)], ["invented", "stale", "correct"], "unknown")
    return [str(kind) for kind in kinds]


def _answers(rng: np.random.Generator, queries: Queries, outcome: list[str]) -> list[str]:
    prefix = rng.integers(0, len(ANSWER_PREFIXES), N_QUERIES)
    suffix = rng.integers(0, len(ANSWER_SUFFIXES), N_QUERIES)
    bodies = {
        "correct": lambda t, f: TOPICS[t].facts[f],
        "stale": lambda t, f: STALE_PRICING_FACTS[f],
        "invented": lambda t, f: INVENTED_ANSWERS[f],
        "unknown": lambda t, f: DONT_KNOW,
    }
    return [
        ANSWER_PREFIXES[p] + bodies[kind](t, f) + ANSWER_SUFFIXES[s]
        for kind, t, f, p, s in zip(outcome, queries.topic, queries.fact, prefix, suffix, strict=True)
    ]


def _span_ids(rng: np.random.Generator) -> tuple[list[str], list[str], list[str], list[str]]:
    ids = hex_ids(rng, 4 * N_QUERIES, 16)
    return ids[0::4], ids[1::4], ids[2::4], ids[3::4]


def _timing(rng: np.random.Generator, n_out: np.ndarray[Any, Any]) -> Timing:
    """Busy weekdays and working hours; the search is slow when it lands on a stalling shard."""
    day = rng.choice(7, N_QUERIES, p=np.array([1.0, 1, 1, 1, 0.9, 0.35, 0.3]) / 5.55)
    hour = np.clip(rng.normal(14.0, 3.2, N_QUERIES), 0.0, 23.99)
    start = epoch_us(WEEK_END) - (7 - day) * 86_400_000_000 + (hour * 3_600e6).astype(np.int64)
    start = start + rng.integers(0, 1_000_000, N_QUERIES)
    shard = rng.integers(0, N_SHARDS, N_QUERIES)
    stalled = (shard == N_SHARDS - 1) & (rng.random(N_QUERIES) < 0.35)
    search_ms = np.where(
        stalled,
        rng.lognormal(np.log(4_000), 0.6, N_QUERIES),
        rng.lognormal(np.log(110), 0.35, N_QUERIES),
    )
    embed_start = start + rng.integers(1_000, 4_000, N_QUERIES)
    embed_end = embed_start + (rng.lognormal(np.log(30), 0.3, N_QUERIES) * 1_000).astype(np.int64)
    search_start = embed_end + rng.integers(500, 2_000, N_QUERIES)
    search_end = search_start + (search_ms * 1_000).astype(np.int64)
    llm_start = search_end + rng.integers(1_000, 5_000, N_QUERIES)
    per_token_ms = rng.lognormal(np.log(16), 0.25, N_QUERIES)
    llm_ms = rng.lognormal(np.log(350), 0.4, N_QUERIES) + n_out * per_token_ms
    llm_end = llm_start + (llm_ms * 1_000).astype(np.int64)
    shards = np.array([f"shard-{k}" for k in range(N_SHARDS)])[shard]
    return Timing(start, (embed_start, embed_end), (search_start, search_end), (llm_start, llm_end), shards)


def _users(rng: np.random.Generator, start: np.ndarray[Any, Any]) -> tuple[list[str], list[str]]:
    """User of each trace (a few heavy users, a long tail) and its session (one per user and day)."""
    activity = rng.lognormal(0, 1.1, N_USERS)
    user = rng.choice(N_USERS, N_QUERIES, p=activity / activity.sum())
    day = start // 86_400_000_000
    sessions = [_digest(f"{u}/{d}") for u, d in zip(user, day, strict=True)]
    return [f"user-{u:04d}" for u in user], [f"sess-{s}" for s in sessions]


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _intent(topic: int) -> str:
    """The intent the app's router assigns: the topic, or "other" for what it was not built for."""
    return TOPICS[topic].name if TOPICS[topic].covered else "other"


def _contexts(exchange: Exchange) -> list[str]:
    texts = exchange.corpus.texts
    return ["\n\n".join(texts[h] for h in hits) for hits in exchange.top]


def _spans(
    rng: np.random.Generator,
    exchange: Exchange,
    timing: Timing,
    tokens: AnswerTokens,
    users: tuple[list[str], list[str]],
) -> pa.Table:
    """Four spans per trace: the chain, and under it the query embedding, the vector search and the chat call."""
    n = N_QUERIES
    model = np.where(rng.random(n) < 0.8, "gpt-4o-mini", "gpt-4o")
    n_out = tokens.counts(n)
    n_in = np.array([len(tokenize(c)) for c in _contexts(exchange)]) + len(tokenize(SYSTEM_PROMPT)) + 24
    n_in = n_in + np.array([len(tokenize(q)) for q in exchange.queries.texts])
    price = np.array([MODELS[m] for m in model])
    cost = (n_in * price[:, 0] + n_out * price[:, 1]) / 1e6
    chain, embed, search, llm = exchange.span_ids
    documents = [json.dumps([exchange.corpus.ids[h] for h in hits]) for hits in exchange.top]
    llm_params = {"temperature": 0.2, "logprobs": True, "top_logprobs": ALTERNATIVES}
    parts: list[dict[str, Any]] = [
        {"span_id": chain, "parent_span_id": None, "name": "rag_pipeline", "kind": "CHAIN", "otel_kind": "INTERNAL",
         "start": timing.start, "end": timing.llm[1] + 2_000, "output_text": exchange.answers,
         "attributes": [json.dumps({"app.intent": _intent(t), "app.version": "rag-2.3.1"})
                        for t in exchange.queries.topic]},
        {"span_id": embed, "parent_span_id": chain, "name": "embed_query", "kind": "EMBEDDING",
         "otel_kind": "CLIENT", "start": timing.embed[0], "end": timing.embed[1], "model": EMBEDDING_MODEL,
         "output_text": f"[{DIM}-d vector]",
         "attributes": json.dumps({"embedding.model_name": EMBEDDING_MODEL})},
        {"span_id": search, "parent_span_id": chain, "name": "vector_search", "kind": "RETRIEVER",
         "otel_kind": "CLIENT", "start": timing.retrieve[0], "end": timing.retrieve[1], "output_text": documents,
         "attributes": [json.dumps({"retrieval.top_k": TOP_K, "db.system": "qdrant", "db.collection.name":
                                    "nimbus-docs", "db.shard": s}) for s in timing.shard]},
        {"span_id": llm, "parent_span_id": chain, "name": "chat", "kind": "LLM", "otel_kind": "CLIENT",
         "start": timing.llm[0], "end": timing.llm[1], "model": model.tolist(), "provider": "openai",
         "output_text": exchange.answers, "input_tokens": n_in, "output_tokens": n_out,
         "total_tokens": n_in + n_out, "cost_usd": cost,
         "attributes": json.dumps({"llm.invocation_parameters": llm_params})},
    ]  # fmt: skip
    shared = {
        "trace_id": exchange.trace_ids, "input_text": exchange.queries.texts, "status_code": "OK",
        "session_id": users[1], "user_id": users[0], "service_name": SERVICE,
    }  # fmt: skip
    columns = ("model", "provider", "input_tokens", "output_tokens", "total_tokens", "cost_usd")
    rows = [{**shared, **dict.fromkeys(columns), **part} for part in parts]
    start = micros(np.concatenate([row.pop("start") for row in rows]))
    end = micros(np.concatenate([row.pop("end") for row in rows]))
    stacked = {key: _stack([row[key] for row in rows], n) for key in rows[0]}
    return table(stacked).append_column("start_time", start).append_column("end_time", end)


def _stack(parts: list[Any], n: int) -> list[Any]:
    """The column of all spans from the columns of each kind; a scalar stands for ``n`` equal values."""
    stacked: list[Any] = []
    for part in parts:
        stacked += part.tolist() if isinstance(part, np.ndarray) else part if isinstance(part, list) else [part] * n
    return stacked


def _messages(exchange: Exchange) -> pa.Table:
    n = N_QUERIES
    system = [f"{SYSTEM_PROMPT}\n\nContext:\n{context}" for context in _contexts(exchange)]
    contents = system + exchange.queries.texts + exchange.answers
    return table({
        "trace_id": exchange.trace_ids * 3,
        "span_id": exchange.span_ids[3] * 3,
        "side": ["input"] * (2 * n) + ["output"] * n,
        "position": [0] * n + [1] * n + [0] * n,
        "role": ["system"] * n + ["user"] * n + ["assistant"] * n,
        "content": contents,
        "parts": [json.dumps([{"type": "text", "content": c}], ensure_ascii=False) for c in contents],
        "finish_reason": [None] * (2 * n) + ["stop"] * n,
    })  # fmt: skip


def _tokens(exchange: Exchange, tokens: AnswerTokens) -> pa.Table:
    m = len(tokens.pieces)
    return table({
        "trace_id": np.array(exchange.trace_ids, dtype=object)[tokens.owner].tolist(),
        "span_id": np.array(exchange.span_ids[3], dtype=object)[tokens.owner].tolist(),
        "side": ["output"] * m,
        "choice": pa.array(np.zeros(m, dtype=np.int32)),
        "position": pa.array(tokens.position.astype(np.int32)),
        "token": tokens.texts(),
        "bytes": pa.array(tokens.pieces, pa.binary()),
        "logprob": tokens.logprob,
        "alternatives": tokens.alternatives,
    })  # fmt: skip


def _chunk_metadata(corpus: Corpus, chunk: int) -> str:
    return json.dumps(
        {
            "source": corpus.sources[chunk],
            "updated_at": corpus.updated_at[chunk],
            "topic": TOPICS[corpus.topic[chunk]].name,
        }
    )


def _documents(exchange: Exchange) -> pa.Table:
    hits = exchange.top.reshape(-1)
    corpus = exchange.corpus
    metadata = [_chunk_metadata(corpus, chunk) for chunk in range(len(corpus.ids))]
    return table({
        "trace_id": np.repeat(np.array(exchange.trace_ids, dtype=object), TOP_K).tolist(),
        "span_id": np.repeat(np.array(exchange.span_ids[2], dtype=object), TOP_K).tolist(),
        "position": pa.array(np.tile(np.arange(TOP_K, dtype=np.int32), N_QUERIES)),
        "document_id": [corpus.ids[h] for h in hits],
        "content": [corpus.texts[h] for h in hits],
        "score": np.round(exchange.scores.reshape(-1).astype(np.float64), 4),
        "metadata": [metadata[h] for h in hits],
    })  # fmt: skip


def _embeddings(exchange: Exchange) -> pa.Table:
    """Query vectors (linked to their EMBEDDING span) and chunk vectors (linked by document id)."""
    corpus, queries = exchange.corpus, exchange.queries
    n, c = N_QUERIES, len(corpus.ids)
    flat = pa.array(np.concatenate([queries.vectors, corpus.vectors]).reshape(-1), pa.float32())
    vectors = pa.ListArray.from_arrays(pa.array(np.arange(0, len(flat) + 1, DIM, dtype=np.int32)), flat)
    return table({
        "role": ["query"] * n + ["chunk"] * c,
        "text": queries.texts + corpus.texts,
        "model": [EMBEDDING_MODEL] * (n + c),
        "vector": vectors,
        "trace_id": exchange.trace_ids + [None] * c,
        "span_id": exchange.span_ids[1] + [None] * c,
        "document_id": [None] * n + corpus.ids,
        "metadata": [json.dumps({"topic": _intent(t)}) for t in queries.topic]
        + [_chunk_metadata(corpus, chunk) for chunk in range(c)],
    })  # fmt: skip


def _feedback(rng: np.random.Generator, exchange: Exchange, timing: Timing, users: list[str]) -> pa.Table:
    """Thumbs up/down on ~15% of traces; wrong and slow answers draw thumbs down (and more feedback)."""
    search_ms = (timing.retrieve[1] - timing.retrieve[0]) / 1_000
    slow = search_ms > 2_500
    p_down = np.minimum(np.array([_THUMBS_DOWN[o] for o in exchange.outcome]) + 0.3 * slow, 0.95)
    down = rng.random(N_QUERIES) < p_down
    chosen = np.flatnonzero(rng.random(N_QUERIES) < np.where(down, 0.3, 0.13))  # the unhappy speak up more
    reasons = ["slow" if slow[i] and down[i] else exchange.outcome[i] if down[i] else "correct" for i in chosen]
    with_note = rng.random(len(chosen)) < 0.4
    pick = rng.integers(0, 1_000, len(chosen))
    notes = [
        _NOTES[r][k % len(_NOTES[r])] if w and r in _NOTES else None
        for r, w, k in zip(reasons, with_note, pick, strict=True)
    ]
    return table({
        "target_kind": ["trace"] * len(chosen),
        "target_id": [exchange.trace_ids[i] for i in chosen],
        "name": ["user_feedback"] * len(chosen),
        "label": np.where(down[chosen], "thumbs_down", "thumbs_up").tolist(),
        "score": np.where(down[chosen], 0.0, 1.0),
        "note": notes,
        "annotator": [users[i] for i in chosen],
        "annotator_kind": ["human"] * len(chosen),
        "created_at": micros(timing.llm[1][chosen] + rng.integers(5_000_000, 120_000_000, len(chosen))),
    })  # fmt: skip
