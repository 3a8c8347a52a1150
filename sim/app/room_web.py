"""The game room's web server: pages for teams, the facilitator and the projector, and their API.

``python -m sim.app room`` serves it (:func:`main`). It is a small Starlette app (Starlette
and uvicorn come with the workshop extra's Solara); the pages are plain HTML and JavaScript
from :mod:`sim.app.room_pages`, with no outside files, so a room runs without internet. The
rules (seats, rounds, access) are :class:`sim.app.room.Room`'s; this module only carries
requests to it.

* ``/``: the team page. A team enters the join code and its team name; its browser keeps
  the team token (``localStorage``), so a reloaded page or a dropped connection comes back
  to the same bank. The page shows the team's own bank only: levers grouped by theme, the
  budget of the levers being set, last round's results and the shared leaderboard.
* ``/host``: the facilitator's page. Its address carries the facilitator's key after ``#``
  (printed by the command; a fragment is never sent to the server or written in logs); the
  page sends it in the ``X-Facilitator-Key`` header of every facilitator request.
* ``/projector?code=...``: the market's charts and the leaderboard for the big screen.
* ``/api/...``: JSON. Views are long polls: ``since=<version>`` returns as soon as the room
  changes (or after 20 s), so every view updates within a fraction of a second without
  holding a server thread while it waits.

Status codes: 403 wrong code, token or key, or another team's bank; 409 not allowed now
(paused, playing, waiting for teams, a saved session of that name exists); 400 a bad value
or an unreadable saved file; 404 no such room or saved session.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import hmac
import ipaddress
import json
import secrets
import socket
import sys
from dataclasses import dataclass
from urllib.parse import parse_qs

from sim.app.common import DEFAULT_SIZE, bank_label, market_banks, markets, scenarios, strategies
from sim.app.game import saved_sessions
from sim.app.room import (
    Room,
    RoomAccessError,
    RoomError,
    RoomStateError,
    close_room,
    get_room,
    lever_catalogue,
    register,
    rooms,
)
from sim.app.saved import SavedGameError

#: Longest a long poll waits for a change (seconds).
POLL_SECONDS = 20.0
#: How often a waiting long poll looks at the room's version (seconds).
POLL_TICK = 0.05
#: Largest request body accepted (bytes).
MAX_BODY = 64_000


@dataclass
class Server:
    """What the app knows of how it is served."""

    key: str
    join_url: str
    size: int = DEFAULT_SIZE
    network: bool = False


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def lan_address() -> str:
    """This computer's address on the local network (no packet is sent), or 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def make_app(server: Server):
    """The Starlette app of a room server."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    from sim.app import room_pages

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    def guarded(handler):
        async def wrapped(request: Request):
            try:
                return await handler(request)
            except RoomAccessError as e:
                return error(403, str(e))
            except RoomStateError as e:
                return error(409, str(e))
            except FileNotFoundError as e:
                return error(404, str(e))
            except FileExistsError as e:
                return error(409, str(e))
            except SavedGameError as e:
                return error(400, str(e))
            except KeyError as e:
                return error(400, str(e.args[0]) if e.args else "missing entry")
            except (ValueError, TypeError, RoomError) as e:
                return error(400, str(e))

        return wrapped

    async def body(request: Request) -> dict:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ValueError(f"request too large ({len(raw)} bytes; at most {MAX_BODY})")
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise ValueError("the request is not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("the request must be a JSON object")
        return data

    def host_key(request: Request, data: dict | None = None) -> str:
        key = request.headers.get("x-facilitator-key") or (data or {}).get("key") or ""
        if not hmac.compare_digest(str(key), server.key):
            raise RoomAccessError("the facilitator's key is missing or wrong")
        return server.key

    def room_of(request: Request, data: dict | None = None) -> tuple[Room, str]:
        code = (data or {}).get("code") or request.query_params.get("code") or ""
        return get_room(str(code)), str(code)

    async def changed(room: Room, request: Request) -> None:
        """Wait (without a thread) until the room passes ``since``, or the poll times out."""
        since = request.query_params.get("since")
        if since is None:
            return
        since_v = int(since)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POLL_SECONDS
        while room.version <= since_v and loop.time() < deadline:
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_TICK)

    # ------------------------------------------------------------------ pages
    async def team_page(request: Request):
        return HTMLResponse(room_pages.team_page())

    async def host_page(request: Request):
        return HTMLResponse(room_pages.host_page())

    async def projector_page(request: Request):
        return HTMLResponse(room_pages.projector_page())

    # ------------------------------------------------------------------ public
    async def options(request: Request):
        return JSONResponse(
            {
                "levers": lever_catalogue(),
                "markets": {
                    m: {
                        "description": d,
                        "banks": [{"bank": b, "label": bank_label(b)} for b in market_banks(m)],
                    }
                    for m, d in markets().items()
                },
                "scenarios": scenarios(),
                "strategies": sorted(strategies()),
                "size": server.size,
                "join_url": server.join_url,
                "network": server.network,
            }
        )

    async def public(request: Request):
        room, code = room_of(request)
        await changed(room, request)
        view = await run_in_threadpool(room.public_view, code)
        return JSONResponse(view | {"join_url": server.join_url})

    async def chart(request: Request):
        room, code = room_of(request)
        png = await run_in_threadpool(room.chart_png, code)
        return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    # ------------------------------------------------------------------ teams
    async def join(request: Request):
        data = await body(request)
        room, code = room_of(request, data)
        seat = await run_in_threadpool(room.join, code, str(data.get("team", "")))
        return JSONResponse(seat)

    def _token(request: Request, data: dict | None = None) -> str:
        return str(request.headers.get("x-team-token") or (data or {}).get("token") or "")

    async def team(request: Request):
        room, code = room_of(request)
        token = _token(request)
        await run_in_threadpool(room.team_view, code, token)  # refuse a stranger before waiting
        await changed(room, request)
        view = await run_in_threadpool(room.team_view, code, token)
        return JSONResponse(view | {"join_url": server.join_url})

    async def submit(request: Request):
        data = await body(request)
        room, code = room_of(request, data)
        bank = data.get("bank")
        out = await run_in_threadpool(
            room.submit, code, _token(request, data), data.get("levers", {}), bank
        )
        return JSONResponse(out)

    async def price(request: Request):
        """The budget of levers a team is setting (nothing is submitted)."""
        data = await body(request)
        room, code = room_of(request, data)
        out = await run_in_threadpool(room.price, code, _token(request, data), data.get("levers"))
        return JSONResponse(out)

    # ------------------------------------------------------------------ facilitator
    async def host_rooms(request: Request):
        host_key(request)
        return JSONResponse(
            {
                "rooms": [
                    {"code": r.code, "name": r.name, "describe": r.game.describe()} for r in rooms()
                ],
                "saved": saved_sessions(),
            }
        )

    async def create(request: Request):
        data = await body(request)
        key = host_key(request, data)
        teams = data.get("teams")
        if not isinstance(teams, dict) or not teams:
            raise ValueError("name at least one team (team name -> bank)")
        room = await run_in_threadpool(
            Room.create,
            {str(t): str(b) for t, b in teams.items()},
            key,
            scenario=str(data.get("scenario", "none")),
            size=int(data.get("size") or server.size),
            seed=int(data.get("seed", 1)),
            rounds=int(data.get("rounds", 8)),
            market=str(data.get("market", "default")),
            strategy=str(data.get("strategy", "baseline")),
            name=str(data.get("name") or "room")[:60],
            auto_advance=bool(data.get("auto_advance", False)),
        )
        register(room)
        return JSONResponse({"code": room.code, "join_url": server.join_url})

    async def load(request: Request):
        data = await body(request)
        key = host_key(request, data)
        room = await run_in_threadpool(Room.load, str(data.get("name", "")), key)
        register(room)
        return JSONResponse({"code": room.code, "join_url": server.join_url})

    async def host_state(request: Request):
        key = host_key(request)
        room, _ = room_of(request)
        await changed(room, request)
        view = await run_in_threadpool(room.host_view, key)
        return JSONResponse(view | {"join_url": server.join_url, "saved": saved_sessions()})

    async def action(request: Request):
        data = await body(request)
        key = host_key(request, data)
        room, _ = room_of(request, data)
        what = request.path_params["what"]
        if what == "advance":
            await run_in_threadpool(room.advance, key, bool(data.get("force", False)))
        elif what == "back":
            await run_in_threadpool(room.back, key)
        elif what == "pause":
            await run_in_threadpool(room.pause, key, bool(data.get("paused", True)))
        elif what == "release":
            await run_in_threadpool(room.release, key, str(data.get("team", "")))
        elif what == "auto":
            await run_in_threadpool(room.set_auto_advance, key, bool(data.get("on", False)))
        elif what == "save":
            path = await run_in_threadpool(
                room.save, key, str(data.get("name", "")), bool(data.get("replace", False))
            )
            return JSONResponse({"saved": str(path)})
        elif what == "close":
            room._host(key)
            close_room(room.code)
        else:
            return error(404, f"no facilitator action {what!r}")
        return JSONResponse({"ok": True, "version": room.version})

    async def debrief(request: Request):
        # a plain form post (urlencoded; parsed here: Starlette's form parser needs an extra)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ValueError(f"request too large ({len(raw)} bytes; at most {MAX_BODY})")
        data = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        key = host_key(request, data)
        room, _ = room_of(request, data)
        page = await run_in_threadpool(room.debrief_html, key)
        name = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in room.name)
        filename = f"debrief-{name}-round{room.game.round}.html"
        return Response(
            page,
            media_type="text/html; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    routes = [
        Route("/", team_page),
        Route("/host", host_page),
        Route("/projector", projector_page),
        Route("/api/options", guarded(options)),
        Route("/api/public", guarded(public)),
        Route("/api/chart.png", guarded(chart)),
        Route("/api/join", guarded(join), methods=["POST"]),
        Route("/api/team", guarded(team)),
        Route("/api/submit", guarded(submit), methods=["POST"]),
        Route("/api/price", guarded(price), methods=["POST"]),
        Route("/api/host/rooms", guarded(host_rooms)),
        Route("/api/host/create", guarded(create), methods=["POST"]),
        Route("/api/host/load", guarded(load), methods=["POST"]),
        Route("/api/host/state", guarded(host_state)),
        Route("/api/host/debrief", guarded(debrief), methods=["POST"]),
        Route("/api/host/{what}", guarded(action), methods=["POST"]),
    ]
    middleware = []
    if not server.network:
        # this computer only: also refuse pages reached under another name (DNS rebinding)
        hosts = ["127.0.0.1", "localhost", "[::1]", "::1"]
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=hosts))
    return Starlette(routes=routes, middleware=middleware)


# --------------------------------------------------------------------------- command
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of ``python -m sim.app room``."""
    ap = argparse.ArgumentParser(
        prog="python -m sim.app room",
        description=(
            "Serve a game room: every team plays from its own device, the facilitator runs "
            "the room. Listens on 127.0.0.1 (this computer only) unless --network is given."
        ),
    )
    ap.add_argument("--port", type=int, default=8766, help="port (default 8766)")
    ap.add_argument(
        "--network",
        action="store_true",
        help="serve the room on this computer's network (all interfaces): prints a warning",
    )
    ap.add_argument(
        "--host",
        default=None,
        help="address to listen on (default 127.0.0.1; with --network 0.0.0.0)",
    )
    ap.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help=f"customers in a room's market (default {DEFAULT_SIZE:,})",
    )
    ap.add_argument(
        "--key",
        default=None,
        help="the facilitator's key (default: a new random key, printed in the host address)",
    )
    args = ap.parse_args(argv)
    if not 1 <= args.port <= 65535:
        ap.error(f"--port {args.port}: use 1 to 65535")
    if not 100 <= args.size <= 2_000_000:
        ap.error(f"--size {args.size}: use 100 to 2,000,000 customers")
    if args.key is not None and len(args.key) < 8:
        ap.error("--key: use at least 8 characters")
    if args.host is None:
        args.host = "0.0.0.0" if args.network else "127.0.0.1"
    elif not _is_loopback(args.host) and not args.network:
        ap.error(
            f"--host {args.host} serves the room beyond this computer: add --network to say so"
        )
    return args


#: glibc's ``mallopt`` parameters (``malloc.h``) and the values the room server sets.
M_ARENA_MAX, M_MMAP_THRESHOLD = -8, -3
ARENAS, MMAP_THRESHOLD = 2, 128 * 1024


def steady_heap() -> bool:
    """Keep the server's resident memory flat over rounds (glibc only); whether it was set.

    A round's NumPy temporaries (a few hundred kB each at 20,000 customers) are allocated
    and freed in worker threads. By default glibc gives each thread an arena of its own
    (up to 8 per core) and raises its mmap threshold after the first large free, so freed
    blocks stay in fragmented arenas and the resident memory crept up by tens of MB a round
    beyond the states kept for going back (``benchmarks/room.py``). Two arenas and a fixed
    128 kB threshold give large blocks back to the system when they are freed; with them the
    memory beyond the kept states stayed flat over 10 rounds. Elsewhere nothing is changed.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(
            libc.mallopt(M_ARENA_MAX, ARENAS) and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        )
    except (OSError, AttributeError):  # not glibc (musl, ...): its own allocator
        return False


def main(argv: list[str] | None = None) -> None:
    """Start a room server and print the facilitator's and the teams' addresses."""
    args = parse_args(argv)
    steady_heap()
    import uvicorn

    key = args.key or secrets.token_urlsafe(18)
    port = args.port
    if args.network:
        shown = args.host if args.host not in ("0.0.0.0", "::") else lan_address()
        print(
            f"warning: the room is served on the network ({args.host}:{port}): anyone who can "
            "reach this address can open the pages. Teams need the room's join code for every "
            "action and the facilitator's controls need the key below: do not show the host "
            "address on the projector.",
            file=sys.stderr,
        )
    else:
        shown = args.host
    shown = f"[{shown}]" if ":" in shown else shown
    join_url = f"http://{shown}:{port}/"
    server = Server(key=key, join_url=join_url, size=args.size, network=args.network)
    print(f"Game room: teams open {join_url}", flush=True)
    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") or _is_loopback(args.host) else shown
    print(
        f"Facilitator: open http://{local}:{port}/host#key={key}  (keep this address to "
        f"yourself; {args.size:,} customers per game; Ctrl+C stops)",
        flush=True,
    )
    # Ctrl+C stops within 2 s even while teams' pages hold long polls open
    uvicorn.run(
        make_app(server),
        host=args.host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )


__all__ = ["Server", "lan_address", "main", "make_app", "parse_args", "steady_heap"]
