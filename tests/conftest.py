from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmlens import lens as lens_module


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test runs in its own folder, with no LLMLENS_DB and no store left open by an earlier test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LLMLENS_DB", raising=False)
    yield
    current = lens_module.current_lens()
    if current is not None:
        current.close()


@pytest.fixture(scope="session")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store, built once for the whole session: tests open it read-only."""
    import llmlens.demo

    return llmlens.demo.build(tmp_path_factory.mktemp("demo") / "demo.duckdb", progress=False)


@pytest.fixture
def demo(demo_path: Path) -> Iterator[Any]:
    """The demo store, opened read-only."""
    import llmlens

    with llmlens.open(demo_path, read_only=True) as lens:
        yield lens


class Holder:
    """A second process that keeps a store open until stopped."""

    def __init__(self, path: Path, *, read_only: bool) -> None:
        code = textwrap.dedent(
            f"""
            import sys, llmlens
            lens = llmlens.open({str(path)!r}, read_only={read_only})
            print("ready", flush=True)
            sys.stdin.readline()
            """
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.strip() == "ready", f"holder failed to open {path}"

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        self.process.wait(timeout=30)


@pytest.fixture
def hold_store() -> Iterator[Callable[..., Holder]]:
    holders: list[Holder] = []

    def start(path: Path, *, read_only: bool) -> Holder:
        holder = Holder(path, read_only=read_only)
        holders.append(holder)
        return holder

    yield start
    for holder in holders:
        if holder.process.poll() is None:
            holder.stop()


@pytest.fixture(scope="session")
def shell() -> Any:
    """The one IPython shell of the test session, with the llmlens extension loaded."""
    from IPython.testing import globalipapp

    globalipapp.start_ipython()
    ipython = globalipapp.get_ipython()  # rebound by start_ipython to the running shell
    ipython.run_line_magic("load_ext", "llmlens")
    return ipython


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's outcome on the test item, so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from tests.browser import launch

    yield from launch()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; its screenshot is kept under test-screenshots/ when the test fails."""
    from tests.browser import screenshot_on_failure

    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    report = getattr(request.node, "rep_call", None)
    screenshot_on_failure(page, request.node.name, bool(report and report.failed))
    context.close()
