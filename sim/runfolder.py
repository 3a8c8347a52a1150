"""What makes a run folder complete, in one place for the writer and every reader.

A run folder is complete when its ``COMPLETE`` marker (written last) exists and
its ``summary.json`` is whole: it parses, it is a mapping with an ``outcomes``
mapping, and its SHA-256 is the one the marker recorded. A folder whose summary
was truncated or damaged after the run is therefore incomplete: readers leave
it out and resuming an experiment runs it again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

COMPLETE = "COMPLETE"
FAILED = "FAILED"
SUMMARY = "summary.json"


class IncompleteRunError(ValueError):
    """A run folder is not complete; the message says why."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def complete_marker(summary_text: str) -> str:
    """The text of ``COMPLETE`` for a run whose ``summary.json`` holds ``summary_text``."""
    return f"complete\n{SUMMARY} sha256 {_sha256(summary_text.encode('utf-8'))}\n"


def _recorded_hash(marker: str) -> str | None:
    for line in marker.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == SUMMARY and parts[1] == "sha256":
            return parts[2]
    return None  # a marker written before hashes were recorded


def read_summary(folder: Path | str) -> dict[str, Any]:
    """The summary of a complete run folder.

    Raises:
        IncompleteRunError: No ``COMPLETE`` marker, or ``summary.json`` missing,
            truncated, corrupt or not the file the marker recorded.
    """
    folder = Path(folder)
    try:
        marker = (folder / COMPLETE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        raise IncompleteRunError(
            f"{folder}: no {COMPLETE} marker: the run did not finish"
        ) from None
    path = folder / SUMMARY
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise IncompleteRunError(f"{path}: missing or unreadable ({err.strerror})") from None
    expected = _recorded_hash(marker)
    if expected is not None and _sha256(raw) != expected:
        raise IncompleteRunError(
            f"{path}: truncated or corrupt (its SHA-256 is not the one {COMPLETE} recorded)"
        )
    try:
        summary = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise IncompleteRunError(f"{path}: truncated or corrupt ({err})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("outcomes"), dict):
        raise IncompleteRunError(f"{path}: truncated or corrupt (no 'outcomes' mapping)")
    return summary


def is_complete(folder: Path | str) -> bool:
    """Whether a run folder was written to the end and its summary is whole."""
    try:
        read_summary(folder)
    except IncompleteRunError:
        return False
    return True
