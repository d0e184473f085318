"""Each kind of baked project passes its own test suite out of the box (slow: real Locust runs).

The baked tests of the runtime start Locust in a folder without the project's
``locust.conf``, with made-up keys and accounts, so they do the same in every kind
of project; the tests marked ``project`` run the project's own files (its
``locust.conf`` and login, its users, those generated from an API description, its
images). The runtime and ``tests/`` are copied into a bake, not rendered (cookiecutter.json's
``_copy_without_render``), so the rest is the same code in every kind: the whole suite runs
once, with every default, and the ``project`` tests in every other kind: the other answers
together (FastHttpUser, hostile endpoints, a form login, both deployments and pipelines), each
``login``, users from an OpenAPI document and from a HAR recording, each ``deployment`` and
``ci``, combined so that each login meets each kind of users.
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO, BakedProject
from tests.test_bake import HOSTILE_ENDPOINTS

EVERYTHING: list[str] = []
PROJECT_TESTS = ["-m", "project"]
DOCUMENTS = REPO / "tests" / "api_documents"
OPENAPI = {"api_description": str(DOCUMENTS / "catalog-3.1.json")}
OPENAPI_YAML = {"api_description": str(DOCUMENTS / "shop-3.0.yaml")}
# A recording's requests to other hosts are left out: the host is the one it recorded.
HAR = {"api_description": str(DOCUMENTS / "session.har"), "host": "https://shop.example.com"}

KINDS = [
    pytest.param({}, EVERYTHING, id="defaults"),
    pytest.param(
        {
            "http_client": "FastHttpUser",
            "endpoints": f"{HOSTILE_ENDPOINTS}, DELETE /cart/{{item}} x2",
            "wait_time": "0",
            "login": "form",
            "deployment": "both",
            "ci": "both",
            "schedule": "0 3 * * 1",
            "tideways_project": "Acme Inc/shop-staging",
            "tideways_environment": "staging",
        },
        PROJECT_TESTS,
        id="fasthttpuser-hostile-endpoints-form-login-every-deployment-and-ci",
    ),
    pytest.param(
        {"login": "token", **OPENAPI, "deployment": "kubernetes", "ci": "gitlab"}, PROJECT_TESTS, id="token-openapi"
    ),
    pytest.param({"login": "bearer", **HAR, "deployment": "none", "ci": "none"}, PROJECT_TESTS, id="bearer-har"),
    pytest.param({"login": "basic", "http_client": "FastHttpUser", **OPENAPI_YAML}, PROJECT_TESTS, id="basic-openapi"),
    pytest.param({"login": "form", **OPENAPI, "http_client": "FastHttpUser"}, PROJECT_TESTS, id="form-openapi"),
    pytest.param({"login": "form", **HAR, "deployment": "kubernetes"}, PROJECT_TESTS, id="form-har"),
    pytest.param({"login": "token", **HAR, "http_client": "FastHttpUser"}, PROJECT_TESTS, id="token-har"),
    pytest.param({"login": "token", "deployment": "none", "ci": "gitlab"}, PROJECT_TESTS, id="token-endpoints"),
    pytest.param({"login": "bearer", "http_client": "FastHttpUser"}, PROJECT_TESTS, id="bearer-endpoints"),
    pytest.param({"login": "bearer", **OPENAPI_YAML, "ci": "both"}, PROJECT_TESTS, id="bearer-openapi"),
    pytest.param({"login": "basic", "deployment": "kubernetes", "ci": "none"}, PROJECT_TESTS, id="basic-endpoints"),
    pytest.param({"login": "basic", **HAR, "deployment": "both"}, PROJECT_TESTS, id="basic-har"),
    pytest.param({**OPENAPI, "http_client": "FastHttpUser", "deployment": "none"}, PROJECT_TESTS, id="none-openapi"),
    pytest.param({**HAR, "ci": "gitlab"}, PROJECT_TESTS, id="none-har"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("answers", "tests"), KINDS)
def test_baked_project_passes_its_own_tests(cookies_session, baked_python, answers, tests):
    result = cookies_session.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    project = BakedProject(result.project_path, result.context)
    run = project.run(str(baked_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]
    last = run.stdout.splitlines()[-1]
    assert " passed" in last and " failed" not in last and " error" not in last, last
