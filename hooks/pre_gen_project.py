"""Refuse bad answers before cookiecutter writes anything.

The checks live in ``answers.py`` at the template's root; cookiecutter runs them
while it renders this script (the ``answer_problems`` filter), and the script
prints each problem on a line of its own: the answer, the bad value and what
is allowed. A non-zero exit makes cookiecutter remove the half-made project.

Cookiecutter has already written the answers to its replay file when this runs
(``replay_dir`` of its user config, ``<template>.json``). A URL answer with
``user:password@`` is refused, and its password is also taken out of that file:
the answer becomes the URL alone, every other answer stays. Only a replay file
of this template whose answers hold that very value is rewritten, through a
temporary file renamed over it. This script itself holds only the value's
SHA-256 (``credential_answers``): cookiecutter leaves the rendered hook in the
temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

# The problems enter this script as JSON data, never as code.
PROBLEMS = json.loads(r"""{{ cookiecutter | answer_problems | tojson }}""")
CREDENTIALS = json.loads(r"""{{ cookiecutter | credential_answers | tojson }}""")
# The template's folder as cookiecutter's replay file records it; empty when the bake writes no
# replay file (cruft calls cookiecutter's generate_files, which neither sets it nor writes one).
REPO_DIR = json.loads(r"""[{{ cookiecutter.get('_repo_dir', '') | tojson }}]""")[0]


def _digest(value: object) -> str | None:
    return hashlib.sha256(value.encode("utf-8")).hexdigest() if isinstance(value, str) else None


def _parent_config_file() -> str | None:
    """The ``--config-file`` of the cookiecutter command that runs this hook (Linux only)."""
    parent = f"/proc/{os.getppid()}"
    try:
        args = Path(parent, "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        cwd = os.readlink(f"{parent}/cwd")
    except OSError:
        return None
    for index, arg in enumerate(args):
        if arg == "--config-file" and index + 1 < len(args):
            return os.path.join(cwd, args[index + 1])
        if arg.startswith("--config-file="):
            return os.path.join(cwd, arg.removeprefix("--config-file="))
    return None


def replay_dirs() -> list[Path]:
    """Where cookiecutter writes its replay file, found as cookiecutter finds it: the ``replay_dir`` of
    ``--config-file``, of ``COOKIECUTTER_CONFIG`` or of ``~/.cookiecutterrc``, or the default one."""
    found: list[Path] = []
    try:
        from cookiecutter.config import DEFAULT_CONFIG, get_config, get_user_config
    except ImportError:
        return [Path.home() / ".cookiecutter_replay"]
    readers = [get_user_config, lambda: DEFAULT_CONFIG]
    config_file = _parent_config_file()
    if config_file:
        readers.insert(0, lambda: get_config(config_file))
    for read in readers:
        try:
            folder = Path(read()["replay_dir"]).expanduser().resolve()
        except Exception:  # a config cookiecutter could not have read either: it did not write there
            continue
        if folder not in found:
            found.append(folder)
    return found


def _scrubbed(data: object, replacements: dict[str, str]) -> object:
    """``data`` with every string whose SHA-256 is a key of ``replacements`` replaced."""
    if isinstance(data, dict):
        return {key: _scrubbed(value, replacements) for key, value in data.items()}
    if isinstance(data, list):
        return [_scrubbed(value, replacements) for value in data]
    return replacements.get(_digest(data), data) if isinstance(data, str) else data


def scrub_replay_file(path: Path, credentials: list[dict]) -> bool:
    """Take the credentials out of ``path`` when its answers are this template's and hold them."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    answers = data.get("cookiecutter") if isinstance(data, dict) else None
    if not isinstance(answers, dict) or answers.get("_repo_dir") != REPO_DIR:
        return False
    held = [c for c in credentials if _digest(answers.get(c["answer"])) == c["sha256"]]
    if not held:
        return False
    replacements = {c["sha256"]: c["without"] for c in held}
    temporary = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as file:
            temporary = file.name
            json.dump(_scrubbed(data, replacements), file, indent=2)  # as cookiecutter writes it
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except OSError:
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        return False
    return True


def scrub_replay(credentials: list[dict]) -> list[Path]:
    """The replay files the credentials were taken out of."""
    scrubbed = []
    for folder in replay_dirs():
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            if path.is_file() and scrub_replay_file(path, credentials):
                scrubbed.append(path)
    return scrubbed


def main() -> int:
    for problem in PROBLEMS:
        print(f"ERROR: {problem}", file=sys.stderr)
    if CREDENTIALS and REPO_DIR:
        names = " and ".join(sorted({c["answer"] for c in CREDENTIALS}))
        scrubbed = scrub_replay(CREDENTIALS)
        for path in scrubbed:
            print(f"{names}: user:password@ taken out of cookiecutter's replay file {path}", file=sys.stderr)
        if not scrubbed:
            print(
                f"{names}: no replay file of this template holding it was found: if cookiecutter's replay_dir "
                "(~/.cookiecutter_replay/ by default) holds it, delete it there",
                file=sys.stderr,
            )
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
