"""malloc tuning for the web server process."""

import contextlib
import ctypes

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
LARGE_BLOCK_BYTES = 32 * 1024 * 1024
KEEP_FREE_BYTES = 64 * 1024 * 1024


def keep_large_blocks_on_heap():
    """Serve blocks up to 32 MB from malloc's heap instead of a fresh mmap each.

    glibc maps every block over 128 KB afresh from the kernel and unmaps it on
    free, so each 1 MB upload chunk (and each copy the multipart parser makes of
    it) page-faults in 256 new pages: Django's parser alone took 0.16 s for 100 MB
    that way and 0.02 s from the heap. Freed memory above 64 MB still goes back
    to the kernel. Elsewhere than glibc this does nothing.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES)
        libc.mallopt(M_TRIM_THRESHOLD, KEEP_FREE_BYTES)
