"""The game room end to end: a facilitator and three teams, each in its own headless Chromium.

``python -m sim.app room`` on a free 127.0.0.1 port with 2,000 customers. Two rounds are
played from the browsers; every view's leaderboard updates; a team reloads mid-round and
keeps its bank; a forged request for another bank's lever (and for the facilitator's
controls) is refused; the debrief downloads and holds both rounds.

With ``BANKLAB_ROOM_SHOTS=<folder>`` the test also writes the screenshots of
``docs/workshop.md`` there (``room_*.png``).
"""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import lab_server, missing_browser

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = pytest.mark.e2e

KEY = "e2e-facilitator-key"
SIZE = int(os.environ.get("BANKLAB_ROOM_SIZE", "2000"))
TEAMS = {"Red": "Focal bank", "Blue": "State bank A", "Green": "State bank B"}
SHOTS = os.environ.get("BANKLAB_ROOM_SHOTS")
#: Longest wait for a round to be played and shown (a busy machine, a larger market).
ROUND_MS = 120_000


@pytest.fixture(scope="module")
def room_server(tmp_path_factory):
    """``python -m sim.app room`` on a free port: (base url, results folder)."""
    args = ["room", "--size", str(SIZE), "--key", KEY]
    with lab_server(
        tmp_path_factory, "room", args, missing_browser(), BANKLAB_CACHE="{results}/cache"
    ) as served:
        yield served


def _shot(page, name: str, full: bool = True) -> None:
    """A documentation screenshot (only with BANKLAB_ROOM_SHOTS), as a palette PNG."""
    if not SHOTS:
        return
    from PIL import Image

    img = Image.open(io.BytesIO(page.screenshot(full_page=full))).convert("RGB")
    out = Path(SHOTS) / f"room_{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    img.quantize(colors=128).save(out, optimize=True)


def _new_page(chromium, url: str, width: int = 1300, height: int = 900):
    ctx = chromium.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    pg.outside = []
    pg.on(
        "request",
        lambda r: None if r.url.startswith((url, "data:", "blob:")) else pg.outside.append(r.url),
    )
    return pg


def _board_round(page) -> str:
    return page.locator(".board-title").inner_text()


def _points(page) -> dict[str, int]:
    rows = page.locator(".leaderboard tbody tr")
    out = {}
    for i in range(rows.count()):
        cells = rows.nth(i).locator("td")
        out[cells.nth(1).inner_text()] = int(cells.nth(8).inner_text())
    return out


def _lever_value(page, lever: str) -> float:
    return float(page.locator(f".lever-{lever} input").input_value())


def _set_lever_to_max(page, lever: str) -> None:
    thumb = page.locator(f".lever-{lever} input")
    thumb.focus()
    thumb.press("End")


def test_a_room_plays_two_rounds_from_four_browsers(chromium, room_server):
    url, _ = room_server
    host = _new_page(chromium, url)
    host.goto(f"{url}/host#key={KEY}")
    # the key leaves the address bar at once (it stays in the tab's session storage)
    host.locator("#s-start").wait_for()
    assert "key=" not in host.url
    host.locator("#s-rounds").fill("2")
    host.locator("#s-name").fill("e2e-room")
    names = host.locator(".team-name")
    assert [names.nth(i).input_value() for i in range(3)] == list(TEAMS)
    _shot(host, "setup")
    host.locator("#s-start").click()
    code_box = host.locator("#code")
    expect(code_box).to_have_text(re.compile(r"^[A-Z2-9]{6}$"), timeout=60_000)
    code = code_box.inner_text()
    expect(host.locator("#state")).to_contain_text("waiting for Red, Blue, Green")
    expect(host.locator("#advance")).to_be_disabled()

    # three teams join from their own browsers
    teams = {}
    for team, bank in TEAMS.items():
        pg = _new_page(chromium, url, width=1100)
        pg.goto(url + "/")
        pg.locator("#code").fill(code.lower())  # as typed: any case
        pg.locator("#team").fill(team)
        pg.locator("#join-btn").click()
        expect(pg.locator("#who")).to_have_text(f"{team}: {bank}")
        teams[team] = pg
    red, blue, green = teams.values()
    # a team sees its own bank's levers grouped by theme, its budget and the leaderboard
    for group in ("Channels", "Incentives", "Marketing", "Service"):
        expect(red.locator("legend", has_text=group)).to_be_visible()
    assert red.locator(".lever").count() == 24
    assert red.locator(".leaderboard tbody tr").count() == 5
    expect(red.locator(".leaderboard tr.own")).to_contain_text("Focal bank")
    expect(host.locator("#seats")).to_contain_text("online")

    # a second device cannot take a seat that is taken
    other = _new_page(chromium, url)
    other.goto(url + "/")
    other.locator("#code").fill(code)
    other.locator("#team").fill("Red")
    other.locator("#join-btn").click()
    expect(other.locator("#join-msg")).to_contain_text("already joined")
    other.context.close()

    # round 1: Red raises its app quality; everyone submits; the facilitator plays it
    invest0 = red.locator("#budget .invest").inner_text()
    _set_lever_to_max(red, "app_quality")
    expect(red.locator(".lever-app_quality")).to_have_class(re.compile("changed"))
    expect(red.locator("#budget .invest")).not_to_have_text(invest0)
    for pg in (red, blue, green):
        pg.locator("#submit").click()
        expect(pg.locator("#submit-msg")).to_have_text("submitted")
    expect(host.locator("#state")).to_contain_text("every team has submitted")
    _shot(red, "team")
    host.locator("#advance").click()
    for pg in (host, red, blue, green):
        expect(pg.locator(".board-title")).to_have_text(
            "Leaderboard after round 1", timeout=ROUND_MS
        )
    assert sum(_points(red).values()) == 45 and _points(red) == _points(host)
    expect(red.locator(".last-round")).to_be_visible()
    assert _lever_value(red, "app_quality") == 1.0  # carried into round 2

    projector = _new_page(chromium, url, width=1600, height=1000)
    projector.goto(f"{url}/projector?code={code}")
    expect(projector.locator(".board-title")).to_have_text("Leaderboard after round 1")
    expect(projector.locator("#code")).to_have_text(code)
    projector.wait_for_function(
        "() => document.getElementById('chart').complete && "
        "document.getElementById('chart').naturalWidth > 100"
    )
    _shot(host, "host")
    _shot(projector, "projector", full=False)

    # round 2: Green sets a lever, submits, then its page reloads mid-round
    _set_lever_to_max(green, "signup_bonus")
    green.locator("#submit").click()
    expect(green.locator("#submit-msg")).to_have_text("submitted")
    green.reload()
    expect(green.locator("#who")).to_have_text("Green: State bank B")
    expect(green.locator("#submit-msg")).to_have_text("submitted")
    assert _lever_value(green, "signup_bonus") == 2000.0
    expect(host.locator("#seats tr[data-team=Green] .submitted")).to_have_text("submitted")

    # Red forges requests: Blue's bank's lever, and the facilitator's controls
    blue_before = _lever_value(blue, "rewards")
    forged = red.evaluate(
        """async (code) => {
          const token = JSON.parse(localStorage.getItem("banklab-room")).token;
          const out = [];
          for (const [path, body, headers] of [
            ["/api/submit", {code, token, bank: "state_a", levers: {rewards: 1.0}}, {}],
            ["/api/host/advance", {code, force: true}, {"X-Facilitator-Key": token}],
            ["/api/host/back", {code}, {"X-Facilitator-Key": code}],
          ]) {
            const r = await fetch(path, {method: "POST", body: JSON.stringify(body),
              headers: {"Content-Type": "application/json", ...headers}});
            out.push([r.status, (await r.json()).error]);
          }
          return out;
        }""",
        code,
    )
    assert [s for s, _ in forged] == [403, 403, 403], forged
    assert "cannot change the levers of State bank A" in forged[0][1]
    assert "facilitator's key" in forged[1][1]
    time.sleep(0.5)
    assert _lever_value(blue, "rewards") == blue_before
    expect(host.locator("#state")).to_contain_text("waiting for Red, Blue")
    assert "round 1 of 2 played" in host.locator("#round").inner_text()

    # the facilitator plays round 2 without waiting (force)
    host.locator("#force").click()
    for pg in (host, red, blue, green, projector):
        expect(pg.locator(".board-title")).to_have_text(
            "Leaderboard after round 2", timeout=ROUND_MS
        )
    assert sum(_points(green).values()) == 90
    expect(host.locator("#state")).to_contain_text("The game is over")
    expect(red.locator("#submit")).to_be_disabled()

    # one click: the debrief downloads, self-contained, with both rounds
    with host.expect_download() as info:
        host.locator("#debrief").click()
    path = info.value.path()
    page_html = Path(path).read_text(encoding="utf-8")
    assert info.value.suggested_filename == "debrief-e2e-room-round2.html"
    assert 'id="round-1"' in page_html and 'id="round-2"' in page_html
    assert page_html.count("Leaderboard after round") == 2
    for team in TEAMS:
        assert team in page_html
    assert "https://" not in page_html and "data:image/png;base64," in page_html
    if SHOTS:
        reader = _new_page(chromium, url, width=1300, height=1100)
        reader.set_content(page_html)
        _shot(reader, "debrief", full=False)

    # nothing was loaded from outside the room's server
    for pg in (host, red, blue, green, projector):
        assert pg.outside == []
    if SHOTS:
        phone = _new_page(chromium, url, width=390, height=844)
        phone.goto(url + "/")
        phone.locator("#code").fill(code)
        phone.locator("#team").fill("Blue")
        phone.locator("#join-btn").click()
        expect(phone.locator("#join-msg")).to_contain_text("already joined")
        _shot(phone, "join", full=False)
