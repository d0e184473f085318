"""Every pair of answers baked together, each bake checked for what its READMEs and comments name.

The way cookiecutter-django tests its options: a pairwise set of combinations (allpairspy) of
``login``, ``deployment``, ``ci``, ``api_description``, ``http_client``, ``schedule`` and
``tideways_project``, so that every two values of any two of them are baked together at least
once. Each bake is checked for:

- every file and folder, ``python -m`` module, ``import``, ``make`` target, ``locust`` flag,
  ``locust.conf`` key, README section and ``LOCUST_*``/``LOGIN_*``/``TIDEWAYS_*``/``LOAD_TEST_*``
  variable that its READMEs, ``.env.example``, ``locust.conf``, the comments of its YAML, shell, Python and other
  files and the hooks' messages name: it is in this bake (or is made by a run or by the user,
  ``RUN_MADE``), and a variable is one the runtime or a pipeline reads, or one of Locust's own;
- every YAML and JSON file parses, and no template syntax is left;
- each answer changes the project, or the hooks say in one line why it does not (a schedule
  with GitLab CI) or refuse it (a schedule with no pipeline);
- the template README's "What you get" lists what the bakes hold.

Locust's options and variables come from the baked virtualenv, once a session. No Locust runs.
The files that another part of the tests owns (the Compose and Helm files and the README's
"Distributed runs") are checked here only for YAML that parses and the files they name.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import itertools
import json
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
import yaml
from allpairspy import AllPairs
from cookiecutter.exceptions import FailedHookException

from tests.conftest import REPO, BakedProject

DOCUMENTS = REPO / "tests" / "api_documents"
TEMPLATE = REPO / "{{cookiecutter.project_slug}}"
CRON = "0 3 * * 1"

# The API descriptions, one of each kind the importer reads, and the host each is recorded for.
API_DESCRIPTIONS = {
    "none": ("", None),
    "openapi-json": (DOCUMENTS / "catalog-3.1.json", None),
    "openapi-yaml": (DOCUMENTS / "shop-3.0.yaml", None),
    "swagger-2.0": (DOCUMENTS / "pets-swagger-2.0.yaml", None),
    "har": (DOCUMENTS / "session.har", "https://shop.example.com"),
}
# The copy of the description a bake keeps, by kind: a recording is never kept (it holds cookies).
API_COPIES = {"none": None, "openapi-json": "api/openapi.json", "openapi-yaml": "api/openapi.yaml",
              "swagger-2.0": "api/openapi.yaml", "har": None}  # fmt: skip

FACTORS = {
    "login": ["none", "form", "token", "bearer", "basic"],
    "deployment": ["none", "docker", "kubernetes", "both"],
    "ci": ["none", "github", "gitlab", "both"],
    "api_description": list(API_DESCRIPTIONS),
    "http_client": ["HttpUser", "FastHttpUser"],
    "schedule": ["", CRON],
    "tideways_project": ["", "acme/shop"],
}
COMBINATIONS = [dict(zip(FACTORS, values, strict=True)) for values in AllPairs(list(FACTORS.values()))]


def combination_id(combination: dict) -> str:
    short = {"": "-", CRON: "cron", "acme/shop": "project", "HttpUser": "http", "FastHttpUser": "fast"}
    return "_".join(short.get(value, value) for value in combination.values())


def answers_of(combination: dict) -> dict[str, str]:
    """The cookiecutter answers of a combination."""
    document, host = API_DESCRIPTIONS[combination["api_description"]]
    answers = {**combination, "api_description": str(document)}
    return answers | ({"host": host} if host else {})


# ---------------------------------------------------------------------------------------------
# What the template can bake, and what runs and users make


def template_paths() -> set[str]:
    """Every path any bake can hold: the template's files and folders, and what the importer writes."""
    paths = {
        str(path.relative_to(TEMPLATE))
        for path in TEMPLATE.rglob("*")
        if "__pycache__" not in path.parts and ".ruff_cache" not in path.parts
    }
    return paths | {"api", "api/openapi.json", "api/openapi.yaml", "api/openapi.yml", "generated",
                    "generated/__init__.py", "generated/api_users.py"}  # fmt: skip


TEMPLATE_PATHS = template_paths()
TEMPLATE_TOPS = {path.split("/")[0] for path in TEMPLATE_PATHS}
# The project's own Python: a module named of these must be in the bake that names it.
PROJECT_MODULES = {Path(top).stem for top in TEMPLATE_TOPS if top.endswith(".py") or "." not in top}

# Named by the READMEs and comments, made by a run or by the user, never baked.
RUN_MADE = [
    ".env",  # cp .env.example .env
    "accounts.csv",  # the logins' accounts, git-ignored
    ".cruft.json",  # written by cruft create
    ".venv",  # python -m venv .venv
    ".venv/*",
    "reports",  # a run's reports: run file, HTML, CSV, the Tideways report
    "reports/*",
    "traces.jsonl",  # --tideways-trace-log
    "tideways-report.*",  # python -m tideways_locust.report, in reports/
    "tideways-run.json",  # the run file, in reports/ or a baseline's folder
    "tideways-compare.*",  # python -m tideways_locust.compare, in reports/
    "baseline",  # python -m tideways_locust.compare --save-baseline baseline
    "baseline/*",
    "requests.jsonl",  # python tests/target.py --log
    "rendered.yaml",  # helm template ... > rendered.yaml
    "tideways_locust.zip",  # python -m zipfile -c tideways_locust.zip
]
# Named as examples of what a user would type: no file of the project.
EXAMPLES = {"path/or/url.yaml"}
FILE_EXTENSIONS = {"py", "sh", "yml", "yaml", "json", "jsonl", "md", "txt", "conf", "csv", "toml", "example",
                   "html", "j2", "zip", "har", "cfg", "ini"}  # fmt: skip
PATH_TOKEN = re.compile(r"^\.?[\w*][\w.*-]*(?:/[\w.*-]+)*/?$")
VARIABLE = re.compile(r"\b(?:LOCUST|LOGIN|TIDEWAYS|LOAD_TEST)_[A-Z0-9_]*[A-Z0-9]\b")
PYTHON_M = re.compile(r"\bpython3? -m ([\w.]+)")
IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))")
MAKE = re.compile(r"(?:^|[;&|]\s*)make\s+([\w-]+)")
README_REFERENCE = re.compile(r"README(?:\.md)?[:,]\s*\"?([A-Z][^\"();,.\n]*[\w])")
SEE_REFERENCE = re.compile(r"\(see \"([^\"]+)\"\)")
CONF_POSSESSIVE = re.compile(r"locust\.conf`?'s\s+`?([a-z][\w-]*)")
CONF_KEY_IN = re.compile(r"`([a-z][\w-]*\*?)` in `locust\.conf`")
# "app-login in locust.conf" in a comment; words that are no key are passed over.
CONF_WORD_IN = re.compile(r"\b([a-z][a-z0-9-]*) in `?locust\.conf\b")
NO_KEY = {"set", "settings", "setting", "limits", "values", "value", "defaults", "it", "them", "one", "those", "key"}
CONF_LINE = re.compile(r"^#?\s*([a-z][a-z0-9-]*)\s*=", re.MULTILINE)
TEMPLATE_SYNTAX = re.compile(r"{{|{%|cookiecutter\.")
GITHUB_EXPRESSION = re.compile(r"\$\{\{[^{}]*\}\}")

# The files another part of the tests owns (tests/test_deployment.py): here, only the files they name.
DEPLOYMENT_FILES = {"docker-compose.yml", "kubernetes/values.yaml", "Dockerfile", ".dockerignore"}
DEPLOYMENT_SECTION = "Distributed runs"
RUNTIME_PACKAGES = ("tideways_locust/", "api_import/")
COMMENTED = {".yml", ".yaml", ".sh", ".toml", ".txt", ".conf", ".example", ".gitignore", ".dockerignore"}


# ---------------------------------------------------------------------------------------------
# Locust's names, from the baked virtualenv, once a session

LOCUST_NAMES = """
import json, pkgutil, sys
sys.path.insert(0, ".")
import locustfile  # noqa: F401 - adds the project's options (tideways_locust, thresholds)
from locust.argument_parser import get_parser

parser = get_parser()
print(json.dumps({
    "flags": sorted({s for a in parser._actions for s in a.option_strings if s.startswith("--")}),
    "variables": sorted({a.env_var for a in parser._actions if getattr(a, "env_var", None)}),
    "help": parser.format_help(),
    "modules": sorted({m.name for m in pkgutil.iter_modules()} | set(sys.builtin_module_names)),
}))
"""


@pytest.fixture(scope="session")
def locust_names(cookies_session, baked_python) -> dict[str, set[str]]:
    """Locust's long flags and variables with the project's own (``locust --help`` lists only
    Locust's: the project's come with its locustfile), and the modules the baked virtualenv has."""
    result = cookies_session.bake(extra_context={"login": "form"})
    assert result.exit_code == 0, result.exception
    run = subprocess.run(
        [str(baked_python), "-B", "-c", LOCUST_NAMES],
        cwd=result.project_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    variables = set(found["variables"]) | set(VARIABLE.findall(found["help"]))  # LOCUST_USER_CLASSES
    help_text = subprocess.run(
        [str(baked_python), "-m", "locust", "--help"], capture_output=True, text=True, timeout=120, check=False
    ).stdout
    assert "--headless" in help_text, "locust --help runs in the baked virtualenv"
    variables |= set(VARIABLE.findall(help_text))
    return {"flags": set(found["flags"]), "variables": variables, "modules": set(found["modules"])}


# ---------------------------------------------------------------------------------------------
# Reading a bake


def comments_of(path: Path) -> list[tuple[int, str]]:
    """The comments of a file, with their line numbers: ``#`` comments and, in Python, docstrings."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        found = [
            (token.start[0], token.string[1:])
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.COMMENT
        ]
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                docstring = ast.get_docstring(node, clean=False)
                if docstring and node.body:
                    found.append((node.body[0].lineno, docstring))
        return found
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#!"):
            continue
        match = re.search(r"(?:^|\s)#(.*)$", line)
        if match and line[: match.start()].count('"') % 2 == 0 and line[: match.start()].count("'") % 2 == 0:
            found.append((number, match[1]))
    return found


def code_of(path: Path) -> str:
    """What a file does, without its comments: string literals of Python (no docstrings), the
    strings of YAML, the lines of shell without comments."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        tree = ast.parse(text)
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        return "\n".join(
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        )
    if path.suffix in (".yml", ".yaml"):
        strings: list[str] = []

        def walk(data: object) -> None:
            if isinstance(data, dict):
                for key, value in data.items():
                    strings.append(str(key))
                    walk(value)
            elif isinstance(data, list):
                for value in data:
                    walk(value)
            elif data is not None:
                strings.append(str(data))

        walk(yaml.safe_load(text))
        return "\n".join(strings)
    return "\n".join(re.sub(r"(?:^|\s)#.*$", "", line) for line in text.splitlines())


READ_REFERENCE = re.compile(r"(?:secrets|vars|env)\.([A-Z][A-Z0-9_]*)|\$\{?([A-Z][A-Z0-9_]*)")


def variables_read(project: BakedProject, locust: dict) -> set[str]:
    """The variables this bake reads: Locust's own and the runtime's options, the names its Python
    reads, and the ones its shell scripts and pipelines refer to (``$X``, ``secrets.X``)."""
    found = set(locust["variables"])
    for path in project.files():
        relative = path.relative_to(project.path)
        if path.suffix == ".py" and not (path.name.startswith("test_") or path.name == "conftest.py"):
            found |= set(VARIABLE.findall(code_of(path)))
        elif path.suffix == ".sh" or (path.suffix in (".yml", ".yaml") and str(relative) not in DEPLOYMENT_FILES):
            code = code_of(path)
            found |= {a or b for a, b in READ_REFERENCE.findall(code)} & set(VARIABLE.findall(code))
    return found


def markdown_sections(text: str) -> list[tuple[str, str]]:
    """``(heading, text)`` of each ``## `` section; the text before the first is the title's."""
    parts = re.split(r"^(## .*)$", text, flags=re.MULTILINE)
    sections = [("", parts[0])]
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        sections.append((heading[3:].strip(), heading + body))
    return sections


CODE_BLOCK = re.compile(r"^[ \t]*```[\w-]*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`([^`]+)`")


def markdown_code(text: str) -> tuple[list[str], list[str]]:
    """The lines of the code blocks, and the inline code spans (whitespace made single spaces)."""
    lines = [line for block in CODE_BLOCK.findall(text) for line in block.splitlines()]
    spans = [" ".join(span.split()) for span in INLINE_CODE.findall(CODE_BLOCK.sub("", text))]
    return lines, spans


def tokens_of(text: str) -> list[str]:
    """The words of a line of code or prose, without quotes, brackets and punctuation around them;
    ``--option=value`` and ``KEY=value`` give their value too."""
    found = []
    for word in text.split():
        for part in word.split("="):
            part = part.strip("\"'`()[]{}<>,;:!?")
            part = re.sub(r"(?:'s|\.)$", "", part)
            if part:
                found.append(part)
    return found


def looks_like_path(token: str, modules: set[str], code: bool) -> bool:
    """Whether a word names a file or folder: one with a folder of the project, or a file's extension.
    A bare name without either (``generated``, ``tests``) counts in code only: in prose it is a word."""
    if "://" in token or token.startswith(("/", "$", "-", "@")) or not PATH_TOKEN.match(token):
        return False
    name = token.rstrip("/")
    extension = name.rsplit(".", 1)[1] if "." in name.rsplit("/", 1)[-1] else ""
    if "/" in name:
        return name.split("/")[0] in TEMPLATE_TOPS | {"reports", ".venv"} or extension in FILE_EXTENSIONS
    if token.endswith("/"):
        return name in TEMPLATE_TOPS | {"reports", ".venv"}  # a folder: generated/
    if name == f".{extension}" and extension in FILE_EXTENSIONS:
        return False  # an extension alone: "tideways-report.md, .json and .html"
    if name not in TEMPLATE_PATHS and name.split(".")[0] in modules:
        return False  # a module: lxml.html
    if extension in FILE_EXTENSIONS or name.startswith(".") or name == "Dockerfile":
        return True
    return code and (name in TEMPLATE_PATHS or name in RUN_MADE)


class Checker:
    """Collects what a bake's texts name that the bake does not have, one line each."""

    def __init__(self, project: BakedProject, answers: dict, locust: dict) -> None:
        self.project = project
        self.locust = locust
        self.variables = variables_read(project, locust)
        self.source = Path(answers.get("api_description") or "").name
        readme = CODE_BLOCK.sub("", project.read("README.md"))
        self.headings = [line.lstrip("#").strip() for line in readme.splitlines() if re.match(r"^#{1,6} ", line)]
        self.problems: list[str] = []
        self.section = ""  # the README section being read, for another deployment's files its own part names

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    def path(self, where: str, token: str, text: str = "") -> None:
        relative = token.rstrip("/")
        if re.search(rf"`{re.escape(relative)}` of the `\w+` deployment", text):
            return  # another answer's file, named as that answer's: "the `Dockerfile` of the `docker` deployment"
        if any(character in relative for character in "*?"):
            exists = any(self.project.path.glob(relative))
        else:
            exists = (self.project.path / relative).exists()
        made = any(fnmatch.fnmatch(relative, pattern) for pattern in RUN_MADE)
        if not (exists or made or relative in EXAMPLES or relative == self.source):
            self.problem(where, f"names {token}, which this bake does not have")

    def module(self, where: str, name: str, run: bool) -> None:
        """``python -m name`` (``run``) or ``import name``: the project's, or the baked virtualenv's."""
        parts = name.split(".")
        base = self.project.path.joinpath(*parts)
        found = base.with_suffix(".py").is_file() or (base / ("__main__.py" if run else "__init__.py")).is_file()
        if found:
            return
        if parts[0] in PROJECT_MODULES or parts[0] not in self.locust["modules"]:
            self.problem(where, f"names the module {name}, which this bake does not have")

    def variable(self, where: str, name: str) -> None:
        if name not in self.variables:
            self.problem(where, f"names {name}, which nothing in this bake reads")

    def conf_key(self, where: str, key: str) -> None:
        """A ``locust.conf`` key is a long option without its dashes; ``app-login*`` a prefix of some."""
        flags = self.locust["flags"]
        found = any(flag.startswith(f"--{key[:-1]}") for flag in flags) if key.endswith("*") else f"--{key}" in flags
        if not found:
            self.problem(where, f"names the locust.conf key {key}, which is no Locust option")

    def reference(self, where: str, section: str) -> None:
        if not any(heading.startswith(section.strip()) for heading in self.headings):
            self.problem(where, f'refers to the README section "{section}", which this README does not have')

    def prose(self, where: str, text: str, paths_only: bool = False, code: bool = False, paths: bool = True) -> None:
        """Comments and the words around code: the files they name, and variables, modules, sections."""
        for token in tokens_of(text) if paths else []:
            if looks_like_path(token, self.locust["modules"], code):
                self.path(where, token, self.section if paths_only else "")
        if paths_only:
            return
        for name in VARIABLE.findall(text):
            self.variable(where, name)
        for module in PYTHON_M.findall(text):
            self.module(where, module, run=True)
        for section in README_REFERENCE.findall(text) + SEE_REFERENCE.findall(text):
            self.reference(where, section)
        for key in CONF_POSSESSIVE.findall(text) + CONF_KEY_IN.findall(text):
            self.conf_key(where, key)
        for key in CONF_WORD_IN.findall(text):
            if key not in NO_KEY:
                self.conf_key(where, key)

    def command(self, where: str, line: str, python: bool = False) -> None:
        """A line of a README's code: its files, and the modules, targets and flags it runs."""
        self.prose(where, line, code=True)
        words = line.split()
        while words and re.match(r"^[A-Z_]+=", words[0]):
            words = words[1:]  # VARIABLE=value before the command
        if words and words[0] == "locust":
            for word in words:
                flag = word.split("=", 1)[0]
                if flag.startswith("--") and flag not in self.locust["flags"] and flag != "--help":
                    self.problem(where, f"runs locust {flag}, which is no Locust option")
        for target in MAKE.findall(line):
            makefile = self.project.path / "Makefile"
            if not makefile.is_file() or not re.search(rf"^{re.escape(target)}:", makefile.read_text(), re.M):
                self.problem(where, f"runs make {target}, which this bake has no target for")
        match = IMPORT.match(line) if python else None
        if match:
            self.module(where, match[1] or match[2], run=False)

    def markdown(self, name: str, text: str) -> None:
        for heading, section in markdown_sections(text):
            where = f"{name} ({heading or 'title'})"
            self.section = section
            words = INLINE_CODE.sub(" ", CODE_BLOCK.sub(" ", section))
            if heading.startswith(DEPLOYMENT_SECTION):
                lines, spans = markdown_code(section)
                self.prose(where, words, paths_only=True)
                for line in [*lines, *spans]:
                    self.prose(where, line, paths_only=True, code=True)
                continue
            self.prose(where, words)
            for variable in VARIABLE.findall(section):
                self.variable(where, variable)
            for key in CONF_POSSESSIVE.findall(section) + CONF_KEY_IN.findall(section):
                self.conf_key(where, key)
            for block in re.finditer(r"^[ \t]*```([\w-]*)\n(.*?)^[ \t]*```", section, re.MULTILINE | re.DOTALL):
                for line in block[2].splitlines():
                    self.command(where, line, python=block[1] == "python")
            for span in markdown_code(section)[1]:
                self.command(where, span)
                if re.fullmatch(r"[a-z][a-z0-9-]* = .*", span):
                    self.conf_key(where, span.split(" =")[0])
        self.section = ""


def check_names(project: BakedProject, answers: dict, locust: dict, hook_output: str) -> list[str]:
    """What this bake's READMEs, settings, comments and hook messages name that it does not have."""
    checker = Checker(project, answers, locust)
    for path in project.files():
        relative = str(path.relative_to(project.path))
        if relative.startswith(("tests/", "generated/")):
            continue  # the baked tests' own helpers and fixtures; the generated users, data of the description
        if path.suffix == ".md":
            checker.markdown(relative, path.read_text(encoding="utf-8"))
            continue
        paths_only = relative in DEPLOYMENT_FILES
        # The runtime packages are the same in every bake (copied, not rendered): their comments say what
        # the code does wherever it runs, so only the variables, modules and README sections they name count.
        paths = not relative.startswith(RUNTIME_PACKAGES)
        if path.suffix == ".py" or path.suffix in COMMENTED or path.name in COMMENTED or path.name == "Dockerfile":
            for number, comment in comments_of(path):
                checker.prose(f"{relative}:{number}", comment, paths_only, paths=paths)
    for number, line in enumerate(project.read(".env.example").splitlines(), 1):
        assigned = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if assigned:
            checker.variable(f".env.example:{number}", assigned[1])
    for key in CONF_LINE.findall(project.read("locust.conf")):
        checker.conf_key("locust.conf", key)
    for number, line in enumerate(hook_output.splitlines(), 1):
        checker.command(f"the hooks' output, line {number}", line)
    return list(dict.fromkeys(checker.problems))


def parse_problems(project: BakedProject) -> list[str]:
    """YAML and JSON that does not parse, and template syntax left in a text file."""
    found = []
    for path in project.files():
        relative = path.relative_to(project.path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        try:
            if path.suffix in (".yml", ".yaml"):
                yaml.safe_load(text)
            elif path.suffix == ".json":
                json.loads(text)
        except (yaml.YAMLError, ValueError) as error:
            found.append(f"{relative}: does not parse: {error}")
        if relative.parts[0] in ("api", "generated"):
            continue  # the description's own strings, baked as data
        if ".github" in relative.parts:
            text = GITHUB_EXPRESSION.sub("", text)  # ${{ ... }} is GitHub's own syntax
        if path.suffix != ".j2" and TEMPLATE_SYNTAX.search(text):  # .j2: the report's own Jinja page
            found.append(f"{relative}: template syntax left")
    return found


# ---------------------------------------------------------------------------------------------
# Each answer changes the project, or the hooks say why not


def expected_warnings(answers: dict) -> list[str]:
    """The beginnings of the lines the hooks print for answers the bake has nothing to change with."""
    if answers["schedule"] and answers["ci"] == "gitlab":
        return [f"WARNING: schedule: {answers['schedule']!r} is not baked into .gitlab-ci.yml: "]
    if answers["schedule"] and answers["ci"] == "both":
        return [f"WARNING: schedule: {answers['schedule']!r} is baked into the GitHub workflow only: "]
    return []


def answer_problems(project: BakedProject, combination: dict, answers: dict) -> list[str]:
    """Answers that left no trace in the project."""
    found = []
    conf = project.read("locust.conf").splitlines()
    readme = project.read("README.md")
    if f"app-login = {answers['login']}" not in conf:
        found.append(f"login: locust.conf has no app-login = {answers['login']}")
    base = "FastHttpTidewaysUser" if answers["http_client"] == "FastHttpUser" else "HttpTidewaysUser"
    if not re.search(rf"^class \w+\({base}\):", project.read("locustfile.py"), re.MULTILINE):
        found.append(f"http_client: the users do not inherit {base}")
    project_line = f"tideways-project = {answers['tideways_project']}"
    if (project_line in conf) != bool(answers["tideways_project"]):
        found.append("tideways_project: locust.conf does not say it")
    if project.has_file("generated/api_users.py") != bool(answers["api_description"]):
        found.append("api_description: generated/api_users.py is not there as asked")
    copies = sorted(str(p.relative_to(project.path)) for p in (project.path / "api").glob("*"))
    copy = API_COPIES[combination["api_description"]]
    if copies != ([copy] if copy else []):
        found.append(f"api_description: the copies kept are {copies}, not {copy}")
    for question, chosen in (("ci", {"github": ".github", "gitlab": ".gitlab-ci.yml"}),
                             ("deployment", {"docker": "docker-compose.yml", "kubernetes": "kubernetes"})):  # fmt: skip
        for option, path in chosen.items():
            if (project.path / path).exists() != (answers[question] in (option, "both")):
                found.append(f"{question}: {path} is not there as asked")
    schedule, ci = answers["schedule"], answers["ci"]
    if ci in ("github", "both"):
        triggers = yaml.safe_load(project.read(".github/workflows/load-test.yml"))[True]
        if triggers.get("schedule") != ([{"cron": schedule}] if schedule else None):
            found.append("schedule: the GitHub workflow does not run on it")
    if ci in ("gitlab", "both") and schedule:
        gitlab = markdown_section(readme, "### GitLab CI")
        if f"`{schedule}`" not in gitlab or "Build > Pipeline schedules" not in gitlab:
            found.append("schedule: the README's GitLab CI does not say where the schedule goes")
        if schedule not in project.read(".gitlab-ci.yml"):
            found.append("schedule: .gitlab-ci.yml does not name it")
    return found


def markdown_section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of its level or above."""
    level = heading.split()[0]
    match = re.search(rf"^{re.escape(heading)}\n(.*?)(?=^#{{1,{len(level)}}} |\Z)", text, re.MULTILINE | re.DOTALL)
    return match[1] if match else ""


# ---------------------------------------------------------------------------------------------
# The template README's "What you get"


def what_you_get() -> dict[str, str]:
    """The paths of the template README's "What you get" tree, each with the words beside it."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    tree = CODE_BLOCK.findall(markdown_section(readme, "## What you get"))[0].splitlines()
    found, parents = {}, []
    for line in tree[1:]:  # the first line is the project's folder
        match = re.match(r"^([│├└─ ]*)(\S+)\s*(.*)$", line)
        if not match or not match[2][0].isalnum() and not match[2].startswith("."):
            if found and match:
                found[list(found)[-1]] += " " + match[3]  # a description's second line
            continue
        depth = len(match[1]) // 4 - 1
        parents[depth:] = [match[2].rstrip("/")]
        found["/".join(parents)] = match[3]
    return found


def tree_problems(project: BakedProject, combination: dict) -> list[str]:
    """What this bake holds that the template README's "What you get" does not list."""
    tree = what_you_get()
    found = []
    for path in sorted(project.path.iterdir()):
        if path.name not in tree and not any(name.startswith(f"{path.name}/") for name in tree):
            found.append(f"README.md (What you get) does not list {path.name}")
    for path in sorted(project.path.glob("tests/test_*.py")):
        if f"tests/{path.name}" not in tree:
            found.append(f"README.md (What you get) does not list tests/{path.name}")
    copy = API_COPIES[combination["api_description"]]
    if copy and copy not in tree:
        found.append(f"README.md (What you get) does not list {copy}, the copy of a {combination['api_description']}")
    return found


# ---------------------------------------------------------------------------------------------
# The tests


def test_the_combinations_hold_every_pair_of_answers():
    assert len(COMBINATIONS) < len(FACTORS["login"]) * len(FACTORS["api_description"]) + 10, "a small set"
    for (first, firsts), (second, seconds) in itertools.combinations(FACTORS.items(), 2):
        baked = {(c[first], c[second]) for c in COMBINATIONS}
        missing = set(itertools.product(firsts, seconds)) - baked
        assert not missing, f"{first} and {second}: {sorted(missing)} never baked together"
    # The same combinations in every interpreter, whatever its hash seed: the tests' ids stay put.
    again = subprocess.run(
        [sys.executable, "-c", "from tests.test_combinations import COMBINATIONS as C; print(repr(C))"],
        cwd=REPO,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert again.stdout.strip() == repr(COMBINATIONS)


@pytest.mark.parametrize("combination", COMBINATIONS, ids=combination_id)
def test_each_combination_bakes_a_project_that_has_what_it_names(cookies, capfd, tmp_path, combination, locust_names):
    answers, problems = answers_of(combination), []
    if answers["schedule"] and answers["ci"] == "none":
        # No pipeline to run on a schedule: refused, with one line, and nothing written ...
        result = cookies.bake(extra_context=answers)
        errors = [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR: ")]
        refusal = (
            f"ERROR: schedule: {answers['schedule']!r} is not allowed: ci none bakes no pipeline to run on a "
            "schedule: leave it empty, or answer ci github, gitlab or both"
        )
        if not isinstance(result.exception, FailedHookException) or errors != [refusal]:
            problems.append(f"schedule with ci none: not refused with its one line, but {errors}")
        elif [p for p in (tmp_path / "cookies").rglob("*") if p.is_file()]:
            problems.append("schedule with ci none: refused, and files left on disk")
        # ... and the other answers bake, and are checked, without it.
        answers["schedule"] = ""
    result = cookies.bake(extra_context=answers)
    output = capfd.readouterr()
    assert result.exception is None, output.err
    assert result.exit_code == 0
    project = BakedProject(Path(result.project_path), result.context)
    warnings = [line for line in (output.out + output.err).splitlines() if line.startswith("WARNING: ")]
    expected = expected_warnings(answers)
    if len(warnings) != len(expected) or not all(w.startswith(e) for w, e in zip(warnings, expected, strict=False)):
        problems.append(f"the hooks' warnings are {warnings}, not {expected}")
    problems += (
        parse_problems(project)
        + check_names(project, answers, locust_names, output.out + output.err)
        + answer_problems(project, combination, answers)
        + tree_problems(project, combination)
    )
    assert not problems, "\n".join(problems)


def test_what_you_get_lists_only_what_bakes_hold(cookies):
    """Each path in the template README's tree is in a bake: everything chosen, or each description."""
    baked: set[str] = set()
    for extra in [
        {"ci": "both", "deployment": "both", "login": "form", "api_description": "openapi-json"},
        {"api_description": "openapi-yaml"},
        {"api_description": "har"},
    ]:
        result = cookies.bake(extra_context=answers_of(extra))
        assert result.exit_code == 0, result.exception
        root = Path(result.project_path)
        baked |= {str(path.relative_to(root)) for path in root.rglob("*")}
    assert sorted(set(what_you_get()) - baked) == []


def test_an_unused_endpoints_answer_is_said_and_the_default_is_not(cookies, capfd):
    """With an API description the users come from it: an endpoints answer of one's own gets one line."""
    document = str(DOCUMENTS / "shop-3.0.yaml")
    result = cookies.bake(extra_context={"api_description": document, "endpoints": "GET /only, POST /cart x2"})
    assert result.exit_code == 0, result.exception
    warnings = [line for line in capfd.readouterr().err.splitlines() if line.startswith("WARNING: ")]
    assert warnings == [
        "WARNING: endpoints: 'GET /only, POST /cart x2' is not used: the users come from api_description "
        "(shop-3.0.yaml); leave endpoints at its default, or api_description empty"
    ]
    result = cookies.bake(extra_context={"api_description": document})
    assert result.exit_code == 0, result.exception
    assert "WARNING: " not in capfd.readouterr().err
