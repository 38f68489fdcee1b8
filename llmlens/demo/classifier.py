"""Support-ticket routing through an LLM gateway, logged as OpenAI ``{request, response}`` pairs with logprobs.

Each ticket is sent to a small model that answers with one label; the gateway keeps the request and the raw
response (top-4 logprobs of the label token). Planted: tickets that mix two topics (a charge *and* a crash)
get unsure labels, and about a third of them are routed to the wrong queue.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llmlens.demo.common import WEEK_END, epoch_us, hex_ids
from llmlens.demo.export import chat_completion

N_TICKETS = 300
MIXED_RATE = 0.15
MODEL = "gpt-4o-mini-2024-07-18"
LABELS = ("billing", "technical", "account", "sales")
ROUTER_PROMPT = (
    "Route the support ticket to one queue. Answer with exactly one word: billing, technical, account or sales."
)
TICKETS = {
    "billing": ("I was charged twice for the Pro plan this month ({n} seats).",
                "Can I get an invoice with our VAT number for order #{n}?",
                "Why did my bill go up by ${n} after the renewal?"),
    "technical": ("The export to S3 fails with error 500 since this morning.",
                  "Webhooks stopped firing after we rotated the signing key.",
                  "Search returns nothing for tickets older than {n} days."),
    "account": ("Please move the workspace to my colleague, I'm leaving the company.",
                "I can't log in with SSO after our Okta migration.",
                "How do I add {n} more admins to our workspace?"),
    "sales": ("We'd like a quote for {n} seats on the Enterprise plan.",
              "Do you offer discounts for non-profits?",
              "Can we get a trial extension to finish our evaluation?"),
}  # fmt: skip
MIXED = (
    ("billing", "technical", "The app crashed during checkout and I was charged anyway, twice."),
    ("technical", "billing", "Since the update the usage dashboard is broken and shows a ${n} overage I never had."),
    ("account", "billing", "I deleted my second workspace but I'm still being billed for its {n} seats."),
)
"""Tickets about two things: the queue they belong to, the other topic, the text."""


def generate(rng: np.random.Generator) -> list[dict[str, Any]]:
    """The gateway log: one ``{request, response}`` pair per ticket, in time order."""
    ids = hex_ids(rng, N_TICKETS, 24)
    created = np.sort(epoch_us(WEEK_END) // 1_000_000 - rng.integers(0, 7 * 86_400, N_TICKETS))
    calls = []
    for i in range(N_TICKETS):
        mixed = rng.random() < MIXED_RATE
        if mixed:
            truth, other, template = MIXED[int(rng.integers(0, len(MIXED)))]
        else:
            truth = LABELS[int(rng.integers(0, len(LABELS)))]
            other, template = truth, TICKETS[truth][int(rng.integers(0, 3))]
        ticket = template.format(n=int(rng.integers(2, 60)))
        chosen, alternatives = _label_logprobs(rng, truth, other, mixed)
        prompt_tokens = len(ROUTER_PROMPT.split()) + len(ticket.split()) + 12
        request = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": ROUTER_PROMPT},
                                                        {"role": "user", "content": ticket}],
                   "max_tokens": 2, "temperature": 0, "logprobs": True, "top_logprobs": len(LABELS),
                   "user": f"ticket-{i:04d}"}  # fmt: skip
        response = chat_completion(f"chatcmpl-{ids[i]}", int(created[i]), MODEL, chosen, alternatives,
                                   (prompt_tokens, 1))  # fmt: skip
        calls.append({"request": request, "response": response})
    return calls


def _label_logprobs(rng: np.random.Generator, truth: str, other: str, mixed: bool) -> tuple[str, list[dict[str, Any]]]:
    """The label the model picks and its token with top-4 alternatives: sure on clear tickets, torn on mixed ones."""
    weights = np.full(len(LABELS), 0.3)
    weights[LABELS.index(truth)] = 2.0 if mixed else 30.0
    if mixed:
        weights[LABELS.index(other)] = 1.4
    probabilities = rng.dirichlet(weights)
    order = np.argsort(-probabilities)
    label = LABELS[int(order[0])]
    top = [{"token": LABELS[int(j)], "bytes": list(LABELS[int(j)].encode()),
            "logprob": round(float(np.log(probabilities[j])), 6)} for j in order]  # fmt: skip
    return label, [{**top[0], "top_logprobs": top}]
