"""The debrief page of a game: one self-contained HTML file for the discussion afterwards.

It holds, for every round played: each team's levers in force (a lever changed from the
previous round, or for round 1 from the market at rest, is marked with its old value),
the leaderboard, and the market's charts up to the end of that round (customers, active
customers and satisfaction per bank, :func:`sim.app.charts.game_png`); above them the
game's settings, the points race over the rounds and the scoring rules. Charts are PNG
images inside the file (base64 ``data:`` addresses): it opens offline, anywhere.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html

from sim.app.charts import game_png, points_png
from sim.app.common import LEVER_GROUPS, bank_label, lever_spec
from sim.app.game import HOUSE, Game

#: Leaderboard columns shown in the debrief, with their headings.
BOARD = (
    ("position", "#"),
    ("bank", "bank"),
    ("team", "team"),
    ("customers", "customers"),
    ("customers_change", "Δ"),
    ("retention_pct", "retention %"),
    ("traffic_pct", "traffic %"),
    ("investment_k", "investment (k RMB)"),
    ("profit_k", "profit (k RMB)"),
    ("profit_per_customer", "profit / cust."),
    ("points_round", "points (round)"),
    ("points_total", "points (total)"),
)

CSS = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 14px 0; }
th, td { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f4f4f4; }
td.l, th.l { text-align: left; }
td.changed { background: #fff4d6; font-weight: bold; }
.old { color: #888; font-weight: normal; font-size: 11px; }
img { max-width: 100%; }
h2 { border-top: 2px solid #ccc; padding-top: 10px; margin-top: 28px; }
.note { color: #555; font-size: 13px; }
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _fmt(v) -> str:
    if isinstance(v, float):
        return "" if v != v else f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _levers_table(game: Game, k: int) -> str:
    """Round ``k``'s levers per team-owned bank, changes from the round before marked."""
    rec = game.history[k - 1]
    banks = [b for b in game.bank_names if game.owner(b) != HOUSE]
    prev = {b: (game.history[k - 2].levers[b] if k > 1 else game.rest_levers(b)) for b in banks}
    head = "".join(
        f"<th>{html.escape(game.owner(b))}<br><span class=old>{html.escape(bank_label(b))}"
        "</span></th>"
        for b in banks
    )
    rows = []
    for group, names in LEVER_GROUPS.items():
        rows.append(f'<tr><th class=l colspan="{len(banks) + 1}">{html.escape(group)}</th></tr>')
        for n in names:
            spec = lever_spec(n)
            cells = []
            for b in banks:
                v, old = rec.levers[b][n], prev[b][n]
                if abs(v - old) > 1e-12:
                    cells.append(
                        f"<td class=changed>{v:g} <span class=old>(was {old:g})</span></td>"
                    )
                else:
                    cells.append(f"<td>{v:g}</td>")
            label = html.escape(f"{spec.label} ({spec.unit})" if spec.unit else spec.label)
            rows.append(f"<tr><td class=l>{label}</td>{''.join(cells)}</tr>")
    return f"<table><thead><tr><th class=l>lever</th>{head}</tr></thead>{''.join(rows)}</table>"


def _board_table(game: Game, k: int) -> str:
    df = game.leaderboard(k)
    head = "".join(
        f"<th{' class=l' if c in ('bank', 'team') else ''}>{html.escape(h)}</th>" for c, h in BOARD
    )
    body = []
    for r in df.to_dict("records"):
        cells = []
        for c, _ in BOARD:
            v = r[c]
            if c == "bank":
                v = bank_label(v)
            if c == "team" and v == HOUSE:
                v = "house"
            cls = " class=l" if c in ("bank", "team") else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(v))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def debrief_html(game: Game, title: str = "Workshop game", log: list[str] | None = None) -> str:
    """The debrief of ``game`` as one HTML page (read the model under ``game.lock``)."""
    esc = html.escape
    teams = ", ".join(f"{esc(t)} ({esc(bank_label(b))})" for t, b in game.teams.items())
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Debrief: {esc(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>Debrief: {esc(title)}</h1>",
        f"<p>{esc(game.describe())}. Teams: {teams}. Market <code>{esc(game.market)}</code>, "
        f"starting strategy <code>{esc(game.strategy)}</code>. Exported "
        f"{_dt.datetime.now():%Y-%m-%d %H:%M}.</p>",
        "<p class=note>Scoring per round: "
        + " ".join(esc(line[0].upper() + line[1:] + ".") for line in game.scoring().values())
        + f" On each the best of the {len(game.bank_names)} banks gets "
        f"{len(game.bank_names)} points, the worst 1.</p>",
    ]
    if game.history:
        parts.append(_img(points_png(game), "points after each round"))
        parts.append(_img(game_png(game), "the market over the game"))
    else:
        parts.append("<p>No round has been played yet.</p>")
    for k, rec in enumerate(game.history, start=1):
        parts += [
            f'<h2 id="round-{k}">Round {k} (weeks {rec.first_week + 1}-{rec.last_week + 1})</h2>',
            "<h3>Levers in force</h3>",
            "<p class=note>Marked: changed from "
            + ("the market at rest before the game" if k == 1 else f"round {k - 1}")
            + ". House banks keep their market-file levers.</p>",
            _levers_table(game, k),
            f"<h3>Leaderboard after round {k}</h3>",
            _board_table(game, k),
            f"<h3>The market up to round {k}</h3>",
            _img(game_png(game, upto_week=rec.last_week + 1), f"the market up to round {k}"),
        ]
    if log:
        parts.append("<h2>Room log</h2><ul>")
        parts += [f"<li>{esc(line)}</li>" for line in log]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
