"""The review queue in a real browser: ten demo traces judged by keyboard in JupyterLab, the kernel restarted, the
queue resumed at the eleventh with all ten judgements in ``annotations``; and hostile tags, notes and trace text
kept inert."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmlens
from llmlens.analysis import review
from tests.browser import Lab, jupyterlab, open_notebook, run_cell
from tests.test_widget_traces import HOSTILE, TRACE, _hostile_store

pytestmark = pytest.mark.slow

QUEUE = "2026-W47"
VERDICTS = "fpfppfpppf"
"""The verdicts given to the first ten items, by key."""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with jupyterlab(tmp_path_factory.mktemp("lab-review")) as server:
        yield server


def _judged(page: Any, review_root: Any, position: int, judged: int) -> None:
    """Wait until the queue shows ``position`` and the kernel has written ``judged`` verdicts."""
    review_root.and_(page.locator(f"[data-position='{position}'][data-judged='{judged}'][data-pending='0']")).wait_for()


def _printed(page: Any) -> str:
    """What cell 1 prints: the kernel's process id, the queue's position and how many are judged."""
    printed = run_cell(page, 1).locator(".jp-OutputArea-output")
    printed.filter(has_text="pid=").wait_for()
    return str(printed.inner_text())


def _restart_kernel(page: Any) -> None:
    """JupyterLab's Kernel menu, Restart Kernel and Clear Outputs (so the prompts read "[ ]" again and running a
    cell shows a new count), and the dialog's Restart."""
    page.locator("#jp-MainMenu").get_by_text("Kernel", exact=True).click()
    page.locator(".lm-Menu-content").get_by_text(re.compile(r"^Restart Kernel and Clear Outputs of All")).click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator("#jp-main-statusbar").get_by_text("| Restarting").wait_for()
    page.locator("#jp-main-statusbar").get_by_text("| Idle").wait_for()


def test_ten_traces_judged_by_keyboard_survive_a_kernel_restart(
    lab: Lab, page: Any, demo_path: Path, tmp_path: Path
) -> None:
    store = tmp_path / "review.duckdb"
    shutil.copy(demo_path, store)
    cells = [
        f"import llmlens\nlens = llmlens.open({str(store)!r})\n"
        f"queue = lens.review(40, name={QUEUE!r}, reviewer='ana')\nqueue",
        "import os\nprint(f'pid={os.getpid()} position={queue.position} judged={queue.judged}')",
        "lens.close()",
    ]
    open_notebook(page, lab, "review.ipynb", cells)
    cell = run_cell(page, 0)
    root = cell.locator(".ll-review")
    root.and_(page.locator("[data-state=ready][data-position='0']")).wait_for()
    cell.locator(".ll-review-trace .ll-trace[data-state=ready]").wait_for()
    assert "0 / 40 judged" in cell.locator(".ll-progress").inner_text()
    root.focus()
    for i, key in enumerate(VERDICTS):
        if i == 0:  # a new tag, typed with autocomplete at hand
            page.keyboard.press("t")
            cell.locator(".ll-tag-input").press_sequentially("slow answer")
            page.keyboard.press("Enter")
            cell.locator(".ll-tag[data-tag='slow answer'][aria-pressed=true]").wait_for()
        if i in (1, 7):  # the taxonomy's first tag, by number
            page.keyboard.press("1")
            cell.locator(".ll-tag[data-tag='slow answer'][aria-pressed=true]").wait_for()
        if i == 2:
            page.keyboard.press("n")
            cell.locator(".ll-note-input").press_sequentially("wrong refund amount")
            page.keyboard.press("Enter")
            root.and_(page.locator("[data-pending='0']")).wait_for()
        if i == 3:  # a slip, undone: the queue goes back to it
            page.keyboard.press("p")
            _judged(page, root, 4, 4)
            page.keyboard.press("u")
            _judged(page, root, 3, 3)
        if i == 4:  # forward and back again
            page.keyboard.press("j")
            root.and_(page.locator("[data-position='5']")).wait_for()
            page.keyboard.press("k")
            root.and_(page.locator("[data-position='4']")).wait_for()
        page.keyboard.press(key)
        _judged(page, root, i + 1, i + 1)
    assert "10 / 40 judged" in cell.locator(".ll-progress").inner_text()
    assert "item 11 of 40" in cell.locator(".ll-item").inner_text()
    before = _printed(page)
    assert "position=10 judged=10" in before

    _restart_kernel(page)
    cell = run_cell(page, 0)
    root = cell.locator(".ll-review")
    root.and_(page.locator("[data-state=ready][data-position='10'][data-judged='10']")).wait_for()
    cell.locator(".ll-review-trace .ll-trace[data-state=ready]").wait_for()
    assert "item 11 of 40" in cell.locator(".ll-item").inner_text()
    assert "10 / 40 judged" in cell.locator(".ll-progress").inner_text()
    assert cell.locator(".ll-tag[data-tag='slow answer'] .ll-tag-key").inner_text() == "1", "the taxonomy is kept"
    after = _printed(page)
    assert "position=10 judged=10" in after
    assert after.split()[0] != before.split()[0], "a new kernel process"
    run_cell(page, 2)  # the kernel lets go of the store

    with llmlens.open(store, read_only=True) as lens:
        items = review.queue_items(lens.con, QUEUE).trace_id.tolist()
        assert len(items) == 40
        verdicts = lens.sql(
            "SELECT target_id, label, annotator, created_at FROM annotations "
            "WHERE queue = $q AND name = 'review' ORDER BY annotation_id",
            {"q": QUEUE},
        )
        assert verdicts.target_id.tolist() == items[:10], "one verdict per item, the slip undone"
        assert "".join(label[0] for label in verdicts.label) == VERDICTS
        assert set(verdicts.annotator) == {"ana"} and verdicts.created_at.notna().all()
        tags = lens.sql("SELECT target_id, label FROM annotations WHERE queue = $q AND name = 'tag'", {"q": QUEUE})
        assert sorted(tags.target_id) == sorted([items[0], items[1], items[7]])
        assert set(tags.label) == {"slow answer"}
        notes = lens.sql("SELECT target_id, note FROM annotations WHERE queue = $q AND name = 'note'", {"q": QUEUE})
        assert notes.values.tolist() == [[items[2], "wrong refund amount"]]
    assert not page.errors


HOSTILE_TAG = '<img src=x onerror="window.__xss=3">'


def test_hostile_tags_notes_reasons_and_trace_text_stay_text(
    lab: Lab, page: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    store = _hostile_store(tmp_path_factory.mktemp("hostile-review") / "hostile.duckdb")
    with llmlens.open(store) as lens:
        review.add_items(lens.con, HOSTILE, [TRACE], [HOSTILE])
        review.judge(lens.con, HOSTILE, HOSTILE, TRACE, tag=HOSTILE_TAG)
        review.judge(lens.con, HOSTILE, HOSTILE, TRACE, note=HOSTILE)
    cells = [
        f"import llmlens\nlens = llmlens.open({str(store)!r})\n"
        f"queue = lens.review(name={HOSTILE!r}, reviewer={HOSTILE!r})\nqueue"
    ]
    open_notebook(page, lab, "hostile-review.ipynb", cells)
    cell = run_cell(page, 0)
    root = cell.locator(".ll-review")
    root.and_(page.locator("[data-state=ready]")).wait_for()
    cell.locator(".ll-review-trace .ll-trace[data-state=ready]").wait_for()
    root.focus()
    page.keyboard.press("t")
    cell.locator(".ll-tag-input").fill("<script>window.__xss=4</script>")
    page.keyboard.press("Enter")
    cell.locator(".ll-tag[aria-pressed=true]").nth(1).wait_for()
    for span in ("00000000000000a2", "00000000000000a3", "00000000000000a1"):
        cell.locator(f".ll-review-trace [data-span-id='{span}'][data-row]").click()
        cell.locator(f".ll-span-detail[data-span-id='{span}']").wait_for()
    text = root.inner_text()
    for shown in (f"review {HOSTILE}", f"reviewer {HOSTILE}", f"picked: {HOSTILE}", HOSTILE_TAG, "<script>window"):
        assert shown in text, f"{shown!r} is shown as the text it is"
    assert cell.locator(".ll-note-input").input_value() == HOSTILE
    assert page.evaluate("window.__xss") is None
    assert root.locator("img, script:not([type])").count() == 0


def test_an_exported_queue_shows_its_item_and_trace_without_a_kernel(
    page: Any, demo_path: Path, tmp_path: Path
) -> None:
    store = tmp_path / "review.duckdb"
    shutil.copy(demo_path, store)
    with llmlens.open(store) as lens:
        queue = lens.review(5, name=QUEUE, reviewer="ana")
        queue.judge("fail", tags=["slow answer"], note="took 9 s")
        queue.previous()
        queue.to_html(tmp_path / "queue.html")
    page.goto((tmp_path / "queue.html").as_uri())
    page.locator("body[data-rendered=true]").wait_for()
    root = page.locator(".ll-review[data-state=ready][data-position='0'][data-verdict=fail]")
    root.wait_for()
    page.locator(".ll-review-trace .ll-trace[data-state=ready]").wait_for()
    assert "1 / 5 judged" in root.locator(".ll-progress").inner_text()
    assert page.locator(".ll-tag[data-tag='slow answer'][aria-pressed=true]").count() == 1
    assert page.locator(".ll-note-input").input_value() == "took 9 s"
    root.focus()
    page.keyboard.press("p")  # no kernel to write to: said so, nothing breaks
    page.locator(".ll-review-error").filter(has_text="no kernel").wait_for()
    assert not page.errors
