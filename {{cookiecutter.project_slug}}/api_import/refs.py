"""``$ref`` within one document: JSON pointers, dangling and external references named."""

from __future__ import annotations

from urllib.parse import unquote

from .problems import DescriptionError


class Resolver:
    def __init__(self, source: str, document: object) -> None:
        self.source, self.document = source, document

    def target(self, ref: object, place: str) -> object:
        """What ``ref`` (found at ``place``) points to."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise DescriptionError(
                self.source,
                place,
                f"$ref {ref!r} points outside this document: only '#/...' references are read "
                "(bundle the document into one file first)",
            )
        node = self.document
        for raw in ref[1:].split("/")[1:] if ref != "#" else []:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise DescriptionError(self.source, place, f"$ref {ref!r} points to nothing in the document")
        return node

    def deref(self, node: object, place: str) -> tuple[object, str]:
        """``node`` with its ``$ref`` chain followed, and the place it came from."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise DescriptionError(self.source, place, f"$ref {ref!r} refers to itself")
            seen.add(ref)
            node, place = self.target(ref, place + "/$ref"), str(ref)
        return node, place
