"""The workshop app end to end in headless Chromium (server on 127.0.0.1, 3,000 customers)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

pytestmark = pytest.mark.e2e

#: With ``BANKLAB_ROOM_SHOTS=<folder>`` the lab's screenshot of ``docs/workshop.md`` is
#: written there (``room_lab.png``), as the room's are by ``test_room_browser.py``.
SHOTS = os.environ.get("BANKLAB_ROOM_SHOTS")
#: Longest wait for saving or loading a game (a busy machine takes more than 5 s).
SLOW_MS = 60_000


def _set_lever_to_max(page, scope: str, lever: str) -> None:
    """Move a lever's slider (in the ``scope`` card) to its maximum with the keyboard (End)."""
    thumb = page.locator(f".{scope} .lever-{lever} [role=slider]")
    thumb.focus()
    thumb.press("End")


def _shot(page, name: str) -> None:
    """A documentation screenshot (only with BANKLAB_ROOM_SHOTS), as a palette PNG."""
    from PIL import Image

    img = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    out = Path(SHOTS) / f"room_{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    img.quantize(colors=128).save(out, optimize=True)


def _kpi_diffs(page) -> list[str]:
    """The 'difference' column of the strategy-vs-baseline table."""
    rows = page.locator(".lab-kpis tbody tr")
    return [rows.nth(i).locator("td").nth(3).inner_text() for i in range(rows.count())]


def test_page_loads(page, browser, app_server):
    assert page.title() == "Bank engagement lab: workshop"
    for tab in ("Strategy lab", "Team game", "Guide"):
        assert page.get_by_role("tab", name=tab).is_visible()
    for group in ("Channels", "Incentives", "Marketing", "Service"):
        assert page.get_by_text(group, exact=True).first.is_visible()
    assert page.locator(".lab-chart img").is_visible()
    # the lab starts from the market at rest and reads loyalty beside traffic
    expect(page.locator(".lab-spinup")).to_contain_text("Week 0 is the market at rest")
    assert page.locator(".lab-customers tbody tr").count() == 10
    # every request stayed on 127.0.0.1 (front-end files come from solara-assets)
    assert page.outside == []
    # a second browser session has its own models
    page.locator(".lab-step").click()
    page.get_by_text("Week 1 of 260").wait_for()
    expect(page.locator(".lab-kpis")).to_contain_text("Retention of week-0 customers")
    other = browser.new_context().new_page()
    try:
        other.goto(app_server[0])
        other.get_by_text("Week 0 of 260").wait_for(timeout=30_000)
    finally:
        other.context.close()


def test_lever_and_step_change_the_charts(page):
    chart = page.locator(".lab-chart img")
    page.locator(".lab-step").click()
    page.get_by_text("Week 1 of 260").wait_for()
    # same levers as the baseline: the two runs are identical
    assert all(d.strip("+0.%,") == "" for d in _kpi_diffs(page)), _kpi_diffs(page)
    src_before = chart.get_attribute("src")
    _set_lever_to_max(page, "lab-levers", "app_quality")
    page.locator(".lab-levers").get_by_text("App quality *: 1 score").wait_for()
    page.get_by_text("Differs from the baseline: app quality 0.5 → 1").wait_for()
    page.locator(".lab-quarter").click()
    page.get_by_text("Week 14 of 260").wait_for()
    page.wait_for_function(
        "src => document.querySelector('.lab-chart img').src !== src", arg=src_before
    )
    diffs = _kpi_diffs(page)
    assert any(d.strip("+0.%,") != "" for d in diffs), diffs
    if SHOTS:
        for week in (27, 40):
            page.locator(".lab-quarter").click()
            page.get_by_text(f"Week {week} of 260").wait_for()
        page.wait_for_timeout(1500)  # the chart of the last week
        _shot(page, "lab")
    # play runs on by itself (the page may skip weeks while it redraws); pause stops it
    expect(page.locator(".lab-play")).to_contain_text("Play")  # the +13 run has ended
    page.locator(".lab-play").click()
    expect(page.locator(".lab-week")).not_to_have_text("Week 14 of 260")  # weeks go by
    page.locator(".lab-play").click()
    expect(page.locator(".lab-play")).to_contain_text("Play")


def test_team_game_two_rounds(page, app_server):
    _, results = app_server
    page.get_by_role("tab", name="Team game").click()
    page.locator(".game-new").click()
    page.get_by_text("The market before round 1").wait_for()
    board = page.locator(".game-leaderboard table")
    assert board.locator("tbody tr").count() == 5
    _set_lever_to_max(page, "game-levers", "app_quality")
    page.locator(".game-levers").get_by_text("App quality *: 1 score").wait_for()
    page.locator(".game-play").click()
    page.get_by_text("Leaderboard after round 1").wait_for()
    expect(page.locator(".game-play")).to_be_enabled()  # the round's task has ended
    round1 = board.inner_text()
    assert board.locator("tbody tr").count() == 5
    page.get_by_role("button", name="Play round 2").click()
    page.get_by_text("Leaderboard after round 2").wait_for()
    round2 = board.inner_text()
    assert round2 != round1
    expect(page.locator(".game-status")).to_contain_text("round 2 of 8 played, week 26")
    # the facilitator goes back a round, then saves the session
    expect(page.locator(".game-back")).to_be_enabled()
    page.locator(".game-back").click()
    page.get_by_text("Leaderboard after round 1").wait_for()
    assert board.inner_text() == round1
    name = page.get_by_label("Session name")
    name.fill("../escape")
    name.press("Enter")
    page.locator(".game-save").click()
    expect(page.locator(".game-message")).to_contain_text("is not allowed")
    name.fill("e2e-session")
    name.press("Enter")
    page.locator(".game-save").click()
    expect(page.locator(".game-message")).to_contain_text("Saved to", timeout=SLOW_MS)
    assert sorted(p.name for p in (results / "workshop").iterdir()) == ["e2e-session.npz"]
    # ... and loads it back
    page.locator(".game-saved .v-select__slot").click()
    page.get_by_role("option", name="e2e-session").click()
    page.locator(".game-load").click()
    expect(page.locator(".game-message")).to_contain_text("Loaded e2e-session", timeout=SLOW_MS)
    expect(page.locator(".game-status")).to_contain_text("round 1 of 8 played, week 13")
    assert page.outside == []
