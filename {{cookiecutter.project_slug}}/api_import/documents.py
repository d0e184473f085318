"""Reading an API description: a file or an http(s) URL, JSON or YAML, and which kind it is."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from .problems import DescriptionError

MAX_BYTES = 64 * 1024 * 1024
KINDS = "an OpenAPI 3.0 or 3.1, Swagger 2.0 or HAR 1.2 document"


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_text(source: str) -> str:
    """The text of a file or an http(s) URL; unreadable or too large is an :class:`DescriptionError`."""
    try:
        if is_url(source):
            with urllib.request.urlopen(source, timeout=30) as answer:  # noqa: S310 - http(s) only, checked above
                data = answer.read(MAX_BYTES + 1)
        else:
            with open(source, "rb") as file:
                data = file.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise DescriptionError(source, "", f"cannot be fetched: HTTP {error.code} {error.reason}") from None
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise DescriptionError(source, "", f"cannot be read: {reason}") from None
    if len(data) > MAX_BYTES:
        raise DescriptionError(source, "", f"is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DescriptionError(source, f"byte {error.start}", "is not UTF-8 text") from None


def parse(source: str, text: str) -> object:
    """JSON, or else YAML (a superset); a syntax error names its line and column."""
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise DescriptionError(
                source, f"line {error.lineno}, column {error.colno}", f"invalid JSON: {error.msg}"
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        place = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise DescriptionError(source, place, f"invalid YAML: {problem}") from None


def kind_of(source: str, document: object) -> str:
    """``"openapi3"``, ``"swagger2"`` or ``"har"``."""
    if isinstance(document, dict):
        version = str(document.get("openapi", ""))
        if version.startswith(("3.0.", "3.1.")) or version in ("3.0", "3.1"):
            return "openapi3"
        if "openapi" in document:
            raise DescriptionError(source, "#/openapi", f"OpenAPI {version!r} is not supported: 3.0 or 3.1")
        if str(document.get("swagger", "")) == "2.0":
            return "swagger2"
        if "swagger" in document:
            raise DescriptionError(source, "#/swagger", f"Swagger {document['swagger']!r} is not supported: 2.0")
        log = document.get("log")
        if isinstance(log, dict) and isinstance(log.get("entries"), list):
            return "har"
    raise DescriptionError(source, "", f"is not {KINDS}")


def load(source: str) -> tuple[str, object, str]:
    """``(kind, document, text)`` of ``source``, read once."""
    text = read_text(source)
    document = parse(source, text)
    return kind_of(source, document), document, text


def copy_name(source: str) -> str:
    """The file name the copy of an OpenAPI or Swagger document keeps in the project, by its format."""
    suffix = Path(source.split("?", 1)[0]).suffix.lower()
    return "openapi" + (suffix if suffix in (".json", ".yaml", ".yml") else ".json")
