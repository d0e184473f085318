"""One virtualenv for baked projects, shared by the tests and the demo.

It is built from the baked project's own ``requirements-dev.txt`` (which
includes ``requirements.txt``), the install command its README gives, and is
rebuilt only when those files change.

    python -m scripts.baked_venv      # prints the virtualenv's python
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROJECT_TEMPLATE = REPO / "{{cookiecutter.project_slug}}"
REQUIREMENTS = [PROJECT_TEMPLATE / "requirements.txt", PROJECT_TEMPLATE / "requirements-dev.txt"]
VENV = REPO / ".cache" / "baked-venv"


def _fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in REQUIREMENTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_baked_venv(venv: Path = VENV) -> Path:
    """The python of a virtualenv with the baked project's requirements installed."""
    python = venv / "bin" / "python"
    stamp = venv / "installed-from"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "baked-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the demo and the tests may build it at once
        if stamp.exists() and stamp.read_text() == _fingerprint() and python.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(PROJECT_TEMPLATE / "requirements-dev.txt"),
            ],
            check=True,
        )
        stamp.write_text(_fingerprint())
    return python


if __name__ == "__main__":
    print(ensure_baked_venv())
