"""Baking helpers: a baked project reads like a sentence in the tests."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts.baked_venv import ensure_baked_venv, run_in_project
from scripts.processes import free_port  # noqa: F401 - the tests' one way to a free port

REPO = Path(__file__).resolve().parents[1]


# The real PHP applications (WordPress, phpMyAdmin, Adminer) for the tests that log in to them.
pytest_plugins = ["tests.php_apps.fixtures"]


@dataclass
class BakedProject:
    path: Path
    context: dict

    def files(self) -> list[Path]:
        return sorted(p for p in self.path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)

    def has_file(self, name: str) -> bool:
        return (self.path / name).is_file()

    def read(self, name: str) -> str:
        return (self.path / name).read_text(encoding="utf-8")

    def run(self, *command: str, timeout: float = 900) -> subprocess.CompletedProcess:
        """Run a command in the project, without the outer virtualenv or LOCUST_* variables."""
        return run_in_project(self.path, *command, timeout=timeout)


def bake_ok(cookies, **answers: str) -> BakedProject:
    result = cookies.bake(extra_context=answers)
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return BakedProject(Path(result.project_path), result.context)


@pytest.fixture
def bake(cookies):
    """``bake(**answers)`` -> a :class:`BakedProject`, failing the test when baking fails."""
    return lambda **answers: bake_ok(cookies, **answers)


@pytest.fixture(scope="session")
def baked_python() -> Path:
    """One virtualenv with the baked project's requirements, for every baked suite."""
    return ensure_baked_venv()
