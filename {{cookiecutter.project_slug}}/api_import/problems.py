"""The one kind of error an import raises: where in which document, and what is wrong."""

from __future__ import annotations


class DescriptionError(Exception):
    """``SOURCE: PLACE: PROBLEM``, one line; PLACE is a JSON pointer, an entry or a line."""

    def __init__(self, source: str, place: str, problem: str) -> None:
        self.source, self.place, self.problem = source, place, problem
        super().__init__(f"{source}: {place}: {problem}" if place else f"{source}: {problem}")


def pointer(*parts: object) -> str:
    """A JSON pointer (RFC 6901) of ``parts``: ``pointer("paths", "/pets", "get")`` -> ``#/paths/~1pets/get``."""
    return "#" + "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)
