"""Debian's chromium driven by Playwright (never `playwright install`): shared by the widget tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
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


def screenshot_on_failure(page: Any, name: str, failed: bool) -> None:
    """Keep what the page looked like when a test failed, under test-screenshots/."""
    if failed:
        folder = Path(__file__).resolve().parents[1] / "test-screenshots"
        folder.mkdir(exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
