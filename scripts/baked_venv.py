"""Virtualenvs for baked projects, shared by the tests and the demo.

``ensure_baked_venv()`` is built from the baked project's own ``requirements-dev.txt``
(which includes ``requirements.txt``) with the install command its README gives,
and is rebuilt only when those files change. ``ensure_locust_venv(version)`` is one
a Locust version and Python, built with uv (there are a dozen of them), for the
tests of every supported Locust (``scripts/locust_versions.py``).

    python -m scripts.baked_venv      # prints the baked virtualenv's python
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE = REPO / "{{cookiecutter.project_slug}}"
REQUIREMENTS = [PROJECT_TEMPLATE / "requirements.txt", PROJECT_TEMPLATE / "requirements-dev.txt"]
VENV = REPO / ".cache" / "baked-venv"
LOCUST_VENVS = REPO / ".cache" / "locust-venvs"


def _cached(venv: Path, fingerprint: str, build: Callable[[Path], None]) -> Path:
    """The python of ``venv``, built by ``build(venv)`` unless it was built from ``fingerprint``."""
    python = venv / "bin" / "python"
    stamp = venv / "installed-from"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the demo and the tests may build one at once
        if stamp.exists() and stamp.read_text() == fingerprint and python.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        build(venv)
        stamp.write_text(fingerprint)
    return python


def ensure_baked_venv(venv: Path = VENV) -> Path:
    """The python of a virtualenv with the baked project's requirements installed."""
    digest = hashlib.sha256(sys.version.encode())
    for path in REQUIREMENTS:
        digest.update(path.read_bytes())

    def build(venv: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([str(venv / "bin" / "python"), *install, "-r", str(REQUIREMENTS[1])], check=True)

    return _cached(venv, digest.hexdigest(), build)


def locust_requirements(version: str) -> str:
    """The baked requirements with Locust ``version`` and the other pins as upper bounds.

    An older Locust may need older packages than the baked pins: Locust 2.42 requires pytest < 9.
    """
    lines = []
    for path in REQUIREMENTS:
        for line in path.read_text().splitlines():
            requirement = line.split("#", 1)[0].strip()
            if not requirement or requirement.startswith("-"):
                continue
            name, _, pinned = (part.strip() for part in requirement.partition("=="))
            lines.append(f"locust=={version}" if name.lower() == "locust" else f"{name}<={pinned}")
    return "\n".join(lines) + "\n"


def ensure_locust_venv(version: str, interpreter: str = sys.executable) -> Path:
    """The python of a virtualenv on ``interpreter`` with the baked requirements and Locust ``version``."""
    from uv import find_uv_bin

    described = subprocess.run(
        [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.version)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    python_line = described.split()[0]
    requirements = locust_requirements(version)
    fingerprint = hashlib.sha256((described + requirements).encode()).hexdigest()
    uv = find_uv_bin()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}  # the Python asked for, never a download

    def build(venv: Path) -> None:
        subprocess.run([uv, "venv", "--quiet", "--python", interpreter, str(venv)], check=True, env=env)
        (venv / "requirements.txt").write_text(requirements)
        install = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
        subprocess.run([*install, "-r", str(venv / "requirements.txt")], check=True, env=env)

    return _cached(LOCUST_VENVS / f"locust-{version}-py{python_line}", fingerprint, build)


def project_env() -> dict[str, str]:
    """The environment for a command in a baked project: no outer virtualenv, LOCUST_* or PYTEST_* variables."""
    return {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV" and not k.startswith(("LOCUST_", "PYTEST_"))}


def run_in_project(project: Path, *command: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run a command in a baked project, without the outer virtualenv or LOCUST_* variables."""
    return subprocess.run(command, cwd=project, env=project_env(), capture_output=True, text=True, timeout=timeout)


if __name__ == "__main__":
    print(ensure_baked_venv())
