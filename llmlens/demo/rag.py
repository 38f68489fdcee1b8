"""The RAG assistant: a corpus of chunks in topics, queries, retrieval, answers with logprobs, feedback."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from llmlens.demo.common import WEEK_END, epoch_us, hex_ids, micros, table
from llmlens.demo.text import INVENTED_ANSWERS, STALE_PRICING_FACTS, SYSTEM_PROMPT, TOPICS, Topic, tokenize

DIM = 384
N_CHUNKS = 5_000
N_STALE = 150
N_QUERIES = 2_000
TOP_K = 5
EMBEDDING_MODEL = "all-MiniLM-L6-v2"
SLOW_SHARD = "shard-7"
MODELS = {"gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00)}  # USD per million input / output tokens
ALTERNATIVES = 5

_PREFIXES = ("", "", "Sure! ", "Good question. ", "Happy to help. ")
_SUFFIXES = ("", "", " Let me know if you need anything else.", " Hope that helps! 👍")
_QUESTION_OPENERS = ("", "", "", "Hi, ", "Quick question: ", "hey - ")
_NOTES = {
    "stale": ("Price is wrong, Pro is $59 now", "old pricing again", "quoted last year's plan limits"),
    "invented": ("This is made up, we don't ship a Docker image", "we don't even offer on-prem??", "wrong"),
    "unknown": ("didn't answer my question", "useless"),
    "slow": ("took forever to answer", "so slow"),
    "correct": ("perfect, thanks", "helpful"),
}


@dataclass(frozen=True)
class Corpus:
    """The indexed chunks: ids, texts, topic and fact of each, staleness, vectors."""

    ids: list[str]
    texts: list[str]
    topic: np.ndarray[Any, Any]
    fact: np.ndarray[Any, Any]
    stale: np.ndarray[Any, Any]
    vectors: np.ndarray[Any, Any]
    sources: list[str]
    updated_at: list[str]


def _unit(vectors: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    unit: np.ndarray[Any, Any] = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    return unit


def _noise(rng: np.random.Generator, *shape: int) -> np.ndarray[Any, Any]:
    noise: np.ndarray[Any, Any] = rng.normal(size=(*shape, DIM)) / np.sqrt(DIM)
    return noise


def _fact_vectors(rng: np.random.Generator) -> np.ndarray[Any, Any]:
    """One direction per (topic, fact): topic centroids plus sub-topic structure."""
    centroids = _unit(rng.normal(size=(len(TOPICS), DIM)))
    names = [t.name for t in TOPICS]
    # The uncovered topic sits between SSO and pricing, so its nearest chunks come from there, weakly.
    onprem = names.index("onprem")
    centroids[onprem] = _unit(
        centroids[onprem] + 0.35 * centroids[names.index("sso")] + 0.3 * centroids[names.index("pricing")]
    )
    n_facts = len(TOPICS[0].facts)
    return _unit(centroids[:, None, :] + 0.75 * _unit(rng.normal(size=(len(TOPICS), n_facts, DIM))))


def build_corpus(rng: np.random.Generator, fact_vectors: np.ndarray[Any, Any]) -> Corpus:
    """~5,000 chunks over the covered topics, plus a cluster of stale 2023 pricing chunks."""
    covered = [i for i, t in enumerate(TOPICS) if t.covered]
    n_fresh = N_CHUNKS - N_STALE
    topic = np.array(covered)[rng.integers(0, len(covered), n_fresh)]
    n_facts = fact_vectors.shape[1]
    fact = rng.integers(0, n_facts, n_fresh)
    other = (fact + rng.integers(1, n_facts, n_fresh)) % n_facts
    vectors = _unit(fact_vectors[topic, fact] + 0.3 * fact_vectors[topic, other] + 0.5 * _unit(_noise(rng, n_fresh)))

    pricing = [t.name for t in TOPICS].index("pricing")
    stale_fact = rng.integers(0, n_facts, N_STALE)
    stale_direction = _unit(rng.normal(size=DIM))
    stale_vectors = _unit(
        fact_vectors[pricing, stale_fact] + 0.3 * stale_direction + 0.33 * _unit(_noise(rng, N_STALE))
    )

    texts = [_chunk_text(TOPICS[t], f, o) for t, f, o in zip(topic, fact, other, strict=True)]
    texts += [f"Plans and pricing (2023)\n\n{STALE_PRICING_FACTS[f]} Prices exclude tax." for f in stale_fact]
    chunk_no = np.arange(N_CHUNKS)
    sources = [f"docs/{TOPICS[t].name}/page-{n % 17:02d}.md" for t, n in zip(topic, chunk_no[:n_fresh], strict=True)]
    sources += [f"docs/archive/pricing-2023/page-{n % 5:02d}.md" for n in range(N_STALE)]
    fresh_days = rng.integers(0, 120, n_fresh)
    updated = [(dt.date(2026, 11, 1) - dt.timedelta(days=int(d))).isoformat() for d in fresh_days]
    updated += [(dt.date(2023, 3, 14) + dt.timedelta(days=int(d))).isoformat() for d in rng.integers(0, 40, N_STALE)]
    return Corpus(
        ids=[f"chunk-{i:05d}" for i in chunk_no],
        texts=texts,
        topic=np.concatenate([topic, np.full(N_STALE, pricing)]),
        fact=np.concatenate([fact, stale_fact]),
        stale=np.concatenate([np.zeros(n_fresh, bool), np.ones(N_STALE, bool)]),
        vectors=np.concatenate([vectors, stale_vectors]).astype(np.float32),
        sources=sources,
        updated_at=updated,
    )


def _chunk_text(topic: Topic, fact: int, other: int) -> str:
    return f"{topic.section}\n\n{topic.facts[fact]} {topic.facts[other]}"


def generate(rng: np.random.Generator) -> dict[str, pa.Table]:
    """All RAG tables: spans, messages, tokens, documents, embeddings, annotations."""
    fact_vectors = _fact_vectors(rng)
    corpus = build_corpus(rng, fact_vectors)
    weights = np.array([0.5 if t.name == "onprem" else (1.4 if t.name == "pricing" else 1.0) for t in TOPICS])
    q_topic = rng.choice(len(TOPICS), N_QUERIES, p=weights / weights.sum())
    q_fact = rng.integers(0, fact_vectors.shape[1], N_QUERIES)
    vagueness = rng.lognormal(np.log(0.55), 0.35, N_QUERIES)[:, None]  # some questions are phrased far from the docs
    q_vectors = _unit(fact_vectors[q_topic, q_fact] + vagueness * _unit(_noise(rng, N_QUERIES))).astype(np.float32)
    scores = q_vectors @ corpus.vectors.T
    top = np.argpartition(-scores, TOP_K, axis=1)[:, :TOP_K]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)
    top_scores = np.take_along_axis(scores, top, axis=1)

    openers = rng.integers(0, len(_QUESTION_OPENERS), N_QUERIES)
    questions = [
        _QUESTION_OPENERS[o]
        + (TOPICS[t].questions[f] if not _QUESTION_OPENERS[o] else _lower_first(TOPICS[t].questions[f]))
        for o, t, f in zip(openers, q_topic, q_fact, strict=True)
    ]
    outcome, answers = _answers(rng, corpus, q_topic, q_fact, top)
    traces = _TraceBuilder(rng, corpus, questions, answers, outcome, q_topic, top, top_scores)
    tables = traces.build()
    tables["embeddings"] = _embeddings(corpus, q_vectors, questions, traces, q_topic)
    return tables


def _intent(topic: int) -> str:
    """The intent the app's router assigns: the topic, or "other" for what it was not built for."""
    return TOPICS[topic].name if TOPICS[topic].covered else "other"


def _chunk_metadata(corpus: Corpus, chunk: int) -> str:
    return json.dumps(
        {
            "source": corpus.sources[chunk],
            "updated_at": corpus.updated_at[chunk],
            "topic": TOPICS[corpus.topic[chunk]].name,
        }
    )


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _answers(
    rng: np.random.Generator,
    corpus: Corpus,
    q_topic: np.ndarray[Any, Any],
    q_fact: np.ndarray[Any, Any],
    top: np.ndarray[Any, Any],
) -> tuple[list[str], list[str]]:
    """What the model answered, and how it relates to the truth: correct, stale, invented or unknown."""
    outcome: list[str] = []
    answers: list[str] = []
    prefixes = rng.integers(0, len(_PREFIXES), len(q_topic))
    suffixes = rng.integers(0, len(_SUFFIXES), len(q_topic))
    for i, (t, f) in enumerate(zip(q_topic, q_fact, strict=True)):
        hits = top[i]
        topic = TOPICS[t]
        if not topic.covered:
            kind, body = "invented", INVENTED_ANSWERS[f]
        elif corpus.stale[hits[0]]:
            kind, body = "stale", STALE_PRICING_FACTS[corpus.fact[hits[0]]]
        elif any(corpus.topic[h] == t and corpus.fact[h] == f and not corpus.stale[h] for h in hits):
            kind, body = "correct", topic.facts[f]
        else:
            kind, body = "unknown", "I couldn't find that in the documentation. Please contact support@nimbus.example."
        outcome.append(kind)
        answers.append(_PREFIXES[prefixes[i]] + body + _SUFFIXES[suffixes[i]])
    return outcome, answers


class _TraceBuilder:
    """Turns questions, retrievals and answers into spans and the rows that hang off them."""

    def __init__(
        self,
        rng: np.random.Generator,
        corpus: Corpus,
        questions: list[str],
        answers: list[str],
        outcome: list[str],
        q_topic: np.ndarray[Any, Any],
        top: np.ndarray[Any, Any],
        top_scores: np.ndarray[Any, Any],
    ) -> None:
        self.rng, self.corpus, self.questions, self.answers = rng, corpus, questions, answers
        self.outcome, self.q_topic, self.top, self.top_scores = outcome, q_topic, top, top_scores
        n = len(questions)
        self.trace_ids = hex_ids(rng, n, 32)
        span_ids = hex_ids(rng, 4 * n, 16)
        self.root_ids, self.embed_ids, self.retrieve_ids, self.llm_ids = (span_ids[k::4] for k in range(4))

    def build(self) -> dict[str, pa.Table]:
        n = len(self.questions)
        rng = self.rng
        start = epoch_us(WEEK_END) - rng.integers(0, 7 * 86_400_000_000, n)
        embed_ms = rng.lognormal(np.log(30), 0.3, n)
        slow = rng.random(n) < 0.04
        retrieve_ms = np.where(slow, rng.uniform(3_000, 14_000, n), rng.lognormal(np.log(110), 0.35, n))
        shard = np.where(slow, SLOW_SHARD, np.array([f"shard-{k}" for k in range(7)])[rng.integers(0, 7, n)])
        model = np.where(rng.random(n) < 0.8, "gpt-4o-mini", "gpt-4o")
        out_tokens = [self._token_rows(i) for i in range(n)]
        n_out = np.array([len(rows[0]) for rows in out_tokens])
        contexts = ["\n\n".join(self.corpus.texts[h] for h in self.top[i]) for i in range(n)]
        n_in = (
            np.array([len(tokenize(SYSTEM_PROMPT + c + q)) for c, q in zip(contexts, self.questions, strict=True)]) + 12
        )
        llm_ms = 220 + n_out * rng.lognormal(np.log(16), 0.25, n) + np.where(model == "gpt-4o", 350, 0)
        t_embed = start + 2_000
        t_retrieve = t_embed + (embed_ms * 1000).astype(np.int64) + 1_000
        t_llm = t_retrieve + (retrieve_ms * 1000).astype(np.int64) + 2_000
        t_end = t_llm + (llm_ms * 1000).astype(np.int64)
        price = np.array([MODELS[m] for m in model])
        cost = (n_in * price[:, 0] + n_out * price[:, 1]) / 1e6
        users = np.array([f"user-{u:04d}" for u in rng.zipf(1.6, n) % 300])
        day = (start // 86_400_000_000).astype(str)
        sessions = [f"sess-{_digest(f'{u}/{d}')}" for u, d in zip(users, day, strict=True)]
        intents = [_intent(t) for t in self.q_topic]
        self.slow_ms = retrieve_ms
        spans = self._spans(
            start,
            t_embed,
            t_retrieve,
            t_llm,
            t_end,
            embed_ms,
            model,
            n_in,
            n_out,
            cost,
            users,
            sessions,
            intents,
            shard,
        )
        return {
            "spans": spans,
            "messages": self._messages(contexts),
            "tokens": self._tokens(out_tokens),
            "documents": self._documents(),
            "annotations": self._feedback(users, retrieve_ms, t_end),
        }

    def _spans(self, start: Any, t_embed: Any, t_retrieve: Any, t_llm: Any, t_end: Any, embed_ms: Any, model: Any,
               n_in: Any, n_out: Any, cost: Any, users: Any, sessions: list[str], intents: list[str],
               shard: Any) -> pa.Table:  # fmt: skip
        n = len(self.questions)
        names = ["rag_pipeline", "embed_query", "vector_search", "chat"]
        kinds = ["CHAIN", "EMBEDDING", "RETRIEVER", "LLM"]
        otel = ["SERVER", "CLIENT", "CLIENT", "CLIENT"]
        starts = [start, t_embed, t_retrieve, t_llm]
        ends = [t_end + 3_000, t_embed + (embed_ms * 1000).astype(np.int64), t_llm - 2_000, t_end]
        ids = [self.root_ids, self.embed_ids, self.retrieve_ids, self.llm_ids]
        under_root: list[str | None] = list(self.root_ids)
        parents: list[list[str | None]] = [[None] * n, under_root, under_root, under_root]
        doc_list = [json.dumps([self.corpus.ids[h] for h in row]) for row in self.top]
        inputs = [self.questions, self.questions, self.questions, self.questions]
        outputs = [self.answers, ["[384-d vector]"] * n, doc_list, self.answers]
        attributes = [
            [json.dumps({"app.intent": i, "app.version": "rag-2.3.1"}) for i in intents],
            [json.dumps({"embedding.model_name": EMBEDDING_MODEL})] * n,
            [json.dumps({"retrieval.top_k": TOP_K, "db.system": "qdrant", "db.shard": s}) for s in shard],
            [
                json.dumps(
                    {"llm.invocation_parameters": {"temperature": 0.2, "logprobs": True, "top_logprobs": ALTERNATIVES}}
                )
            ]
            * n,
        ]
        columns: dict[str, list[Any]] = {key: [] for key in (
            "trace_id", "span_id", "parent_span_id", "name", "kind", "otel_kind", "model", "provider", "input_text",
            "output_text", "input_tokens", "output_tokens", "total_tokens", "cost_usd", "session_id", "user_id",
            "service_name", "attributes")}  # fmt: skip
        start_all, end_all = [], []
        for k in range(4):
            is_llm = kinds[k] == "LLM"
            columns["trace_id"] += self.trace_ids
            columns["span_id"] += ids[k]
            columns["parent_span_id"] += parents[k]
            columns["name"] += [names[k]] * n
            columns["kind"] += [kinds[k]] * n
            columns["otel_kind"] += [otel[k]] * n
            columns["model"] += list(model) if is_llm else ([EMBEDDING_MODEL] * n if k == 1 else [None] * n)
            columns["provider"] += ["openai"] * n if is_llm else [None] * n
            columns["input_text"] += inputs[k]
            columns["output_text"] += outputs[k]
            columns["input_tokens"] += n_in.tolist() if is_llm else [None] * n
            columns["output_tokens"] += n_out.tolist() if is_llm else [None] * n
            columns["total_tokens"] += (n_in + n_out).tolist() if is_llm else [None] * n
            columns["cost_usd"] += cost.tolist() if is_llm else [None] * n
            columns["session_id"] += sessions
            columns["user_id"] += users.tolist()
            columns["service_name"] += ["nimbus-support-rag"] * n
            columns["attributes"] += attributes[k]
            start_all.append(starts[k])
            end_all.append(ends[k])
        result = table(columns)
        result = result.append_column("start_time", micros(np.concatenate(start_all)))
        result = result.append_column("end_time", micros(np.concatenate(end_all)))
        return result.append_column("status_code", pa.array(["OK"] * len(result)))

    def _messages(self, contexts: list[str]) -> pa.Table:
        n = len(self.questions)
        system = [f"{SYSTEM_PROMPT}\n\nContext:\n{c}" for c in contexts]
        return table({
            "trace_id": self.trace_ids * 3,
            "span_id": self.llm_ids * 3,
            "side": ["input"] * (2 * n) + ["output"] * n,
            "position": [0] * n + [1] * n + [0] * n,
            "role": ["system"] * n + ["user"] * n + ["assistant"] * n,
            "content": system + self.questions + self.answers,
            "parts": [json.dumps([{"type": "text", "content": c}]) for c in system + self.questions + self.answers],
            "finish_reason": [None] * (2 * n) + ["stop"] * n,
        })  # fmt: skip

    def _token_rows(self, i: int) -> tuple[list[bytes], list[float]]:
        """Byte pieces of the answer and their logprobs; multi-byte characters are split across pieces."""
        rng, kind = self.rng, self.outcome[i]
        pieces: list[bytes] = []
        for token in tokenize(self.answers[i]):
            raw = token.encode()
            if len(raw) > len(token):  # a multi-byte character: the tokenizer splits its bytes
                cut = len(raw) // 2
                pieces += [raw[:cut], raw[cut:]]
            else:
                pieces.append(raw)
        spread = {"correct": 0.12, "stale": 0.15, "unknown": 0.35, "invented": 0.9}[kind]
        logprobs = -np.abs(rng.normal(0, spread, len(pieces)))
        factual = np.array([p.strip()[:1].isdigit() or p.strip()[:1].isupper() for p in pieces])
        boost = {"invented": 1.6, "unknown": 0.3}.get(kind, 0.15)
        logprobs = logprobs - factual * np.abs(rng.normal(boost, boost / 2, len(pieces)))
        return pieces, logprobs.tolist()

    def _tokens(self, rows: list[tuple[list[bytes], list[float]]]) -> pa.Table:
        rng = self.rng
        trace_ids, span_ids, positions, texts, raw, logprobs = [], [], [], [], [], []
        alt_text: list[str] = []
        alt_raw: list[bytes] = []
        alt_lp: list[float] = []
        pool = [p for p in {t.encode() for s in self.answers[:400] for t in tokenize(s)} if len(p) == len(p.decode())]
        pool.sort()
        for i, (pieces, lps) in enumerate(rows):
            for position, (piece, lp) in enumerate(zip(pieces, lps, strict=True)):
                trace_ids.append(self.trace_ids[i])
                span_ids.append(self.llm_ids[i])
                positions.append(position)
                texts.append(piece.decode("utf-8", errors="replace"))
                raw.append(piece)
                logprobs.append(lp)
                rest = 1.0 - float(np.exp(lp))
                others = [pool[j] for j in rng.choice(len(pool), ALTERNATIVES - 1, replace=False)]
                shares = np.array([0.55, 0.25, 0.12, 0.08]) * max(rest, 1e-6) * 0.95
                candidates = [(lp, piece), *zip(np.log(shares).tolist(), others, strict=True)]
                candidates.sort(key=lambda c: -c[0])
                for alt_logprob, alt_piece in candidates:
                    alt_text.append(alt_piece.decode("utf-8", errors="replace"))
                    alt_raw.append(alt_piece)
                    alt_lp.append(alt_logprob)
        alternatives = pa.ListArray.from_arrays(
            pa.array(np.arange(0, len(alt_lp) + 1, ALTERNATIVES, dtype=np.int32)),
            pa.StructArray.from_arrays(
                [pa.array(alt_text), pa.array(alt_raw, pa.binary()), pa.array(alt_lp)],
                names=["token", "bytes", "logprob"],
            ),
        )
        return table({
            "trace_id": trace_ids, "span_id": span_ids, "side": ["output"] * len(texts), "choice": [0] * len(texts),
            "position": positions, "token": texts, "bytes": pa.array(raw, pa.binary()), "logprob": logprobs,
            "alternatives": alternatives,
        })  # fmt: skip

    def _documents(self) -> pa.Table:
        n = len(self.questions)
        hits = self.top.reshape(-1)
        c = self.corpus
        return table({
            "trace_id": np.repeat(self.trace_ids, TOP_K).tolist(),
            "span_id": np.repeat(self.retrieve_ids, TOP_K).tolist(),
            "position": np.tile(np.arange(TOP_K), n).tolist(),
            "document_id": [c.ids[h] for h in hits],
            "content": [c.texts[h] for h in hits],
            "score": np.round(self.top_scores.reshape(-1).astype(np.float64), 4),
            "metadata": [_chunk_metadata(c, h) for h in hits],
        })  # fmt: skip

    def _feedback(self, users: Any, retrieve_ms: Any, t_end: Any) -> pa.Table:
        rng = self.rng
        n = len(self.questions)
        gives = rng.random(n) < 0.15
        p_down = np.array([{"correct": 0.08, "stale": 0.7, "invented": 0.6, "unknown": 0.45}[o] for o in self.outcome])
        p_down = np.minimum(p_down + (retrieve_ms > 2_500) * 0.3, 0.95)
        down = rng.random(n) < p_down
        chosen = np.flatnonzero(gives)
        notes = []
        for i in chosen:
            reason = "slow" if retrieve_ms[i] > 2_500 and down[i] else (self.outcome[i] if down[i] else "correct")
            options = _NOTES.get(reason, ())
            notes.append(options[rng.integers(0, len(options))] if options and rng.random() < 0.4 else None)
        return table({
            "target_kind": ["trace"] * len(chosen),
            "target_id": [self.trace_ids[i] for i in chosen],
            "name": ["user_feedback"] * len(chosen),
            "label": ["thumbs_down" if down[i] else "thumbs_up" for i in chosen],
            "score": [0.0 if down[i] else 1.0 for i in chosen],
            "note": notes,
            "annotator": [str(users[i]) for i in chosen],
            "annotator_kind": ["human"] * len(chosen),
            "created_at": micros(t_end[chosen] + 30_000_000),
        })  # fmt: skip


def _embeddings(corpus: Corpus, q_vectors: Any, questions: list[str], traces: _TraceBuilder, q_topic: Any) -> pa.Table:
    n = len(questions)
    vectors = np.concatenate([q_vectors, corpus.vectors])
    flat = pa.array(vectors.reshape(-1), pa.float32())
    lists = pa.ListArray.from_arrays(pa.array(np.arange(0, len(flat) + 1, DIM, dtype=np.int32)), flat)
    chunk_meta = [_chunk_metadata(corpus, chunk) for chunk in range(len(corpus.ids))]
    return table({
        "role": ["query"] * n + ["chunk"] * len(corpus.ids),
        "text": questions + corpus.texts,
        "model": [EMBEDDING_MODEL] * (n + len(corpus.ids)),
        "vector": lists,
        "trace_id": traces.trace_ids + [None] * len(corpus.ids),
        "span_id": traces.embed_ids + [None] * len(corpus.ids),
        "document_id": [None] * n + corpus.ids,
        "metadata": [json.dumps({"intent": _intent(t)}) for t in q_topic] + chunk_meta,
    })  # fmt: skip
