"""Each distinct kind of baked project passes its own test suite (slow: real Locust runs)."""

from __future__ import annotations

import pytest

from tests.conftest import BakedProject
from tests.test_bake import HOSTILE_ENDPOINTS

DISTINCT_PROJECTS = [
    pytest.param({}, id="defaults-httpuser"),
    pytest.param(
        {
            "http_client": "FastHttpUser",
            "endpoints": f"{HOSTILE_ENDPOINTS}, DELETE /cart/{{item}} x2",
            "wait_time": "0",
            "tideways_project": "Acme Inc/shop-staging",
            "tideways_environment": "staging",
        },
        id="fasthttpuser-hostile-endpoints-tideways-project",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("answers", DISTINCT_PROJECTS)
def test_baked_project_passes_its_own_tests(cookies_session, baked_python, answers):
    result = cookies_session.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    project = BakedProject(result.project_path, result.context)
    run = project.run(str(baked_python), "-m", "pytest", "-q", "-p", "no:cacheprovider")
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]
    assert " passed" in run.stdout.splitlines()[-1]
