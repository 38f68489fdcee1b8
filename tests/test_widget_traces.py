"""The trace explorer in a real browser: the trace table and trace view in JupyterLab with a kernel (search,
select, open, collapse and expand, select an LLM span, tokens), hostile trace content kept inert, the agent
network, and the kernel-free exported pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmlens
from tests.browser import Lab, jupyterlab, open_notebook, run_cell

pytestmark = pytest.mark.slow

HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
TRACE = "7c8efff798038103d269b633813fc60c"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with jupyterlab(tmp_path_factory.mktemp("lab-traces")) as server:
        yield server


def _traced_call(demo_path: Path) -> tuple[str, str]:
    """A demo trace of several spans with an LLM span that has tokens: (trace id, span id)."""
    with llmlens.open(demo_path, read_only=True) as lens:
        row = lens.sql(
            "SELECT s.trace_id, s.span_id FROM spans s JOIN traces t USING (trace_id) "
            "WHERE s.kind = 'LLM' AND s.span_id IN (SELECT span_id FROM tokens) AND t.n_spans > 3 "
            "ORDER BY s.trace_id LIMIT 1"
        ).iloc[0]
    return str(row.trace_id), str(row.span_id)


def test_search_select_open_collapse_and_see_an_llm_spans_tokens(lab: Lab, page: Any, demo_path: Path) -> None:
    trace, span = _traced_call(demo_path)
    cells = [
        f"import llmlens\nlens = llmlens.open({str(demo_path)!r}, read_only=True)\ntable = lens.traces()\ntable",
        "print(f'selected={table.selected_ids} opened={table.trace_id} span={table.selected_span}')",
    ]
    open_notebook(page, lab, "traces.ipynb", cells)
    cell = run_cell(page, 0)
    table = cell.locator(".ll-trace-table[data-state=ready]")
    table.wait_for()
    assert cell.locator(".ll-row[data-trace-id]").count() > 10
    cell.locator(".ll-search").fill(trace)
    cell.locator(".ll-count").filter(has_text="1 of").wait_for()  # the kernel searched
    row = cell.locator(f".ll-row[data-trace-id='{trace}']")
    row.click()
    assert row.get_attribute("aria-selected") == "true"
    table.press("Enter")  # opens the trace under the table
    tree = cell.locator(".ll-trace-pane [data-state=ready]").first
    tree.wait_for()
    rows = cell.locator(".ll-trace-pane [data-span-id][data-row]:not([hidden])")
    spans = rows.count()
    assert spans > 3
    first = rows.first
    first.click()
    tree.press("ArrowLeft")  # collapse the root: only it stays
    page.wait_for_function(
        "n => document.querySelectorAll('.ll-trace-pane [data-span-id][data-row]:not([hidden])').length < n", arg=spans
    )
    tree.press("ArrowRight")  # expand it again
    page.wait_for_function(
        "n => document.querySelectorAll('.ll-trace-pane [data-span-id][data-row]:not([hidden])').length === n",
        arg=spans,
    )
    cell.locator(f".ll-trace-pane [data-span-id='{span}'][data-row]").click()
    detail = cell.locator(f".ll-span-detail[data-span-id='{span}']")
    detail.wait_for()
    detail.locator(".ll-tokens .ll-tok").first.wait_for()  # the token viewer, inside the detail
    assert detail.locator(".ll-tokens .ll-tok").count() > 3
    state = run_cell(page, 1).locator(".jp-OutputArea-output")
    state.filter(has_text="selected=").wait_for()
    assert f"selected=['{trace}'] opened={trace} span={span}" in state.inner_text()


def _hostile_store(path: Path) -> Path:
    """A store whose trace holds script in its span names, messages, documents and attributes."""
    response = {
        "object": "chat.completion", "id": "chatcmpl-x", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": HOSTILE},
                     "logprobs": {"content": [{"token": HOSTILE, "logprob": -0.1, "bytes": list(HOSTILE.encode()),
                                               "top_logprobs": []}]}}],
    }  # fmt: skip

    def attrs(values: dict[str, str]) -> list[dict[str, Any]]:
        return [{"key": k, "value": {"stringValue": v}} for k, v in values.items()]

    def span(span_id: str, parent: str | None, kind: str, values: dict[str, str]) -> dict[str, Any]:
        return {
            "traceId": TRACE, "spanId": span_id, "name": HOSTILE, "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000001000000000", **({"parentSpanId": parent} if parent else {}),
            "attributes": attrs({"openinference.span.kind": kind, **values}),
        }  # fmt: skip

    spans = [
        span("00000000000000a1", None, "CHAIN", {"input.value": HOSTILE, "output.value": HOSTILE}),
        span("00000000000000a2", "00000000000000a1", "RETRIEVER", {
            "retrieval.documents.0.document.content": HOSTILE, "retrieval.documents.0.document.id": HOSTILE,
            "retrieval.documents.0.document.score": "0.5"}),
        span("00000000000000a3", "00000000000000a1", "LLM", {
            "llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": HOSTILE,
            "output.value": json.dumps(response), "output.mime_type": "application/json", HOSTILE: HOSTILE}),
    ]  # fmt: skip
    source = path.parent / "hostile.json"
    source.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    with llmlens.open(path) as lens:
        lens.load(source, progress=False)
    return path


def test_script_in_trace_content_stays_text(lab: Lab, page: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    store = _hostile_store(tmp_path_factory.mktemp("hostile") / "hostile.duckdb")
    cells = [
        f"import llmlens\nlens = llmlens.open({str(store)!r}, read_only=True)\ntable = lens.traces()\n"
        f"table.trace_id = {TRACE!r}\ntable"
    ]
    open_notebook(page, lab, "hostile.ipynb", cells)
    cell = run_cell(page, 0)
    cell.locator(".ll-trace-table[data-state=ready]").wait_for()
    cell.locator(".ll-trace-pane [data-state=ready]").first.wait_for()
    for span in ("00000000000000a2", "00000000000000a3", "00000000000000a1"):
        cell.locator(f".ll-trace-pane [data-span-id='{span}'][data-row]").click()
        cell.locator(f".ll-span-detail[data-span-id='{span}']").wait_for()
    assert HOSTILE in cell.locator(".ll-trace-table").inner_text(), "shown as the text it is"
    assert page.evaluate("window.__xss") is None
    assert cell.locator(".ll-trace-table img, .ll-trace-table script:not([type])").count() == 0


def test_the_agent_network_shows_the_demos_handoff_loop(page: Any, demo_path: Path, tmp_path: Path) -> None:
    with llmlens.open(demo_path, read_only=True) as lens:
        looped = lens.sql(
            "SELECT src_trace_id FROM edges WHERE kind = 'handoff' GROUP BY 1 "
            "HAVING bool_or(label = 'triage -> billing') AND bool_or(label = 'billing -> triage') LIMIT 1"
        ).src_trace_id[0]
        lens.trace(looped).agents().to_html(tmp_path / "agents.html")
    page.goto((tmp_path / "agents.html").as_uri())
    page.locator(".ll-agents[data-state=ready]").wait_for()
    there = page.locator(".ll-edge.ll-cycle[data-source=triage][data-target=billing]")
    back = page.locator(".ll-edge.ll-cycle[data-source=billing][data-target=triage]")
    assert there.count() == 1 and back.count() == 1, "the loop is drawn both ways"
    assert "loops: billing → triage → billing" in page.locator(".ll-caption").inner_text()


def test_an_exported_trace_shows_its_tree_and_details_without_a_kernel(
    page: Any, demo_path: Path, tmp_path: Path
) -> None:
    trace, span = _traced_call(demo_path)
    with llmlens.open(demo_path, read_only=True) as lens:
        lens.trace(trace).to_html(tmp_path / "trace.html")
    page.goto((tmp_path / "trace.html").as_uri())
    page.locator("body[data-rendered=true]").wait_for()
    page.locator("[data-state=ready]").first.wait_for()
    page.locator(f"[data-span-id='{span}'][data-row]").click()
    detail = page.locator(f".ll-span-detail[data-span-id='{span}']")
    detail.wait_for()
    detail.locator(".ll-tokens .ll-tok").first.wait_for()  # embedded: no kernel to ask
