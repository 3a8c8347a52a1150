"""The C allocator's settings for the weekly step: keep freed memory for reuse.

Every week the processes allocate and free temporaries the size of the
population (N x B arrays). glibc's malloc serves blocks above 128 KiB-32 MiB
(its adaptive threshold) with fresh ``mmap`` calls and returns freed memory to
the kernel, so each week pays again for zeroed pages: at 1 million customers
about 40,000 page faults a week and a third of the wall time in the kernel
(``benchmarks/run.py``, section 6). Telling malloc to serve large blocks from
its heap and keep what is freed (``mallopt``; the same as the environment
variables ``MALLOC_MMAP_MAX_=0``, ``MALLOC_TRIM_THRESHOLD_``,
``MALLOC_TOP_PAD_``) makes the steps about 1.4x faster at that size, for a
resident set that stays at its peak instead of shrinking between steps.

Only on Linux with glibc; elsewhere nothing changes. Set the environment
variable ``BANKLAB_KEEP_FREED_MEMORY=0`` to leave malloc at its defaults.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: mallopt parameter numbers from glibc's malloc.h.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX = -1, -2, -4
TRIM_THRESHOLD = -1  # never give freed heap memory back (mallopt(3): -1 disables trimming)
TOP_PAD = 2**28  # bytes grown beyond each heap request (256 MiB)

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Apply the settings once per process; return whether they are in effect."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("BANKLAB_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith(
        "linux"
    ):
        return _applied
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return _applied
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = bool(
        mallopt(M_MMAP_MAX, 0)
        and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        and mallopt(M_TOP_PAD, TOP_PAD)
    )
    return _applied
