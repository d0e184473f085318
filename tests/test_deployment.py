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
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

DOCKER_FILES = {"Dockerfile", ".dockerignore", "docker-compose.yml"}
KUBERNETES_FILES = {"kubernetes/values.yaml"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CHART = "oci://ghcr.io/deliveryhero/helm-charts/locust --version 0.33.0"
DOCUMENTS = Path(__file__).resolve().parent / "api_documents"


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
                    "mount_external_secret": OBJECT,
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


def test_compose_runs_a_master_with_the_key_and_workers_that_scale(bake):
    services = load_yaml(bake(deployment="docker"), "docker-compose.yml")["services"]
    master, worker = services["master"], services["worker"]
    assert master["build"] == worker["build"] == "."
    assert master["command"].split() == ["--master"]
    assert master["ports"] == ["127.0.0.1:8089:8089"], "the web UI, on the machine that runs compose"
    assert [env_file["path"] for env_file in master["env_file"]] == [".env"]
    assert worker["command"].split() == ["--worker", "--master-host", "master"]
    # Scaling needs no fixed name or host port; the key reaches workers from the master only.
    assert not {"container_name", "ports", "env_file", "environment"} & set(worker)
    assert "deploy" not in worker


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


def test_helm_values_validate_against_the_chart_values(bake, tmp_path):
    project = bake(deployment="kubernetes")
    result = check_jsonschema(
        "--schemafile", str(values_schema(tmp_path)), str(project.path / "kubernetes/values.yaml")
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("environment_external_secret:", "environment_external_secrets:"),
        ("replicas: 2", "replicas: two"),
        ("headless: false", "headless: maybe"),
        ("      - LOCUST_TIDEWAYS_APIKEY", "      - LOCUST TIDEWAYS APIKEY"),
    ],
)
def test_the_values_check_refuses_misspelt_or_mistyped_values(bake, tmp_path, old, new):
    project = bake(deployment="kubernetes")
    text = project.read("kubernetes/values.yaml")
    assert old in text
    broken = tmp_path / "values.yaml"
    broken.write_text(text.replace(old, new))
    result = check_jsonschema("--schemafile", str(values_schema(tmp_path)), str(broken))
    assert result.returncode != 0, result.stdout


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
    requirements = [line for line in project.read("requirements.txt").splitlines() if line.strip()]
    assert loadtest["pip_packages"] == [line for line in requirements if not line.startswith("locust==")]
    assert loadtest["environment_external_secret"] == {"shop-load-test-tideways": ["LOCUST_TIDEWAYS_APIKEY"]}
    assert "environment_secret" not in loadtest, "it renders a Secret from the values: the key would be in the repo"
    assert loadtest["environment"] == {
        "PYTHONPATH": "/mnt/locust/lib/tideways_locust.zip",
        "LOCUST_TIDEWAYS_TRACE_RATE": "0.5",
        "LOCUST_USERS": "25",
        "LOCUST_SPAWN_RATE": "5",
        "LOCUST_RUN_TIME": "2m",
    }
    assert loadtest["locust_host"] == "https://shop.example.com"
    assert f"{loadtest['locust_locustfile_path']}/{loadtest['locust_locustfile']}" == "/mnt/locust/locustfile.py"
    assert values["worker"]["replicas"] >= 1


def test_readme_creates_what_the_values_name(bake):
    project = bake(deployment="kubernetes")
    loadtest = load_yaml(project, "kubernetes/values.yaml")["loadtest"]
    readme = project.read("README.md")
    [secret] = loadtest["environment_external_secret"]
    assert f"kubectl create secret generic {secret} --from-env-file=.env\n" in readme
    assert f"kubectl create configmap {loadtest['locust_locustfile_configmap']} $(" in readme
    assert f"kubectl create configmap {loadtest['locust_lib_configmap']} --from-file=tideways_locust.zip\n" in readme
    install = f"helm install {loadtest['name']} {CHART} -f kubernetes/values.yaml"
    assert install in readme and install in project.read("kubernetes/values.yaml")


KUBECTL_STUB = '''\
"""kubectl for the README's Kubernetes steps: lays out each ConfigMap it is asked to create
(its files, keyed as kubectl keys them) under $CONFIGMAPS/create/NAME, or with
--dry-run=client (the update commands) under $CONFIGMAPS/update/NAME; anything else
(the Secret, apply, rollout, port-forward) does nothing, and an option it does not know fails."""
import os
import shutil
import sys
from pathlib import Path

args = sys.argv[1:]
if args[:2] != ["create", "configmap"]:
    sys.exit(0)
name, *options = args[2:]
phase = "update" if "--dry-run=client" in options else "create"
folder = Path(os.environ["CONFIGMAPS"], phase, name)
folder.mkdir(parents=True)  # a ConfigMap created twice in one block is an error too
options = iter(options)
for option in options:
    if option == "--dry-run=client":
        continue
    if option == "-o":
        assert next(options) == "yaml", "the update commands pipe YAML to kubectl apply"
        continue
    if not option.startswith("--from-file="):
        sys.exit(f"kubectl stub: {option} is not understood")
    key, _, path = option.removeprefix("--from-file=").rpartition("=")
    source = Path(path)
    # A folder gives its regular files, not its subfolders: a ConfigMap holds no folders.
    for file in sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else [source]:
        shutil.copyfile(file, folder / (key or file.name))
'''


def kubernetes_blocks(readme: str) -> list[str]:
    """The shell blocks of the README's Kubernetes section that create ConfigMaps: the first
    step and the update after a change."""
    section = readme.split("\n### Kubernetes\n", 1)[1].split("\n### ", 1)[0]
    return [block for block in re.findall(r"^```sh\n(.*?)^```$", section, re.M | re.S) if "create configmap" in block]


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


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param({}, id="endpoints"),
        pytest.param({"api_description": str(DOCUMENTS / "catalog-3.1.json"), "login": "token"}, id="openapi"),
        pytest.param(
            {"api_description": str(DOCUMENTS / "session.har"), "host": "https://shop.example.com", "login": "form"},
            id="har",
        ),
    ],
)
def test_the_configmaps_carry_every_module_the_locustfile_imports_and_never_env(bake, baked_python, tmp_path, answers):
    """The README's kubectl commands, run as written (a stub kubectl records the ConfigMaps
    they create), laid out as the chart mounts them: the locustfile's ConfigMap at
    /mnt/locust, the lib ConfigMap at /mnt/locust/lib, PYTHONPATH from the values; then
    Locust started as the pods start it must import every module and list the users."""
    project = bake(deployment="kubernetes", **answers)
    secrets = ("not-a-real-key", "not-a-real-password")
    (project.path / ".env").write_text(f"LOCUST_TIDEWAYS_APIKEY={secrets[0]}\n")
    (project.path / "accounts.csv").write_text(f"someone@example.com,{secrets[1]}\n")
    stubs, configmaps = tmp_path / "bin", tmp_path / "configmaps"
    stubs.mkdir()
    (stubs / "kubectl").write_text(f"#!{sys.executable}\n{KUBECTL_STUB}")
    (stubs / "helm").write_text("#!/bin/sh\nexit 0\n")
    for stub in stubs.iterdir():
        stub.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "PYTHON", "VIRTUAL_ENV"))}
    # The README's python is the project's, with its requirements installed.
    env |= {"PATH": os.pathsep.join([str(stubs), str(baked_python.parent), env["PATH"]]), "CONFIGMAPS": str(configmaps)}
    blocks = kubernetes_blocks(project.read("README.md"))
    assert len(blocks) == 2, "the first step and the update after a change"
    for block in blocks:
        ran = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=project.path, env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert ran.returncode == 0, ran.stdout + ran.stderr

    values = load_yaml(project, "kubernetes/values.yaml")["loadtest"]
    root = values["locust_locustfile_path"]
    mounts = {values["locust_locustfile_configmap"]: root, values["locust_lib_configmap"]: f"{root}/lib"}
    created = {path.name: configmap_files(path) for path in (configmaps / "create").iterdir()}
    updated = {path.name: configmap_files(path) for path in (configmaps / "update").iterdir()}
    assert set(created) == set(mounts), "the ConfigMaps the chart mounts, and no other"
    assert updated == created, "the update commands replace the ConfigMaps with what the first step made"
    assert set(created[values["locust_locustfile_configmap"]]) == {path.name for path in project.path.glob("*.py")}
    for name, contents in created.items():
        for file, content in contents.items():
            assert Path(file).name not in {".env", "accounts.csv"}, f"{file} in the ConfigMap {name}"
            assert not any(secret.encode() in content for secret in secrets), f"a secret in {name}: {file}"
        size = sum(path.stat().st_size for path in (configmaps / "create" / name).iterdir())
        assert size * 4 / 3 < 512 * 1024, f"{name}: half a ConfigMap's 1 MiB at most, base64-encoded"

    filesystem = tmp_path / "pod"  # the pod's /, where the chart mounts the ConfigMaps
    for name, mount in mounts.items():
        shutil.copytree(configmaps / "create" / name, filesystem / mount.lstrip("/"))
    pythonpath = [str(filesystem) + entry for entry in values["environment"]["PYTHONPATH"].split(":")]
    assert all(Path(entry).exists() for entry in pythonpath), pythonpath
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "PYTHON"))}
    env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    env.update({key: str(value) for key, value in values["environment"].items() if key.startswith("LOCUST_")})
    locustfile = filesystem / root.lstrip("/") / values["locust_locustfile"]
    listed = subprocess.run([str(baked_python), "-m", "locust", "-f", str(locustfile), "--list"],
                            cwd=filesystem, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "ShopLoadTestUser" in listed.stdout


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
