"""An experiment's progress on stderr while it runs: runs done of total, failures, time left.

:class:`sim.experiment.AggregateCallback` starts a :class:`Progress` in the parent
process when the multirun starts and stops it when the multirun ends. It does not
ask the launcher anything: a daemon thread polls the experiment's ``runs/`` folder
every second (:class:`RunCounter`) and counts the run folders that carry a
``COMPLETE`` or ``FAILED`` marker (``sim/__main__.py`` writes one at the end of
every job), so it works the same with the joblib, Ray or any other launcher whose
jobs write into that folder.

* **Total**: :func:`sweep_total` counts the jobs the way Hydra's ``BasicSweeper``
  makes them: ``hydra.sweeper.params`` followed by the command line's overrides
  (``hydra.overrides.task``), parsed by Hydra's own ``OverridesParser`` and
  multiplied out by ``BasicSweeper.split_arguments``. When it cannot be worked
  out (another sweeper, say), progress is shown without a total.
* **Done** counts finished runs, failed ones included (``failed`` says how many).
  When resuming, runs already complete at the start count as done; runs that had
  failed before count again once their new attempt has finished.
* **Time left** is the runs still to do divided by the rate of runs finished by
  this invocation (runs complete before it started do not count toward the rate).
* **Display**: on a terminal one line is rewritten in place every second; when
  stderr is not a terminal (a log file, a CI job), a line is printed only when
  the counts change. The final line, printed when the multirun ends, reads
  ``runs: 55/55 done, 0 failed, 2m31s``.

``experiment.progress=false`` turns it off. The display never raises into Hydra
and never keeps the process alive: the thread is a daemon, an error in it only
ends the display, and :meth:`Progress.stop` joins it with a timeout.

A total counts jobs while the counter counts run folders: a sweep over a key the
run folder's name does not carry (``runs/<strategy>__<scenario>__s<seed>``) makes
several jobs share a folder, and stale folders of an earlier, larger sweep of a
resumed experiment are counted too.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sim.runfolder import COMPLETE, FAILED, is_complete

#: Seconds between two looks at the ``runs/`` folder.
POLL_SECONDS = 1.0


# --------------------------------------------------------------------------- the total


def sweep_arguments(params: Any, task_overrides: Sequence[Any]) -> list[str]:
    """The sweep's arguments as ``BasicSweeper.sweep`` builds them: params, then overrides."""
    return [f"{k}={v}" for k, v in dict(params or {}).items()] + [str(o) for o in task_overrides]


def count_jobs(arguments: Sequence[str], config_loader: Any = None) -> int:
    """How many jobs Hydra's ``BasicSweeper`` makes of ``arguments`` (``["seed=range(0,5)", ...]``).

    Raises:
        Exception: Hydra's parser or sweeper refuses the arguments.
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    overrides = OverridesParser.create(config_loader=config_loader).parse_overrides(list(arguments))
    return sum(len(batch) for batch in BasicSweeper.split_arguments(overrides, None))


def sweep_total(config: Any) -> int | None:
    """The number of jobs of the multirun ``config`` (a composed config with ``hydra``), or None.

    None when the sweeper is not Hydra's ``BasicSweeper`` or the sweep cannot be
    parsed (Hydra reports that itself when it sweeps).
    """
    from omegaconf import OmegaConf

    try:
        sweeper = config.hydra.sweeper
        target = str(sweeper.get("_target_", ""))
        if not target.endswith(".BasicSweeper"):
            return None
        params = sweeper.get("params")
        params = OmegaConf.to_container(params, resolve=True) if params is not None else {}
        task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
        return count_jobs(sweep_arguments(params, task), _config_loader())
    except Exception:
        return None


def _config_loader() -> Any:
    """The running Hydra's config loader (``glob(...)`` sweeps need it), or None."""
    try:
        from hydra.core.global_hydra import GlobalHydra

        gh = GlobalHydra.instance()
        return gh.config_loader() if gh.is_initialized() else None
    except Exception:
        return None


# --------------------------------------------------------------------------- the counter


@dataclass(frozen=True)
class Counts:
    """What the ``runs/`` folder holds at one look."""

    done: int  #: finished runs: complete, failed, and complete before this invocation
    failed: int  #: finished runs that failed
    earlier: int  #: runs that were already complete when this invocation started


class RunCounter:
    """Counts the finished run folders under an experiment's ``runs/`` folder.

    A folder is complete when :func:`sim.runfolder.is_complete` says so (what a
    resume skips) and failed when it holds ``FAILED`` and is not complete. The
    first look (at construction) is the baseline: folders complete then are
    ``earlier``; folders failed then are being run again and count once their
    ``FAILED`` marker is rewritten (failed again) or they are complete.
    """

    def __init__(self, runs: Path | str):
        self.runs = Path(runs)
        self._complete: set[str] = set()  # a complete folder stays complete: not read again
        self._old_failed: dict[str, int] = {}  # FAILED markers found at the start: their mtimes
        for name in self._folders():
            folder = self.runs / name
            if is_complete(folder):
                self._complete.add(name)
            else:
                stamp = _mtime(folder / FAILED)
                if stamp is not None:
                    self._old_failed[name] = stamp
        self.earlier = len(self._complete)

    def _folders(self) -> list[str]:
        try:
            return [p.name for p in self.runs.iterdir() if p.is_dir()]
        except OSError:  # not made yet
            return []

    def poll(self) -> Counts:
        """Look at the folder now."""
        failed = 0
        for name in self._folders():
            if name in self._complete:
                continue
            folder = self.runs / name
            if (folder / COMPLETE).exists() and is_complete(folder):
                self._complete.add(name)
                continue
            stamp = _mtime(folder / FAILED)
            if stamp is not None and self._old_failed.get(name) != stamp:
                failed += 1
        return Counts(done=len(self._complete) + failed, failed=failed, earlier=self.earlier)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


# --------------------------------------------------------------------------- the display


def format_duration(seconds: float) -> str:
    """``45s``, ``2m31s``, ``1h02m``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def time_left(counts: Counts, total: int | None, elapsed: float) -> float | None:
    """Seconds left at the rate of runs finished by this invocation; None until there is a rate."""
    new = counts.done - counts.earlier
    if total is None or new <= 0 or elapsed <= 0:
        return None
    return max(0, total - counts.done) * elapsed / new


def status_line(counts: Counts, total: int | None, elapsed: float, final: bool = False) -> str:
    """One progress line: ``runs: 22/55 done, 1 failed, 1m02s elapsed, about 1m33s left``."""
    done = f"{counts.done}/{total}" if total is not None else f"{counts.done}"
    head = f"runs: {done} done, {counts.failed} failed, {format_duration(elapsed)}"
    earlier = f" ({counts.earlier} were already complete)" if counts.earlier else ""
    if final:
        return head + earlier
    left = time_left(counts, total, elapsed)
    if total is None:
        tail = " elapsed"
    elif left is None:
        tail = " elapsed, time left unknown yet"
    else:
        tail = f" elapsed, about {format_duration(left)} left"
    return head + tail + earlier


class Progress:
    """Shows an experiment's progress on ``stream`` from a daemon thread until :meth:`stop`.

    Args:
        runs: The experiment's ``runs/`` folder (it need not exist yet).
        total: The number of jobs, or None if unknown.
        stream: Where to write (stderr by default).
        interval: Seconds between two looks.
        clock: A monotonic clock (tests pass their own).
    """

    def __init__(
        self,
        runs: Path | str,
        total: int | None,
        stream: TextIO | None = None,
        interval: float = POLL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.counter = RunCounter(runs)
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.clock = clock
        self.start_time = clock()
        self.tty = _isatty(self.stream)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: Counts | None = None
        self._width = 0  # the length of the line on the terminal, to blank it out
        self._broken = False
        self._stopped = False

    def start(self) -> Progress:
        """Start polling in a daemon thread."""
        self._thread = threading.Thread(target=self._loop, name="experiment-progress", daemon=True)
        self._thread.start()
        atexit.register(self.stop)  # the multirun may raise before on_multirun_end
        return self

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval)

    def tick(self) -> None:
        """Look once and show the line: rewritten on a terminal, printed if changed otherwise."""
        if self._broken:
            return
        try:
            counts = self.counter.poll()
            if not self.tty and counts == self._last:
                return
            self._last = counts
            self._show(status_line(counts, self.total, self.clock() - self.start_time))
        except Exception:  # a display must never break the experiment: just stop showing
            self._broken = True

    def _show(self, line: str, final: bool = False) -> None:
        if self.tty:
            pad = " " * max(0, self._width - len(line))
            self._width = 0 if final else len(line)
            self.stream.write("\r" + line + pad + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def stop(self) -> Counts | None:
        """Stop the thread and print the final line (once); returns the final counts."""
        if self._stopped:
            return None
        self._stopped = True
        atexit.unregister(self.stop)
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        try:
            counts = self.counter.poll()
            self._show(status_line(counts, self.total, self.clock() - self.start_time, True), True)
            return counts
        except Exception:
            return None


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


def start(sweep: Path | str, config: Any, stream: TextIO | None = None) -> Progress | None:
    """Show the progress of the multirun ``config`` writing into ``sweep``; None on error."""
    try:
        return Progress(Path(sweep) / "runs", sweep_total(config), stream).start()
    except Exception:
        return None
