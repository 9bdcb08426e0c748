"""A small, really full disk for fault tests: a tmpfs mounted over a test's folder."""

import contextlib
import os
import subprocess


def _run_as_root(command):
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    result = subprocess.run(prefix + command, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"{' '.join(command)} failed ({result.stderr.strip()}): the disk-full tests mount a small tmpfs, "
        "which needs root or password-less sudo (as `make test`'s system set-up does)"
    )


@contextlib.contextmanager
def small_disk(folder, size_bytes):
    """Mount a ``size_bytes`` tmpfs over ``folder`` (kept empty); yields a function that grows it."""
    folder.mkdir(parents=True, exist_ok=True)
    _run_as_root(["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0777", "tmpfs", str(folder)])

    def grow(new_size_bytes):
        _run_as_root(["mount", "-o", f"remount,size={new_size_bytes}", str(folder)])

    try:
        yield grow
    finally:
        _run_as_root(["umount", "-l", str(folder)])
