"""The baked runtime with every supported Locust: the first and the last release of each minor line.

The slow test runs the baked project's ``locust_hooks`` tests once a version, each in a
cached virtualenv (``.cache/locust-venvs/``); the template's GitHub workflow runs the
same on each Python a version declares.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from scripts.baked_venv import ensure_locust_venv, locust_requirements
from scripts.locust_versions import (
    OLDEST_PYTHON,
    declared_pythons,
    first_and_last_of_each_line,
    load,
    main,
    matrix,
    minor_line,
    run_hook_tests,
)
from tests.conftest import REPO

VERSIONS = [entry["locust"] for entry in load()]
COMPAT = REPO / "{{cookiecutter.project_slug}}" / "tideways_locust" / "compat.py"


def compat_constant(name: str) -> str:
    return re.search(rf"^{name} = (.+)$", COMPAT.read_text(), re.MULTILINE)[1]


@pytest.fixture(scope="module")
def default_project(cookies_session):
    result = cookies_session.bake()
    assert result.exit_code == 0, result.exception
    return result.project_path


# Two versions at a time, each in its own copy of the project: their runs mostly wait on
# short load tests, so a pair takes little longer than one on these two cores.
PAIRS = [VERSIONS[index : index + 2] for index in range(0, len(VERSIONS), 2)]


@pytest.mark.slow
@pytest.mark.parametrize("versions", PAIRS, ids=["+".join(pair) for pair in PAIRS])
def test_the_runtime_works_with_locust(default_project, tmp_path, versions):
    pythons = [ensure_locust_venv(version) for version in versions]
    for version, python in zip(versions, pythons, strict=True):
        installed = subprocess.run([str(python), "-c", "import locust; print(locust.__version__)"], capture_output=True)
        assert installed.stdout.decode().split() == [version]
    copies = [shutil.copytree(default_project, tmp_path / version) for version in versions]
    with ThreadPoolExecutor(len(versions)) as pool:
        runs = list(pool.map(run_hook_tests, copies, pythons))
    for version, run in zip(versions, runs, strict=True):
        assert run.returncode == 0, f"Locust {version}:\n" + run.stdout[-6000:] + run.stderr[-3000:]
        assert re.search(r"\b\d{2,} passed", run.stdout.splitlines()[-1]), f"Locust {version}: " + run.stdout[-500:]


def test_the_list_covers_each_supported_minor_line_from_first_to_last_release():
    supported = re.fullmatch(r'\("(\d+\.\d+)", "(\d+\.\d+)"\)', compat_constant("SUPPORTED"))
    oldest, newest = (minor_line(f"{line}.0") for line in supported.groups())
    lines = [minor_line(v) for v in VERSIONS]
    assert lines == sorted(lines) and len(set(VERSIONS)) == len(VERSIONS)
    assert set(lines) == {(oldest[0], minor) for minor in range(oldest[1], newest[1] + 1)}
    assert all(1 <= lines.count(line) <= 2 for line in set(lines)), "the first and the last release of each"
    for entry in load():
        pythons = [tuple(map(int, p.split("."))) for p in entry["python"]]
        assert pythons and pythons == sorted(pythons) and all(p[0] == 3 for p in pythons), entry


def test_the_newest_listed_is_the_pinned_and_tested_one():
    requirements = (REPO / "{{cookiecutter.project_slug}}" / "requirements.txt").read_text()
    pin = re.search(r"^locust==(\S+)$", requirements, re.MULTILINE)[1]
    assert VERSIONS[-1] == pin == json.loads(compat_constant("TESTED"))


def test_first_and_last_of_each_line_leaves_out_older_lines_and_pre_releases():
    releases = ["2.47.0", "2.46.7", "2.46.5", "2.46.4.dev9", "2.46.0", "2.45.0", "2.44.1rc1", "2.44.0", "2.41.6", "1.0"]
    assert first_and_last_of_each_line(releases, "2.44") == ["2.44.0", "2.45.0", "2.46.0", "2.46.7", "2.47.0"]


def test_declared_pythons_respect_requires_python():
    classifiers = [f"Programming Language :: Python :: 3.{minor}" for minor in (9, 10, 11, 14)]
    metadata = {"requires_python": ">=3.10", "classifier": [*classifiers, "Programming Language :: Python :: 3"]}
    assert declared_pythons(metadata) == ["3.10", "3.11", "3.14"]
    assert declared_pythons({"classifier": classifiers}) == ["3.9", "3.10", "3.11", "3.14"]


def test_the_matrix_is_each_version_with_each_of_its_pythons(capsys):
    assert main(["matrix"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == matrix(load())
    assert len(printed["include"]) == sum(len([p for p in e["python"] if p != "3.10"]) for e in load())
    assert {"locust": "2.47.0", "python": "3.11"} in printed["include"]
    assert not [job for job in printed["include"] if job["python"] == "3.10"], "the runtime needs 3.11"


def test_the_oldest_python_is_the_runtimes():
    assert f"PYTHON = {OLDEST_PYTHON}" in COMPAT.read_text()


def test_an_unlisted_version_is_refused_naming_the_listed_ones(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["test", "2.0.0"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "Locust '2.0.0' is not in locust-versions.json" in error and ", ".join(VERSIONS) in error


def test_other_pins_become_upper_bounds_for_an_older_locust():
    requirements = locust_requirements("2.42.0").splitlines()
    assert "locust==2.42.0" in requirements and "pytest<=9.2.0" in requirements
    assert not any(line.startswith("-") or "==" in line for line in requirements if not line.startswith("locust"))


def test_the_workflow_runs_the_matrix_from_the_list():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    jobs = workflow["jobs"]
    listing = " ".join(step.get("run", "") for step in jobs["locust-versions"]["steps"])
    assert "python3 -m scripts.locust_versions matrix" in listing
    job = jobs["locust"]
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.locust-versions.outputs.matrix) }}"
    runs = [step for step in job["steps"] if "scripts.locust_versions test" in step.get("run", "")]
    assert len(runs) == 1 and runs[0]["env"] == {"LOCUST": "${{ matrix.locust }}", "PYTHON": "${{ matrix.python }}"}
    assert '"$LOCUST" --python "python$PYTHON"' in runs[0]["run"]
