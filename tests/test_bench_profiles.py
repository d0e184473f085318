"""``make bench``'s reading of py-spy's raw profiles: the runtime's own lines, and what grows beside plain Locust."""

from __future__ import annotations

import pytest

from bench.profiles import diff_profiles, runtime_source, summarize_profile

USER = "run (locust/user/users.py:174);request (tideways_locust/tracing.py:186)"
RAW_PROFILE = "\n".join(
    [
        f"{USER};request (locust/clients.py:200);recv (gevent/_socket3.py:10) 80",
        f"{USER};prepare (tideways_locust/tracing.py:150);header (tideways_locust/signing.py:71);"
        "digest (hmac.py:200) 15",
        f"{USER} 5",
        "Hub.run (gevent/hub.py:647) 100",
        "a line py-spy did not write",
    ]
)
PLAIN_PROFILE = "\n".join(
    [
        "run (locust/user/users.py:174);request (locust/clients.py:200);recv (gevent/_socket3.py:10) 90",
        "Hub.run (gevent/hub.py:647) 110",
    ]
)


def test_profiles_count_only_the_runtimes_own_work():
    source = {module: [f"{module} line {n}" for n in range(1, 200)] for module in ("tracing.py", "signing.py")}
    summary = summarize_profile(RAW_PROFILE, source)
    assert summary["samples"] == 200
    assert summary["wrapped_share"] == pytest.approx(0.4)  # Locust's request under the wrapper
    assert summary["runtime_share"] == pytest.approx(0.1)
    top = summary["lines"][0]
    assert (top["module"], top["function"], top["line"], top["code"], top["calls"]) == (
        "signing.py",
        "header",
        71,
        "signing.py line 71",
        "digest (hmac.py)",
    )
    assert top["share"] == pytest.approx(0.075)
    assert summary["functions"]["request"] == pytest.approx(0.1)


def test_the_runtimes_modules_are_read_by_their_path_inside_the_package(tmp_path):
    package = tmp_path / "tideways_locust"
    (package / "logins").mkdir(parents=True)
    (package / "tracing.py").write_text("a = 1\nb = 2\n")
    (package / "logins" / "flows.py").write_text("c = 3\n")
    assert runtime_source(tmp_path) == {"logins/flows.py": ["c = 3"], "tracing.py": ["a = 1", "b = 2"]}
    summary = summarize_profile("run (locust/x.py:1);f (tideways_locust/logins/flows.py:1) 4", runtime_source(tmp_path))
    assert summary["lines"][0]["module"] == "logins/flows.py" and summary["lines"][0]["code"] == "c = 3"


def test_growth_per_request_is_a_share_of_the_samples_times_the_cpu_per_request():
    diff = diff_profiles(PLAIN_PROFILE, RAW_PROFILE, base_us=100.0, other_us=110.0)
    growth = {row["function"]: row for row in diff["growth"]}
    # the runtime and what calls it (the task loop) are left out of the inclusive list
    assert not [name for name in growth if "tideways_locust" in name or name.startswith("run (")]
    hub = growth["Hub.run (gevent/hub.py)"]
    assert hub["base_us"] == pytest.approx(110 / 200 * 100.0) and hub["other_us"] == pytest.approx(100 / 200 * 110.0)
    own = {row["function"]: row for row in diff["own_growth"]}
    assert own["digest (hmac.py:200)"] == {"function": "digest (hmac.py:200)", "base_us": 0.0,
                                           "other_us": pytest.approx(15 / 200 * 110.0)}  # fmt: skip
    assert diff_profiles("", RAW_PROFILE, 100.0, float("nan"))["growth"] == []
