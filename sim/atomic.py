"""Files that are never half-written, folders that are never shared, and folder locks.

* :func:`atomic_write` writes through a temporary file in the same folder and a
  rename: a reader sees the old file or the new one, never a part of it. A write
  that fails (a full disk, say) removes its temporary file, leaves the old file
  as it was and raises :class:`WriteError`, which names the file.
* :func:`new_folder` creates a folder exclusively: when the name is taken (two
  commands started in the same second), it takes ``<name>-2``, ``<name>-3``...
* :class:`FolderLock` is an advisory lock (``fcntl.flock``) on a file in a folder,
  held while a process works on the folder; the operating system releases it when
  the process ends, however it ends (``kill -9`` included).
"""

from __future__ import annotations

import errno
import fcntl
import os
import uuid
from pathlib import Path

from sim.errors import ConfigError

#: How many suffixed names :func:`new_folder` tries before giving up.
MAX_SUFFIX = 10_000


class WriteError(OSError):
    """A results file could not be written; the message names the file and what to do."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


def _write_data(f, data: str | bytes) -> None:
    """Write ``data`` to the open file ``f`` (a seam for tests that simulate a full disk)."""
    f.write(data)


def atomic_write(path: Path | str, data: str | bytes, fsync: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Args:
        path: The file to write; its folder is created if needed.
        data: Text (written as UTF-8, newlines untouched) or bytes.
        fsync: Flush the file to the disk before the rename (survives a power cut).

    Returns:
        ``path``.

    Raises:
        WriteError: The file could not be written (the disk is full, say). The
            temporary file is removed and an earlier ``path`` is left intact.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            with open(tmp, "x", encoding="utf-8", newline="") as f:
                _write_data(f, data)
                f.flush()
                if fsync:
                    os.fsync(f.fileno())
        else:
            with open(tmp, "xb") as f:
                _write_data(f, data)
                f.flush()
                if fsync:
                    os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, WriteError):
            raise
        raise write_error(path, err) from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_error(path: Path | str, err: OSError) -> WriteError:
    """A :class:`WriteError` naming ``path``, the system's reason and what to do."""
    reason = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free space on the results disk (or set BANKLAB_RESULTS to another disk) and rerun"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "make the results folder writable (or set BANKLAB_RESULTS) and rerun"
    else:
        hint = "fix the cause and rerun"
    return WriteError(
        err.errno,
        f"{path}: could not be written: {reason}; it was not replaced (an earlier version, "
        f"if any, is intact, and no partial file is left); {hint}",
    )


def remove_stale_temporaries(folder: Path | str) -> list[Path]:
    """Remove the temporary files an interrupted :func:`atomic_write` left in ``folder``."""
    folder = Path(folder)
    removed = []
    if folder.is_dir():
        for tmp in folder.glob(".*.tmp"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def new_folder(path: Path | str) -> Path:
    """Create a new, empty folder at ``path``, or at ``path-2``, ``path-3``... if it is taken.

    The folder is created with one ``os.mkdir`` call, which fails if the name
    exists, so two processes can never get the same folder.

    Raises:
        WriteError: The folder could not be created (a full disk or a read-only folder).
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(path.parent, err) from err
    for n in range(1, MAX_SUFFIX + 1):
        candidate = path if n == 1 else path.with_name(f"{path.name}-{n}")
        try:
            os.mkdir(candidate)
        except FileExistsError:
            continue
        except OSError as err:
            raise write_error(candidate, err) from err
        return candidate
    raise WriteError(
        errno.EEXIST, f"{path}: {MAX_SUFFIX} folders of this name exist already; clean up results/"
    )


class FolderLock:
    """An exclusive lock on ``folder/name``, held by one process at a time.

    Use as ``with FolderLock(folder): ...`` or call :meth:`acquire` and
    :meth:`release`. A second process asking for the lock is refused at once
    with a :class:`~sim.errors.ConfigError` naming the lock file and the
    process that holds it.
    """

    def __init__(self, folder: Path | str, name: str = "experiment.lock", what: str = "folder"):
        self.folder = Path(folder)
        self.path = self.folder / name
        self.what = what
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def holder(self) -> str:
        """The process id written in the lock file by its holder, or ``unknown``."""
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return "unknown"
        return text.split()[0] if text else "unknown"

    def acquire(self) -> FolderLock:
        """Take the lock, or raise ConfigError if another process holds it."""
        if self._fd is not None:
            return self
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise write_error(self.path, err) from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(
                f"{self.path}: the {self.what} {self.folder} is locked by another process "
                f"(pid {self.holder()}) working on it; not allowed: two at once on one "
                f"{self.what}; allowed: wait for that process to end (the lock goes with it), "
                "or choose another folder"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the lock holds without the pid; only the refusal message loses it
        self._fd = fd
        return self

    def release(self) -> None:
        """Release the lock (the lock file stays; it is reused)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
