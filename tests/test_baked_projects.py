"""Each distinct kind of baked project passes its own test suite (slow: real Locust runs).

A project whose users come from an API description differs from the others only in its
users and the importer, so it runs the tests of those: the rest of its suite is the same.
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO, BakedProject
from tests.test_bake import HOSTILE_ENDPOINTS

EVERYTHING: list[str] = []
USERS_AND_IMPORTER = [
    "tests/test_api_import.py",
    "tests/test_load_test.py::test_locust_in_the_project_root_finds_the_users_and_loads_dotenv",
]

DISTINCT_PROJECTS = [
    pytest.param({}, EVERYTHING, id="defaults-httpuser"),
    pytest.param(
        {
            "http_client": "FastHttpUser",
            "endpoints": f"{HOSTILE_ENDPOINTS}, DELETE /cart/{{item}} x2",
            "wait_time": "0",
            "tideways_project": "Acme Inc/shop-staging",
            "tideways_environment": "staging",
        },
        EVERYTHING,
        id="fasthttpuser-hostile-endpoints-tideways-project",
    ),
    pytest.param(
        {"api_description": str(REPO / "tests" / "api_documents" / "catalog-3.1.json")},
        USERS_AND_IMPORTER,
        id="users-from-an-openapi-document",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("answers", "tests"), DISTINCT_PROJECTS)
def test_baked_project_passes_its_own_tests(cookies_session, baked_python, answers, tests):
    result = cookies_session.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    project = BakedProject(result.project_path, result.context)
    run = project.run(str(baked_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]
    assert " passed" in run.stdout.splitlines()[-1]
