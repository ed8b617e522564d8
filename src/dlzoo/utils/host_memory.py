"""Keep freed host memory in the process so big CPU tensors reuse it (glibc only).

By default glibc's ``malloc`` hands each allocation above a threshold (at most 32 MiB) its
own ``mmap`` and returns it to the kernel on ``free``. A CPU training step of a conv net
allocates and frees activations of 50-100 MiB every step, so each step maps fresh pages and
the kernel zeroes them on first touch: on 2 cores, ``cnn_small`` spent about a quarter of its
time in page faults (17.6M faults and 37 s of system time in two epochs). Serving those
allocations from the heap and not trimming it makes the freed pages reusable: 0.3M faults,
1.6 s of system time, 7 % faster epochs, about the same peak memory (docs/benchmarks.md);
on ``experiment=cnn_small_fast`` 13 % less wall time for 0.3 GB more peak memory
(docs/model_zoo.md). Off with ``speed.reuse_host_memory=false``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

# mallopt parameters (glibc malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
#: free memory at the top of the heap that is kept rather than returned to the kernel
KEEP_BYTES = 2**31 - 1  # the largest value mallopt takes (a C int)


def reuse_freed_host_memory() -> bool:
    """Tell glibc to serve every allocation from the heap (``M_MMAP_MAX=0``; it still falls
    back to ``mmap`` when the heap cannot grow) and to keep up to 2 GiB of freed memory for
    reuse. Returns whether it was applied (``False`` on other C libraries and systems)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
