"""The token viewer, rendered by chromium from its kernel-free export: tokens, alternatives, keys, safety."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import llmlens
from llmlens.widgets import TokenView

HOSTILE = ['<img src=x onerror="window.__xss=1">', "<script>window.__xss=1</script>", "javascript:window.__xss=1"]


def _token(text: str, logprob: float, alternatives: list[tuple[str, float]] = (), raw: bytes | None = None) -> dict:  # type: ignore[assignment]
    data = raw if raw is not None else text.encode()
    return {
        "token": text,
        "logprob": logprob,
        "bytes": list(data),
        "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in alternatives],
    }


def _response(tokens: list[dict], *, content: str = "", model: str = "gpt-4o-mini", n: int = 1) -> dict[str, Any]:
    return {
        "object": "chat.completion",
        "id": "chatcmpl-view",
        "model": model,
        "choices": [
            {"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": content},
             "logprobs": {"content": tokens}}
            for i in range(n)
        ],
    }  # fmt: skip


EURO = "€".encode()
SPLIT = [
    _token("Hi", math.log(0.9), [("Hi", math.log(0.9)), ("Hey", math.log(0.06))]),
    _token(" \\xe2\\x82", math.log(0.3), [], raw=b" " + EURO[:2]),
    _token("\\xac", math.log(0.99), [], raw=EURO[2:]),
    _token("\n", math.log(0.8), [("\n", math.log(0.8))]),
    _token("ok", math.log(0.2), [("fine", math.log(0.5)), ("ok", math.log(0.2))]),
]


def _open(page: Any, view: TokenView, tmp_path: Path) -> Any:
    path = tmp_path / "view.html"
    view.to_html(path)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-rendered=true]", timeout=15_000)
    return page


def test_tokens_render_with_split_characters_once_and_alternatives_on_hover(page: Any, tmp_path: Path) -> None:
    view = TokenView.from_openai(_response(SPLIT, content="Hi €\nok"))
    _open(page, view, tmp_path)
    tokens = page.locator(".ll-tok")
    assert tokens.count() == 5
    assert tokens.all_text_contents() == ["Hi", "·", "€", "↵", "ok"]
    assert page.locator(".ll-body").inner_text().count("€") == 1
    assert "starts a character" in (tokens.nth(1).get_attribute("title") or "")
    assert (
        "5 tokens" in page.locator(".ll-stats").inner_text()
        and "2 under 50.0%" in page.locator(".ll-stats").inner_text()
    )
    tokens.nth(0).hover()
    detail = page.locator(".ll-detail").inner_text()
    assert '"Hey"' in detail and "6.0%" in detail and "chosen" in detail
    tokens.nth(4).hover()
    assert "rank 2" in page.locator(".ll-detail").inner_text()
    # a confident token is not shaded; an unlikely one is
    assert tokens.nth(2).evaluate("e => getComputedStyle(e).backgroundColor") == "rgba(0, 0, 0, 0)"
    assert tokens.nth(4).evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert page.errors == []


def test_keys_step_through_low_confidence_tokens_and_switch_colouring(page: Any, tmp_path: Path) -> None:
    _open(page, TokenView.from_openai(_response(SPLIT)), tmp_path)
    page.locator(".ll-tokens").focus()
    page.keyboard.press("n")
    assert page.locator(".ll-selected").get_attribute("data-i") == "1"
    page.keyboard.press("n")
    assert page.locator(".ll-selected").get_attribute("data-i") == "4"
    page.keyboard.press("p")
    assert page.locator(".ll-selected").get_attribute("data-i") == "1"
    page.keyboard.press("m")
    assert page.locator("button[aria-pressed=true]").inner_text() == "entropy"
    page.get_by_role("button", name="rank").click()
    assert page.locator("button[aria-pressed=true]").inner_text() == "rank"
    assert page.locator(".ll-tok").nth(4).evaluate("e => e.style.backgroundColor") != ""


def test_several_choices_side_by_side_and_the_prompt_side(page: Any, tmp_path: Path) -> None:
    _open(page, TokenView.from_openai(_response(SPLIT, n=3)), tmp_path)
    assert page.locator(".ll-col").count() == 3
    assert page.locator(".ll-stats").first.inner_text().startswith("choice 0")


def test_without_logprobs_the_text_is_shown_and_labelled(page: Any, tmp_path: Path) -> None:
    response = _response([], content="Sure, Pro costs $59.")
    response["choices"][0].pop("logprobs")
    view = TokenView.from_openai(response)
    assert view.count == 0
    _open(page, view, tmp_path)
    assert "No token data" in page.locator(".ll-note").inner_text()
    assert page.locator(".ll-plain").inner_text() == "Sure, Pro costs $59."


def test_data_text_never_executes(page: Any, tmp_path: Path) -> None:
    tokens = [_token(text, -0.5, [(text, -0.5), (HOSTILE[0], -1.0)]) for text in HOSTILE]
    response = _response(tokens, content=" ".join(HOSTILE), model=HOSTILE[1])
    response["choices"][0]["message"]["content"] = HOSTILE[0]
    path = tmp_path / "calls.jsonl"
    request = {
        "model": HOSTILE[1],
        "messages": [{"role": "user", "content": HOSTILE[2]}, {"role": HOSTILE[0], "content": HOSTILE[1]}],
    }
    path.write_text(json.dumps({"request": request, "response": response}) + "\n")
    with llmlens.open(":memory:") as lens:
        lens.load(path, progress=False)
        span = lens.sql("SELECT span_id FROM spans").span_id[0]
        view = lens.tokens(span)
    _open(page, view, tmp_path)
    page.locator("details.ll-conversation summary").click()
    for i in range(page.locator(".ll-tok").count()):
        page.locator(".ll-tok").nth(i).hover()
    page.keyboard.press("n")
    root = page.locator("#llmlens-root")
    assert page.evaluate("window.__xss") is None
    assert root.locator("img, script, a, iframe").count() == 0
    text = root.inner_text()
    assert all(hostile in text for hostile in HOSTILE)
    assert page.errors == []


def test_a_hundred_thousand_tokens_render_only_what_is_on_screen(page: Any, tmp_path: Path) -> None:
    words = [_token(f" w{i}", math.log(0.3 + 0.6 * ((i * 7919) % 100) / 100), [(f" w{i}", -0.2), (" x", -2.0)])
             for i in range(100_000)]  # fmt: skip
    view = TokenView.from_openai(_response(words))
    assert view.count == 100_000
    _open(page, view, tmp_path)
    assert 0 < page.locator(".ll-tok").count() <= 4_000
    body = page.locator(".ll-body")
    body.evaluate("e => { e.scrollTop = e.scrollHeight; }")
    page.locator('.ll-tok[data-i="99999"]').wait_for(timeout=15_000)  # built when scrolled to
    assert page.locator(".ll-tok").count() <= 8_000


def test_the_view_reads_tokens_from_the_store_and_reports_selection() -> None:
    with llmlens.open(":memory:") as lens:
        view = TokenView.from_openai(_response(SPLIT))
        assert view.title == "chat gpt-4o-mini"
        assert view.tokens.token.tolist()[0] == "Hi"
        view.selected = 4
        chosen = view.selected_token
        assert chosen is not None and chosen["token"] == "ok"
        assert [alt["token"] for alt in chosen["alternatives"]] == ["fine", "ok"]
        with pytest.raises(llmlens.LensError, match="no span"):
            lens.tokens("ffffffffffffffff")


def test_diff_aligns_two_completions_and_shows_what_each_gave_the_other(page: Any, tmp_path: Path) -> None:
    def completion(words: list[str], alternatives: dict[int, list[tuple[str, float]]]) -> TokenView:
        tokens = [_token(w, math.log(0.8), alternatives.get(i, [(w, math.log(0.8))])) for i, w in enumerate(words)]
        return TokenView.from_openai(_response(tokens))

    a = completion(["The", " sky", " is", " blue", "."], {1: [(" sky", math.log(0.8)), (" sea", math.log(0.04))]})
    b = completion(["The", " sea", " is", " blue", " today", "."], {})
    view = TokenView.diff(a, b, labels=("gpt-4o", "gpt-4o-mini"))
    alignment = view.alignment
    assert alignment is not None
    assert alignment.op.tolist() == ["equal", "replace", "equal", "insert", "equal"]
    assert math.isclose(alignment.a_logprob_of_b[1], math.log(0.04), rel_tol=1e-5)
    assert math.isnan(alignment.b_logprob_of_a[1])  # " sky" was not among B's alternatives
    _open(page, view, tmp_path)
    assert page.locator(".ll-diff-summary").inner_text() == (
        "first divergence at token 1 · 2 differing regions · 66.7% of tokens shared"
    )
    assert [s.split(" · ")[0] for s in page.locator(".ll-stats").all_inner_texts()] == ["gpt-4o", "gpt-4o-mini"]
    assert page.locator(".ll-changed").count() == 3  # " sky", " sea", " today"
    page.locator(".ll-tok.ll-diverge").first.hover()
    assert 'the other took " sea"; this completion gave it 4.0%' in page.locator(".ll-detail").inner_text()
    page.locator(".ll-tok.ll-diverge").nth(1).hover()
    assert "it was not among this completion's alternatives" in page.locator(".ll-detail").inner_text()


def test_prompt_logprobs_fill_the_prompt_side(page: Any, tmp_path: Path) -> None:
    response = _response(SPLIT, n=2)
    prompt = [_token("How", math.log(0.01)), _token(" much", math.log(0.4), [(" much", math.log(0.4))])]
    for choice in response["choices"]:
        choice["prompt_logprobs"] = {"content": prompt}  # Inspect's ChatCompletionChoice shape
    view = TokenView.from_openai(response)
    sides = view.tokens.groupby(["side", "choice"]).size().to_dict()
    assert sides == {("input", 0): 2, ("output", 0): 5, ("output", 1): 5}
    _open(page, view, tmp_path)
    assert page.locator(".ll-section").all_inner_texts() == ["prompt tokens", "output tokens"]
    assert page.locator(".ll-grid").first.locator(".ll-tok").all_text_contents() == ["How", " much"]


@pytest.mark.parametrize("kind", ["chat", "legacy", "responses"])
def test_the_openai_packages_own_response_objects_show(page: Any, tmp_path: Path, kind: str) -> None:
    from tests.test_load_logprobs import chat_completion, legacy_completion, responses_api_response

    response = {"chat": chat_completion, "legacy": legacy_completion, "responses": responses_api_response}[kind]()
    view = TokenView.from_openai(response)  # the openai package's own types
    _open(page, view, tmp_path)
    shown = "".join(page.locator(".ll-tok").all_text_contents())
    expected = {"chat": "Hi·€No", "legacy": " yes.", "responses": None}[kind]
    if expected is not None:
        assert shown == expected
    assert view.count == page.locator(".ll-tok").count() > 0
    assert page.errors == []


def test_labels_and_every_text_of_a_diff_never_execute(page: Any, tmp_path: Path) -> None:
    hostile = [_token(text, -0.5, [(text, -0.5), (HOSTILE[2], -1.0)]) for text in HOSTILE]
    a = TokenView.from_openai(_response(hostile, model=HOSTILE[0]))
    b = TokenView.from_openai(_response(list(reversed(hostile)), model=HOSTILE[1]))
    view = TokenView.diff(a, b, labels=(HOSTILE[1], HOSTILE[0]))
    _open(page, view, tmp_path)
    for i in range(page.locator(".ll-tok").count()):
        page.locator(".ll-tok").nth(i).hover()
    root = page.locator("#llmlens-root")
    assert page.evaluate("window.__xss") is None
    assert root.locator("img, script, a, iframe").count() == 0
    assert HOSTILE[1] in root.locator(".ll-stats").first.inner_text()
    assert page.title() == view.title  # the page title is the text, escaped, never markup


def test_the_demo_stores_answers_show_their_tokens(page: Any, tmp_path: Path) -> None:
    from llmlens.demo.build import insert_demo

    with llmlens.open(":memory:") as lens:
        insert_demo(lens, progress=False)
        least_sure = lens.sql("SELECT span_id FROM tokens GROUP BY ALL ORDER BY avg(logprob) LIMIT 1").span_id[0]
        view = lens.tokens(least_sure)
        answer = lens.sql("SELECT content FROM messages WHERE span_id = ? AND side = 'output'", [least_sure]).content[0]
    assert view.count > 10
    _open(page, view, tmp_path)
    assert page.locator(".ll-conversation summary").inner_text().startswith("conversation")
    shown = page.locator(".ll-body").first.inner_text().replace("·", " ").replace("↵", "")
    assert shown.replace("\n", "") == answer.replace("\n", "")
    assert "under 50.0%" in page.locator(".ll-stats").first.inner_text()
    page.locator(".ll-tokens").focus()
    page.keyboard.press("n")
    assert page.locator(".ll-selected").count() == 1 and "%" in page.locator(".ll-detail").inner_text()


def test_the_exported_page_needs_no_network(page: Any, tmp_path: Path) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    view = TokenView.from_openai(_response(SPLIT))
    _open(page, view, tmp_path)
    page.locator(".ll-tok").first.hover()
    assert [url for url in requests if not url.startswith(("file:", "blob:", "data:"))] == []
    page_text = view.to_html()
    assert "http:" not in page_text and "https:" not in page_text  # no server named anywhere in the page
