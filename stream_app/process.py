"""Child processes the product starts: a free loopback port for them, and dying with us.

The embedded broker, a served store and worker processes are children of the command a
user started. Each asks the kernel to stop it when its parent dies, even by kill -9
(`PR_SET_PDEATHSIG`), so no child outlives the command.
"""

from __future__ import annotations

import signal
import socket
import sys


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent() -> None:
    """In a child process: stop (SIGTERM) when the parent dies, however it dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
