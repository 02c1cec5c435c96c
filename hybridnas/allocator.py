"""Keep freed memory in the process instead of handing it back to the OS after every network.

Scoring builds a network and runs batches through it, so every evaluation allocates and frees the same
few-megabyte tensors. glibc serves blocks over its mmap threshold with fresh `mmap` calls and trims
the heap top on `free`, so an evaluation can page-fault its memory in again each time; Ray worker
processes showed it most. Raising both thresholds lets the heap keep and reuse the memory, and the peak
resident size does not grow, because the same sizes are allocated each time. On this project's 2-core
machine `benchmarks/speed/search_scaling.py` measured 1.00 -> 1.09 evaluations/s on one Ray worker and
1.70 -> 1.99 on two (results/benchmarks/search_scaling.txt, with and without HYBRIDNAS_KEEP_FREED_MEMORY=0).

It changes the whole process, so only code that owns its process calls it: the `hybridnas` command and
the Ray search workers. A program that imports hybridnas opts in by calling `keep_freed_memory()`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 256 * 2**20
OPT_OUT = "HYBRIDNAS_KEEP_FREED_MEMORY"

_done = False


def keep_freed_memory(threshold: int = THRESHOLD_BYTES) -> bool:
    """Raise glibc's mmap and trim thresholds once per process; False where that does not apply.

    Set HYBRIDNAS_KEEP_FREED_MEMORY=0 to leave the allocator alone.
    """
    global _done
    if _done:
        return True
    if os.environ.get(OPT_OUT, "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(_M_MMAP_THRESHOLD, threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, threshold))
    return _done
