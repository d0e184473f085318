"""The cookiecutter answers: how each is read and checked, in one place.

``cookiecutter.json`` loads :class:`AnswersExtension` through ``_extensions``.
Its filters give ``hooks/pre_gen_project.py`` the :func:`problems` that refuse
bad answers before anything is written, and give the templates the parsed
answers they turn into code. Answers enter generated code as data, through
:func:`pyrepr`, never as code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import keyword
import math
import os
import re
import sys
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlsplit

from jinja2.ext import Extension

HTTP_CLIENTS = ("HttpUser", "FastHttpUser")
LOGINS = ("none", "form", "token", "bearer", "basic")
# What a run slower than its baseline does to the pipeline (ci/compare.sh, LOAD_TEST_REGRESSION).
REGRESSION_GATES = ("fail", "warn", "off")

# The files each choice bakes, relative to the project. "both" bakes every
# option's files, "none" none of them; a path stays when any chosen option lists it.
FILES_OF_CHOICE = {
    "ci": {
        "github": [".github", "ci"],
        "gitlab": [".gitlab-ci.yml", "ci", "ci/gitlab-baseline.sh"],
    },
    "deployment": {
        "docker": ["Dockerfile", ".dockerignore", "docker-compose.yml"],
        "kubernetes": ["kubernetes"],
    },
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
MAX_WEIGHT = 1000

ENDPOINTS_HELP = (
    "comma-separated endpoints, each 'METHOD /path' with an optional weight 'xN' "
    "(1 to 1000) and {placeholders}, for example 'GET /, GET /products/{id} x3, POST /cart'"
)

_ENDPOINT = re.compile(r"^(?:(?P<method>[A-Za-z]+)\s+)?(?P<path>\S+)(?:\s+[xX](?P<weight>\d+))?$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_RUN_TIME = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$|^(?P<seconds>\d+)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A URL's user:password@ (its userinfo): all before the last @ of the authority, as urlsplit reads it.
_USERINFO = re.compile(r"^(?P<scheme>\s*[A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
# A host is a base URL without a query: any "@" in it is taken for credentials (README: the questions).
_HOST_AT = re.compile(r"^(?P<scheme>\s*[A-Za-z][A-Za-z0-9+.-]*://).*@", re.DOTALL)
# The answers that are URLs, which must not carry credentials: they are stored in plain text.
URL_ANSWERS = ("host", "api_description")
# The five fields of a cron expression as GitHub Actions reads them (POSIX cron): name, range, names of values.
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of the month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day of the week", 0, 6, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
# A GitHub-hosted job runs 6 hours at most (GitHub Actions' usage limits); a load-test job also
# installs, runs the project's tests and waits for the Tideways report, which takes this long at most.
GITHUB_JOB_LIMIT_MINUTES = 360
JOB_MARGIN_MINUTES = 20
JOB_MINIMUM_MINUTES = 30
# The baked runtime checks the same forms (tideways_locust/links.py); bakes use cookiecutter's dependencies only.
_TIDEWAYS_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._ -]{0,98}[A-Za-z0-9._-])?$")
_TIDEWAYS_ENVIRONMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class AnswerError(ValueError):
    """An answer that cannot be used; the message names the answer and what is allowed."""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    weight: int
    task_name: str

    @property
    def has_placeholders(self) -> bool:
        return bool(_PLACEHOLDER.search(self.path))

    @property
    def client_method(self) -> str:
        return self.method.lower()


def _bad(name: str, value: object, allowed: str) -> AnswerError:
    return AnswerError(f"{name}: {value!r} is not allowed: {allowed}")


def _task_name(method: str, path: str, taken: set[str]) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", _PLACEHOLDER.sub(r"\1", path).lower()).strip("_")
    base = f"{method.lower()}_{words or 'root'}"[:60].rstrip("_")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def parse_endpoint(item: str, taken: set[str]) -> Endpoint:
    match = _ENDPOINT.match(item.strip())
    if not match:
        raise _bad("endpoints", item.strip(), ENDPOINTS_HELP)
    method = (match["method"] or "GET").upper()
    path = match["path"]
    if method not in METHODS:
        raise _bad("endpoints", item.strip(), f"the method must be one of {', '.join(METHODS)}")
    if not path.startswith("/") or _CONTROL.search(path):
        raise _bad("endpoints", item.strip(), "the path must start with '/' and hold no control characters")
    if "{" in _PLACEHOLDER.sub("", path) or "}" in _PLACEHOLDER.sub("", path):
        raise _bad("endpoints", item.strip(), "placeholders look like {name}, with a Python name inside")
    weight = int(match["weight"] or 1)
    if not 1 <= weight <= MAX_WEIGHT:
        raise _bad("endpoints", item.strip(), f"the weight xN must be from 1 to {MAX_WEIGHT}")
    return Endpoint(method, path, weight, _task_name(method, path, taken))


def parse_endpoints(text: str) -> list[Endpoint]:
    """``'GET /, GET /products/{id} x3'`` -> endpoints; the first bad item raises."""
    items = [item for item in re.split(r"[,\n]", str(text)) if item.strip()]
    if not items:
        raise _bad("endpoints", text, ENDPOINTS_HELP)
    taken: set[str] = set()
    return [parse_endpoint(item, taken) for item in items]


def endpoint_problems(text: str) -> list[str]:
    """One message for each bad endpoint, rather than only the first."""
    items = [item for item in re.split(r"[,\n]", str(text)) if item.strip()]
    if not items:
        return [str(_bad("endpoints", text, ENDPOINTS_HELP))]
    found = []
    for item in items:
        try:
            parse_endpoint(item, set())
        except AnswerError as error:
            found.append(str(error))
    return found


API_DESCRIPTION_HELP = (
    "empty (the users come from endpoints), or a readable file or an http(s) URL of an OpenAPI 3.0/3.1, "
    "Swagger 2.0 or HAR 1.2 document"
)


def api_source(value: object) -> str:
    """Where the API description is: a URL as it is, a file as an absolute path.

    Rendered while cookiecutter asks its questions, in the folder it was started in; the
    hooks run elsewhere, so a relative path is made absolute here.
    """
    text = str(value).strip()
    if not text or text.startswith(("http://", "https://")):
        return text
    return os.path.abspath(os.path.expanduser(text))


def described_as(value: object) -> str:
    """How the README names the description: a URL without its query, a file by its name."""
    text = str(value).strip()
    if text.startswith(("http://", "https://")):
        return text.split("?", 1)[0].split("#", 1)[0]
    return os.path.basename(text)


def check_api_description(value: object, source: object) -> None:
    text = str(value).strip()
    if has_userinfo(text):  # before any message that would show the value
        raise _credentials_refused("api_description")
    if not text or _CONTROL.search(text):
        if text:
            raise _bad("api_description", value, API_DESCRIPTION_HELP)
        return
    if text.startswith(("http://", "https://")):
        try:
            if not urlsplit(text).hostname:
                raise ValueError
        except ValueError:
            raise _bad("api_description", value, API_DESCRIPTION_HELP) from None
    elif not os.path.isfile(str(source or api_source(text))):
        raise _bad("api_description", value, f"no such file; {API_DESCRIPTION_HELP}")


def has_userinfo(value: object) -> bool:
    """True for a URL with ``user:password@`` (or ``token@``) before its host."""
    text = str(value)
    if _USERINFO.match(text):
        return True
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.username is not None or parts.password is not None


def holds_credentials(name: str, value: object) -> bool:
    """Whether an answer that is a URL may carry credentials. A host is a base URL, so any ``@`` in it
    counts: a password with an unencoded ``/``, ``?`` or ``#`` hides its userinfo from URL parsing,
    and the answer must still never be shown."""
    text = str(value)
    return has_userinfo(text) or (name == "host" and _HOST_AT.match(text) is not None)


def without_credentials(name: str, value: object) -> str:
    """The answer without what :func:`holds_credentials` found; empty if that fails."""
    text = str(value)
    if name == "host" and not has_userinfo(text):
        text = _HOST_AT.sub(r"\g<scheme>", text, count=1)
    return without_userinfo(text)


def without_userinfo(value: object) -> str:
    """``https://jane:pw@shop.example.com/x`` -> ``https://shop.example.com/x``; empty if that fails."""
    text = _USERINFO.sub(r"\g<scheme>", str(value), count=1)
    return "" if has_userinfo(text) else text


_INSTEAD_OF_CREDENTIALS = {
    "host": "Give the host alone, answer login=basic (or form, token) and put LOGIN_USERNAME and "
    "LOGIN_PASSWORD in .env (README: Logins)",
    "api_description": "Download the document and give its file",
}


def _credentials_refused(name: str) -> AnswerError:
    # Never echoed: the password would land in the terminal and in a CI log.
    return AnswerError(
        f"{name}: a URL with user:password@ is not allowed: answers are stored in plain text (locust.conf, "
        f".cruft.json, cookiecutter's replay file). {_INSTEAD_OF_CREDENTIALS[name]}"
    )


def credential_answers(answers: dict) -> list[dict]:
    """The answers that hold credentials, for the pre-generate hook to remove from cookiecutter's replay file.

    Each is named with the SHA-256 of its value, never the value (cookiecutter leaves the rendered
    hook in the temporary folder), and the value without its credentials to put in its place.
    """
    found = []
    for name in URL_ANSWERS:
        value = answers.get(name)
        if isinstance(value, str) and holds_credentials(name, value):
            digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
            found.append({"answer": name, "sha256": digest, "without": without_credentials(name, value)})
    return found


def check_host(value: str) -> str:
    allowed = "an http:// or https:// URL of the application under test, like https://staging.example.com"
    text = str(value)
    if holds_credentials("host", text):  # before any message that would show the value
        raise _credentials_refused("host")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise _bad("host", value, allowed) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", text) or _CONTROL.search(text):
        raise _bad("host", value, allowed)
    if parts.query or parts.fragment:
        raise _bad("host", value, "a base URL without ?query or #fragment")
    return text.rstrip("/")


def check_number(name: str, value: object, low: float, high: float, allowed: str, integer: bool = False) -> float:
    try:
        number = int(str(value)) if integer else float(str(value))
    except ValueError:
        number = math.nan
    if not low <= number <= high:
        raise _bad(name, value, allowed)
    return number


def run_time_seconds(value: object) -> int:
    """``'1h30m'`` -> 5400. Locust reads a run time of 0 as "no limit", so a run that never
    ends (and a CI job that is killed); at least one second is asked for."""
    text = str(value)
    match = _RUN_TIME.fullmatch(text) if text else None
    seconds = 0
    if match:
        parts = match.groupdict(default="0")
        seconds = int(parts["h"]) * 3600 + int(parts["m"]) * 60 + int(parts["s"]) + int(parts["seconds"])
    if seconds < 1:
        raise _bad("run_time", value, "a Locust time span of at least one second, like 30s, 5m, 1h30m or 90 (seconds)")
    return seconds


def check_wait_time(value: object) -> tuple[float, float]:
    """``'2'`` -> (2, 2), ``'1-3'`` -> (1, 3): seconds a user waits between tasks."""
    allowed = "seconds between two tasks of a user, 0 to 3600: a number like 1 or a range like 1-3"
    low, dash, high = str(value).strip().partition("-")
    try:
        first = float(low)
        last = float(high) if dash else first
    except ValueError:
        raise _bad("wait_time", value, allowed) from None
    if not 0 <= first <= last <= 3600:  # also rejects nan
        raise _bad("wait_time", value, allowed)
    return first, last


def job_timeout_minutes(run_time: object) -> int:
    """How long a pipeline's load-test job may take: the run time and the time around it."""
    return max(JOB_MINIMUM_MINUTES, math.ceil(run_time_seconds(run_time) / 60) + JOB_MARGIN_MINUTES)


LOAD_PROFILES = ("constant", "ramp", "steps", "spike", "soak", "breakpoint")
_PROFILE_SPEC = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "{{cookiecutter.project_slug}}",
    *("tideways_locust", "profiles", "spec.py"),
)


def profile_spec():
    """The baked runtime's ``tideways_locust.profiles.spec`` (it imports nothing of Locust): a profile
    is checked at bake time by the very rules ``locust`` checks it by when it starts."""
    name = "_tideways_locust_profile_spec"
    if name not in sys.modules:
        found = importlib.util.spec_from_file_location(name, _PROFILE_SPEC)
        module = importlib.util.module_from_spec(found)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        found.loader.exec_module(module)
    return sys.modules[name]


def profile_settings(answers: dict) -> list[tuple[str, str]]:
    """The ``locust.conf`` settings of the answered profile, from the users and run time answered:
    a ramp up in a minute, the run time held, down in 30 s; five steps of the users, a minute each;
    a spike to five times the users a third into the run time for a sixth of it; a breakpoint up
    to twenty times the users. A team changes them in ``locust.conf`` without baking again."""
    profile = answers.get("load_profile", "constant")
    users = int(str(answers["users"]))
    run_time = str(answers["run_time"])
    seconds = run_time_seconds(run_time)
    if profile == "ramp":
        return [("load-stages", f"1m:{users}, {run_time}:{users}, 30s:0")]
    if profile in ("steps", "breakpoint"):
        top = users * (5 if profile == "steps" else 20)
        return [("load-start", str(users)), ("load-step", str(users)), ("load-max", str(top)), ("load-step-time", "1m")]
    if profile == "spike":
        at, length = seconds // 3, seconds // 6
        return [
            ("load-base", str(users)),
            ("load-peak", str(users * 5)),
            ("load-spike-at", _span(at)),
            ("load-spike-for", _span(length)),
        ]
    return []


def _span(seconds: int) -> str:
    """``4800`` -> ``1h20m``: a time span as Locust reads it (``0s`` for none)."""
    hours, rest = divmod(seconds, 3600)
    parts = [(hours, "h"), *zip(divmod(rest, 60), ("m", "s"), strict=True)]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


def load_profile(answers: dict):
    """The profile the baked ``locust.conf`` runs (``spec.Profile``), None for ``constant``; raises
    ``spec.ProfileError``."""
    spec = profile_spec()
    given = {key.replace("-", "_"): value for key, value in profile_settings(answers)}
    options = SimpleNamespace(
        load_profile=answers.get("load_profile", "constant"),
        num_users=int(str(answers["users"])),
        spawn_rate=float(str(answers["spawn_rate"])),
        run_time=run_time_seconds(answers["run_time"]),
        **{name: given.get(name, "") for name in _PROFILE_OPTIONS},
    )
    return spec.build(options)


_PROFILE_OPTIONS = (
    "load_rate", "load_stages", "load_start", "load_step", "load_step_time", "load_max",
    "load_base", "load_peak", "load_spike_at", "load_spike_for",
)  # fmt: skip


# What each other profile's settings in locust.conf do (steps and breakpoint share theirs, the
# steps' ones when neither is answered: five minutes at most, within the least job timeout).
_OTHER_PROFILES = {
    "ramp": ["ramp: up to the users in a minute, run-time held, down in 30s"],
    "steps": [
        "steps, breakpoint: the users, as many more each load-step-time (default 1m) up to",
        "load-max; breakpoint stops at a step past a limit below, or whose req/s stop growing",
    ],
    "spike": ["spike: five times the users a third into run-time, for a sixth of it"],
}


def other_profile_lines(answers: dict) -> list[str]:
    """The ``locust.conf`` lines of the profiles not answered, from the same users and run time, so that
    ``LOCUST_LOAD_PROFILE`` or a pipeline's ``load_profile`` picks any of them without more (each profile
    reads only its own). A profile these answers cannot run gets its settings commented out, and why."""
    answered = answers.get("load_profile", "constant")
    lines = []
    for profile, what in _OTHER_PROFILES.items():
        if answered == profile or (profile == "steps" and answered == "breakpoint"):
            continue
        other = {**answers, "load_profile": profile}
        lines += [f"# {line}" for line in what]
        try:
            load_profile(other)
            prefix = ""
        except profile_spec().ProfileError as error:
            prefix = "# "
            lines.append(f"# It cannot run with these users and run-time: {error}")
        # Steps' load-step-time is their default; set, it would also be a soak's window.
        lines += [f"{prefix}{key} = {value}" for key, value in profile_settings(other) if key != "load-step-time"]
    return lines


def load_seconds(answers: dict) -> int:
    """How long a headless run of the baked settings lasts: the profile's stages, else the run time."""
    profile = load_profile(answers)
    if profile is None or math.isinf(profile.seconds):
        return run_time_seconds(answers["run_time"])
    return math.ceil(profile.seconds)


def job_minutes(answers: dict) -> int:
    """How long a pipeline's load-test job may take: the baked run's length and the time around it."""
    return max(JOB_MINIMUM_MINUTES, math.ceil(load_seconds(answers) / 60) + JOB_MARGIN_MINUTES)


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if text.upper() in names:
        return names.index(text.upper()) + low
    return int(text) if text.isdigit() and low <= int(text) <= high else None


def _cron_field_ok(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    """``*``, values, ranges ``a-b`` and steps ``/n``, comma-separated, within ``low`` to ``high``."""
    for item in text.split(","):
        base, slash, step = item.partition("/")
        if slash and not (step.isdigit() and 1 <= int(step) <= high):
            return False
        if base == "*":
            continue
        first, dash, last = base.partition("-")
        start = _cron_value(first, low, high, names)
        end = _cron_value(last, low, high, names) if dash else start
        if start is None or end is None or start > end:
            return False
    return True


def check_schedule(value: object) -> str:
    """Empty (no schedule) or a five-field cron expression as GitHub Actions takes it."""
    allowed = "empty, or five cron fields like '0 3 * * 1' (03:00 UTC on Mondays)"
    fields = str(value).split()
    if fields and len(fields) != 5:
        raise _bad("schedule", value, allowed)
    for field, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=False):
        if not _cron_field_ok(field, low, high, names):
            values = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
            raise _bad("schedule", value, f"the {name} {field!r} is not in {values}; {allowed}")
    return " ".join(fields)


def check_tideways_project(value: object) -> str:
    """Empty (no links) or ``organization/project`` as in the Tideways app's URLs."""
    text = str(value).strip()
    organization, slash, name = text.partition("/")
    if text and (not slash or not _TIDEWAYS_NAME.match(organization) or not _TIDEWAYS_NAME.match(name)):
        raise _bad(
            "tideways_project",
            value,
            "empty, or ORGANIZATION/PROJECT as in the Tideways app's URLs, like acme/shop "
            "(letters, digits, '.', '_', '-' and inner spaces)",
        )
    return text


def check_tideways_environment(value: object) -> str:
    text = str(value).strip()
    if not _TIDEWAYS_ENVIRONMENT.match(text):
        raise _bad(
            "tideways_environment",
            value,
            "a Tideways environment name like production or staging (letters, digits, '.', '_', '-')",
        )
    return text


def problems(answers: dict) -> list[str]:
    """Every problem in the answers, one line each; empty when all can be used."""
    found: list[str] = []

    def check(function, *args) -> None:
        try:
            function(*args)
        except AnswerError as error:
            found.append(str(error))

    name = str(answers.get("project_name", ""))
    if not name.strip() or _CONTROL.search(name):
        found.append(str(_bad("project_name", name, "a name of one line that is not empty")))
    slug = str(answers.get("project_slug", ""))
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", slug) or keyword.iskeyword(slug):
        found.append(
            str(
                _bad("project_slug", slug, "a Python name: lower-case letters, digits and _, not starting with a digit")
            )
        )
    check(check_host, answers.get("host", ""))
    found.extend(endpoint_problems(answers.get("endpoints", "")))
    check(check_api_description, answers.get("api_description", ""), answers.get("__api_source"))
    client = answers.get("http_client")
    if client not in HTTP_CLIENTS:
        found.append(str(_bad("http_client", client, " or ".join(HTTP_CLIENTS))))
    if answers.get("login", "none") not in LOGINS:
        found.append(str(_bad("login", answers.get("login"), ", ".join(LOGINS))))
    if answers.get("load_profile", "constant") not in LOAD_PROFILES:
        found.append(str(_bad("load_profile", answers.get("load_profile"), ", ".join(LOAD_PROFILES))))
    if answers.get("regression_gate", REGRESSION_GATES[0]) not in REGRESSION_GATES:
        found.append(str(_bad("regression_gate", answers.get("regression_gate"), ", ".join(REGRESSION_GATES))))
    for question, files in FILES_OF_CHOICE.items():
        allowed = [*files, "both", "none"]
        if answers.get(question) not in allowed:
            found.append(str(_bad(question, answers.get(question), " or ".join(allowed))))
    check(
        check_number,
        "trace_rate",
        answers.get("trace_rate"),
        0,
        100,
        "a number from 0 to 100: percent of requests to trace, decimals like 0.5 allowed",
    )
    check(
        check_number,
        "trace_coverage",
        answers.get("trace_coverage", "0"),
        0,
        1000,
        "a whole number from 0 to 1000: requests of each endpoint to trace first, 0 for none",
        True,
    )
    check(check_tideways_project, answers.get("tideways_project", ""))
    check(check_tideways_environment, answers.get("tideways_environment", ""))
    check(check_number, "users", answers.get("users"), 1, 1_000_000, "a whole number of users, 1 or more", True)
    check(
        check_number,
        "spawn_rate",
        answers.get("spawn_rate"),
        0.001,
        1_000_000,
        "users started per second, a number above 0",
    )
    check(run_time_seconds, answers.get("run_time", ""))
    check(check_wait_time, answers.get("wait_time", ""))
    check(check_schedule, answers.get("schedule", ""))
    if not found:
        found.extend(_run_problems(answers))
    return found


def _run_problems(answers: dict) -> list[str]:
    """Answers that are each fine but together bake a run that is not what was asked for."""
    found = []
    run_time, seconds = answers["run_time"], run_time_seconds(answers["run_time"])
    users, spawn_rate = int(str(answers["users"])), float(str(answers["spawn_rate"]))
    profile = str(answers.get("load_profile", "constant"))
    try:
        load_profile(answers)
    except profile_spec().ProfileError as error:
        return [
            str(
                _bad(
                    "load_profile",
                    profile,
                    f"its settings from users {users} and run_time {run_time!r} cannot run ({error}): "
                    "another users or run_time, or another profile",
                )
            )
        ]
    if profile in ("constant", "soak") and users / spawn_rate > seconds:
        found.append(
            str(
                _bad(
                    "spawn_rate",
                    answers["spawn_rate"],
                    f"it starts {users} users in {users / spawn_rate:g} s, longer than run_time {run_time!r}, "
                    f"so the run ends before all of them run: at least {math.ceil(users / seconds * 1000) / 1000:g}, "
                    "or a longer run_time",
                )
            )
        )
    if check_schedule(answers.get("schedule", "")) and answers.get("ci") == "none":
        found.append(
            str(
                _bad(
                    "schedule",
                    answers["schedule"],
                    "ci none bakes no pipeline to run on a schedule: leave it empty, "
                    "or answer ci github, gitlab or both",
                )
            )
        )
    if answers.get("ci") in ("github", "both") and job_minutes(answers) > GITHUB_JOB_LIMIT_MINUTES:
        longest = GITHUB_JOB_LIMIT_MINUTES - JOB_MARGIN_MINUTES
        own_length = profile in ("ramp", "steps", "breakpoint")
        found.append(
            str(
                _bad(
                    "load_profile" if own_length else "run_time",
                    profile if own_length else run_time,
                    f"a GitHub-hosted job runs {GITHUB_JOB_LIMIT_MINUTES // 60} hours at most, "
                    f"{JOB_MARGIN_MINUTES} minutes of them for installing, tests and the report: "
                    f"at most {longest // 60}h{longest % 60}m with ci github or both",
                )
            )
        )
    return found


def _default(question: str) -> object:
    """The default answer of ``question``, from the ``cookiecutter.json`` beside this file."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cookiecutter.json"), encoding="utf-8") as file:
        return json.load(file).get(question)


def _same_endpoints(text: object, other: object) -> bool:
    try:
        return parse_endpoints(str(text)) == parse_endpoints(str(other))
    except AnswerError:
        return str(text).strip() == str(other).strip()


def notes(answers: dict) -> list[str]:
    """Answers that this bake has nothing to change with, one line each: said, and the bake goes on.

    Answers that cannot work together are refused instead (:func:`problems`); these are the ones
    a bake can do without: the user learns where the answer goes, or that it is not used.
    """
    found = []
    schedule, ci = check_schedule(answers.get("schedule", "")), answers.get("ci")
    if schedule and ci in ("gitlab", "both"):
        baked = "not baked into .gitlab-ci.yml" if ci == "gitlab" else "baked into the GitHub workflow only"
        found.append(
            f"schedule: {schedule!r} is {baked}: GitLab keeps pipeline schedules in its UI, not in the "
            "repository; add it there, in Build > Pipeline schedules (README: GitLab CI)"
        )
    gate = answers.get("regression_gate", REGRESSION_GATES[0])
    if ci == "none" and gate != REGRESSION_GATES[0]:
        found.append(
            f"regression_gate: {gate!r} is not used: ci none bakes no pipeline to compare runs in; "
            "python -m tideways_locust.compare still compares runs by hand"
        )
    endpoints = answers.get("endpoints", "")
    if answers.get("api_description") and not _same_endpoints(endpoints, _default("endpoints")):
        found.append(
            f"endpoints: {endpoints!r} is not used: the users come from api_description "
            f"({described_as(answers['api_description'])}); leave endpoints at its default, or api_description empty"
        )
    return found


def _is_recording(path: str) -> bool:
    """Whether a local file is a HAR recording rather than an OpenAPI or Swagger document (a HAR is JSON)."""
    try:
        with open(path, encoding="utf-8-sig") as file:
            text = file.read()
        document = json.loads(text) if text.lstrip().startswith("{") else None
    except (OSError, ValueError):
        return False  # the importer says what is wrong with it, and the bake stops
    if not isinstance(document, dict) or "openapi" in document or "swagger" in document:
        return False
    log = document.get("log")
    return isinstance(log, dict) and isinstance(log.get("entries"), list)


def api_copy(source: object) -> str:
    """The copy of the API description that the bake keeps, or empty: none without a description, and
    none of a HAR recording (it holds cookies). Named by the importer's rule (``api_import.documents.copy_name``).

    A file is told a recording by its contents; a URL, which is fetched only by the importer, by a
    name ending in ``.har``.
    """
    text = str(source).strip()
    if not text:
        return ""
    suffix = os.path.splitext(text.split("?", 1)[0])[1].lower()
    if suffix == ".har" or (not text.startswith(("http://", "https://")) and _is_recording(text)):
        return ""
    return "api/openapi" + (suffix if suffix in (".json", ".yaml", ".yml") else ".json")


def unchosen_paths(answers: dict) -> list[str]:
    """The paths of the options that were not chosen, for the post-generate hook to remove."""
    keep: set[str] = set()
    drop: set[str] = set()
    for question, files in FILES_OF_CHOICE.items():
        answer = answers.get(question)
        for option, paths in files.items():
            (keep if answer in (option, "both") else drop).update(paths)
    drop -= keep
    return sorted(path for path in drop if not any(path.startswith(f"{folder}/") for folder in drop))


def pyrepr(value: object) -> str:
    """A Python literal for ``value``; strings come out double-quoted where they can."""
    literal = repr(value)
    if isinstance(value, str) and literal.startswith("'") and '"' not in value:
        literal = '"' + literal[1:-1] + '"'
    return literal


def class_name(slug: str) -> str:
    """``shop_load_test`` -> ``ShopLoadTest``."""
    return "".join(part.capitalize() for part in str(slug).split("_") if part) or "Site"


def k8s_name(slug: str) -> str:
    """``shop_load_test`` -> ``shop-load-test``: a Kubernetes name and Helm release name.

    Short enough (40) to take suffixes like ``-locustfile`` and stay a DNS label.
    """
    return str(slug).replace("_", "-")[:40].strip("-") or "load-test"


class AnswersExtension(Extension):
    """Jinja filters: ``answer_problems`` for the pre-generate hook, and the ones that turn answers into code."""

    def __init__(self, environment) -> None:
        super().__init__(environment)
        environment.filters.update(
            endpoints=parse_endpoints,
            host=check_host,
            wait_time=check_wait_time,
            schedule=check_schedule,
            job_timeout_minutes=job_timeout_minutes,
            job_minutes=job_minutes,
            profile_settings=profile_settings,
            other_profile_lines=other_profile_lines,
            api_source=api_source,
            described_as=described_as,
            tideways_project=check_tideways_project,
            tideways_environment=check_tideways_environment,
            pyrepr=pyrepr,
            class_name=class_name,
            k8s_name=k8s_name,
            answer_problems=problems,
            answer_notes=notes,
            api_copy=api_copy,
            credential_answers=credential_answers,
            unchosen_paths=unchosen_paths,
        )
