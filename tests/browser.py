"""Debian's chromium driven by Playwright (never `playwright install`): shared by the widget tests."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Flags for a closed network: without the background-networking ones chromium keeps dialling Google."""


def launch() -> Iterator[Any]:
    """A headless chromium browser for the duration of a fixture."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError("chromium is not installed: `apt-get install chromium` (.ci/run does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def offline(page: Any) -> list[str]:
    """Block every request of ``page`` that leaves it (anything but ``file:``, ``blob:`` and ``data:`` URLs);
    the returned list fills with the URLs it tried, for a test to assert it stays empty."""
    attempted: list[str] = []

    def block(route: Any) -> None:
        if route.request.url.startswith(("file:", "blob:", "data:")):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort()

    page.route("**/*", block)
    return attempted


def screenshot_on_failure(page: Any, name: str, failed: bool) -> None:
    """Keep what the page looked like when a test failed, under test-screenshots/."""
    if failed:
        folder = Path(__file__).resolve().parents[1] / "test-screenshots"
        folder.mkdir(exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@dataclass
class Lab:
    """A running JupyterLab server."""

    url: str
    token: str
    root: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def jupyterlab(root: Path, theme: str | None = None) -> Iterator[Lab]:
    """JupyterLab on a free loopback port serving ``root`` (in ``theme``, e.g. "JupyterLab Dark"), stopped
    afterwards; its log is ``root/jupyterlab.log``."""
    port, token = _free_port(), secrets.token_hex(12)
    log_path = root / "jupyterlab.log"
    settings = root / ".settings"
    themes = settings / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    themes.parent.mkdir(parents=True, exist_ok=True)
    themes.write_text(json.dumps({"theme": theme or "JupyterLab Light"}))
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings)}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--allow-root"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"JupyterLab did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        try:
            yield Lab(url, token, root)
        finally:
            process.terminate()
            process.wait(timeout=30)


def open_notebook(page: Any, lab: Lab, name: str, cells: list[str], app: str = "lab") -> None:
    """Write a notebook of code ``cells`` into the server's root, open it in JupyterLab (``app="lab"``) or
    Notebook 7 (``app="notebook"``), and wait for its kernel."""
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
                  for source in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 4,
    }  # fmt: skip
    (lab.root / name).write_text(json.dumps(notebook))
    page.set_default_timeout(60_000)
    # a workspace of its own (named after the notebook): the default one would reopen earlier notebooks beside it
    workspace = name.rsplit(".", 1)[0].replace("/", "-")
    path = f"/lab/workspaces/{workspace}/tree/{name}" if app == "lab" else f"/notebooks/{name}"
    page.goto(f"{lab.url}{path}?token={lab.token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    if app == "lab":
        page.locator("#jp-main-statusbar").get_by_text("| Idle").wait_for()  # the kernel is up
    else:
        page.locator(".jp-Notebook-ExecutionIndicator[data-status=idle]").wait_for()


def run_cell(page: Any, index: int) -> Any:
    """Run code cell ``index`` in place (Ctrl+Enter) and wait until it has run; returns the cell's locator."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text()
    for _ in range(3):  # a keypress that lands while the notebook is still connecting is lost: press again
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")
        with contextlib.suppress(Exception):
            page.wait_for_function(
                "([e, b]) => e.innerText !== b && !e.innerText.includes('*')",
                arg=[prompt.element_handle(), before],
                timeout=20_000,
            )
            return cell
    raise AssertionError(f"cell {index} did not run")
