"""The token viewer in a real JupyterLab: a kernel runs the cell, chromium shows the widget, clicks and keys
reach the Python traits (the lonboard tests/ui pattern, with Debian's chromium)."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

RESPONSE = {
    "object": "chat.completion",
    "id": "chatcmpl-lab",
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Pro is $59"},
                 "logprobs": {"content": [
                     {"token": t, "logprob": lp, "bytes": list(t.encode()), "top_logprobs": [
                         {"token": t, "logprob": lp, "bytes": list(t.encode())},
                         {"token": " maybe", "logprob": -3.0, "bytes": list(b" maybe")}]}
                     for t, lp in [("Pro", -0.05), (" is", -0.9), (" $", -0.2), ("59", -1.6)]]}}],
}  # fmt: skip

CELLS = [
    "import json\nfrom llmlens.widgets import TokenView\n"
    f"view = TokenView.from_openai(json.loads({json.dumps(json.dumps(RESPONSE))}))\nview",
    "print(f'state: selected={view.selected} mode={view.mode}')",
]


@dataclass
class Lab:
    url: str
    token: str
    root: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("lab")
    port, token = _free_port(), secrets.token_hex(12)
    log = (root / "jupyterlab.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--allow-root"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"JupyterLab did not start: {(root / 'jupyterlab.log').read_text()[-2000:]}")
        time.sleep(0.5)
    try:
        yield Lab(url, token, root)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _notebook(path: Path) -> None:
    cells = [{"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
             for source in CELLS]  # fmt: skip
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.write_text(json.dumps({"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4,
                                "nbformat_minor": 5}))  # fmt: skip


def _run_cell(page: Any, index: int) -> Any:
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+Enter")  # run in place
    return cell


def test_token_viewer_round_trips_with_the_kernel_in_jupyterlab(lab: Lab, page: Any) -> None:
    _notebook(lab.root / "tokens.ipynb")
    page.set_default_timeout(60_000)
    page.goto(f"{lab.url}/lab/tree/tokens.ipynb?token={lab.token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.locator("#jp-main-statusbar").get_by_text("| Idle").wait_for()  # the kernel is up
    cell = _run_cell(page, 0)
    tokens = cell.locator(".ll-tok")
    tokens.first.wait_for()
    assert tokens.all_text_contents() == ["Pro", " is", " $", "59"]
    tokens.nth(3).click()
    cell.locator(".ll-tokens").press("m")  # the widget's key, not JupyterLab's (m would make a markdown cell)
    assert cell.locator("button[aria-pressed=true]").inner_text() == "entropy"
    state = _run_cell(page, 1).locator(".jp-OutputArea-output")
    state.filter(has_text="state:").wait_for()
    assert "state: selected=3 mode=entropy" in state.inner_text()
    # the widget's keys did not reach JupyterLab ("m" there turns the cell into markdown)
    assert page.locator(".jp-Notebook .jp-CodeCell").count() == 2
