"""``python -m sim.app``: serve the workshop app on this machine.

``python -m sim.app room`` serves a game room instead (:mod:`sim.app.room_web`): every
team plays from its own device, the facilitator runs the room.

Listens on 127.0.0.1 (this computer only) unless ``--host`` says otherwise,
prints the address to open, and serves until Ctrl+C. Each browser tab gets its
own models. Options set the defaults of new sessions: population size, seed,
scenario.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from sim.app.common import DEFAULT_SIZE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    ap = argparse.ArgumentParser(
        prog="python -m sim.app",
        description="Serve the workshop app (strategy lab and team game) in the browser.",
    )
    ap.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only)",
    )
    ap.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    ap.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help=f"customers per model (default {DEFAULT_SIZE:,})",
    )
    ap.add_argument("--seed", type=int, default=1, help="default seed of new sessions")
    ap.add_argument(
        "--scenario", default="none", help="default scenario of new sessions (a file in scenarios/)"
    )
    args = ap.parse_args(argv)
    if not 1 <= args.port <= 65535:
        ap.error(f"--port {args.port}: use 1 to 65535")
    if not 100 <= args.size <= 2_000_000:
        ap.error(f"--size {args.size}: use 100 to 2,000,000 customers for a live workshop")
    from sim.app.common import scenarios

    if args.scenario not in scenarios():
        ap.error(f"--scenario {args.scenario!r}: choose from {', '.join(scenarios())}")
    return args


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def main(argv: list[str] | None = None) -> None:
    """Start the server (``room ...``: the game room's server)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["room"]:
        from sim.app.room_web import main as room_main

        room_main(argv[1:])
        return
    args = parse_args(argv)
    os.environ["SOLARA_APP"] = "sim.app.ui"
    # No calls home: no telemetry; the front-end files come from solara-assets.
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "false")
    # A closed tab's models are freed after 2 hours (Solara keeps them 24 h by default
    # so that a page can reconnect); ~40 MB per session at 20,000 customers.
    os.environ.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", "2h")
    os.environ.setdefault("SOLARA_THEME_TITLE", "Bank engagement lab")
    os.environ["BANKLAB_WORKSHOP_SIZE"] = str(args.size)
    os.environ["BANKLAB_WORKSHOP_SEED"] = str(args.seed)
    os.environ["BANKLAB_WORKSHOP_SCENARIO"] = args.scenario

    import uvicorn
    from solara.server.starlette import app

    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{args.port}/"
    if not _is_loopback(args.host):
        print(
            f"warning: listening on {args.host}: anyone who can reach this address can use "
            "the app (there is no login).",
            file=sys.stderr,
        )
    print(
        f"Workshop app: open {url}  ({args.size:,} customers per model; Ctrl+C stops)", flush=True
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
