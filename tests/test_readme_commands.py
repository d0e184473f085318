"""The commands the READMEs give a person to copy, run as written in a fresh folder.

The template README's Quick start: bake from a local clone (every question answered with
its default, as pressing Enter does), then the commands in the baked folder (a new
virtualenv, ``pip install``, ``.env``, a short headless run), and the same with cruft. The
baked README's Install block is the one those commands ran, and its Tests block runs the
project's own tests. The one change to the words: where the application is. A run goes
to a checking target on 127.0.0.1 through ``LOCUST_HOST`` (Locust's variables win over
``locust.conf``, as the baked README says), with a throwaway key, and posts no Tideways
event. Placeholders a person replaces (``gh:your-org/...``) are not run; the bad answer's
output is compared with what the README shows.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import processes
from scripts.demo import load_target_module
from tests.conftest import REPO

pytestmark = pytest.mark.slow

SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.M | re.S)
PLACEHOLDER = "path/to/tideways-locust"
ENTER = "\n" * 60  # more than there are questions: each takes its default


def section(text: str, heading: str) -> str:
    """The part of a README under ``## heading``, up to the next heading of that level."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def blocks(text: str) -> list[list[str]]:
    """The ``sh`` code blocks of ``text``, each as its command lines (comments after ``#`` dropped)."""
    found = []
    for block in SH_BLOCK.findall(text):
        lines = [re.sub(r"\s+#\s.*$", "", line).rstrip() for line in block.splitlines()]
        found.append([line for line in lines if line and not line.startswith("#")])
    return found


def block_with(text: str, command: str) -> list[str]:
    [found] = [block for block in blocks(text) if any(line.startswith(command) for line in block)]
    return found


def shell(lines: list[str], cwd: Path, env: dict, stdin: str = "", timeout: int = 600) -> subprocess.CompletedProcess:
    """``lines`` as one bash script with ``set -e``, the way a person pastes them one after the other."""
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout
    )


def fresh_env(**variables: str) -> dict[str, str]:
    """A person's environment: no LOCUST_, TIDEWAYS_ or LOGIN_ variables, no virtualenv active, this
    repository's ``.venv`` on PATH (where ``make`` installed cookiecutter and cruft)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "TIDEWAYS_", "LOGIN_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(variables)
    return env


README = (REPO / "README.md").read_text(encoding="utf-8")
QUICK_START = section(README, "Quick start")


def test_the_quick_start_names_the_makefile_targets_it_runs():
    [first] = [block for block in blocks(QUICK_START) if block[0].startswith("make ")]
    assert first == ["make demo", "make test"]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_baking_from_a_clone_then_the_baked_folder_commands_work_as_written(tmp_path):
    bake = [line for line in block_with(QUICK_START, "cookiecutter ") if line.startswith("cookiecutter ")]
    local = [line for line in bake if PLACEHOLDER in line]
    assert local == [f"cookiecutter {PLACEHOLDER}"], bake
    assert all("your-org" in line for line in bake if line not in local), "the others are a person's own place"
    result = shell([line.replace(PLACEHOLDER, str(REPO)) for line in local], tmp_path, fresh_env(), stdin=ENTER)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    project = tmp_path / "shop_load_test"
    assert (project / "locust.conf").is_file(), "the defaults' folder"

    key = secrets.token_hex(16)
    log = tmp_path / "target.jsonl"
    target, url = processes.start_server(
        [sys.executable, str(project / "tests" / "target.py"), "--key", key, "--log", str(log)], cwd=tmp_path
    )
    try:
        folder = block_with(QUICK_START, "cd shop_load_test")
        here = fresh_env(LOCUST_HOST=url, LOCUST_TIDEWAYS_APIKEY=key, LOCUST_TIDEWAYS_EVENT="none")
        run = shell(folder, tmp_path, here)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        records = load_target_module(project).read_log(log)
        assert records and [r for r in records if r["verdict"] == "accepted"], "the run was traced"
        assert not [r for r in records if r["verdict"] not in (None, "accepted")]
        assert "Tideways: " in run.stderr and " traced (" in run.stderr

        # The baked README: its Install block is what just ran, its Tests block runs the project's tests.
        baked = (project / "README.md").read_text(encoding="utf-8")
        install = block_with(section(baked, "Install"), "python -m venv")
        assert install == [line for line in folder if line in install], (install, folder)
        tests = block_with(section(baked, "Tests"), "pip install -r requirements-dev.txt")
        quick = [line for line in tests if line != "python -m pytest"]  # the whole suite: tests/test_baked_projects.py
        assert quick == ["pip install -r requirements-dev.txt", "python -m pytest -m project"], tests
        own = shell([". .venv/bin/activate", *quick], project, fresh_env())
        assert own.returncode == 0, own.stdout[-3000:] + own.stderr[-3000:]
    finally:
        processes.stop(target)


def test_cruft_bakes_from_a_clone_and_finds_the_project_up_to_date(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is needed by cruft")
    cruft = [line for line in block_with(QUICK_START, "cruft create") if not line.startswith("pip install")]
    create = [line for line in cruft if line.startswith("cruft create")]
    assert create == [f"cruft create {PLACEHOLDER}"], cruft
    baked = shell([create[0].replace(PLACEHOLDER, str(REPO))], tmp_path, fresh_env(), stdin=ENTER)
    assert baked.returncode == 0, baked.stdout[-3000:] + baked.stderr[-3000:]
    project = tmp_path / "shop_load_test"
    assert (project / ".cruft.json").is_file()
    later = shell([line for line in cruft if not line.startswith("cruft create")], project, fresh_env())
    assert later.returncode == 0, later.stdout[-3000:] + later.stderr[-3000:]
    assert "up to date" in (later.stdout + later.stderr).lower()


def test_a_bad_answer_shows_what_the_readme_shows(tmp_path):
    shown = re.search(r"^```\n\$ (cookiecutter --no-input \S+ host=example\.com)\n(.*?)^```", README, re.M | re.S)
    assert shown, "the README shows a bad answer's output"
    command, lines = shown[1], shown[2].splitlines()
    # As a terminal shows them: the hook's output and cookiecutter's in the order they were written.
    result = shell([command.replace(PLACEHOLDER, str(REPO)) + " 2>&1"], tmp_path, fresh_env())
    assert result.returncode != 0 and not list(tmp_path.iterdir()), "refused, nothing written"
    seen = [line for line in result.stdout.splitlines() if line.strip()]
    assert seen[0] == lines[0], "the hook's line comes first"
    kept = [line for line in lines if not line.startswith("  ...")]
    assert [line for line in seen if line in kept] == kept, "the rest as the README shows it"
