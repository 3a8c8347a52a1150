"""The decision summary: which strategy to roll out, what it costs, how sure we are.

Per scenario and strategy, against the baseline run on the same seeds:

* the levers the strategy changed, ``name from -> to`` (read from the runs'
  ``config.yaml``: the strategy's and the baseline's);
* each headline outcome's paired difference with its interval (``comparison.csv``)
  and its word: ``better`` or ``worse`` when the interval excludes zero (in the
  outcome's good direction), ``noise`` when it does not, ``not assessed`` with
  fewer than 2 paired seeds;
* the extra spend and the incremental NPV with their intervals (``business.csv``);
* the verdict, one of

  - ``better``: better on at least one headline, worse on none (``better on all
    three`` when on every one);
  - ``trade-off``: better on at least one headline and worse on another;
  - ``noise``: no headline distinguishable from the baseline;
  - ``worse``: worse on at least one headline, better on none;
  - ``not assessed``: a headline has fewer than 2 paired seeds.

Rows are ordered by verdict (in that order) and then by the money headline's
difference, best first. :func:`decisions` gives the table (written as
``decision.csv``); :func:`decision_blocks` the report's section, whose first
paragraph names the candidates to roll out.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from sim.analysis import formatting as fm
from sim.analysis import render as doc
from sim.analysis.figures import Plot
from sim.levers import LEVERS
from sim.outcomes import BY_NAME

#: The verdicts, in the order the summary lists them.
VERDICTS = ("better", "trade-off", "noise", "worse", "not assessed")
#: What each verdict means, for the report.
VERDICT_TEXT = {
    "better": "better on at least one headline and worse on none",
    "trade-off": "better on at least one headline, worse on another",
    "noise": "no headline distinguishable from the baseline",
    "worse": "worse on at least one headline and better on none",
    "not assessed": "fewer than 2 seeds paired with the baseline on a headline",
}


# --------------------------------------------------------------------------- inputs


def run_configs(exp_dir: Path, table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """One complete run's ``config.yaml`` per strategy (plain dicts; missing ones left out)."""
    out: dict[str, dict[str, Any]] = {}
    for row in table.sort_values(["strategy", "scenario", "seed"]).itertuples(index=False):
        if row.strategy in out:
            continue
        f = Path(exp_dir) / "runs" / row.run / "config.yaml"
        try:
            cfg = OmegaConf.to_container(OmegaConf.load(f), resolve=False)
        except Exception:
            continue
        if isinstance(cfg, dict):
            out[row.strategy] = cfg
    return out


def _experiment(configs: dict[str, dict[str, Any]], baseline: str) -> dict[str, Any]:
    cfg = configs.get(baseline) or next(iter(configs.values()), None) or {}
    block = cfg.get("experiment")
    return block if isinstance(block, dict) else {}


def experiment_title(
    configs: dict[str, dict[str, Any]], baseline: str, folder: str
) -> tuple[str, str]:
    """The experiment's name (``experiment.name``, else the folder) and its question."""
    block = _experiment(configs, baseline)
    name = str(block.get("name") or folder)
    question = str(block.get("question") or "").strip()
    return name, question


def headlines_of(configs: dict[str, dict[str, Any]], baseline: str) -> dict[str, str]:
    """The headlines the experiment's runs were configured with (the defaults otherwise)."""
    from sim import headlines

    return headlines.from_config(_experiment(configs, baseline), "the runs' config.yaml")


def _lever_value(v: Any) -> str:
    return fm.fmt(v) if isinstance(v, int | float) else str(v)


def lever_changes(configs: dict[str, dict[str, Any]], strategy: str, baseline: str) -> str:
    """``name from -> to`` for every lever ``strategy`` sets differently from ``baseline``."""
    st = (configs.get(strategy) or {}).get("strategy")
    base = (configs.get(baseline) or {}).get("strategy")
    if not isinstance(st, dict) or not isinstance(base, dict):
        return "unknown (no config.yaml)"
    changes = [
        f"{lv.name} {_lever_value(base[lv.name])} -> {_lever_value(st[lv.name])}"
        for lv in LEVERS
        if lv.name in st and lv.name in base and st[lv.name] != base[lv.name]
    ]
    return "; ".join(changes) or "none"


def assumptions(configs: dict[str, dict[str, Any]], baseline: str) -> list[str]:
    """The figures the money depends on: scale, horizon, discount rate, where costs come from."""
    cfg = configs.get(baseline) or next(iter(configs.values()), None)
    if not cfg:
        return []
    market = cfg.get("market") or {}
    size = (cfg.get("population") or {}).get("size")
    represented = market.get("customers_represented")
    out = []
    if represented and size:
        out.append(
            f"Scale: {float(represented):,.0f} real customers in the market "
            f"(`market.customers_represented`), simulated by {int(size):,d}; money and counts "
            "are at the real size, rates stay rates."
        )
    if cfg.get("weeks"):
        out.append(f"Horizon: {int(cfg['weeks'])} weeks after the spin-up (the market at rest).")
    if market.get("discount_rate") is not None:
        out.append(
            f"Discount rate: {100 * float(market['discount_rate']):.3g}% a year "
            "(`market.discount_rate`); no value after the horizon is counted."
        )
    out.append(
        f"Lever costs: the `costs` section of the market file (`{market.get('name', '?')}`), "
        "each lever's one-off investment and running cost; most figures are assumptions "
        "(`docs/business_case.md`, `sim/levers.py`)."
    )
    return out


# --------------------------------------------------------------------------- verdicts


def _word(row: pd.Series | None) -> str:
    if row is None or int(row["n_pairs"]) < 2:
        return "not assessed"
    if not fm.flag(row["distinguishable"]):
        return "noise"
    if pd.isna(row["better"]):  # an information outcome: no good direction
        return "noise"
    return "better" if bool(row["better"]) else "worse"


def verdict(words: dict[str, str]) -> tuple[str, str]:
    """The verdict of one strategy from its headlines' words, and its one-line text."""
    if any(w == "not assessed" for w in words.values()):
        return "not assessed", "not assessed: " + VERDICT_TEXT["not assessed"]
    better = [k for k, w in words.items() if w == "better"]
    worse = [k for k, w in words.items() if w == "worse"]
    noise = [k for k, w in words.items() if w == "noise"]
    if better and worse:
        return "trade-off", f"trade-off: better on {fm.names(better)}, worse on {fm.names(worse)}"
    if better:
        if not noise:
            return "better", "better on all three" if len(better) == 3 else "better on every one"
        return "better", f"better on {fm.names(better)}; {fm.names(noise)} within noise"
    if worse:
        text = f"worse on {fm.names(worse)}"
        return "worse", text + (f"; {fm.names(noise)} within noise" if noise else "")
    return "noise", "not distinguishable from noise on any headline"


#: A headline's columns in the decision table; with a posterior, also :data:`POSTERIOR_CELLS`.
HEADLINE_CELLS = ("outcome", "diff", "ci_low", "ci_high", "word")
#: The posterior columns of a headline: the interval with parameter uncertainty and
#: P(better than the baseline) across the posterior (:mod:`sim.analysis.uncertainty`).
POSTERIOR_CELLS = ("param_ci_low", "param_ci_high", "p_better")


def columns(headlines: dict[str, str], posterior: bool = False) -> list[str]:
    """The decision table's columns (with the posterior columns when ``posterior``)."""
    cells = (*HEADLINE_CELLS, *(POSTERIOR_CELLS if posterior else ()))
    heads = [f"{k}_{c}" for k in headlines for c in cells]
    money = [
        f"{m}{c}" for m in ("extra_spend", "incremental_npv") for c in ("", "_ci_low", "_ci_high")
    ]
    return [
        "scenario", "strategy", "baseline", "levers_changed", *heads,
        "customers_diff", "customers_ci_low", "customers_ci_high", "n_pairs", *money,
        "verdict", "verdict_text",
    ]  # fmt: skip


def decisions(
    comparison: pd.DataFrame,
    business: pd.DataFrame | None,
    headlines: dict[str, str],
    baseline: str,
    configs: dict[str, dict[str, Any]] | None = None,
    posterior: Any = None,
) -> pd.DataFrame:
    """The decision table: one row per scenario and strategy (see the module docstring).

    ``posterior`` (:class:`sim.analysis.uncertainty.PosteriorTables`): each headline
    also gets its interval with parameter uncertainty and P(better) across the posterior.
    """
    configs = configs or {}
    post = posterior.summary if posterior is not None else None
    rows = []
    money = headlines.get("money")
    for (sc, st), c in comparison.groupby(["scenario", "strategy"], sort=True):
        row: dict[str, Any] = {
            "scenario": sc,
            "strategy": st,
            "baseline": baseline,
            "levers_changed": lever_changes(configs, st, baseline),
        }
        words = {}
        for key, name in headlines.items():
            hit = c[c["outcome"] == name]
            one = hit.iloc[0] if len(hit) else None
            words[key] = _word(one)
            row[f"{key}_outcome"] = name
            for col in ("diff", "ci_low", "ci_high"):
                row[f"{key}_{col}"] = float(one[col]) if one is not None else math.nan
            row[f"{key}_word"] = words[key]
            if post is not None:
                hit = post[(post["scenario"] == sc) & (post["strategy"] == st)]
                hit = hit[hit["outcome"] == name]
                for col in POSTERIOR_CELLS:
                    row[f"{key}_{col}"] = float(hit[col].iloc[0]) if len(hit) else math.nan
        hit = c[c["outcome"] == "customers"]  # a total beside the rates: customers gained
        for col in ("diff", "ci_low", "ci_high"):
            row[f"customers_{col}"] = float(hit[col].iloc[0]) if len(hit) else math.nan
        row["n_pairs"] = int(c["n_pairs"].min()) if len(c) else 0
        for measure in ("extra_spend", "incremental_npv"):
            hit = (
                business[
                    (business["scenario"] == sc)
                    & (business["strategy"] == st)
                    & (business["measure"] == measure)
                ]
                if business is not None and len(business)
                else pd.DataFrame()
            )
            for col in ("value", "ci_low", "ci_high"):
                name = measure if col == "value" else f"{measure}_{col}"
                row[name] = float(hit[col].iloc[0]) if len(hit) else math.nan
        row["verdict"], row["verdict_text"] = verdict(words)
        rows.append(row)
    out = pd.DataFrame(rows, columns=columns(headlines, post is not None))
    if out.empty:
        return out
    order = {v: i for i, v in enumerate(VERDICTS)}
    key = out["money_diff"] if money else pd.Series(0.0, index=out.index)
    sign = -1.0 if money and BY_NAME[money].direction == "lower" else 1.0
    out = out.assign(_v=out["verdict"].map(order), _m=-sign * key.fillna(-math.inf * sign))
    return (
        out.sort_values(["scenario", "_v", "_m", "strategy"], kind="stable")
        .drop(columns=["_v", "_m"])
        .reset_index(drop=True)
    )


# --------------------------------------------------------------------------- report


def _cell(d: pd.Series, prefix: str) -> str:
    v = d[prefix if prefix in d else f"{prefix}_diff"]
    lo, hi = d[f"{prefix}_ci_low"], d[f"{prefix}_ci_high"]
    if pd.isna(v):
        return "-"
    s = fm.fmt(v, True)
    if math.isfinite(lo) and math.isfinite(hi):
        s += " " + fm.fmt_interval(lo, hi)
    return s


def _posterior_cell(d: pd.Series, key: str) -> str:
    """A headline's cell with its posterior figures, when the table has them."""
    s = _cell(d, key)
    if f"{key}_p_better" not in d or s == "-":
        return s
    lo, hi, p = d[f"{key}_param_ci_low"], d[f"{key}_param_ci_high"], d[f"{key}_p_better"]
    extra = []
    if math.isfinite(lo) and math.isfinite(hi):
        extra.append(f"with parameters {fm.fmt_interval(lo, hi)}")
    if math.isfinite(p):
        extra.append(f"P(better) {p:.0%}")
    return s + ("; " + ", ".join(extra) if extra else "")


def _lead(d: pd.DataFrame, headlines: dict[str, str]) -> str:
    """One paragraph: the candidates to roll out, the trade-offs, what is noise."""
    money = headlines.get("money")
    unit = BY_NAME[money].unit if money else ""
    by = {v: list(d.loc[d["verdict"] == v, "strategy"]) for v in VERDICTS}
    parts = []
    if by["better"]:
        best = d[d["verdict"] == "better"].iloc[0]
        parts.append(
            f"Candidates to roll out (better on a headline, worse on none): "
            f"{fm.codes(by['better'])}."
        )
        if money:
            parts.append(
                f"Of these, `{best['strategy']}` has the best {money}: "
                f"{_cell(best, 'money')} {unit} against the baseline, at an extra spend of "
                f"{_cell(best, 'extra_spend')} million RMB over the horizon "
                f"({best['verdict_text']})."
            )
    else:
        parts.append(
            "No strategy is better on a headline without being worse on another: there is no "
            "clear candidate to roll out."
        )
    if by["trade-off"]:
        parts.append(f"Trade-offs, a choice between headlines: {fm.codes(by['trade-off'])}.")
    if by["noise"]:
        parts.append(
            f"Not distinguishable from the baseline on any headline (more seeds might tell): "
            f"{fm.codes(by['noise'])}."
        )
    if by["worse"]:
        parts.append(f"Worse: {fm.codes(by['worse'])}.")
    if by["not assessed"]:
        parts.append(f"Not assessed (fewer than 2 paired seeds): {fm.codes(by['not assessed'])}.")
    return " ".join(parts)


def decision_blocks(
    decision: pd.DataFrame,
    business: pd.DataFrame | None,
    baseline: str,
    headlines: dict[str, str],
    level: int,
    plots: list[Plot],
    notes: list[str],
    dilution: dict[str, list[str]],
) -> list[doc.Block]:
    """The report's decision summary and, per scenario, its business case."""
    out = [doc.h(2, "Decision summary")]
    names = "; ".join(
        f"{k}: `{v}` ({BY_NAME[v].unit}; {fm.direction_text(BY_NAME[v])})"
        for k, v in headlines.items()
    )
    out.append(
        doc.p(
            f"Each strategy against `{baseline}` on the three headlines ({names}): the paired "
            f"difference with its {level}% interval, the extra spend and the verdict ("
            + "; ".join(f"**{v}**: {t}" for v, t in VERDICT_TEXT.items())
            + "). Best verdict first, then best money headline."
            + (
                " Over posterior draws: the difference is the weighted mean over the draws, "
                "its interval counts seed noise only; *with parameters* is the interval that "
                "also counts the uncertainty of the market's calibrated parameters, and "
                "*P(better)* the posterior weight of the draws in which the strategy beats "
                "the baseline (section *Under parameter uncertainty*)."
                if any(c.endswith("_p_better") for c in decision.columns)
                else ""
            )
        )
    )
    if notes:
        out.append(doc.p("**Assumptions.** " + " ".join(notes)))
    for sc, d in decision.groupby("scenario", sort=True):
        out.append(doc.h(3, f"Scenario {sc}"))
        out.append(doc.p(_lead(d, headlines)))
        table = pd.DataFrame(
            {
                "strategy": d["strategy"],
                "levers changed (from -> to)": d["levers_changed"],
                **{
                    f"{k} ({v})": [_posterior_cell(x, k) for _, x in d.iterrows()]
                    for k, v in headlines.items()
                },
                "customers gained (thousand)": [_cell(x, "customers") for _, x in d.iterrows()],
                "extra spend (million RMB)": [_cell(x, "extra_spend") for _, x in d.iterrows()],
                "verdict": d["verdict_text"],
            }
        )
        out.append(doc.t(table))
        for p in plots:
            if p.scenario == sc and Path(p.relpath).name.startswith("decision_"):
                out.append(doc.Block("img", p.title, plot=p))
        if dilution.get(sc):
            out.append(
                doc.p(
                    f"Dilution: {fm.codes(dilution[sc])} gain customers in total (`customers`) "
                    "while their per-customer activity (`active_rate`) falls: new customers are "
                    "less active at first, so per-customer rates understate them. The totals "
                    "(`active_customers`, `contacts_total`) count them."
                )
            )
        out.extend(_business_blocks(business, sc, level))
    return out


def _business_blocks(business: pd.DataFrame | None, scenario: str, level: int) -> list[doc.Block]:
    if business is None or business.empty:
        return []
    bz = business[business["scenario"] == scenario]
    if bz.empty:
        return []
    out = [
        doc.h(4, f"Business case, scenario {scenario}"),
        doc.p(
            "Paired by seed against the baseline, at the bank's real size: incremental "
            "profit and NPV over the run (the week-0 investment included), the extra "
            "spend, the payback week (from which the cumulative extra profit stays at or "
            "above zero), the extra spend per extra customer retained or active, and the "
            f"profit returned per RMB of extra spend; {level}% intervals (Student-t over "
            "seeds; a paired bootstrap for the ratios). Definitions: "
            "`sim/analysis/business.py`."
            + (
                " Over posterior draws: the differences are weighted over the draws with "
                "seed-only intervals; the payback week and the ratios are the weighted means "
                "of the draws' own values, without an interval (see each cell's note)."
                if bz["note"].astype(str).str.contains("posterior draws").any()
                else ""
            )
        ),
    ]
    table = []
    for st, g in bz.groupby("strategy", sort=True):
        row: dict[str, str] = {"strategy": st}
        for x in g.itertuples(index=False):
            v = fm.fmt(x.value, x.measure.startswith("incremental") or x.measure == "extra_spend")
            if math.isfinite(x.ci_low) and math.isfinite(x.ci_high):
                v += " " + fm.fmt_interval(x.ci_low, x.ci_high)
            if x.note:
                v += f" ({x.note})"
            row[f"{x.measure} ({x.unit})"] = v
        table.append(row)
    out.append(doc.t(pd.DataFrame(table)))
    return out


def dilution(comparison: pd.DataFrame) -> dict[str, list[str]]:
    """Per scenario, the strategies that gain customers while their active rate falls."""
    out: dict[str, list[str]] = {}
    for (sc, st), c in comparison.groupby(["scenario", "strategy"], sort=True):
        grew = c[c["outcome"] == "customers"]
        rate = c[c["outcome"] == "active_rate"]
        if (
            len(grew)
            and len(rate)
            and fm.flag(grew["better"].iloc[0])
            and fm.flag(rate["distinguishable"].iloc[0])
            and not fm.flag(rate["better"].iloc[0])
        ):
            out.setdefault(sc, []).append(st)
    return out
