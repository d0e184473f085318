"""Operations of an OpenAPI 3.0/3.1 or Swagger 2.0 document, each a request the document allows.

Path parameters and the required query and header parameters get values from the
document (``example``, ``examples``, ``default``, ``enum``) where they fit their schemas,
or else from the schemas (:mod:`.samples`); a JSON (or form) request body is built the
same way. The path template, with the server's base path, names the request in
Locust's statistics.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

from .problems import DescriptionError, pointer
from .refs import Resolver
from .samples import MISSING, NoValueError, Sampler

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
IGNORED_HEADERS = {"accept", "content-type", "authorization"}  # OpenAPI ignores these as parameters


class LeftOutError(Exception):
    """An operation left out of the users, and why."""


def operations(source: str, kind: str, document: dict) -> tuple[list[dict], list[dict]]:
    """``(operations, skipped)``: the requests to send, and what was left out with the reason."""
    resolver = Resolver(source, document)
    sampler = Sampler(resolver)
    paths = document.get("paths")
    if not isinstance(paths, dict):
        raise DescriptionError(source, pointer("paths"), "no paths: the document describes no operation")
    found, skipped, ids = [], [], set()
    for path, item in paths.items():
        item_place = pointer("paths", path)
        item, item_place = resolver.deref(item, item_place)
        if not isinstance(item, dict):
            raise DescriptionError(source, item_place, "a path item must be an object")
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            place = f"{item_place}/{method}"
            if not isinstance(operation, dict):
                raise DescriptionError(source, place, "an operation must be an object")
            template = _base_path(kind, document, item, operation) + str(path)
            key = str(operation.get("operationId") or f"{method.upper()} {template}")
            if key in ids:
                raise DescriptionError(source, f"{place}/operationId", f"operationId {key!r} is used twice")
            ids.add(key)
            entry = {"id": key, "method": method.upper(), "name": template}
            try:
                entry.update(_request(kind, sampler, resolver, item, operation, place, template))
            except (LeftOutError, NoValueError) as reason:
                skipped.append({**entry, "reason": str(reason)})
                continue
            entry["auth"] = _security(document, operation)
            entry["deprecated"] = operation.get("deprecated") is True
            found.append(entry)
    if not found and not skipped:
        raise DescriptionError(source, pointer("paths"), "no operations: the document describes no request")
    return found, skipped


def _base_path(kind: str, document: dict, item: dict, operation: dict) -> str:
    if kind == "swagger2":
        base = str(document.get("basePath") or "")
    else:
        servers = operation.get("servers") or item.get("servers") or document.get("servers") or []
        server = servers[0] if servers and isinstance(servers[0], dict) else {}
        url = str(server.get("url") or "")
        for name, variable in (server.get("variables") or {}).items():
            url = url.replace("{" + name + "}", str((variable or {}).get("default", "")))
        base = urlsplit(url).path if "://" in url else url.split("?")[0]
    return base.rstrip("/")


def login_for(document: dict) -> dict[str, str]:
    """Each security scheme of the document with the baked login that serves it (README: Logins)."""
    schemes = (document.get("components") or {}).get("securitySchemes") or document.get("securityDefinitions") or {}
    found = {}
    for name, scheme in schemes.items():
        scheme = scheme if isinstance(scheme, dict) else {}
        kind, detail = str(scheme.get("type", "")), str(scheme.get("scheme", "")).lower()
        if kind == "basic" or (kind == "http" and detail == "basic"):
            found[name] = "login basic"
        elif kind == "http" and detail == "bearer":
            found[name] = "login token or bearer"
        elif kind in ("oauth2", "openIdConnect"):
            found[name] = "login token"
        elif kind == "apiKey" and scheme.get("in") == "cookie":
            found[name] = "login form"
        else:
            found[name] = f"a header set in on_start ({scheme.get('in', kind)} {scheme.get('name', '')})".strip()
    return found


def _security(document: dict, operation: dict) -> list[str]:
    """The security schemes an operation needs; empty when it needs none (or one is optional)."""
    requirements = operation.get("security", document.get("security")) or []
    if not requirements or any(not requirement for requirement in requirements):
        return []
    return sorted(requirements[0])


def _parameters(resolver: Resolver, item: dict, operation: dict, place: str) -> list[tuple[dict, str]]:
    """Path-item and operation parameters, the operation's overriding by name and location."""
    merged: dict[tuple[str, str], tuple[dict, str]] = {}
    for owner, owner_place in ((item, place.rsplit("/", 1)[0]), (operation, place)):
        for index, parameter in enumerate(owner.get("parameters") or []):
            parameter, at = resolver.deref(parameter, f"{owner_place}/parameters/{index}")
            if not isinstance(parameter, dict) or "name" not in parameter or "in" not in parameter:
                raise DescriptionError(resolver.source, at, "a parameter needs a name and an 'in'")
            merged[(str(parameter["in"]), str(parameter["name"]))] = (parameter, at)
    return list(merged.values())


def _parameter_value(kind: str, sampler: Sampler, resolver: Resolver, parameter: dict, at: str) -> object:
    schema, place = {}, at
    if kind == "swagger2" and parameter.get("in") != "body":
        schema = {k: v for k, v in parameter.items() if k not in ("name", "in", "required", "description")}
    elif "schema" in parameter:
        schema, place = parameter["schema"], f"{at}/schema"
    elif isinstance(parameter.get("content"), dict) and parameter["content"]:
        media = next(iter(parameter["content"].values())) or {}
        schema, place = media.get("schema", {}), f"{at}/content"
    example = sampler.fitting(_examples(resolver, parameter, at), schema, place)
    if example is not MISSING:
        return example
    return sampler.value(schema, place)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _path_text(value: object) -> str:
    """``simple`` style: arrays comma-separated, objects as ``key,value`` pairs."""
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k},{_text(v)}" for k, v in value.items())
    return _text(value)


def _query(kind: str, parameter: dict, value: object) -> list[tuple[str, str]]:
    name = str(parameter["name"])
    if kind == "swagger2":
        separators = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}
        if isinstance(value, list):
            form = parameter.get("collectionFormat", "csv")
            if form == "multi":
                return [(name, _text(v)) for v in value]
            return [(name, separators.get(form, ",").join(_text(v) for v in value))]
        return [(name, _text(value))]
    style = parameter.get("style", "form")
    explode = parameter.get("explode", style == "form")
    if isinstance(value, dict):
        if style == "deepObject":
            return [(f"{name}[{k}]", _text(v)) for k, v in value.items()]
        if explode:
            return [(str(k), _text(v)) for k, v in value.items()]
        return [(name, ",".join(f"{k},{_text(v)}" for k, v in value.items()))]
    if isinstance(value, list):
        if explode:
            return [(name, _text(v)) for v in value]
        joiner = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(style, ",")
        return [(name, joiner.join(_text(v) for v in value))]
    return [(name, _text(value))]


def _request(kind, sampler, resolver, item, operation, place, template) -> dict:
    path, query, headers, form = template, [], {}, {}
    body: dict = {}
    for parameter, at in _parameters(resolver, item, operation, place):
        where, name = parameter["in"], str(parameter["name"])
        required = parameter.get("required") is True or where == "path"
        if where == "body":
            body = {"json": _parameter_value(kind, sampler, resolver, parameter, at)}
            continue
        if not required:
            continue
        if where == "formData" and parameter.get("type") == "file":
            raise LeftOutError(f"it uploads a file ({name})")
        value = _parameter_value(kind, sampler, resolver, parameter, at)
        if where == "path":
            if "{" + name + "}" not in path:
                raise DescriptionError(resolver.source, at, f"path parameter {name!r} is not in the path {template!r}")
            path = path.replace("{" + name + "}", quote(_path_text(value), safe=""))
        elif where == "query":
            query += _query(kind, parameter, value)
        elif where == "header":
            if name.lower() not in IGNORED_HEADERS:
                headers[name] = _path_text(value)
        elif where == "formData":
            form[name] = _text(value)
        elif where == "cookie":
            raise LeftOutError(f"it needs the cookie {name!r}")
    missing = re.findall(r"\{([^}]+)\}", path)
    if missing:
        raise DescriptionError(resolver.source, place, f"the path {template!r} has no parameter {missing[0]!r}")
    if form:
        body = {"data": form}
    if kind == "openapi3" and "requestBody" in operation:
        body = _body(sampler, resolver, operation["requestBody"], f"{place}/requestBody")
    if "content_type" in body:
        headers["Content-Type"] = body.pop("content_type")
    request: dict = {"path": path}
    if query:
        request["params"] = query
    if headers:
        request["headers"] = headers
    request.update(body)
    return request


def _body(sampler: Sampler, resolver: Resolver, request_body: object, place: str) -> dict:
    request_body, place = resolver.deref(request_body, place)
    content = request_body.get("content") if isinstance(request_body, dict) else None
    if not isinstance(content, dict) or not content:
        return {}
    types = list(content)
    chosen = next((t for t in types if re.fullmatch(r"application/(.+\+)?json(;.*)?", t.strip().lower())), None)
    chosen = chosen or next((t for t in types if t.lower().startswith("application/x-www-form-urlencoded")), None)
    chosen = chosen or next((t for t in types if t.lower().startswith("text/")), None)
    if chosen is None:
        if request_body.get("required") is True:
            raise LeftOutError(f"its request body is only {', '.join(types)}")
        return {}
    media, at = resolver.deref(content[chosen] or {}, f"{place}/content/{pointer(chosen)[2:]}")
    value = sampler.fitting(_examples(resolver, media, at), media.get("schema", {}), f"{at}/schema")
    if value is MISSING:
        value = sampler.value(media.get("schema", {}), f"{at}/schema")
    lowered = chosen.lower()
    if lowered.split(";")[0].strip() == "application/json":
        return {"json": value}
    if "json" in lowered:  # like application/merge-patch+json: the body as JSON text, with its type
        return {"data": json.dumps(value), "content_type": chosen}
    if lowered.startswith("application/x-www-form-urlencoded"):
        if not isinstance(value, dict):
            raise LeftOutError("its form body is not an object")
        return {"data": {str(k): _text(v) for k, v in value.items()}}
    return {"data": value if isinstance(value, str) else json.dumps(value), "content_type": chosen}


def _examples(resolver: Resolver, owner: dict, place: str) -> list[object]:
    """The ``example``, or else the ``examples``' values, of a parameter or media type: the first that fits is sent."""
    if "example" in owner:
        return [owner["example"]]
    examples = owner.get("examples")
    found = []
    for name, example in examples.items() if isinstance(examples, dict) else []:
        example, _ = resolver.deref(example, f"{place}/examples/{pointer(str(name))[2:]}")
        if isinstance(example, dict) and "value" in example:
            found.append(example["value"])
    return found
