"""Screenshots of the real workshop app for docs/workshop.md (docs/img/workshop-*.png).

Starts ``python -m sim.app`` on a free 127.0.0.1 port (results in a temporary
folder), drives it with Playwright and Debian's Chromium (``/usr/bin/chromium``),
and writes palette PNGs under 300 KB each::

    python scripts/workshop_screenshots.py            # 20,000 customers, ~1 minute
    python scripts/workshop_screenshots.py --size 3000 --out /tmp/shots
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MAX_BYTES = 300_000


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    """Wait until the app answers (or fail if it exits)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with code {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:
            if r.status == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"the app did not answer at {url}")


def save_png(data: bytes, path: Path, colours: int = 128) -> int:
    """Write a screenshot as a palette PNG; its size in bytes."""
    from PIL import Image

    img = Image.open(io.BytesIO(data)).convert("RGB")
    small = img.quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    path.write_bytes(buf.getvalue())
    return len(buf.getvalue())


def set_max(page, scope: str, lever: str) -> None:
    """Move a lever to its maximum (keyboard End on the slider)."""
    thumb = page.locator(f".{scope} .lever-{lever} [role=slider]")
    thumb.focus()
    thumb.press("End")


def shoot(url: str, out: Path) -> list[tuple[Path, int]]:
    """Drive the app and take the screenshots."""
    from playwright.sync_api import expect, sync_playwright

    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_text("Week 0 of 260").wait_for()

        # 1. the strategy lab: two levers up, half a year of the pandemic scenario (its
        # screenshot is the room's, docs/img/room_lab.png, from the browser tests)
        set_max(page, "lab-levers", "app_quality")
        page.locator(".lab-levers").get_by_text("App quality *: 1 score").wait_for()
        set_max(page, "lab-levers", "remote_quality")
        page.locator(".lab-levers").get_by_text("Remote quality *: 1 score").wait_for()
        for week in (13, 26):
            page.locator(".lab-quarter").click()
            page.get_by_text(f"Week {week} of 260").wait_for()
        page.wait_for_timeout(800)

        # 2. the agents: a sample of customers
        table = page.locator(".lab-customers")
        table.scroll_into_view_if_needed()
        path = out / "workshop-customers.png"
        shots.append((path, save_png(table.screenshot(), path)))

        # 3. the team game after two rounds
        page.get_by_role("tab", name="Team game").click()
        page.locator(".game-new").click()
        page.get_by_text("The market before round 1").wait_for()
        set_max(page, "game-levers", "app_quality")
        page.locator(".game-levers").get_by_text("App quality *: 1 score").wait_for()
        page.locator(".game-play").click()
        page.get_by_text("Leaderboard after round 1").wait_for()
        expect(page.locator(".game-play")).to_be_enabled()  # the round's task has ended
        page.get_by_role("button", name="Blue").click()
        page.locator(".game-levers").get_by_text("Blue runs the State bank A").wait_for()
        set_max(page, "game-levers", "branch_quality")
        page.locator(".game-levers").get_by_text("Branch quality *: 1 score").wait_for()
        page.get_by_role("button", name="Play round 2").click()
        page.get_by_text("Leaderboard after round 2").wait_for()
        page.wait_for_timeout(800)
        page.evaluate("window.scrollTo(0, 0)")
        path = out / "workshop-game.png"
        shots.append((path, save_png(page.screenshot(), path)))
        browser.close()
    return shots


def main(argv: list[str] | None = None) -> None:
    """Start the app, take the screenshots, stop the app."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--size", type=int, default=20_000)
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BANKLAB_RESULTS": tmp}
        cmd = [
            sys.executable,
            "-m",
            "sim.app",
            "--port",
            str(port),
            "--size",
            str(args.size),
            "--scenario",
            "pandemic",
        ]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
        try:
            wait_for(url, proc)
            shots = shoot(url, args.out)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    too_big = []
    for path, size in shots:
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {size:,} bytes")
        if size > MAX_BYTES:
            too_big.append(path)
    if too_big:
        raise SystemExit(f"over {MAX_BYTES:,} bytes: {too_big}")


if __name__ == "__main__":
    main()
