"""Template updates reach baked projects with cruft, offline, from a local git clone of the template.

Bake at one commit with ``cruft create``, change the runtime package and a baked
file in a later commit, edit the baked project as a team would, ``cruft update``:
the template's change arrives, the team's edits stay, and the baked suite passes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, BakedProject

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "init.defaultBranch=main"]
CRUFT = [sys.executable, "-m", "cruft"]
SLUG = "{{cookiecutter.project_slug}}"


def run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}: {result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result


def commit(folder: Path, message: str) -> None:
    run([*GIT, "add", "-A"], folder)
    run([*GIT, "commit", "-qm", message], folder)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.slow
def test_cruft_update_brings_template_changes_and_keeps_the_teams_edits(tmp_path, baked_python):
    template = tmp_path / "template"
    shutil.copytree(REPO, template, ignore=shutil.ignore_patterns(".git", ".venv", ".cache", "node_modules", "*.pyc"))
    run([*GIT, "init", "-q"], template)
    commit(template, "the template as it is")

    run([*CRUFT, "create", "--no-input", "--output-dir", str(tmp_path / "out"), str(template)], tmp_path)
    project = tmp_path / "out" / "shop_load_test"
    assert (project / ".cruft.json").is_file()
    run([*GIT, "init", "-q"], project)
    commit(project, "baked")

    # A later template commit: the runtime package and a baked file change.
    edit(
        template / SLUG / "tideways_locust" / "signing.py", "DEFAULT_TTL = 120\n", "DEFAULT_TTL = 120  # upstream fix\n"
    )
    edit(template / SLUG / "locust.conf", "# Locust settings for this project", "# Locust settings of this project")
    commit(template, "a fix in the runtime")

    # The team's edits: a task in the locustfile, a limit in locust.conf.
    edit(project / "locust.conf", "users = 10\n", "users = 25\n")
    locustfile = project / "locustfile.py"
    locustfile.write_text(
        locustfile.read_text() + '\n    @task\n    def team_task(self):\n        self.client.get("/team")\n'
    )
    commit(project, "the team's edits")

    behind = subprocess.run([*CRUFT, "check"], cwd=project, capture_output=True, text=True, timeout=300)
    assert behind.returncode != 0, "cruft check sees the project behind its template"
    run([*CRUFT, "update", "--skip-apply-ask", "--allow-untracked-files"], project)
    run([*CRUFT, "check"], project)

    assert "DEFAULT_TTL = 120  # upstream fix" in (project / "tideways_locust" / "signing.py").read_text()
    conf = (project / "locust.conf").read_text()
    assert conf.startswith("# Locust settings of this project") and "\nusers = 25\n" in conf
    assert 'self.client.get("/team")' in locustfile.read_text()

    baked = BakedProject(project, {})
    suite = baked.run(str(baked_python), "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert suite.returncode == 0, suite.stdout[-5000:] + suite.stderr[-3000:]
