"""The machine's facts for the results: CPU, memory, kernel, the versions measured, the commit, the load."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path

from bench.profiles import RUNTIME_PACKAGE, runtime_files
from bench.settings import REPO


def _output(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, **kwargs)


def machine_info(python: Path, nginx: str, project: Path) -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "memory unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.0f} GiB memory"
    versions = _output(
        [
            str(python),
            "-c",
            "import json, platform; from importlib.metadata import version as v; "
            "print(json.dumps({'python': platform.python_version(), "
            "**{n: v(n) for n in ('locust', 'requests', 'geventhttpclient', 'gevent')}}))",
        ]
    )
    info = json.loads(versions.stdout) if versions.returncode == 0 else {}
    nginx_version = _output([nginx, "-v"])
    commit = _output(["git", "rev-parse", "--short", "HEAD"], cwd=REPO)
    runtime = "{{cookiecutter.project_slug}}/" + RUNTIME_PACKAGE
    dirty = _output(["git", "status", "--porcelain", "--", runtime], cwd=REPO)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "kernel": platform.release(),
        **{name: info.get(name, "unknown") for name in ("python", "locust", "requests", "geventhttpclient", "gevent")},
        "nginx": (nginx_version.stderr or nginx_version.stdout).strip() or "nginx version unknown",
        "commit": (commit.stdout.strip() or "unknown")
        + (f" with uncommitted changes to {RUNTIME_PACKAGE}" if dirty.stdout.strip() else ""),
        "runtime_sha256": hashlib.sha256(b"".join(p.read_bytes() for p in runtime_files(project))).hexdigest()[:12],
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }
