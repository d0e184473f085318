"""A value that a JSON schema allows, for parameters and request bodies.

In order: the schema's own ``const``, ``example``, ``default``, ``examples`` or first
``enum`` value; else one built from its type and limits (``format``, ``pattern``
where it is simple, lengths, ``minimum``/``maximum``, ``multipleOf``, items,
required properties), through ``$ref``, ``allOf``, ``oneOf``/``anyOf`` and
nullable types, with recursion bounded. A schema it cannot satisfy raises
:class:`NoValueError`; the operation is then left out, with the reason.

An example or default is used only when it fits the schema (:meth:`Sampler.fitting`):
its types, and for objects and arrays their properties' and items' types, required
properties, ``enum`` and ``const``; no full validation. One that does not fit is read
as it was most likely meant: a string that holds JSON (swagger-php writes object
examples as JSON text), a number where a string is wanted, a YAML date as its ISO text;
if that does not fit either, the next example is tried, and at last the schema builds one.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import re
from collections.abc import Iterable

from .problems import DescriptionError
from .refs import Resolver

try:  # the parser of Python's re module, to build a string a simple pattern matches
    from re import _parser as _sre
except ImportError:  # Python 3.10
    import sre_parse as _sre  # type: ignore[no-redef]

MAX_DEPTH = 12
FORMATS = {
    "date": "2024-01-31",
    "date-time": "2024-01-31T12:00:00Z",
    "time": "12:00:00Z",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "/example",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "c2FtcGxl",
    "int32": "1",
    "int64": "1",
}


class NoValueError(Exception):
    """No value found for a schema; the message says which and why."""


MISSING = object()  # no example of the document fits its schema


class Sampler:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    def value(self, schema: object, place: str, depth: int = 0, refs: tuple[str, ...] = ()) -> object:
        if depth > MAX_DEPTH:
            raise NoValueError(f"{place}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if ref in refs:
                raise NoValueError(f"{place}: a recursive schema ({ref}) with no optional end")
            refs = (*refs, ref)
        schema, place = self.resolver.deref(schema, place)
        if schema is True or schema is None or schema == {}:
            return "sample"
        if not isinstance(schema, dict):
            raise NoValueError(f"{place}: a schema that allows nothing")
        if "const" in schema:
            return schema["const"]
        examples = schema.get("examples") if isinstance(schema.get("examples"), list) else []
        candidates = [schema[key] for key in ("example", "default") if key in schema] + examples
        found = self.fitting(candidates, schema, place)
        if found is not MISSING:
            return found
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return next((item for item in enum if item is not None), enum[0])
        if "allOf" in schema:
            return self.value(self._merged(schema, place), place, depth + 1, refs)
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list):
                reasons = []
                for index, branch in enumerate(schema[key]):
                    try:
                        return self.value(branch, f"{place}/{key}/{index}", depth + 1, refs)
                    except NoValueError as reason:
                        reasons.append(str(reason))
                raise NoValueError("; ".join(reasons) or f"{place}: an empty {key}")
        kind = _type_of(schema)
        if kind == "null":
            return None
        if kind == "object":
            return self._object(schema, place, depth, refs)
        if kind == "array":
            return self._array(schema, place, depth, refs)
        if kind in ("integer", "number"):
            return _number(schema, place, kind == "integer")
        if kind == "boolean":
            return True
        return _string(schema, place)

    def fitting(self, candidates: Iterable[object], schema: object, place: str) -> object:
        """The first of the document's ``candidates`` (examples, defaults) that fits ``schema``, or ``MISSING``.

        A candidate that does not fit as it is may fit as what it most likely means: the
        JSON a string holds (where the schema wants another type), a number as text, or
        YAML's dates as their ISO text. A ``$ref`` to nothing in the schema: no fit.
        """
        for candidate in candidates:
            for value in _readings(candidate):
                try:
                    if self.fits(value, schema, place):
                        return value
                except DescriptionError:  # value() names the $ref if it needs that part
                    break
        return MISSING

    def fits(self, value: object, schema: object, place: str, depth: int = 0) -> bool:
        """Whether ``value`` has the types ``schema`` asks for, with its required properties and enum.

        Cheap, not a validator: lengths, limits, patterns and formats are not checked;
        deeper than ``MAX_DEPTH`` levels, a value fits.
        """
        if depth > MAX_DEPTH:
            return True
        schema, place = self.resolver.deref(schema, place)
        if schema is True or schema is None:
            schema = {}
        if not isinstance(schema, dict):
            return False  # False, or not a schema: nothing fits
        if value is None and schema.get("nullable") is True:
            return True
        if "const" in schema and not _same(value, schema["const"]):
            return False
        enum = schema.get("enum")
        if isinstance(enum, list) and not any(_same(value, item) for item in enum):
            return False
        parts = schema.get("allOf")
        if isinstance(parts, list) and not all(
            self.fits(value, part, f"{place}/allOf/{i}", depth + 1) for i, part in enumerate(parts)
        ):
            return False
        for key in ("oneOf", "anyOf"):  # one branch that fits is enough, for both
            branches = schema.get(key) if isinstance(schema.get(key), list) else []
            if branches and not any(
                self.fits(value, b, f"{place}/{key}/{i}", depth + 1) for i, b in enumerate(branches)
            ):
                return False
        kinds = _kinds(schema)
        if kinds is not None and not any(_is(value, kind) for kind in kinds):
            return False
        if isinstance(value, dict):
            return self._fits_object(value, schema, place, depth)
        if isinstance(value, list):
            items = schema.get("items", {})
            return all(self.fits(item, items, f"{place}/items", depth + 1) for item in value)
        return _is_json(value)

    def _fits_object(self, value: dict, schema: dict, place: str, depth: int) -> bool:
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        for name in schema.get("required") or []:
            if name not in value:
                prop, _ = self.resolver.deref(properties.get(name), f"{place}/properties/{name}")
                if not (isinstance(prop, dict) and prop.get("readOnly") is True):  # the server's part
                    return False
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if not isinstance(name, str):
                return False
            if name in properties:
                ok = self.fits(item, properties[name], f"{place}/properties/{name}", depth + 1)
            elif extra is False:
                ok = False
            else:
                ok = self.fits(item, extra if isinstance(extra, dict) else {}, place, depth + 1)
            if not ok:
                return False
        return True

    def _merged(self, schema: dict, place: str) -> dict:
        """One schema of an ``allOf`` and the keywords beside it: properties and required joined."""
        merged: dict = {key: value for key, value in schema.items() if key != "allOf"}
        for index, part in enumerate(schema["allOf"]):
            part, _ = self.resolver.deref(part, f"{place}/allOf/{index}")
            if isinstance(part, dict) and "allOf" in part:
                part = self._merged(part, f"{place}/allOf/{index}")
            if not isinstance(part, dict):
                continue
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def _object(self, schema: dict, place: str, depth: int, refs: tuple[str, ...]) -> dict:
        properties = schema.get("properties") or {}
        names = list(dict.fromkeys(schema.get("required") or []))
        wanted = int(schema.get("minProperties") or 0)
        result = {}
        for name in names + [n for n in properties if n not in names]:
            if name not in names and len(result) >= wanted:
                break
            if name in properties:
                prop, _ = self.resolver.deref(properties[name], f"{place}/properties/{name}")
                if isinstance(prop, dict) and prop.get("readOnly") is True:
                    continue  # the server's part, not the client's
                result[name] = self.value(properties[name], f"{place}/properties/{name}", depth + 1, refs)
            else:
                extra = schema.get("additionalProperties", True)
                result[name] = self.value(extra if isinstance(extra, dict) else {}, place, depth + 1, refs)
        return result

    def _array(self, schema: dict, place: str, depth: int, refs: tuple[str, ...]) -> list:
        low, high = int(schema.get("minItems") or 0), schema.get("maxItems")
        count = min(max(low, 1), int(high)) if high is not None else max(low, 1)
        if count == 0:
            return []
        items = schema.get("items", {})
        try:
            first = self.value(items, f"{place}/items", depth + 1, refs)
        except NoValueError:
            if low == 0:
                return []  # the end of a recursion, or items no value satisfies
            raise
        values = [first]
        if count > 1 and schema.get("uniqueItems"):
            resolved, _ = self.resolver.deref(items, f"{place}/items")
            enum = resolved.get("enum") if isinstance(resolved, dict) else None
            if isinstance(enum, list) and len(enum) >= count:
                return enum[:count]
            if isinstance(first, bool) or not isinstance(first, int | float | str):
                raise NoValueError(f"{place}: {count} unique items of this kind")
            values = [first + i if not isinstance(first, str) else f"{first}{i or ''}" for i in range(count)]
            return values
        return values * count


def _type_of(schema: dict) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        return kinds[0] if kinds else "null"
    if kind:
        return str(kind)
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if any(key in schema for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "string"


def _readings(value: object) -> list[object]:
    """``value``, and what it most likely means if it does not fit: the JSON a string holds, or text."""
    value = _iso_dates(value)
    readings = [value]
    if isinstance(value, str):
        with contextlib.suppress(ValueError, RecursionError):  # not JSON
            readings.append(json.loads(value))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        readings.append(str(value))
    return readings


def _iso_dates(value: object) -> object:
    """YAML's dates and times (``example: 2024-01-31``) as the ISO text the document wrote."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _iso_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_iso_dates(item) for item in value]
    return value


def _kinds(schema: dict) -> set[str] | None:
    """The JSON types a schema allows (as :func:`_type_of` reads a schema without one); ``None``: any."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = {str(k) for k in kind}
    elif kind:
        kinds = {str(kind)}
    elif "properties" in schema or "required" in schema or "additionalProperties" in schema:
        kinds = {"object"}
    elif "items" in schema:
        kinds = {"array"}
    else:
        return None
    return kinds | {"null"} if schema.get("nullable") is True else kinds


def _is(value: object, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True  # a type this check does not know is not held against the value


def _is_json(value: object) -> bool:
    """A value JSON can carry: no NaN, no YAML date or set; containers are checked where they are read."""
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int | bool | dict | list)


def _same(value: object, other: object) -> bool:
    """Equal as JSON values: ``True`` is not ``1``."""
    return value == other and isinstance(value, bool) == isinstance(other, bool)


def _number(schema: dict, place: str, integer: bool) -> int | float:
    low, high = schema.get("minimum"), schema.get("maximum")
    low_open, high_open = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    bottom = top = None  # inclusive bounds
    if isinstance(low, int | float) and not isinstance(low, bool):
        bottom = low + (1 if integer else 0.5) * (low_open is True)
    if isinstance(low_open, int | float) and not isinstance(low_open, bool):  # 3.1: a number
        bottom = max(bottom if bottom is not None else -math.inf, low_open + (1 if integer else 0.5))
    if isinstance(high, int | float) and not isinstance(high, bool):
        top = high - (1 if integer else 0.5) * (high_open is True)
    if isinstance(high_open, int | float) and not isinstance(high_open, bool):
        top = min(top if top is not None else math.inf, high_open - (1 if integer else 0.5))
    value = 1 if bottom is None else bottom
    if top is not None and value > top:
        value = top if bottom is None else value
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and not isinstance(step, bool) and step > 0:
        value = math.ceil(value / step) * step
    if integer:
        value = math.ceil(value) if not isinstance(value, int) else value
    if (bottom is not None and value < bottom) or (top is not None and value > top):
        raise NoValueError(f"{place}: no {'integer' if integer else 'number'} within its limits")
    return int(value) if integer else value


def _string(schema: dict, place: str) -> str:
    low, high = int(schema.get("minLength") or 0), schema.get("maxLength")
    pattern = schema.get("pattern")
    if pattern:
        text = _from_pattern(str(pattern), place)
    else:
        text = FORMATS.get(str(schema.get("format")), "sample")
        if len(text) < low:
            text += "x" * (low - len(text))
        if high is not None and len(text) > int(high):
            text = text[: int(high)]
    if len(text) < low or (high is not None and len(text) > int(high)):
        raise NoValueError(f"{place}: no string of {low} to {high} characters matching {pattern!r}")
    return text


def _from_pattern(pattern: str, place: str) -> str:
    """A string ``pattern`` finds (OpenAPI patterns are not anchored), for simple patterns."""
    try:
        text = "".join(_build(_sre.parse(pattern)))
    except (re.error, _ComplexPatternError, RecursionError):
        text = None
    if text is None or not re.search(pattern, text):
        raise NoValueError(f"{place}: the pattern {pattern!r} is not simple enough: give the schema an example")
    return text


class _ComplexPatternError(Exception):
    pass


def _build(parsed) -> list[str]:
    out: list[str] = []
    for op, arg in parsed:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(arg) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_in_class(arg))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            out.extend(_build(sub) * max(low, 1 if _high else 0))
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            out.extend(_build(arg[-1] if name == "SUBPATTERN" else arg))
        elif name == "BRANCH":
            out.extend(_build(arg[1][0]))
        elif name == "CATEGORY":
            out.append(_category(str(arg)))
        elif name == "AT":
            continue
        else:
            raise _ComplexPatternError(name)
    return out


def _category(name: str) -> str:
    if "NOT" in name:
        return "-" if "WORD" in name or "DIGIT" in name else "a"
    return {"CATEGORY_DIGIT": "1", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " "}.get(name, "a")


def _in_class(items) -> str:
    """A character of a class like ``[a-z0-9_]``, or of a negated one like ``[^/]``."""
    negate = any(str(op) == "NEGATE" for op, _ in items)
    for candidate in "a1x0_-Z. ":
        if _in(items, candidate) != negate:
            return candidate
    raise _ComplexPatternError("IN")


_CATEGORIES = {"DIGIT": r"\d", "WORD": r"\w", "SPACE": r"\s"}


def _in(items, char: str) -> bool:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL" and ord(char) == arg:
            return True
        if name == "RANGE" and arg[0] <= ord(char) <= arg[1]:
            return True
        if name == "CATEGORY":
            category = str(arg)
            kind = next((k for k in _CATEGORIES if k in category), None)
            if kind and bool(re.fullmatch(_CATEGORIES[kind], char)) != ("NOT" in category):
                return True
    return False
