"""``python -m api_import [SOURCE] [--host URL]``: rewrite the generated users from an API description.

SOURCE is a file or an http(s) URL of an OpenAPI 3.0/3.1 or Swagger 2.0 document, or a
HAR 1.2 recording; without it, the source ``generated/api_users.py`` was made from.
Only ``generated/api_users.py`` (and ``api/``, the document's copy) are written.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .generate import MODULE, summary, write
from .problems import DescriptionError

PROJECT = Path(__file__).resolve().parents[1]


def _recorded_source() -> str | None:
    module = PROJECT / MODULE
    if module.exists():
        match = re.search(r"^SOURCE = (['\"])(.*)\1$", module.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            return match[2]
    return None


def _configured_host() -> str | None:
    conf = PROJECT / "locust.conf"
    if conf.exists():
        match = re.search(r"^host\s*=\s*(\S+)", conf.read_text(encoding="utf-8"), re.MULTILINE)
        if match:
            return match[1]
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api_import", description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", help="a file or http(s) URL (default: the one last imported)")
    parser.add_argument("--host", help="the host under test, for a recording's requests (default: locust.conf's)")
    args = parser.parse_args(argv)
    source = args.source or _recorded_source()
    if not source:
        parser.error("no SOURCE given and generated/api_users.py names none: give a file or URL")
    if not source.startswith(("http://", "https://")) and not Path(source).is_absolute():
        source = str(Path.cwd() / source) if (Path.cwd() / source).exists() else str(PROJECT / source)
    host = args.host or _configured_host() or ""
    try:
        result, written = write(PROJECT, source, host)
    except DescriptionError as problem:
        print(f"api_import: {problem}", file=sys.stderr)
        return 2
    print(f"api_import: wrote {', '.join(p.as_posix() for p in written)}")
    for line in summary(result):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
