"""One week of response and switching, old (NumPy) vs new (compiled), from the same state.

``python -m benchmarks.pair_week [--size 200000] [--weeks 20] [--warm 8] [--seed 3]``:
builds a market (no spin-up), runs ``--warm`` weeks, then for each of ``--weeks`` weeks
runs the schedule up to adoption, snapshots the state, and runs response + switching in
the four combinations (old/new each) from that snapshot, printing per-week event counts
summed over weeks with binomial-style standard errors. The model then goes on with the
all-new arm.
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import fields

import numpy as np

import sim.model as model_module
from benchmarks.legacy import response as old_r
from benchmarks.legacy import switching as old_s
from sim.compose import compose_config
from sim.processes import response as new_r
from sim.processes import switching as new_s
from sim.run import build


def snap(model):
    pop = {f.name: getattr(model.pop, f.name).copy() for f in fields(model.pop)}
    return pop, copy.deepcopy(model.week), copy.deepcopy(model.tally)


def restore(model, s):
    pop, wk, tally = s
    for k, v in pop.items():
        getattr(model.pop, k)[...] = v
    model.week, model.tally = copy.deepcopy(wk), copy.deepcopy(tally)


def metrics(model, before_primary, before_has):
    pop, tl, wk = model.pop, model.tally, model.week
    a = pop.alive
    has = pop.has
    out = {
        "shown": tl.offers_shown.sum(),
        "accepted": tl.offers_accepted.sum(),
        "rm": tl.rm_contacts.sum(),
        "react_contacts": np.sum(wk.reactivation_contacts),
        "opens": tl.opens.sum(),
        "opens_focal": tl.opens[0],
        "opens_inc": tl.opens_incentive.sum(),
        "referral_opens": (tl.referral_paid / np.maximum(model.p.lev.referral_bonus, 1e-12)).sum(),
        "closes": tl.closes.sum(),
        "closes_focal": tl.closes[0],
        "reactivations": tl.reactivations.sum(),
        "primary_changes": (pop.primary[a] != before_primary[a]).sum(),
        "accounts": has[a].sum(),
        "products": np.where(has, pop.products, 0).sum(),
        "sat_sum": np.where(has, pop.sat, 0).sum(dtype=np.float64),
        "wom_sum": np.asarray(wk.wom, np.float64)[a].sum(),
        "referral_sum": np.asarray(wk.referral, np.float64)[a].sum(),
        "dormant": (has & pop.dormant).sum(),
    }
    return {k: float(v) for k, v in out.items()}


def expected(model):
    """Expected closes, opens and incentive opens of the switching rule from the state now."""
    pop, p, wk = model.pop, model.p, model.week
    beh, lev, env = p.beh, p.lev, p.env
    a = pop.alive
    has = pop.has & a[:, None]
    sat = pop.sat.astype(np.float64)
    sat_m = np.where(has, sat, -np.inf)
    srt = -np.sort(-sat_m, axis=1)
    best_other = np.where(sat_m >= srt[:, :1], srt[:, 1:2], srt[:, :1])
    L = (
        beh.switching_ease
        + beh.beta_close_satisfaction * (best_other - sat)
        - beh.beta_close_products * (pop.products.astype(np.float64) - 1)
        - beh.beta_close_bond * pop.bond.astype(np.float64)
        + beh.beta_close_dormant * pop.dormant
        - beh.beta_close_rewards * lev.rewards[None, :] * pop.deal.astype(np.float64)[:, None]
        - p.brand[None, :]
    )
    pc = 1.0 - np.exp(-beh.close_base * np.exp(np.minimum(L, 20.0)))
    elig = has & (has.sum(axis=1) >= 2)[:, None]
    pc = np.where(elig, pc, 0.0)
    pmin = np.where(elig, pc, np.inf).min(axis=1)
    pmin = np.where(np.isfinite(pmin), pmin, 0.0)
    e_close = pc.sum() - pmin.sum()
    # variance of the per-customer count: E[K^2] = sum_bc min(p_b, p_c)
    ek2 = np.minimum(pc[:, :, None], pc[:, None, :]).sum(axis=(1, 2))
    v_close = (ek2 - pc.sum(axis=1) ** 2).sum()
    friction = lev.onboarding_friction[None, :]
    ease = float(np.exp(beh.switching_ease))
    deal = pop.deal.astype(np.float64)[:, None]
    bonus = 1.0 + beh.bonus_elasticity * lev.signup_bonus[None, :] * deal
    h_org = ease * (1.0 - 0.5 * friction) * (beh.open_base + beh.beta_wom * wk.wom)
    h_touch = 1.0 - np.exp(
        -wk.plan.prospect_rate[None, :] * beh.touch_conversion * ease * bonus * (1.0 - friction)
    )
    in_scene = (pop.scene_user < env.platform_scene_reach)[:, None]
    h_scene = (
        beh.scene_conversion
        * ease
        * lev.scene_partnerships[None, :]
        * bonus
        * (1.0 - 0.5 * friction)
        * in_scene
    )
    h_ref = ease * np.asarray(wk.referral, np.float64)
    p_inc = 1.0 - (1.0 - np.clip(h_touch, 0, 1)) * (1.0 - np.clip(h_scene, 0, 1)) * (
        1.0 - np.clip(h_ref, 0, 1)
    )
    h_org = np.clip(h_org, 0.0, 1.0)
    P = 1.0 - (1.0 - h_org) * (1.0 - p_inc)
    can = a[:, None] & ~pop.has
    P = np.where(can, P, 0.0)
    q = P * p_inc / np.maximum(h_org + p_inc, 1e-12)
    return {
        "closes": (e_close, v_close),
        "opens": (P.sum(), (P * (1 - P)).sum()),
        "opens_inc": (q.sum(), (q * (1 - q)).sum()),
    }


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=200000)
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--warm", type=int, default=8)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args(argv)
    cfg = compose_config(
        [f"population.size={a.size}", f"seed={a.seed}", "spinup.weeks=1", "spinup.cache=false"]
    )
    model = build(cfg)
    for _ in range(a.warm):
        model.step()
    pre = [
        (n, f) for n, f in model_module.SCHEDULE if n not in ("response", "switching", "accounting")
    ]
    arms = {
        "oR+oS": (old_r.run, old_s.run),
        "nR+oS": (new_r.run, old_s.run),
        "oR+nS": (old_r.run, new_s.run),
        "nR+nS": (new_r.run, new_s.run),
    }
    rec = model.record_openings
    res = {k: [] for k in arms}
    for w in range(a.weeks):
        model.trackers.begin_week()
        for _, f in pre:
            f(model)
        s = snap(model)
        model.record_openings = lambda *x: None
        for k, (r, sw) in arms.items():
            restore(model, s)
            bp, bh = model.pop.primary.copy(), model.pop.has.copy()
            r(model)
            ex = expected(model)
            sw(model)
            m = metrics(model, bp, bh)
            for key, (e, v) in ex.items():
                m["E_" + key] = e
                m["V_" + key] = v
            res[k].append(m)
        model.record_openings = rec
        restore(model, s)
        new_r.run(model)
        new_s.run(model)
        for n, f in model_module.SCHEDULE:
            if n == "accounting":
                f(model)
        if model.recording:
            model._record()
            model.datacollector.collect(model)
        model.t += 1
        print(f"week {w} done", flush=True)
    keys = list(res["oR+oS"][0])
    print(f"{'metric':16s}" + "".join(f"{k:>14s}" for k in arms) + "   per-week paired t vs oR+oS")
    base = np.array([[r[m] for m in keys] for r in res["oR+oS"]])
    for i, m in enumerate(keys):
        line = f"{m:16s}"
        ts = []
        for k in arms:
            x = np.array([r[m] for r in res[k]])
            line += f"{x.sum():14.6g}"
            d = x - base[:, i]
            sd = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan
            ts.append(d.mean() / sd if sd > 0 else 0.0)
        print(line + "   " + " ".join(f"{t:6.2f}" for t in ts[1:]))

    print("realized - expected (z over all weeks):")
    for k in arms:
        line = f"{k:8s}"
        for key in ("closes", "opens", "opens_inc"):
            real = sum(r[key] for r in res[k])
            e = sum(r["E_" + key] for r in res[k])
            v = sum(r["V_" + key] for r in res[k])
            z = (real - e) / np.sqrt(v)
            line += f"  {key} {real:.0f} vs {e:.1f} ({z:+.2f} sd, {real / e - 1:+.2%})"
        print(line)


if __name__ == "__main__":
    main()
