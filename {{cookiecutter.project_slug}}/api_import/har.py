"""A HAR 1.2 recording as one user flow: the requests to the host under test, in the recorded order.

Static assets (scripts, styles, images, fonts, media) and other origins are left out.
Credentials are never kept: only the ``Accept``, ``Content-Type`` and
``X-Requested-With`` headers are, and the values of query and body fields whose
names look like a password, token, key, session or CSRF field are emptied.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

from .problems import DescriptionError, pointer

KEPT_HEADERS = ("accept", "content-type", "x-requested-with")
STATIC_TYPES = {"stylesheet", "script", "image", "font", "media", "manifest", "texttrack", "other-static"}
STATIC_MIME = re.compile(r"^(image/|font/|audio/|video/|text/css|(application|text)/(x-)?javascript)", re.I)
STATIC_SUFFIX = re.compile(r"\.(css|js|mjs|map|png|jpe?g|gif|svg|webp|avif|ico|woff2?|ttf|otf|eot|mp4|webm|mp3)$", re.I)
SECRET_NAME = re.compile(r"pass|secret|token|csrf|xsrf|auth|api[-_]?key|session|sid$|cookie|credential|otp", re.I)


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme, 0)


def _redacted_pairs(pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
    kept = [(k, "" if SECRET_NAME.search(k) else v) for k, v in pairs]
    return kept, sum(1 for k, _ in pairs if SECRET_NAME.search(k))


def _redacted_json(value: object) -> tuple[object, int]:
    if isinstance(value, dict):
        out, count = {}, 0
        for key, item in value.items():
            if SECRET_NAME.search(str(key)) and not isinstance(item, dict | list):
                out[key], count = "", count + 1
            else:
                out[key], found = _redacted_json(item)
                count += found
        return out, count
    if isinstance(value, list):
        items = [_redacted_json(item) for item in value]
        return [item for item, _ in items], sum(found for _, found in items)
    return value, 0


def _static(entry: dict, path: str) -> bool:
    if str(entry.get("_resourceType", "")).lower() in STATIC_TYPES:
        return True
    mime = str(((entry.get("response") or {}).get("content") or {}).get("mimeType", ""))
    return bool(STATIC_MIME.match(mime) or STATIC_SUFFIX.search(path))


def requests(source: str, document: dict, host: str) -> tuple[list[dict], dict[str, int]]:
    """``(requests, counts)``: the flow, and how many entries were left out or had fields emptied."""
    entries = document["log"]["entries"]
    wanted, base = origin(host), urlsplit(host).path.rstrip("/")
    flow: list[dict] = []
    counts = {"other origins": 0, "static assets": 0, "credential fields emptied": 0}
    for index, entry in enumerate(entries):
        place = pointer("log", "entries", index, "request")
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            raise DescriptionError(source, place, "an entry needs a request with a method and a url")
        url = request.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise DescriptionError(source, f"{place}/url", f"{url!r} is not an http(s) URL")
        parts = urlsplit(url)
        if origin(url) != wanted:
            counts["other origins"] += 1
            continue
        path = parts.path or "/"
        if _static(entry, path):
            counts["static assets"] += 1
            continue
        if base and (path == base or path.startswith(base + "/")):
            path = path[len(base) :] or "/"
        query, emptied = _redacted_pairs(parse_qsl(parts.query, keep_blank_values=True))
        counts["credential fields emptied"] += emptied
        step: dict = {"id": f"{request['method'].upper()} {path}", "method": request["method"].upper(), "name": path}
        step["path"] = path + ("?" + urlencode(query) if query else "")
        headers = {
            str(h.get("name")): str(h.get("value"))
            for h in request.get("headers") or []
            if isinstance(h, dict) and str(h.get("name", "")).lower() in KEPT_HEADERS
        }
        body = request.get("postData")
        if isinstance(body, dict) and (body.get("text") or body.get("params")):
            mime = str(body.get("mimeType", "")).lower()
            text = str(body.get("text") or "")
            if "json" in mime:
                try:
                    value, emptied = _redacted_json(json.loads(text))
                except ValueError:
                    raise DescriptionError(source, f"{place}/postData/text", "a JSON body that is not JSON") from None
                step["json"] = value
            elif mime.startswith("application/x-www-form-urlencoded"):
                pairs = parse_qsl(text, keep_blank_values=True) or [
                    (str(p.get("name")), str(p.get("value", ""))) for p in body.get("params") or []
                ]
                kept, emptied = _redacted_pairs(pairs)
                step["data"] = urlencode(kept)
            elif mime.startswith("multipart/"):
                counts["multipart bodies left out"] = counts.get("multipart bodies left out", 0) + 1
                emptied = 0
            else:
                step["data"], emptied = text, 0
            counts["credential fields emptied"] += emptied
        if headers:
            step["headers"] = headers
        flow.append(step)
    if not flow:
        raise DescriptionError(
            source,
            pointer("log", "entries"),
            f"no request to {host} in the recording (other origins and assets left out)",
        )
    return flow, counts
