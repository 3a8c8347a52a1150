"""A full game room: 30 team clients on one room server, at the workshop size.

``python -m benchmarks.room [--size 20000] [--rooms 6] [--rounds 10] [--together]``

Starts ``python -m sim.app room`` (127.0.0.1, a free port, results in a temporary folder;
the spin-up cache is the usual one, so a second run skips the spin-up) and plays it over
HTTP as the browsers do. A market has five banks and a team owns one, so a room holds at
most five teams: 30 team clients are six rooms of five on one server (``--rooms``), every
bank team-owned, every room playing a round as soon as its last team submits
(``auto_advance``). Each client is a thread that joins its team, then keeps a long poll
on its team view (``/api/team?since=``), exactly as the team page does, and notes when it
first sees each round played. Each round, each room's five teams submit levers at the
same instant (levers drawn from a seeded generator); the rooms take their turns one
after the other (a room's round starts once the previous room's is seen by all its
clients), unless ``--together``, where all 30 clients submit at once and the rooms' rounds
run side by side on the server's cores.

Printed against the issue's targets:

* **advance**: from the room's last submission to the last of its five clients seeing
  the round played (the round's simulation included), worst and median over rooms and
  rounds; target: within 2 s;
* **views updated**: every client saw every round (none missed), target: all;
* **dropped**: failed or timed-out requests of any client, target: 0;
* **memory**: the server's resident memory after each round; target: flat over 10 rounds.
  Each round keeps the state before it for going back (the population's arrays; the
  server reports their size, ``kept_mb``); the memory beyond them is what must stay flat.

No timing is asserted anywhere; the figures of a run are in ``docs/workshop.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KEY = "benchmark-facilitator-key"
BANKS = ("focal", "state_a", "state_b", "joint_stock", "city")
#: Levers the teams move each round, with the range they draw from.
MOVES = {
    "app_quality": (0.3, 1.0),
    "rewards": (0.0, 1.0),
    "signup_bonus": (0.0, 800.0),
    "push_per_week": (0.0, 4.0),
    "data_capability": (0.2, 1.0),
}


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    """JSON over HTTP to the room server (one keep-alive-free request per call)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, path: str, data=None, headers=None, timeout: float = 60.0):
        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(
            self.base + path,
            data=body,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process (MB), from ``/proc``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Client(threading.Thread):
    """One team's device: joined, then a long poll on its view until told to stop."""

    def __init__(self, http: Http, code: str, team: str) -> None:
        super().__init__(daemon=True, name=f"client-{code}-{team}")
        self.http, self.code, self.team = http, code, team
        self.token = http.call("/api/join", {"code": code, "team": team})["token"]
        self.seen: dict[int, float] = {}  # round -> first time seen played
        self.errors: list[str] = []
        self.polls = 0
        self.stop = threading.Event()

    def run(self) -> None:
        version = -1
        while not self.stop.is_set():
            q = f"/api/team?code={self.code}" + (f"&since={version}" if version >= 0 else "")
            try:
                v = self.http.call(q, headers={"X-Team-Token": self.token}, timeout=40)
            except (OSError, urllib.error.URLError, ValueError) as e:
                self.errors.append(f"{type(e).__name__}: {e}")
                time.sleep(0.5)
                continue
            self.polls += 1
            version = v["version"]
            if v["phase"] != "playing":
                self.seen.setdefault(int(v["round"]), time.perf_counter())

    def submit(self, levers: dict[str, float]) -> None:
        try:
            self.http.call(
                "/api/submit", {"code": self.code, "token": self.token, "levers": levers}
            )
        except (OSError, urllib.error.URLError, ValueError) as e:
            self.errors.append(f"submit: {type(e).__name__}: {e}")


def play(args) -> dict:
    """Run the benchmark; the figures."""
    port = free_port()
    results = Path(tempfile.mkdtemp(prefix="banklab-room-bench-"))
    env = {**os.environ, "BANKLAB_RESULTS": str(results), "PYTHONUNBUFFERED": "1"}
    env.setdefault("BANKLAB_CACHE", str(ROOT / "results" / "cache" / "spinup"))
    log = (results / "server.log").open("w")
    cmd = [sys.executable, "-m", "sim.app", "room", "--port", str(port), "--size", str(args.size)]
    proc = subprocess.Popen(
        [*cmd, "--key", KEY], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    http = Http(f"http://127.0.0.1:{port}")
    host = {"X-Facilitator-Key": KEY}
    rng = np.random.default_rng(args.seed)
    clients: list[Client] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError):
                http.call("/api/options")
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the room server did not start:\n{(results / 'server.log')}")
            time.sleep(0.3)
        t0 = time.perf_counter()
        codes = []
        for r in range(args.rooms):
            teams = {f"Team {r + 1}{chr(65 + b)}": bank for b, bank in enumerate(BANKS)}
            out = http.call(
                "/api/host/create",
                {
                    "teams": teams,
                    "rounds": args.rounds,
                    "size": args.size,
                    "seed": 1,
                    "name": f"bench-{r + 1}",
                    "auto_advance": True,
                },
                host,
                timeout=900,
            )
            codes.append(out["code"])
            for team in teams:
                clients.append(Client(http, out["code"], team))
        build_s = time.perf_counter() - t0
        for c in clients:
            c.start()
        time.sleep(1.0)
        by_room = {code: [c for c in clients if c.code == code] for code in codes}
        mem = [rss_mb(proc.pid)]
        kept = [0.0]  # MB of the states the rooms keep for going back, after each round
        cpu0 = cpu_s(proc.pid)
        load = [os.getloadavg()[0]]
        advance: list[float] = []
        compute: list[float] = []
        for k in range(1, args.rounds + 1):
            groups = [clients] if args.together else list(by_room.values())
            for group in groups:
                draws = [
                    {n: round(float(rng.uniform(lo, hi)), 3) for n, (lo, hi) in MOVES.items()}
                    for _ in group
                ]
                barrier = threading.Barrier(len(group))
                sent: list[float] = []

                def go(c: Client, levers: dict, barrier=barrier, sent=sent) -> None:
                    barrier.wait()
                    sent.append(time.perf_counter())
                    c.submit(levers)

                ts = [
                    threading.Thread(target=go, args=(c, d))
                    for c, d in zip(group, draws, strict=True)
                ]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
                last = max(sent)
                wait_until = time.monotonic() + 120
                while any(k not in c.seen for c in group) and time.monotonic() < wait_until:
                    time.sleep(0.02)
                rooms_here = sorted({c.code for c in group})
                for code in rooms_here:
                    seen = [c.seen.get(k) for c in by_room[code]]
                    if all(s is not None for s in seen):
                        advance.append(max(seen) - last)
                    v = http.call(f"/api/host/state?code={code}", headers=host)
                    compute.append(float(v["last_round_seconds"] or float("nan")))
            mem.append(rss_mb(proc.pid))
            load.append(os.getloadavg()[0])
            kept.append(
                sum(
                    http.call(f"/api/host/state?code={code}", headers=host)["kept_mb"]
                    for code in codes
                )
            )
            print(
                f"round {k:2d}: advance worst {max(advance[-args.rooms :]):.2f} s, "
                f"server memory {mem[-1]:.0f} MB",
                flush=True,
            )
        cpu_per_round = (cpu_s(proc.pid) - cpu0) / (args.rounds * args.rooms)
        for c in clients:
            c.stop.set()
        missed = sum(1 for c in clients for k in range(1, args.rounds + 1) if k not in c.seen)
        dropped = sum(len(c.errors) for c in clients)
        # memory beyond the states kept for going back, after each round from the first
        beyond = [m - k for m, k in zip(mem[1:], kept[1:], strict=True)]
        return {
            "size": args.size,
            "rooms": args.rooms,
            "clients": len(clients),
            "rounds": args.rounds,
            "together": bool(args.together),
            "build_s": build_s,
            "advance_max": max(advance) if advance else float("nan"),
            "advance_median": statistics.median(advance) if advance else float("nan"),
            "compute_median": statistics.median(compute),
            "cpu_per_round": cpu_per_round,
            "load": load,
            "missed": missed,
            "dropped": dropped,
            "polls": sum(c.polls for c in clients),
            "mem": mem,
            "kept": kept,
            "beyond": beyond,
            "beyond_change": beyond[-1] - beyond[0],
            "errors": [e for c in clients for e in c.errors][:5],
        }
    finally:
        for c in clients:
            c.stop.set()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def report(f: dict) -> str:
    """The figures beside the targets."""
    mem = f["mem"]
    lines = [
        f"Game room: {f['clients']} team clients in {f['rooms']} rooms of 5, "
        f"{f['size']:,} customers per room, {f['rounds']} rounds"
        + (", all rooms submitting at once" if f["together"] else ", rooms in turn"),
        f"  machine: {os.cpu_count()} cores, load average (1 min) during the rounds "
        f"{min(f['load']):.1f} to {max(f['load']):.1f} (other work included)",
        f"  rooms built (spin-up cached or run)     {f['build_s']:8.1f} s",
        f"  a round's simulation (median, wall)     {f['compute_median']:8.2f} s",
        f"  server CPU per room-round (all included) {f['cpu_per_round']:7.2f} s",
        "",
        f"  {'figure':<48}{'measured':>12}   target",
        f"  {'advance: last submission -> all views (worst)':<48}"
        f"{f['advance_max']:>10.2f} s   <= 2 s",
        f"  {'advance (median)':<48}{f['advance_median']:>10.2f} s   <= 2 s",
        f"  {'client views that missed a round':<48}{f['missed']:>12d}   0",
        f"  {'requests dropped (failed or timed out)':<48}{f['dropped']:>12d}   0",
        f"  {'long polls answered':<48}{f['polls']:>12d}",
        f"  {'server memory before round 1 / after last':<48}{mem[0]:>5.0f} / {mem[-1]:.0f} MB",
        f"  {'kept for going back after the last round':<48}{f['kept'][-1]:>9.1f} MB",
        f"  {'memory beyond it, after rounds 1..N (MB)':<48}"
        + " ".join(f"{b:.0f}" for b in f["beyond"]),
        f"  {'  its change from round 1 to the last':<48}{f['beyond_change']:>9.1f} MB   flat",
    ]
    if f["errors"]:
        lines.append("  first errors: " + "; ".join(f["errors"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.room", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--size", type=int, default=20_000, help="customers per room (20,000)")
    ap.add_argument("--rooms", type=int, default=6, help="rooms of five teams (6: 30 clients)")
    ap.add_argument("--rounds", type=int, default=10, help="rounds (10)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the teams' lever draws")
    ap.add_argument("--together", action="store_true", help="all rooms submit at once")
    args = ap.parse_args(argv)
    print(report(play(args)))


if __name__ == "__main__":
    main()
