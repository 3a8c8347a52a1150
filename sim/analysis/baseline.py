"""Baseline statistics: a stored summary of the default run that a test compares against.

``python -m sim.analysis.baseline`` prints how a fresh run differs from the
stored file; ``python -m sim.analysis.baseline --refresh`` rewrites it on
purpose (after a deliberate change to the model or the default market). The
test ``tests/test_baseline_stats.py`` fails whenever a change moves any stored
outcome, so behaviour never changes silently.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

BASELINE_FILE = Path(__file__).resolve().parents[1] / "data" / "baseline_stats.json"
#: The run the statistics come from: the default market and baseline strategy.
OVERRIDES = ("population.size=5000", "weeks=104", "seed=42")
RTOL = 1e-6


def current() -> dict[str, float]:
    """Every outcome of a fresh run of :data:`OVERRIDES`."""
    from sim.compose import compose_config
    from sim.run import run

    return run(compose_config(list(OVERRIDES))).summary["outcomes"]


def load() -> dict:
    """The stored baseline statistics."""
    return json.loads(BASELINE_FILE.read_text(encoding="utf-8"))


def differences(fresh: dict[str, float], stored: dict[str, float]) -> list[str]:
    """Outcomes that moved (relative tolerance :data:`RTOL`), appeared or disappeared."""
    out = []
    for name in sorted(set(fresh) | set(stored)):
        a, b = fresh.get(name), stored.get(name)
        if a is None or b is None:
            out.append(f"{name}: stored {b!r}, now {a!r}")
        elif not (
            math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
        ):
            out.append(f"{name}: stored {b:.6g}, now {a:.6g}")
    return out


def main(argv: list[str] | None = None) -> None:
    """Compare a fresh run with the stored statistics, or refresh them."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refresh", action="store_true", help="rewrite the stored file")
    a = ap.parse_args(argv)
    fresh = current()
    if a.refresh:
        data = {"overrides": list(OVERRIDES), "outcomes": fresh}
        tmp = BASELINE_FILE.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(BASELINE_FILE)
        print(f"wrote {BASELINE_FILE}")
        return
    diffs = differences(fresh, load()["outcomes"])
    print("\n".join(diffs) if diffs else "no outcome moved")
    raise SystemExit(1 if diffs else 0)


if __name__ == "__main__":
    main()
