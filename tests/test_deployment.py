"""Distributed-run files: which `deployment` answer bakes them, and the real validators on them.

There is no Docker engine or cluster here, so the checks are static:
check-jsonschema with the Compose specification for ``docker-compose.yml``,
and with a schema of the deliveryhero ``locust`` chart's values for
``kubernetes/values.yaml`` (the chart publishes none, and kubernetes-validate
only knows Kubernetes' own kinds, which the chart renders in the cluster).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from scripts import processes
from scripts.demo import load_target_module
from tests.conftest import REPO

DOCKER_FILES = {"Dockerfile", ".dockerignore", "docker-compose.yml"}
KUBERNETES_FILES = {"kubernetes/values.yaml"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CHART = "oci://ghcr.io/deliveryhero/helm-charts/locust --version 0.33.0"
DOCUMENTS = Path(__file__).resolve().parent / "api_documents"
TEMPLATE = REPO / "{{cookiecutter.project_slug}}"
TARGET = load_target_module(TEMPLATE)  # the baked checking target, for its log reader


def _object(properties: dict | None = None, **extra) -> dict:
    """A JSON Schema object; with ``properties``, no other key is allowed (a misspelt value is an error)."""
    if properties is None:
        return {"type": "object", **extra}
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


STRING, BOOLEAN, LIST = {"type": "string"}, {"type": "boolean"}, {"type": "array"}
INTEGER, OBJECT, STRINGS = {"type": "integer", "minimum": 0}, _object(), {"type": "array", "items": {"type": "string"}}
NULLABLE_STRING = {"type": ["string", "null"]}
ENV_NAME = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}
K8S_NAME = {"type": "string", "pattern": DNS_LABEL.pattern, "maxLength": 63}
ENVIRONMENT = _object(additionalProperties={"type": "string"}, propertyNames=ENV_NAME)
# A key of a Secret, and a file name where the chart mounts it (Kubernetes' IsConfigMapKey).
SECRET_KEY = {"type": "string", "pattern": r"^[-._a-zA-Z0-9]+$", "not": {"enum": [".", ".."]}, "maxLength": 253}
IMAGE = _object({"repository": NULLABLE_STRING, "tag": NULLABLE_STRING, "pullPolicy": STRING})
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
POD = {
    "affinity": OBJECT,
    "args": STRINGS,
    "command": STRINGS,
    "deploymentAnnotations": OBJECT,
    "environment": ENVIRONMENT,
    "envs_include_default": BOOLEAN,
    "image": STRING,
    "logLevel": {"enum": ["INFO", "DEBUG"]},
    "nodeSelector": OBJECT,
    "pdb": _object({"enabled": BOOLEAN}),
    "replicas": INTEGER,
    "resources": OBJECT,
    "restartPolicy": {"enum": ["Always", "OnFailure", "Never"]},
    "serviceAccountAnnotations": OBJECT,
    "strategy": OBJECT,
    "tolerations": LIST,
    "extraVolumes": {"type": "array", "items": _object(required=["name"])},
    "extraVolumeMounts": {"type": "array", "items": _object(required=["name", "mountPath"])},
}

# The values of the deliveryhero "locust" chart 0.33.0 that the baked file may set,
# from the chart's table of values (name and type); sections not used here stay open.
CHART_VALUES_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "deliveryhero/locust 0.33.0 values",
    **_object(
        {
            "loadtest": _object(
                {
                    "enabled": BOOLEAN,
                    "name": K8S_NAME,
                    "locust_host": {"type": "string", "pattern": r"^https?://\S+$"},
                    "locust_locustfile": STRING,
                    "locust_locustfile_path": {"type": "string", "pattern": r"^/.*[^/]$"},
                    "locust_locustfile_configmap": K8S_NAME,
                    "locust_lib_configmap": K8S_NAME,
                    "locustCmd": STRING,
                    "pip_packages": STRINGS,
                    "environment": ENVIRONMENT,
                    "environment_secret": ENVIRONMENT,
                    "environment_external_secret": _object(
                        additionalProperties={"type": "array", "items": ENV_NAME, "minItems": 1},
                        propertyNames=K8S_NAME,
                    ),
                    # The chart's projected volume: each key of each Secret a file in mountPath.
                    "mount_external_secret": _object(
                        {
                            "mountPath": {"type": "string", "pattern": r"^/.*[^/]$"},
                            "files": _object(
                                additionalProperties={"type": "array", "items": SECRET_KEY, "minItems": 1},
                                propertyNames=K8S_NAME,
                            ),
                        },
                        required=["mountPath", "files"],
                    ),
                    "headless": BOOLEAN,
                    "tags": STRING,
                    "excludeTags": STRING,
                }
            ),
            "image": IMAGE,
            "images": OBJECT,
            "master": _object({**POD, "auth": OBJECT, "extraPorts": {}, **dict.fromkeys(PROBES, OBJECT)}),
            "worker": _object({**POD, "hpa": OBJECT, "keda": OBJECT}),
            "locustfiles": OBJECT,
            "service": OBJECT,
            "ingress": OBJECT,
            "extraConfigMaps": OBJECT,
            "extraLabels": OBJECT,
            "extraObjects": LIST,
            "hostAliases": LIST,
            "imagePullSecrets": LIST,
            "nameOverride": STRING,
            "fullnameOverride": STRING,
            "nodeSelector": OBJECT,
            "tolerations": LIST,
            "affinity": OBJECT,
            "podSecurityContext": OBJECT,
            "securityContext": OBJECT,
        }
    ),
}


def check_jsonschema(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", *args], capture_output=True, text=True, timeout=120
    )


def locust_pin(project) -> str:
    match = re.search(r"^locust==(\S+)$", project.read("requirements.txt"), re.MULTILINE)
    assert match, "requirements.txt pins Locust"
    return match[1]


def load_yaml(project, name: str) -> dict:
    return yaml.safe_load(project.read(name))


def values_schema(tmp_path: Path) -> Path:
    path = tmp_path / "chart-values.schema.json"
    path.write_text(json.dumps(CHART_VALUES_SCHEMA))
    return path


@pytest.mark.parametrize(
    ("deployment", "expected"),
    [
        ("docker", DOCKER_FILES),
        ("kubernetes", KUBERNETES_FILES),
        ("both", DOCKER_FILES | KUBERNETES_FILES),
        ("none", set()),
    ],
)
def test_the_deployment_answer_bakes_its_files_and_readme_sections(bake, deployment, expected):
    project = bake(deployment=deployment)
    assert {name for name in DOCKER_FILES | KUBERNETES_FILES if project.has_file(name)} == expected
    assert project.has_file("tests/test_distributed.py")
    readme = project.read("README.md")
    assert "## Distributed runs" in readme and "locust --processes -1" in readme
    assert "locust --worker --master-host MASTER_ADDRESS" in readme
    assert ("### Docker Compose" in readme) == ("Dockerfile" in expected)
    assert ("### Kubernetes" in readme) == ("kubernetes/values.yaml" in expected)


def test_compose_file_validates_against_the_compose_spec(bake):
    project = bake(deployment="docker")
    result = check_jsonschema("--builtin-schema", "vendor.compose-spec", str(project.path / "docker-compose.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_spec_check_refuses_a_broken_file(bake, tmp_path):
    project = bake(deployment="docker")
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(project.read("docker-compose.yml").replace("depends_on:", "depends_onn:"))
    result = check_jsonschema("--builtin-schema", "vendor.compose-spec", str(broken))
    assert result.returncode != 0
    assert "depends_onn" in result.stdout + result.stderr


# The runtime's --load-* options as LOCUST_* variables (tideways_locust/profiles/options.py), in its order.
LOAD_OPTIONS = (TEMPLATE / "tideways_locust" / "profiles" / "options.py").read_text()
LOAD_FLAGS = re.findall(r'^\s*\(?\s*"--(load-[a-z-]+)",', LOAD_OPTIONS, re.MULTILINE)
LOAD_VARIABLES = ["LOCUST_" + flag.upper().replace("-", "_") for flag in LOAD_FLAGS]


def compose_variables(service: dict) -> dict[str, str | None]:
    """A service's ``environment`` as a mapping: NAME=VALUE entries, and None for a NAME alone
    (passed on from the shell or .env when set there)."""
    entries = service.get("environment", [])
    if isinstance(entries, dict):
        return {name: None if value is None else str(value) for name, value in entries.items()}
    return {name: value if equals else None for name, equals, value in (e.partition("=") for e in entries)}


LOGIN_VARIABLES = {
    "none": {},
    "form": {
        "LOGIN_ACCOUNTS_FILE": "/run/secrets/accounts.csv",
        "LOGIN_ACCOUNTS": "${LOGIN_ACCOUNTS:-}",
        "LOGIN_USERNAME": "${LOGIN_USERNAME:-}",
        "LOGIN_PASSWORD": "${LOGIN_PASSWORD:-}",
    },
    "bearer": {"LOGIN_TOKEN": "${LOGIN_TOKEN:-}"},
}


@pytest.mark.parametrize("login", ["none", "form", "token", "bearer", "basic"])
def test_compose_runs_a_master_with_the_key_and_workers_that_scale(bake, login):
    """Each service gets from .env only what its role needs, by name (no env_file: it would hand a
    container every variable of .env): the master the key, the workers the logins' secrets."""
    compose = load_yaml(bake(deployment="docker", login=login), "docker-compose.yml")
    services = compose["services"]
    master, worker = services["master"], services["worker"]
    assert master["build"] == worker["build"] == "."
    assert master["command"].split() == ["--master"]
    assert master["ports"] == ["127.0.0.1:8089:8089"], "the web UI, on the machine that runs compose"
    assert "env_file" not in master and "env_file" not in worker
    assert compose_variables(master) == {
        "LOCUST_TIDEWAYS_APIKEY": "${LOCUST_TIDEWAYS_APIKEY:-}",
        "LOCUST_HTML": "reports/report.html",
        "LOCUST_CSV": "reports/stats",
        "LOCUST_HEADLESS": None,
        "LOCUST_EXPECT_WORKERS": None,
        **dict.fromkeys(LOAD_VARIABLES),
    }
    assert master["volumes"] == ["./reports:/home/locust/reports"], "the master's reports, on the host"
    assert master["stop_signal"] == "SIGINT", "Locust writes its HTML report on SIGINT, not on SIGTERM"
    assert worker["command"].split() == ["--worker", "--master-host", "master"]
    # Scaling needs no fixed name or host port; the key reaches workers from the master only.
    assert not {"container_name", "ports", "volumes"} & set(worker)
    assert "deploy" not in worker
    variables = LOGIN_VARIABLES["form" if login in ACCOUNT_LOGINS else login]
    assert compose_variables(worker) == variables
    assert ("environment" in worker) == bool(variables), "no login, no environment"
    if login in ACCOUNT_LOGINS:
        assert worker["secrets"] == ["accounts.csv"]
        assert compose["secrets"] == {"accounts.csv": {"file": "${LOGIN_ACCOUNTS_FILE:-accounts.csv}"}}
    else:
        assert "secrets" not in worker and "secrets" not in compose


def test_dockerfile_base_image_tag_is_the_pinned_locust(bake):
    project = bake(deployment="docker")
    lines = [line.strip() for line in project.read("Dockerfile").splitlines()]
    assert [line for line in lines if line.startswith("FROM ")] == [f"FROM locustio/locust:{locust_pin(project)}"]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions.index("COPY --chown=locust requirements.txt ./") < instructions.index(
        "RUN pip install --no-cache-dir --disable-pip-version-check -r requirements.txt"
    )
    assert instructions[-1] == "COPY --chown=locust . ./"


def test_dockerignore_keeps_the_key_out_and_the_test_in(bake):
    project = bake(deployment="docker")
    patterns = [line.strip() for line in project.read(".dockerignore").splitlines() if line.strip() and line[0] != "#"]
    assert ".env" in patterns and "accounts.csv" in patterns and not [p for p in patterns if p.startswith("!")]
    needed = [
        "locustfile.py",
        "tideways_locust/__init__.py",
        "tideways_locust/tracing.py",
        "locust.conf",
        "requirements.txt",
    ]
    for name in needed:
        assert project.has_file(name)
        assert not [p for p in patterns if fnmatch(name, p)], f"{name} goes into the image"


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param({}, id="no-login"),
        pytest.param({"login": "form"}, id="accounts"),
        pytest.param({"login": "bearer", "deployment": "both"}, id="bearer-both"),
    ],
)
def test_helm_values_validate_against_the_chart_values(bake, tmp_path, answers):
    project = bake(**{"deployment": "kubernetes", **answers})
    result = check_jsonschema(
        "--schemafile", str(values_schema(tmp_path)), str(project.path / "kubernetes/values.yaml")
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_helm_values_show_where_a_load_profile_goes_and_it_validates_there(bake, tmp_path):
    """The profile runs on the master: its commented LOCUST_LOAD_PROFILE, uncommented, is valid values
    and lands in the master's environment alone (locust.conf holds every profile's settings)."""
    assert LOAD_VARIABLES[0] == "LOCUST_LOAD_PROFILE" and len(LOAD_VARIABLES) == 11, LOAD_VARIABLES
    project = bake(deployment="kubernetes")
    text = project.read("kubernetes/values.yaml")
    commented = "    # LOCUST_LOAD_PROFILE: steps\n"
    assert text.count(commented) == 1
    picked = tmp_path / "values.yaml"
    picked.write_text(text.replace(commented, commented.replace("# ", "")))
    result = check_jsonschema("--schemafile", str(values_schema(tmp_path)), str(picked))
    assert result.returncode == 0, result.stdout + result.stderr
    values = yaml.safe_load(picked.read_text())
    assert values["master"]["environment"] == {"LOCUST_HTML": "reports/report.html", "LOCUST_LOAD_PROFILE": "steps"}
    assert "environment" not in values["worker"], "the workers get it from the master"
    assert re.search(r"^load-start = 10$", project.read("locust.conf"), re.M), "steps' settings are in locust.conf"


@pytest.mark.parametrize(
    ("login", "old", "new"),
    [
        ("none", "environment_external_secret:", "environment_external_secrets:"),
        ("none", "replicas: 2", "replicas: two"),
        ("none", "headless: false", "headless: maybe"),
        ("none", "      - LOCUST_TIDEWAYS_APIKEY", "      - LOCUST TIDEWAYS APIKEY"),
        ("form", "mount_external_secret:", "mount_external_secrets:"),
        ("form", "    mountPath: /mnt/logins", "    mountpath: /mnt/logins"),
        ("form", "    mountPath: /mnt/logins", "    mountPath: mnt/logins"),
        ("form", "        - accounts.csv", "        - accounts/csv"),
        ("none", "  extraVolumeMounts:", "  extraVolumeMount:"),
        ("none", "    - name: reports\n      mountPath:", "    - nam: reports\n      mountPath:"),
        ("none", "    - --config=/mnt/locust/locust.conf", "    - 3"),
    ],
)
def test_the_values_check_refuses_misspelt_or_mistyped_values(bake, tmp_path, login, old, new):
    project = bake(deployment="kubernetes", login=login)
    text = project.read("kubernetes/values.yaml")
    assert old in text
    broken = tmp_path / "values.yaml"
    broken.write_text(text.replace(old, new))
    result = check_jsonschema("--schemafile", str(values_schema(tmp_path)), str(broken))
    assert result.returncode != 0, result.stdout


def requirement_lines(project) -> list[str]:
    """The requirements of ``requirements.txt``, without its comments."""
    lines = (line.split("#", 1)[0].strip() for line in project.read("requirements.txt").splitlines())
    return [line for line in lines if line]


def test_helm_values_take_the_key_from_a_secret_and_run_the_pinned_locust(bake):
    project = bake(
        deployment="kubernetes",
        host="https://shop.example.com/",
        trace_rate="0.5",
        users="25",
        spawn_rate="5",
        run_time="2m",
    )
    values = load_yaml(project, "kubernetes/values.yaml")
    loadtest = values["loadtest"]
    assert values["image"] == {"repository": "locustio/locust", "tag": locust_pin(project)}
    requirements = requirement_lines(project)
    assert loadtest["pip_packages"] == [line for line in requirements if not line.startswith("locust==")]
    assert loadtest["environment_external_secret"] == {"shop-load-test-tideways": ["LOCUST_TIDEWAYS_APIKEY"]}
    assert "environment_secret" not in loadtest, "it renders a Secret from the values: the key would be in the repo"
    assert "mount_external_secret" not in loadtest, "no logins, no accounts"
    # The settings are in locust.conf, in the ConfigMap with the test: none of them twice.
    assert loadtest["environment"] == {"PYTHONPATH": "/mnt/locust/lib/tideways_locust.zip"}
    conf = "/mnt/locust/locust.conf"
    assert values["master"]["args"] == values["worker"]["args"] == [f"--config={conf}"]
    assert f"{loadtest['locust_locustfile_path']}/locust.conf" == conf, "where the chart mounts the ConfigMap"
    assert values["master"]["environment"] == {"LOCUST_HTML": "reports/report.html"}
    assert values["master"]["extraVolumes"] == [{"name": "reports", "emptyDir": {}}]
    assert values["master"]["extraVolumeMounts"] == [{"name": "reports", "mountPath": "/home/locust/reports"}]
    assert re.search(r"^tideways-run-file = reports/", project.read("locust.conf"), re.MULTILINE)
    assert loadtest["locust_host"] == "https://shop.example.com"
    assert re.search(r"^host = https://shop\.example\.com$", project.read("locust.conf"), re.MULTILINE)
    assert f"{loadtest['locust_locustfile_path']}/{loadtest['locust_locustfile']}" == "/mnt/locust/locustfile.py"
    assert values["worker"]["replicas"] >= 1


ACCOUNT_LOGINS = ("form", "token", "basic")


@pytest.mark.parametrize("login", ["none", "form", "token", "bearer", "basic"])
def test_helm_values_take_the_logins_from_a_secret_and_the_login_settings_from_locust_conf(bake, login):
    """The pods have no accounts.csv: the values give them the accounts (or the token) from the
    Secret NAME-logins, never in the file; how the users log in is locust.conf's, in the ConfigMap."""
    project = bake(deployment="kubernetes", login=login)
    loadtest = load_yaml(project, "kubernetes/values.yaml")["loadtest"]
    environment = loadtest["environment"]
    secrets = {"shop-load-test-tideways": ["LOCUST_TIDEWAYS_APIKEY"]}
    if login == "bearer":
        secrets["shop-load-test-logins"] = ["LOGIN_TOKEN"]
    assert loadtest["environment_external_secret"] == secrets
    if login in ACCOUNT_LOGINS:
        mount = {"mountPath": "/mnt/logins", "files": {"shop-load-test-logins": ["accounts.csv"]}}
        assert loadtest["mount_external_secret"] == mount
        assert environment["LOGIN_ACCOUNTS_FILE"] == "/mnt/logins/accounts.csv", "the mounted file"
    else:
        assert "mount_external_secret" not in loadtest
    logins = {name for name in environment if name.startswith("LOGIN_")}
    assert logins == ({"LOGIN_ACCOUNTS_FILE"} if login in ACCOUNT_LOGINS else set()), "a path, never a secret"
    conf = dict(re.findall(r"^(app-login[\w-]*) = (.*)$", project.read("locust.conf"), re.MULTILINE))
    assert conf["app-login"] == login
    assert not [name for name in environment if name.startswith("LOCUST_")], "locust.conf's, not twice"


def test_readme_creates_what_the_values_name(bake):
    project = bake(deployment="kubernetes")
    loadtest = load_yaml(project, "kubernetes/values.yaml")["loadtest"]
    readme = project.read("README.md")
    [secret] = loadtest["environment_external_secret"]
    # Only the key of .env: not the report's token nor a login's secret, which no pod needs.
    key_only = f"kubectl create secret generic {secret} --from-env-file=/dev/stdin\n"
    assert f"grep '^LOCUST_TIDEWAYS_APIKEY=' .env | {key_only}" in readme
    assert f"kubectl create configmap {loadtest['locust_locustfile_configmap']} $(" in readme
    assert f"kubectl create configmap {loadtest['locust_lib_configmap']} --from-file=tideways_locust.zip\n" in readme
    install = f"helm install {loadtest['name']} {CHART} -f kubernetes/values.yaml"
    assert install in readme and install in project.read("kubernetes/values.yaml")


KUBECTL_STUB = '''\
"""kubectl for the README's Kubernetes steps: lays out each ConfigMap it is asked to create
(its files, keyed as kubectl keys them) under $CONFIGMAPS/create/NAME, and each generic Secret
(a file a key) under $SECRETS/create/NAME, or with --dry-run=client (the update commands)
under .../update/NAME; anything else (apply, rollout, port-forward) does nothing, and an
option it does not know fails."""
import os
import re
import shutil
import sys
from pathlib import Path

args = sys.argv[1:]
if args[:2] == ["create", "configmap"]:
    root, (name, *options) = os.environ["CONFIGMAPS"], args[2:]
elif args[:3] == ["create", "secret", "generic"]:
    root, (name, *options) = os.environ["SECRETS"], args[3:]
else:
    sys.exit(0)
phase = "update" if "--dry-run=client" in options else "create"
folder = Path(root, phase, name)
folder.mkdir(parents=True)  # an object created twice in one block is an error too


def add(key, data):
    # Kubernetes' IsConfigMapKey, and kubectl refuses a key given twice.
    assert re.fullmatch(r"[-._a-zA-Z0-9]+", key) and key not in (".", ".."), f"{key!r} is not a valid key"
    assert not (folder / key).exists(), f"the key {key} twice"
    (folder / key).write_bytes(data)


def env_file(path):
    # kubectl's env files: KEY=VALUE lines, taken as they are; blank lines and # comments skipped.
    for number, line in enumerate(Path(path).read_bytes().decode("utf-8").splitlines()):
        line = (line.removeprefix("\\ufeff") if number == 0 else line).lstrip()
        if line and not line.startswith("#"):
            key, equals, value = line.partition("=")
            assert re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", key), f"{key!r} is not a valid key name"
            add(key, (value if equals else os.environ.get(key, "")).encode())


options = iter(options)
for option in options:
    if option == "--dry-run=client":
        continue
    if option == "-o":
        assert next(options) == "yaml", "the update commands pipe YAML to kubectl apply"
        continue
    if option.startswith("--from-env-file=") and root == os.environ["SECRETS"]:
        env_file(option.removeprefix("--from-env-file="))
        continue
    if not option.startswith("--from-file="):
        sys.exit(f"kubectl stub: {option} is not understood")
    key, _, path = option.removeprefix("--from-file=").rpartition("=")
    source = Path(path)
    # A folder gives its regular files, not its subfolders: a ConfigMap holds no folders.
    for file in sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else [source]:
        add(key or file.name, file.read_bytes())
'''


def kubernetes_blocks(readme: str) -> list[str]:
    """The shell blocks of the README's Kubernetes section that create ConfigMaps or Secrets: the
    first step, the update after a change and, with logins, the update of their Secret."""
    section = readme.split("\n### Kubernetes\n", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, re.M | re.S)
    return [block for block in blocks if re.search(r"^[^#\n]*\bkubectl create (configmap|secret) ", block, re.M)]


def configmap_files(folder: Path) -> dict[str, bytes]:
    """Every file of a laid-out ConfigMap, and every member of a zip in it, with its content."""
    contents = {}
    for path in sorted(folder.iterdir()):
        contents[path.name] = path.read_bytes()
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    if not member.is_dir():
                        contents[f"{path.name}/{member.filename}"] = archive.read(member)
    return contents


def secret_keys(folder: Path) -> dict[str, dict[str, bytes]]:
    """Each laid-out Secret under ``folder``: its keys and their values."""
    if not folder.is_dir():
        return {}
    return {secret.name: {key.name: key.read_bytes() for key in secret.iterdir()} for secret in folder.iterdir()}


SECRET_VALUES = {"key": "not-a-real-key", "password": "not-a-real-password", "token": "not-a-real-token"}
API_TOKEN = "not-a-real-api-token"  # the report's TIDEWAYS_API_TOKEN: on the machine that runs the report only
# The outer run's variables, which no pod or container has.
OUTER_VARIABLES = ("LOCUST_", "PYTHON", "VIRTUAL_ENV", "LOGIN_", "TIDEWAYS_")
ACCOUNTS = [("someone@example.com", "not-a-real-password"), ("another@example.com", "not-a-real-password-2")]
# Settings whose values are paths in the pod: re-rooted at the test's folder that stands for the pod's /.
POD_PATHS = ("PYTHONPATH", "LOGIN_ACCOUNTS_FILE")
# How the runtime's accounts look to a worker: tideways_locust.logins, a module or a package.
LOAD_ACCOUNTS = """
import importlib, json, pkgutil, sys
import tideways_locust.logins as logins
found = getattr(logins, "load_accounts", None)
for module in pkgutil.iter_modules(getattr(logins, "__path__", [])):
    found = found or getattr(importlib.import_module(f"{logins.__name__}.{module.name}"), "load_accounts", None)
print(json.dumps(found(sys.argv[1])))
"""


def pod_layout(values: dict, configmaps: Path, secrets: Path, filesystem: Path) -> dict[str, str]:
    """The pod's files as the chart mounts them under ``filesystem`` (its /): the locustfile's
    ConfigMap at locust_locustfile_path, the lib ConfigMap in its lib/, each key of
    mount_external_secret's Secrets in mountPath. Returns the variables the chart sets:
    loadtest.environment, and each key of environment_external_secret from its Secret."""
    root = values["locust_locustfile_path"]
    mounts = {values["locust_locustfile_configmap"]: root, values["locust_lib_configmap"]: f"{root}/lib"}
    for name, mount in mounts.items():
        shutil.copytree(configmaps / "create" / name, filesystem / mount.lstrip("/"))
    created = secret_keys(secrets / "create")
    mounted = values.get("mount_external_secret", {})
    for secret, keys in mounted.get("files", {}).items():
        for key in keys:
            assert key in created.get(secret, {}), f"the README creates the key {key} of the Secret {secret}"
            target = filesystem / mounted["mountPath"].lstrip("/") / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(created[secret][key])
    environment = {}
    for name, value in values["environment"].items():
        if name in POD_PATHS:
            value = os.pathsep.join(str(filesystem) + entry for entry in str(value).split(":"))
        else:
            assert not str(value).startswith(("/mnt", "/home", "/etc")), f"{name}: a pod path? see POD_PATHS"
        environment[name] = str(value)
    for secret, keys in values["environment_external_secret"].items():
        for key in keys:
            assert key in created.get(secret, {}), f"the README creates the key {key} of the Secret {secret}"
            environment[key] = created[secret][key].decode()
    return environment


@contextmanager
def login_target(python: Path, log: Path):
    """The baked checking target on 127.0.0.1 with the test's accounts and bearer token; its URL."""
    script = TEMPLATE / "tests" / "target.py"
    accounts = ",".join(f"{name}:{password}" for name, password in ACCOUNTS)
    command = [str(python), str(script), "--key", SECRET_VALUES["key"], "--log", str(log), "--accounts", accounts]
    process, url = processes.start_server([*command, "--bearer", SECRET_VALUES["token"]])
    try:
        yield url
    finally:
        processes.stop(process, timeout=30)


def target_records(log: Path) -> list[dict]:
    """The checking target's records so far, whole lines only (it may be writing one)."""
    return TARGET.read_log(log) if log.exists() else []


def logged_in_as(log: Path) -> set[str]:
    return {record["account"] for record in target_records(log) if record.get("account")}


def headless_run(python: Path, locustfile: Path, cwd: Path, env: dict, host: str, done, output: Path, args=()):
    """``locust --headless`` as a standalone pod process would run it (``args``: the values' own),
    stopped (SIGTERM, as the run time would) once ``done()``, or when Locust ends by itself. Its
    exit code and output."""
    command = [str(python), "-m", "locust", *args, "-f", str(locustfile), "--headless", "-u", "2", "-r", "10"]
    with output.open("w") as log:
        process = subprocess.Popen([*command, "-t", "60s", "--host", host], cwd=cwd, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while process.poll() is None and not done() and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None:
            process.terminate()
        code = process.wait(timeout=30)
    return code, output.read_text()


def run_readme_kubectl(project, login: str, python: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, str], str]:
    """The README's ConfigMap and Secret steps, run as written in ``project`` (with a .env of the
    test's key, and token for a bearer login, and an accounts.csv of ``ACCOUNTS``) by a stub kubectl
    that lays out what they create. Returns the ConfigMaps' and Secrets' folders, the environment
    without the outer run's variables, and the accounts.csv written."""
    # A .env as a user's: the key, the report's token, a setting for local runs, and the logins'.
    dotenv = f"LOCUST_TIDEWAYS_APIKEY={SECRET_VALUES['key']}\nTIDEWAYS_API_TOKEN={API_TOKEN}\n"
    dotenv += "LOCUST_TIDEWAYS_TRACE_RATE=0\n"
    if login == "bearer":
        dotenv += f"LOGIN_TOKEN={SECRET_VALUES['token']}\n"
    (project.path / ".env").write_text(dotenv)
    accounts_csv = "".join(f"{name},{password}\n" for name, password in ACCOUNTS)
    (project.path / "accounts.csv").write_text(accounts_csv)
    stubs, configmaps, secrets = tmp_path / "bin", tmp_path / "configmaps", tmp_path / "secrets"
    stubs.mkdir()
    (stubs / "kubectl").write_text(f"#!{sys.executable}\n{KUBECTL_STUB}")
    (stubs / "helm").write_text("#!/bin/sh\nexit 0\n")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    outer = {k: v for k, v in os.environ.items() if not k.startswith(OUTER_VARIABLES)}
    # The README's python is the project's, with its requirements installed.
    env = outer | {"PATH": os.pathsep.join([str(stubs), str(python.parent), outer["PATH"]])}
    env |= {"CONFIGMAPS": str(configmaps), "SECRETS": str(secrets)}
    blocks = kubernetes_blocks(project.read("README.md"))
    assert len(blocks) == (2 if login == "none" else 3), "the first step, the update after a change, the logins'"
    for block in blocks:
        ran = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=project.path, env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert ran.returncode == 0, ran.stdout + ran.stderr
    return configmaps, secrets, outer, accounts_csv


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param({}, id="endpoints"),
        pytest.param({"api_description": str(DOCUMENTS / "catalog-3.1.json"), "login": "token"}, id="openapi"),
        pytest.param(
            {"api_description": str(DOCUMENTS / "session.har"), "host": "https://shop.example.com", "login": "form"},
            id="har",
        ),
        pytest.param({"login": "bearer", "deployment": "both"}, id="bearer"),
    ],
)
def test_the_configmaps_carry_every_module_the_locustfile_imports_and_never_env(bake, baked_python, tmp_path, answers):
    """The README's kubectl commands, run as written (a stub kubectl records the ConfigMaps and
    Secrets they create), laid out as the chart mounts them: the locustfile's ConfigMap at
    /mnt/locust, the lib ConfigMap at /mnt/locust/lib, the logins' Secret where
    mount_external_secret says, PYTHONPATH and the Secrets' variables from the values; then
    Locust started as the pods start it must import every module and list the users, and with
    a login, a headless run there with the values' arguments (locust.conf from the ConfigMap)
    must log in with the Secret's accounts (or token), and stop at once because it needs them
    without it."""
    project = bake(**{"deployment": "kubernetes", **answers})
    login = answers.get("login", "none")
    configmaps, secrets, outer, accounts_csv = run_readme_kubectl(project, login, baked_python, tmp_path)

    chart_values = load_yaml(project, "kubernetes/values.yaml")
    values = chart_values["loadtest"]
    root = values["locust_locustfile_path"]
    mounts = {values["locust_locustfile_configmap"]: root, values["locust_lib_configmap"]: f"{root}/lib"}
    created = {path.name: configmap_files(path) for path in (configmaps / "create").iterdir()}
    updated = {path.name: configmap_files(path) for path in (configmaps / "update").iterdir()}
    assert set(created) == set(mounts), "the ConfigMaps the chart mounts, and no other"
    assert updated == created, "the update commands replace the ConfigMaps with what the first step made"
    test_files = {path.name for path in project.path.glob("*.py")} | {"locust.conf"}
    assert set(created[values["locust_locustfile_configmap"]]) == test_files, "the test and its settings"
    assert created[values["locust_locustfile_configmap"]]["locust.conf"] == project.read("locust.conf").encode()
    for name, contents in created.items():
        for file, content in contents.items():
            assert Path(file).name not in {".env", "accounts.csv"}, f"{file} in the ConfigMap {name}"
            secrets_of_env = (*SECRET_VALUES.values(), API_TOKEN)
            assert not any(secret.encode() in content for secret in secrets_of_env), f"a secret in {name}"
        size = sum(path.stat().st_size for path in (configmaps / "create" / name).iterdir())
        assert size * 4 / 3 < 512 * 1024, f"{name}: half a ConfigMap's 1 MiB at most, base64-encoded"

    made = secret_keys(secrets / "create")
    named = set(values["environment_external_secret"]) | set(values.get("mount_external_secret", {}).get("files", {}))
    assert set(made) == named, "the README creates the Secrets the values name, and no other"
    assert made["shop-load-test-tideways"] == {"LOCUST_TIDEWAYS_APIKEY": SECRET_VALUES["key"].encode()}, "the key only"
    if login in ACCOUNT_LOGINS:
        assert made["shop-load-test-logins"] == {"accounts.csv": accounts_csv.encode()}
    elif login == "bearer":
        assert made["shop-load-test-logins"] == {"LOGIN_TOKEN": SECRET_VALUES["token"].encode()}
    replaced = secret_keys(secrets / "update")
    assert all(replaced[name] == made[name] for name in replaced), "the logins' update makes the same Secret"
    assert set(replaced) == ({"shop-load-test-logins"} if login != "none" else set())
    values_text = project.read("kubernetes/values.yaml")
    assert not [secret for secret in (*SECRET_VALUES.values(), API_TOKEN) if secret in values_text], "no secret"

    filesystem = tmp_path / "pod"  # the pod's /, where the chart mounts the ConfigMaps and Secrets
    pod = pod_layout(values, configmaps, secrets, filesystem)
    pythonpath = pod["PYTHONPATH"].split(os.pathsep)
    assert all(Path(entry).exists() for entry in pythonpath), pythonpath
    env = outer | pod
    locustfile = filesystem / root.lstrip("/") / values["locust_locustfile"]
    listed = subprocess.run([str(baked_python), "-m", "locust", "-f", str(locustfile), "--list"],
                            cwd=filesystem, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "ShopLoadTestUser" in listed.stdout
    if login == "none":
        return

    # What a worker (or a standalone process) reads, in the pod with the Secret's file or variable.
    args = [arg.replace("=/", f"={filesystem}/") for arg in chart_values["worker"]["args"]]
    assert args == [f"--config={filesystem}{root}/locust.conf"], "the pods read locust.conf from the ConfigMap"
    conf = (filesystem / root.lstrip("/") / "locust.conf").read_text()
    assert re.search(rf"^app-login = {login}$", conf, re.MULTILINE), "the pods log in as locust.conf says"
    seen = subprocess.run([str(baked_python), "-c", LOAD_ACCOUNTS, login], cwd=filesystem, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert seen.returncode == 0, seen.stderr[-3000:]
    expected = [["", SECRET_VALUES["token"]]] if login == "bearer" else [list(account) for account in ACCOUNTS]
    assert json.loads(seen.stdout) == expected
    accounts = {"bearer"} if login == "bearer" else {name for name, _ in ACCOUNTS}
    log = tmp_path / "target.jsonl"
    with login_target(baked_python, log) as url:
        code, output = headless_run(baked_python, locustfile, filesystem, env, url,
                                    lambda: logged_in_as(log) >= accounts, tmp_path / "run.log", args)  # fmt: skip
        assert logged_in_as(log) == accounts, f"exit code {code}: {output[-3000:]}"
    assert " needs " not in output
    assert not any(secret in output for secret in SECRET_VALUES.values()), "no secret in Locust's output"

    # Without the Secret, the same run stops at once: it needs accounts (or the token).
    mounted = values.get("mount_external_secret", {})
    for key in mounted.get("files", {}).get("shop-load-test-logins", []):
        (filesystem / mounted["mountPath"].lstrip("/") / key).unlink()
    from_secret = values["environment_external_secret"].get("shop-load-test-logins", [])
    without = {name: value for name, value in env.items() if name not in from_secret}
    code, output = headless_run(baked_python, locustfile, filesystem, without, "http://127.0.0.1:9",
                                lambda: False, tmp_path / "without.log", args)  # fmt: skip
    assert code == 2 and f"--app-login {login} needs" in output, output[-3000:]


@pytest.mark.parametrize("slug", ["shop_load_test", "_weird__slug_", "x" * 90, "_"])
def test_kubernetes_names_are_dns_labels(bake, slug):
    project = bake(deployment="kubernetes", project_slug=slug)
    loadtest = load_yaml(project, "kubernetes/values.yaml")["loadtest"]
    names = [
        loadtest["name"],
        loadtest["locust_locustfile_configmap"],
        loadtest["locust_lib_configmap"],
        *loadtest["environment_external_secret"],
    ]
    for name in names:
        assert DNS_LABEL.fullmatch(name) and len(name) <= 63, name
    assert len(loadtest["name"]) <= 53, "a Helm release name"


def test_the_pinned_locust_is_the_one_the_runtime_is_tested_with(bake):
    project = bake()
    compat = (project.path / "tideways_locust" / "compat.py").read_text()
    assert f'TESTED = "{locust_pin(project)}"' in compat
