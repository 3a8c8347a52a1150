# ruff: noqa: N802  (Solara components are CamelCase; the server looks for ``Page``)
"""The workshop web app (Solara): the strategy lab and the team game.

Serve it with ``python -m sim.app`` (see :mod:`sim.app.__main__`). Everything a
visitor changes lives in objects made per browser session inside :func:`Page`
(``use_memo`` / ``use_reactive``): two browsers never share a model.

Built on Solara, the framework under Mesa's ``SolaraViz``: the lab steps two
models in lockstep (strategy and baseline) and the game advances a quarter at
a time, which ``SolaraViz``'s one-model controller does not do.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
import traceback

import solara
import solara.lab

from sim.app.charts import game_png, lab_png
from sim.app.common import (
    DEFAULT_SIZE,
    LEVER_GROUPS,
    WEEKS_PER_ROUND,
    bank_label,
    lever_spec,
    market_banks,
    scenarios,
    strategies,
)
from sim.app.game import COLUMNS, HOUSE, Game, saved_sessions, workshop_dir
from sim.app.lab import LabSession

TEAM_COLOURS = ("Red", "Blue", "Green", "Orange", "Purple", "Teal", "Grey")

CSS = """
.lever-box { margin: 0 0 -6px 0; }
.lever-box .v-input { margin-top: 0; padding-top: 0; }
.lever-box .v-messages { display: none; }
.lever-label { font-size: 12.5px; color: #333; }
.bl-table table { border-collapse: collapse; font-size: 13px; }
.bl-table th, .bl-table td { padding: 2px 8px; border-bottom: 1px solid #e0e0e0; }
.bl-table th { text-align: left; background: #f5f5f5; }
.game-leaderboard td { text-align: right; }
.game-leaderboard td:nth-child(2), .game-leaderboard td:nth-child(3) { text-align: left; }
.lab-kpis td + td { text-align: right; }
.bl-table h3 { margin: 4px 0 8px 0; }
.bl-note { color: #666; font-size: 12px; }
"""


def settings() -> dict:
    """The server's defaults for new sessions (set by ``python -m sim.app``)."""
    return {
        "size": int(os.environ.get("BANKLAB_WORKSHOP_SIZE", DEFAULT_SIZE)),
        "seed": int(os.environ.get("BANKLAB_WORKSHOP_SEED", 1)),
        "scenario": os.environ.get("BANKLAB_WORKSHOP_SCENARIO", "none"),
    }


def html_table(rows: list[dict], columns: list[str], headers: list[str] | None = None) -> str:
    """An HTML table of ``rows`` (every cell escaped)."""
    headers = headers or columns

    def cell(v) -> str:
        if isinstance(v, float):
            v = "" if v != v else f"{v:,.2f}"  # NaN -> empty
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@solara.component
def Note(text: str, classes: list[str] | None = None):
    """A small grey note (plain text)."""
    solara.HTML(
        tag="div", unsafe_innerHTML=html.escape(text), classes=["bl-note", *(classes or [])]
    )


@solara.component
def Html(markup: str, classes: list[str] | None = None):
    """Trusted markup made by this module (tables, headings)."""
    solara.HTML(tag="div", unsafe_innerHTML=markup, classes=classes or [])


# --------------------------------------------------------------------------- levers
@solara.component
def LeverControls(values: dict, on_change, reference: dict | None = None, disabled=False):
    """The levers as sliders, grouped by theme; ``reference`` marks changed levers."""
    for group, names in LEVER_GROUPS.items():
        changed = [n for n in names if reference and abs(values[n] - reference[n]) > 1e-12]
        title = group + (f"  ({len(changed)} changed)" if changed else "")
        with (
            solara.Details(summary=title, expand=group == "Channels"),
            solara.Column(gap="0px"),
        ):
            for name in names:
                spec = lever_spec(name)
                mark = " *" if name in changed else ""
                value = values[name]
                with solara.Column(classes=["lever-box", f"lever-{name}"], gap="0px"):
                    with solara.Tooltip(f"{spec.doc}. Range {spec.lo:g} to {spec.hi:g}."):
                        solara.Text(
                            f"{spec.label}{mark}: {value:g} {spec.unit}",
                            classes=["lever-label"],
                        )
                    solara.SliderFloat(
                        "",
                        value=value,
                        min=spec.lo,
                        max=spec.hi,
                        step=spec.step,
                        on_value=lambda v, name=name: on_change(name, v),
                        disabled=disabled,
                    )


# --------------------------------------------------------------------------- lab
@solara.component
def LabView(lab: LabSession):
    """Levers, scenario, play / step / reset, and the charts against the baseline."""
    data_version = solara.use_reactive(0)
    lever_version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    per_update = solara.use_reactive(1)
    error = solara.use_reactive("")

    goal = solara.use_reactive(0)  # > 0: the week a "+13" run stops at

    def play_loop():
        # runs in a thread: the page stays live, a lever change acts from the next week
        try:
            while playing.value and not lab.finished:
                weeks = per_update.value
                if goal.value:
                    weeks = goal.value - lab.week
                    if weeks <= 0:
                        break
                lab.step(weeks)
                data_version.value += 1
        except Exception as e:
            traceback.print_exc()
            error.value = f"{type(e).__name__}: {e}"
        goal.value = 0
        playing.value = False

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def run_quarter():
        goal.value = lab.week + WEEKS_PER_ROUND
        playing.value = True

    def refresh():
        data_version.value += 1
        lever_version.value += 1

    def guarded(f):
        def run(*args):
            try:
                error.value = ""
                f(*args)
            except Exception as e:  # shown in the page, not swallowed
                traceback.print_exc()
                error.value = f"{type(e).__name__}: {e}"
            refresh()

        return run

    @guarded
    def step(weeks=1):
        lab.step(weeks)

    @guarded
    def reset():
        lab.reset(levers=lab.levers())

    @guarded
    def pick_scenario(name):
        lab.reset(scenario=name, levers=lab.levers())

    @guarded
    def pick_strategy(name):
        lab.reset(strategy=name)

    @guarded
    def pick_seed(seed):
        if seed is not None:
            lab.reset(seed=int(seed), levers=lab.levers())

    def set_lever(name, value):
        lab.set_lever(name, value)
        lever_version.value += 1

    png = solara.use_memo(lambda: lab_png(lab), dependencies=[data_version.value, id(lab)])
    busy = playing.value
    with solara.Columns([1, 3]):
        with solara.Column():
            with solara.Card("Run", margin=0):
                scen = scenarios()
                solara.Select(
                    "Scenario",
                    values=list(scen),
                    value=lab.scenario,
                    on_value=pick_scenario,
                    disabled=busy,
                )
                Note(scen.get(lab.scenario, ""))
                solara.Select(
                    "Start from strategy",
                    values=list(strategies()),
                    value=lab.strategy,
                    on_value=pick_strategy,
                    disabled=busy,
                )
                solara.InputInt("Seed", value=lab.seed, on_value=pick_seed, disabled=busy)
                with solara.Row(gap="6px", style={"flex-wrap": "wrap", "margin-top": "8px"}):
                    solara.Button(
                        "Pause" if playing.value else "Play",
                        color="primary",
                        icon_name="mdi-pause" if playing.value else "mdi-play",
                        on_click=lambda: playing.set(not playing.value),
                        disabled=lab.finished or bool(goal.value),
                        classes=["lab-play"],
                    )
                    solara.Button(
                        "Step",
                        on_click=lambda: step(1),
                        disabled=busy or lab.finished,
                        classes=["lab-step"],
                    )
                    solara.Button(
                        "+13",
                        on_click=run_quarter,
                        disabled=busy or lab.finished,
                        classes=["lab-quarter"],
                    )
                    solara.Button("Reset", on_click=reset, disabled=busy, classes=["lab-reset"])
                solara.Text("Weeks per chart update while playing:", classes=["bl-note"])
                solara.ToggleButtonsSingle(value=per_update, values=[1, 4, 13], dense=True)
                solara.Text(
                    f"Week {lab.week} of {lab.weeks}",
                    classes=["lab-week"],
                    style={"font-weight": "bold"},
                )
                if goal.value:
                    solara.ProgressLinear(True)
                if error.value:
                    solara.Error(error.value)
            with solara.Card("Levers of the focal bank", margin=0, classes=["lab-levers"]):
                _ = lever_version.value
                changed = lab.changed_levers()
                if changed:
                    txt = ", ".join(
                        f"{lever_spec(k).label.lower()} {a:g} → {b:g}"
                        for k, (a, b) in changed.items()
                    )
                    Note(
                        f"Differs from the baseline: {txt}. Changes act from the next week.",
                        classes=["lab-changed"],
                    )
                else:
                    Note(
                        "Same levers as the baseline: the two runs are identical until you "
                        "change one.",
                        classes=["lab-changed"],
                    )
                LeverControls(
                    lab.levers(), set_lever, reference=lab.baseline_levers(), disabled=False
                )
        with solara.Column():
            rows = lab.summary()
            with solara.Column(classes=["bl-table", "lab-kpis"]):
                if rows:
                    for r in rows:
                        r["difference"] = ("+" if r["diff"] > 0 else "") + r["fmt"].format(
                            r["diff"]
                        )
                    Html(
                        html_table(
                            rows,
                            ["kpi", "strategy", "baseline", "difference"],
                            [f"Week {lab.week}", "your strategy", "baseline", "difference"],
                        )
                    )
                else:
                    Html("<p>Week 0: press <b>Step</b> or <b>Play</b>.</p>")
                spun = lab.spinup()
                Note(
                    (
                        f"Week 0 is the market at rest: {spun['weeks']} weeks of spin-up with "
                        "the baseline levers and no scenario, the same state for your strategy "
                        "and the baseline."
                    )
                    if spun.get("weeks")
                    else "Week 0 is the drawn population (no spin-up).",
                    classes=["lab-spinup"],
                )
            with solara.Column(classes=["lab-chart"]):
                solara.Image(png, width="100%")
            with solara.Column(classes=["bl-table", "lab-customers"]):
                df = lab.customers()
                Html(
                    "<p><b>Some customers of this market</b> (the same people all along, in the "
                    "run with your strategy; * marks the primary bank; main channel: the "
                    "strongest channel habit)</p>"
                    + html_table(df.to_dict("records"), list(df.columns))
                )


# --------------------------------------------------------------------------- game
@solara.component
def NewGameForm(on_start, defaults: dict, disabled: bool = False):
    """Teams per bank, scenario, rounds and seed; starts a game."""
    banks = list(market_banks())
    names = solara.use_reactive(
        {
            b: TEAM_COLOURS[i] if i < len(TEAM_COLOURS) else f"Team {i + 1}"
            for i, b in enumerate(banks)
        }
    )
    scenario = solara.use_reactive(defaults["scenario"])
    rounds = solara.use_reactive(8)
    seed = solara.use_reactive(defaults["seed"])

    def set_name(bank, v):
        names.value = {**names.value, bank: (v or "").strip()}

    def start():
        teams = {n: b for b, n in names.value.items() if n}
        on_start(teams, scenario.value, int(rounds.value or 8), int(seed.value or 0))

    with solara.Card("New game", margin=0):
        Note(
            "One team per bank; leave a name empty to let the bank keep its market-file "
            "levers (a house bank)."
        )
        for b in banks:
            solara.InputText(
                f"Team for {bank_label(b)}",
                value=names.value[b],
                on_value=lambda v, b=b: set_name(b, v),
                continuous_update=True,
            )
        solara.Select("Scenario", values=list(scenarios()), value=scenario)
        with solara.Row():
            solara.InputInt("Rounds (quarters)", value=rounds)
            solara.InputInt("Seed", value=seed)
        solara.Button(
            "Start new game",
            color="primary",
            on_click=start,
            disabled=disabled,
            classes=["game-new"],
        )


@solara.component
def GameView(game_ref: solara.Reactive, defaults: dict):
    """Facilitator controls, the round's levers per team, leaderboard, new game."""
    data_version = solara.use_reactive(0)
    lever_version = solara.use_reactive(0)
    play_request = solara.use_reactive(0)
    progress = solara.use_reactive(0.0)
    message = solara.use_reactive("")
    team = solara.use_reactive(None)
    view_round = solara.use_reactive(None)
    save_name = solara.use_reactive(f"workshop-{_dt.date.today():%Y%m%d}")
    load_name = solara.use_reactive(None)
    replace = solara.use_reactive(False)
    game: Game | None = game_ref.value

    def run_round():
        if play_request.value == 0 or game is None:
            return
        progress.value = 0.0
        game.play_round(progress=lambda i, n: progress.set(100.0 * i / n))
        view_round.value = None
        message.value = (
            f"Round {game.round} played (weeks {game.week - WEEKS_PER_ROUND + 1}–{game.week})."
        )
        data_version.value += 1

    task = solara.lab.use_task(
        run_round, dependencies=[play_request.value], prefer_threaded=True, raise_error=False
    )
    running = task.pending

    def adopt(g: Game, text: str) -> None:
        game_ref.value = g
        team.value = next(iter(g.teams))
        view_round.value = None
        message.value = text
        data_version.value += 1

    def start(teams, scenario, rounds, seed):
        try:
            g = Game(teams, scenario=scenario, size=defaults["size"], seed=seed, rounds=rounds)
        except Exception as e:
            message.value = f"Could not start: {e}"
            return
        adopt(g, f"New game: {g.describe()}")

    def back():
        try:
            game.back()
            message.value = f"Went back: round {game.round + 1} can be played again."
        except Exception as e:
            message.value = str(e)
        view_round.value = None
        data_version.value += 1

    def save():
        try:
            path = game.save(save_name.value or "", replace=replace.value)
            message.value = f"Saved to {path}"
            replace.value = False
        except Exception as e:
            message.value = f"Not saved: {e}"
        lever_version.value += 1

    def load():
        try:
            g = Game.load(load_name.value or "")
        except Exception as e:
            message.value = f"Not loaded: {e}"
            return
        adopt(g, f"Loaded {load_name.value}: {g.describe()}")

    def set_lever(bank, name, value):
        game.set_lever(bank, name, value)
        lever_version.value += 1

    png = solara.use_memo(
        lambda: game_png(game) if game is not None else None,
        dependencies=[data_version.value, id(game)],
    )
    _ = lever_version.value
    with solara.Columns([1, 3]):
        with solara.Column():
            with solara.Card("Facilitator", margin=0):
                if game is not None:
                    solara.Text(game.describe(), classes=["game-status"])
                    with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
                        solara.Button(
                            f"Play round {min(game.round + 1, game.rounds)}",
                            color="primary",
                            icon_name="mdi-play",
                            on_click=lambda: play_request.set(play_request.value + 1),
                            disabled=running or game.finished,
                            classes=["game-play"],
                        )
                        solara.Button(
                            "Back a round",
                            icon_name="mdi-undo",
                            on_click=back,
                            disabled=running or game.round == 0,
                            classes=["game-back"],
                        )
                    if running:
                        solara.ProgressLinear(progress.value)
                    if task.error:
                        solara.Error(f"Round failed: {task.exception}")
                    if game.finished:
                        solara.Success("Game over: every round has been played.")
                    with solara.Row(gap="6px", style={"align-items": "center"}):
                        solara.InputText("Session name", value=save_name)
                        solara.Button(
                            "Save", on_click=save, disabled=running, classes=["game-save"]
                        )
                    solara.Checkbox(label="replace a saved session of that name", value=replace)
                saved = saved_sessions()
                if saved:
                    with solara.Row(gap="6px", style={"align-items": "center"}):
                        solara.Select(
                            "Saved sessions", values=saved, value=load_name, classes=["game-saved"]
                        )
                        solara.Button(
                            "Load",
                            on_click=load,
                            disabled=running or not load_name.value,
                            classes=["game-load"],
                        )
                Note(f"Sessions are saved in {workshop_dir()}.")
                if message.value:
                    solara.Info(message.value, classes=["game-message"])
            if game is not None and not game.finished:
                with solara.Card(
                    f"Round {game.round + 1} of {game.rounds}", margin=0, classes=["game-levers"]
                ):
                    first = game.week + 1
                    Note(
                        f"Weeks {first}–{first + WEEKS_PER_ROUND - 1}. Each team sets its "
                        "bank's levers (* marks a change from the start of the game), then "
                        "the facilitator plays the quarter."
                    )
                    teams = list(game.teams)
                    current = team.value if team.value in game.teams else teams[0]
                    solara.ToggleButtonsSingle(
                        value=current,
                        values=teams,
                        on_value=team.set,
                        dense=True,
                        style={"flex-wrap": "wrap"},
                    )
                    bank = game.teams[current]
                    solara.Text(
                        f"{current} runs the {bank_label(bank)}", style={"font-weight": "bold"}
                    )
                    LeverControls(
                        game.levers(bank),
                        lambda n, v, bank=bank: set_lever(bank, n, v),
                        reference=game.start_levers(bank),
                        disabled=running,
                    )
            if game is None:
                NewGameForm(start, defaults, disabled=running)
            else:
                with solara.Details(summary="Start a new game", expand=False):
                    NewGameForm(start, defaults, disabled=running)
        with solara.Column():
            if game is None:
                Html(
                    "<h2>Team game</h2><p>Several teams each run one bank of the market. Every "
                    "round is a quarter (13 weeks): each team sets its bank's levers, the "
                    "facilitator plays the round, and the leaderboard ranks the banks on "
                    "<b>loyalty</b> (retention), <b>traffic</b> (active customers) and "
                    "<b>money</b> (profit per customer, investment included).</p><p>Start a "
                    "game with the form on the left, or load a saved session.</p>"
                )
            else:
                played = game.round
                shown = view_round.value if view_round.value else played
                with solara.Column(classes=["bl-table", "game-leaderboard"]):
                    if played > 1:
                        solara.Select(
                            "Show the leaderboard after round",
                            values=list(range(1, played + 1)),
                            value=shown,
                            on_value=view_round.set,
                            style={"max-width": "320px"},
                        )
                    df = game.leaderboard(shown if played else None)
                    rows = df.to_dict("records")
                    for r in rows:
                        r["bank"] = bank_label(r["bank"])
                        r["team"] = "house" if r["team"] == HOUSE else r["team"]
                    heads = [
                        "#",
                        "bank",
                        "team",
                        "customers",
                        "Δ",
                        "retention %",
                        "active",
                        "traffic %",
                        "contacts / cust.",
                        "investment (k RMB)",
                        "profit (k RMB)",
                        "profit / cust.",
                        "points (round)",
                        "points (total)",
                    ]
                    title = (
                        f"Leaderboard after round {shown}"
                        if played
                        else "The market before round 1"
                    )
                    Html(f"<h3>{html.escape(title)}</h3>" + html_table(rows, list(COLUMNS), heads))
                    n = len(game.bank_names)
                    meaning = " ".join(f"{s[0].upper()}{s[1:]}." for s in game.scoring().values())
                    Note(
                        f"Points per round: on each of loyalty (retention %), traffic "
                        f"(traffic %) and money (profit / cust.) the best bank gets {n} "
                        f"points, the worst 1. {meaning}"
                        " Investment: raising a lever with a one-off cost charges it in the "
                        "round the change takes effect (nothing back for lowering one)."
                    )
                if png is not None:
                    with solara.Column(classes=["game-chart"]):
                        solara.Image(png, width="100%")


# --------------------------------------------------------------------------- page
GUIDE = """
<h2>How to use this app</h2>
<ul>
<li><b>Strategy lab</b>: change the focal bank's levers (grouped by channels, incentives,
marketing and service), pick a scenario, then <b>Step</b> a week, <b>+13</b> for a quarter
or <b>Play</b>. Every chart draws your strategy (solid) against the baseline strategy
(dashed) with the same seed and scenario: the gap is the effect of your choices.
<b>Reset</b> restarts at week 0 with the levers as they are; picking a strategy loads that
strategy file's levers.</li>
<li><b>Team game</b>: teams own banks; each quarter they set levers and the facilitator
plays the round; the leaderboard ranks loyalty, traffic and money. <b>Back a round</b>
undoes the last quarter; sessions can be saved and loaded.</li>
</ul>
<p>The facilitator guide is <code>docs/workshop.md</code> in the repository.</p>
"""


@solara.component
def Page():
    """The app: one lab session and one game per browser session."""
    defaults = solara.use_memo(settings, dependencies=[])
    lab = solara.use_memo(
        lambda: LabSession(
            scenario=defaults["scenario"], size=defaults["size"], seed=defaults["seed"]
        ),
        dependencies=[],
    )
    game_ref = solara.use_reactive(None)
    tab = solara.use_reactive(0)
    solara.Title("Bank engagement lab: workshop")
    solara.Style(CSS)
    with solara.AppBar():
        solara.AppBarTitle("Bank engagement lab: workshop")
    with solara.lab.Tabs(value=tab, lazy=False):
        with solara.lab.Tab("Strategy lab", classes=["tab-lab"]):
            LabView(lab)
        with solara.lab.Tab("Team game", classes=["tab-game"]):
            GameView(game_ref, defaults)
        with solara.lab.Tab("Guide", classes=["tab-guide"]):
            Html(GUIDE)
