"""The one way the demo, the benchmark and the tests start and stop servers, find ports and read logs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from scripts import processes

# A leader that starts a worker in its own group, says both pids, and ignores SIGTERM itself so that
# stop() must fall back to SIGKILL; the worker ignores SIGTERM too, as a stuck server's worker may.
STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
worker = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"],
    stdout=subprocess.PIPE, text=True)
worker.stdout.readline()
print(os.getpid(), worker.pid, flush=True)
time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie is gone, only not yet reaped
    except FileNotFoundError:
        return False


def test_a_free_port_is_on_loopback_and_can_be_bound():
    port = processes.free_port()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))


def test_stop_ends_the_whole_group_even_when_it_ignores_sigterm():
    process = processes.start([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, text=True)
    leader, worker = (int(pid) for pid in process.stdout.readline().split())
    assert os.getpgid(worker) == process.pid == leader
    processes.stop(process, timeout=1)
    process.stdout.close()
    assert process.returncode == -9
    deadline = time.monotonic() + 10  # SIGKILL is delivered, not waited for: look until the worker is gone
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not alive(worker)


def test_stopping_a_process_that_already_ended_is_harmless():
    process = processes.start([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    processes.stop(process)
    assert process.returncode == 0


def test_only_whole_lines_of_a_log_being_written_count(tmp_path):
    log = tmp_path / "log.jsonl"
    assert processes.whole_lines(log) == []
    log.write_text('{"a": 1}\n{"b": 2}\n{"c"')
    assert processes.whole_lines(log) == ['{"a": 1}', '{"b": 2}']


SERVER = """
import signal, sys
signal.signal(signal.SIGTERM, lambda *_: (print("served 3 requests", flush=True), sys.exit(0)))
print("listening on http://127.0.0.1:8123", flush=True)
signal.pause()
"""


def test_a_helper_server_says_its_url_first_and_its_last_line_is_kept_when_stopped():
    process, url = processes.start_server([sys.executable, "-c", SERVER])
    assert url == "http://127.0.0.1:8123"
    assert processes.stop(process) == "served 3 requests\n" and process.returncode == 0


def test_a_helper_server_that_does_not_say_its_url_is_stopped_and_named():
    with pytest.raises(RuntimeError, match=r"did not start: it printed 'no port\\n'"):
        processes.start_server([sys.executable, "-c", "print('no port'); import time; time.sleep(60)"])
