"""Servers and other processes that the demo, the benchmark and the tests start: one way to do it.

- :func:`free_port`: a port on 127.0.0.1 that was free a moment ago;
- :func:`start`: a process in a session of its own (so that it and whatever it starts are one
  process group), told by the kernel to stop when the Python process that started it dies;
  :func:`start_server`: the same for a helper server that prints its URL first;
- :func:`stop`: SIGTERM to that group, SIGKILL when it does not end in time, and SIGKILL to any
  member still left (a server's workers);
- :func:`whole_lines`: the lines of a log another process may still be writing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
from pathlib import Path

LOOPBACK = "127.0.0.1"
PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago, for a server about to be started."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends SIGTERM if the parent dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start(command: list[str], **popen_kwargs) -> subprocess.Popen:
    """``command`` as the leader of a new process group; :func:`stop` stops the whole group."""
    return subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent, **popen_kwargs)


def start_server(command: list[str], **popen_kwargs) -> tuple[subprocess.Popen, str]:
    """A helper server that prints ``listening on URL`` first (the baked ``tests/target.py`` and
    ``tests/tideways_api.py``, ``tests/tools/openapi_target.py``), and that URL."""
    process = start(command, stdout=subprocess.PIPE, text=True, **popen_kwargs)
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        stop(process)
        raise RuntimeError(f"{' '.join(command[:2])} did not start: it printed {line!r}")
    return process, line.split()[-1]


def stop(process: subprocess.Popen, timeout: float = 10) -> str | bytes | None:
    """Stops ``process`` (started by :func:`start`) and its group, and waits for it, so nothing is left
    behind. Returns what it printed since it was last read, when its output is a pipe (a server's
    last line: what it counted)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=timeout)
    # Members of the group that outlived its leader (a server's workers) go too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return output


def whole_lines(path: Path) -> list[str]:
    """The lines of a log that may still be written: a line counts once it is whole (ends in a newline)."""
    try:
        with open(path, encoding="utf-8") as log:
            return log.read().split("\n")[:-1]
    except FileNotFoundError:
        return []
