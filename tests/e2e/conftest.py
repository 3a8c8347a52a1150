"""Browser tests of the workshop app: the server on 127.0.0.1 and headless Chromium.

They need Debian's Chromium (``apt-get install -y chromium``: ``/usr/bin/chromium``)
and the ``playwright`` Python package (its own browser download is not used), and
skip with the reason when either is missing. Select or leave them out with
``-m e2e`` / ``-m "not e2e"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: A small market keeps every step fast in tests.
SIZE = 3000
ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    """Register the marker."""
    config.addinivalue_line(
        "markers", "e2e: end-to-end test of the workshop app in headless Chromium"
    )


def _missing() -> str | None:
    """Why the app's browser tests cannot run (the browser, or the app's packages), or None."""
    reason = missing_browser()
    if reason:
        return reason
    for module, pkg in (("solara", "solara"), ("solara_assets", "solara-assets")):
        if importlib.util.find_spec(module) is None:
            return f"the Python package {pkg} is missing (pip install {pkg})"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lab_server(tmp_path_factory, what: str, args: list[str], reason: str | None, **env_default):
    """``python -m sim.app ARGS --port P`` on a free 127.0.0.1 port until it answers 200,
    results in a new temporary folder: yields (``http://127.0.0.1:P``, results folder) and
    stops the server after; skips with ``reason`` when one is given (a missing browser or
    package). The server's output goes to ``server.log``, shown when it exits early."""
    if reason:
        pytest.skip(reason)
    results = tmp_path_factory.mktemp(f"{what}-results")
    port = free_port()
    env = {**os.environ, "BANKLAB_RESULTS": str(results), "PYTHONUNBUFFERED": "1"}
    for key, value in env_default.items():
        env.setdefault(key, str(value).format(results=results))
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "sim.app", *args, "--port", str(port)]
    log = (results / "server.log").open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.flush()
                pytest.fail(
                    f"the {what} exited ({proc.returncode}):\n"
                    + (results / "server.log").read_text()
                )
            with contextlib.suppress(OSError), urllib.request.urlopen(url + "/", timeout=2) as r:
                if r.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"the {what} did not answer within 60 s")
            time.sleep(0.3)
        yield url, results
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The app served by ``python -m sim.app`` on a free 127.0.0.1 port: (url, results dir)."""
    args = ["--host", "127.0.0.1", "--size", str(SIZE)]
    with lab_server(tmp_path_factory, "app", args, _missing()) as (url, results):
        yield url + "/", results


def missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is missing (pip install playwright)"
    return None


@pytest.fixture(scope="module")
def chromium():
    """Headless Debian Chromium driven by Playwright, one per test file.

    Playwright's sync API runs an asyncio event loop in the main thread for as long as it
    is started (its greenlet keeps that loop marked as running). A second
    ``sync_playwright()`` started while the first is alive finds the loop running and
    refuses ("using Playwright Sync API inside the asyncio loop"); so does ``asyncio.run``
    in any later test of the same process. Every browser test file therefore uses this
    fixture, which stops Playwright when the file's tests are done: the files run in any
    order in one process, and the next file (browser or not) finds no loop.
    """
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    # assertions wait as long as a click does (30 s, not 5): CI runners and shared machines
    # are slow, and a check that waits longer still fails when the page is wrong
    expect.set_options(timeout=30_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
    with contextlib.suppress(RuntimeError):  # RuntimeError: no loop running, as it must be
        asyncio.get_running_loop()
        pytest.fail("an asyncio event loop is still running after Playwright stopped")


@pytest.fixture(scope="module")
def browser(app_server, chromium):
    """The browser for the app's tests (the app is served first)."""
    return chromium


@pytest.fixture
def page(browser, app_server):
    """A fresh browser context (its own session, so its own models) on the app."""
    url, _ = app_server
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.outside = []  # requests that left 127.0.0.1
    local = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:")
    pg.on("request", lambda r: None if r.url.startswith(local) else pg.outside.append(r.url))
    pg.goto(url)
    # a session's first page builds its two models (the spin-up too, the first time): on a
    # busy machine this takes longer than a click's 30 s
    pg.get_by_text("Week 0 of 260").wait_for(timeout=180_000)
    yield pg
    context.close()
