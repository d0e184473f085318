"""answers.py: how each answer is read and what is refused."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from answers import (
    LOAD_PROFILES,
    Endpoint,
    api_copy,
    check_host,
    check_wait_time,
    job_minutes,
    job_timeout_minutes,
    load_seconds,
    notes,
    other_profile_lines,
    parse_endpoints,
    problems,
    profile_settings,
    profile_spec,
    pyrepr,
    unchosen_paths,
)

DEFAULTS = {
    "project_name": "Shop load test",
    "project_slug": "shop_load_test",
    "host": "https://staging.example.com",
    "endpoints": "GET /, GET /products/{id} x3, POST /cart",
    "http_client": "HttpUser",
    "trace_rate": "1",
    "trace_coverage": "1",
    "tideways_project": "",
    "tideways_environment": "production",
    "users": "10",
    "spawn_rate": "2",
    "run_time": "1m",
    "wait_time": "1-3",
    "load_profile": "constant",
    "ci": "github",
    "regression_gate": "fail",
    "deployment": "docker",
}


def test_default_answers_have_no_problems():
    assert problems(DEFAULTS) == []


def test_endpoints_parse_method_path_weight_and_task_names():
    assert parse_endpoints("GET /, get /products/{id} x3, POST /cart\n/about, DELETE /cart X2") == [
        Endpoint("GET", "/", 1, "get_root"),
        Endpoint("GET", "/products/{id}", 3, "get_products_id"),
        Endpoint("POST", "/cart", 1, "post_cart"),
        Endpoint("GET", "/about", 1, "get_about"),
        Endpoint("DELETE", "/cart", 2, "delete_cart"),
    ]


def test_task_names_are_unique_python_names():
    names = [e.task_name for e in parse_endpoints("GET /a-b, GET /a_b, GET /a.b, GET /\u00e9t\u00e9, GET /9")]
    assert names == ["get_a_b", "get_a_b_2", "get_a_b_3", "get_t", "get_9"]
    assert all(name.isidentifier() for name in names)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "comma-separated endpoints"),
        ("GET", "start with '/'"),
        ("FETCH /x", "GET, POST"),
        ("GET products", "start with '/'"),
        ("GET /x x0", "from 1 to 1000"),
        ("GET /x x1001", "from 1 to 1000"),
        ("GET /x y3", "comma-separated endpoints"),
        ("GET /products/{id", "placeholders look like {name}"),
        ("GET /products/{1d}", "placeholders look like {name}"),
        ("GET /products/}", "placeholders look like {name}"),
    ],
)
def test_bad_endpoints_name_the_value_and_what_is_allowed(text, hint):
    found = problems({**DEFAULTS, "endpoints": text})
    assert len(found) == 1
    assert found[0].startswith("endpoints: ")
    assert hint in found[0]


def test_every_bad_endpoint_gets_its_own_line():
    found = problems({**DEFAULTS, "endpoints": "GET /ok, FETCH /a, GET b"})
    assert [line.split(":")[1].strip() for line in found] == ["'FETCH /a' is not allowed", "'GET b' is not allowed"]


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("project_name", "  ", "not empty"),
        ("project_name", "a\nb", "one line"),
        ("project_slug", "9shop", "Python name"),
        ("project_slug", "shop-test", "Python name"),
        ("project_slug", "class", "Python name"),
        ("host", "ftp://example.com", "http:// or https://"),
        ("host", "example.com", "http:// or https://"),
        ("host", "https://", "http:// or https://"),
        ("host", "https://exa mple.com", "http:// or https://"),
        ("host", "https://example.com:99999", "http:// or https://"),
        ("host", "https://example.com/?a=1", "without ?query"),
        ("http_client", "RequestsUser", "HttpUser or FastHttpUser"),
        ("trace_rate", "101", "0 to 100"),
        ("trace_rate", "-0.5", "0 to 100"),
        ("trace_rate", "half", "0 to 100"),
        ("trace_coverage", "-1", "0 to 1000"),
        ("trace_coverage", "2.5", "0 to 1000"),
        ("trace_coverage", "1001", "0 to 1000"),
        ("users", "0", "1 or more"),
        ("users", "2.5", "whole number"),
        ("spawn_rate", "0", "above 0"),
        ("run_time", "1 minute", "30s, 5m"),
        ("run_time", "", "30s, 5m"),
        ("run_time", "0s", "at least one second"),
        ("run_time", "0", "at least one second"),
        ("run_time", "0h0m", "at least one second"),
        ("wait_time", "3-1", "range like 1-3"),
        ("wait_time", "-1", "range like 1-3"),
        ("wait_time", "soon", "range like 1-3"),
        ("tideways_project", "acme", "ORGANIZATION/PROJECT"),
        ("tideways_project", "acme/shop/extra", "ORGANIZATION/PROJECT"),
        ("tideways_project", "https://app.tideways.io/o/acme/shop", "ORGANIZATION/PROJECT"),
        ("tideways_project", "acme/{{ 7*7 }}", "ORGANIZATION/PROJECT"),
        ("tideways_environment", "", "environment name"),
        ("tideways_environment", "prod uction", "environment name"),
    ],
)
def test_bad_answers_name_the_answer_the_value_and_what_is_allowed(name, value, hint):
    found = problems({**DEFAULTS, name: value})
    assert len(found) == 1, found
    assert found[0].startswith(f"{name}: {value!r} is not allowed")
    assert hint in found[0]


@pytest.mark.parametrize(
    "host",
    [
        "https://jane:s3cret-pw@staging.example.com",
        "https://token@staging.example.com",
        # Unencoded, these hide the userinfo from URL parsing (a bad port, a path): still never shown.
        "https://jane:s3cret/pw@staging.example.com",
        "https://jane:s3cret-pw#@staging.example.com",
    ],
)
def test_credentials_in_the_host_are_refused_without_echoing_them(host):
    found = problems({**DEFAULTS, "host": host})
    assert len(found) == 1 and found[0].startswith("host: a URL with user:password@ is not allowed"), found
    assert "LOGIN_USERNAME and LOGIN_PASSWORD in .env" in found[0]
    assert "s3cret" not in found[0] and "token@" not in found[0]


def test_login_is_one_of_the_flows():
    assert problems({**DEFAULTS, "login": "form"}) == []
    assert problems({**DEFAULTS, "login": "oauth"}) == [
        "login: 'oauth' is not allowed: none, form, token, bearer, basic"
    ]


def test_all_problems_are_reported_at_once():
    found = problems({**DEFAULTS, "host": "nope", "trace_rate": "500", "project_slug": "1"})
    assert [line.split(":")[0] for line in found] == ["project_slug", "host", "trace_rate"]


@pytest.mark.parametrize("value", ["0", "0.5", "1", "100"])
def test_trace_rate_takes_percentages_with_decimals(value):
    assert problems({**DEFAULTS, "trace_rate": value}) == []


def test_host_loses_its_trailing_slash():
    assert check_host("https://example.com/shop/") == "https://example.com/shop"


def test_wait_time_is_a_number_or_a_range():
    assert check_wait_time("2") == (2.0, 2.0)
    assert check_wait_time("0.5-1.5") == (0.5, 1.5)


@pytest.mark.parametrize("value", ["/", "/a'b", '/a"b', "/a\\b", "/\u00e9\u2028x", "/''' + x + '''", '/"""'])
def test_pyrepr_gives_a_literal_that_evaluates_back(value):
    literal = pyrepr(value)
    assert eval(literal, {"__builtins__": {}}) == value


@pytest.mark.parametrize(
    ("ci", "deployment", "removed"),
    [
        ("github", "docker", [".gitlab-ci.yml", "ci/gitlab-baseline.sh", "kubernetes"]),
        ("gitlab", "kubernetes", [".dockerignore", ".github", "Dockerfile", "docker-compose.yml"]),
        ("both", "both", []),
        (
            "none",
            "none",
            [".dockerignore", ".github", ".gitlab-ci.yml", "Dockerfile", "ci", "docker-compose.yml", "kubernetes"],
        ),
    ],
)
def test_unchosen_paths_are_the_files_of_options_not_chosen(ci, deployment, removed):
    assert unchosen_paths({**DEFAULTS, "ci": ci, "deployment": deployment}) == removed


@pytest.mark.parametrize("value", ["", "0 3 * * 1", "*/15 9-17 * * MON-FRI", "0,30 */2 1,15 jan-mar *", "5 4 31 12 6"])
def test_schedule_is_empty_or_five_cron_fields(value):
    assert problems({**DEFAULTS, "schedule": value}) == []


@pytest.mark.parametrize("value", ["daily", "0 3 * *", "0 3 * * 1 2", "0 3 * * 1; rm"])
def test_bad_schedules_are_refused(value):
    found = problems({**DEFAULTS, "schedule": value})
    assert len(found) == 1 and found[0].startswith(f"schedule: {value!r} is not allowed")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("99 3 * * *", "the minute '99' is not in 0-59"),
        ("0 24 * * *", "the hour '24' is not in 0-23"),
        ("0 3 0 * *", "the day of the month '0' is not in 1-31"),
        ("0 3 * 13 *", "the month '13' is not in 1-12 or JAN-DEC"),
        ("0 3 * * 7", "the day of the week '7' is not in 0-6 or SUN-SAT"),
        ("0 3 * * FUN", "the day of the week 'FUN' is not in 0-6 or SUN-SAT"),
        ("*/0 * * * *", "the minute '*/0' is not in 0-59"),
        ("30-10 * * * *", "the minute '30-10' is not in 0-59"),
    ],
)
def test_schedules_github_would_never_run_name_the_field(value, field):
    """A workflow with such a schedule bakes, and then never runs on it."""
    assert problems({**DEFAULTS, "schedule": value}) == [
        f"schedule: {value!r} is not allowed: {field}; "
        "empty, or five cron fields like '0 3 * * 1' (03:00 UTC on Mondays)"
    ]


def test_a_spawn_rate_too_slow_to_start_every_user_within_the_run_time_is_refused():
    found = problems({**DEFAULTS, "users": "100", "spawn_rate": "1", "run_time": "30s"})
    assert found == [
        "spawn_rate: '1' is not allowed: it starts 100 users in 100 s, longer than run_time '30s', so the run ends "
        "before all of them run: at least 3.334, or a longer run_time"
    ]
    assert problems({**DEFAULTS, "users": "100", "spawn_rate": "3.334", "run_time": "30s"}) == []
    assert problems({**DEFAULTS, "users": "60", "spawn_rate": "1", "run_time": "1m"}) == [], "exactly in time"


@pytest.mark.parametrize(("ci", "refused"), [("github", True), ("both", True), ("gitlab", False), ("none", False)])
def test_a_run_time_longer_than_a_github_hosted_job_is_refused_with_github(ci, refused):
    assert problems({**DEFAULTS, "ci": ci, "run_time": "5h40m"}) == []
    found = problems({**DEFAULTS, "ci": ci, "run_time": "5h41m"})
    expected = [
        "run_time: '5h41m' is not allowed: a GitHub-hosted job runs 6 hours at most, 20 minutes of them for "
        "installing, tests and the report: at most 5h40m with ci github or both"
    ]
    assert found == (expected if refused else [])


@pytest.mark.parametrize(("run_time", "minutes"), [("1s", 30), ("10m", 30), ("10m1s", 31), ("2h", 140), ("7200", 140)])
def test_a_jobs_timeout_is_the_run_time_and_twenty_minutes_at_least_thirty(run_time, minutes):
    assert job_timeout_minutes(run_time) == minutes


@pytest.mark.parametrize("question", ["ci", "deployment"])
def test_choice_answers_outside_their_options_are_refused(question):
    found = problems({**DEFAULTS, question: "jenkins"})
    assert found == [f"{question}: 'jenkins' is not allowed: " + found[0].split("allowed: ")[1]]
    assert "both or none" in found[0]


@pytest.mark.parametrize("value", ["fail", "warn", "off"])
def test_regression_gate_is_fail_warn_or_off(value):
    assert problems({**DEFAULTS, "regression_gate": value}) == []


@pytest.mark.parametrize("value", ["", "block", "Fail", "fail; rm -rf /"])
def test_other_regression_gates_are_refused_with_what_is_allowed(value):
    assert problems({**DEFAULTS, "regression_gate": value}) == [
        f"regression_gate: {value!r} is not allowed: fail, warn, off"
    ]


@pytest.mark.parametrize(
    ("ci", "gate", "said"), [("none", "warn", True), ("none", "fail", False), ("gitlab", "off", False)]
)
def test_a_regression_gate_without_a_pipeline_is_said_to_be_unused(ci, gate, said):
    found = notes({**DEFAULTS, "ci": ci, "regression_gate": gate})
    assert found == (
        [
            f"regression_gate: {gate!r} is not used: ci none bakes no pipeline to compare runs in; "
            "python -m tideways_locust.compare still compares runs by hand"
        ]
        if said
        else []
    )


@pytest.mark.parametrize("value", ["", "acme/shop", "Acme Inc/Shop 2", "acme.io/shop_v2-prod"])
def test_tideways_project_is_empty_or_organization_and_project(value):
    assert problems({**DEFAULTS, "tideways_project": value}) == []


SCHEDULE_IN_GITLAB = "GitLab keeps pipeline schedules in its UI, not in the repository; add it there, in Build > Pipeline schedules (README: GitLab CI)"  # noqa: E501


@pytest.mark.parametrize(
    ("ci", "refused", "said"),
    [
        ("github", False, []),
        ("both", False, [f"schedule: '0 3 * * 1' is baked into the GitHub workflow only: {SCHEDULE_IN_GITLAB}"]),
        ("gitlab", False, [f"schedule: '0 3 * * 1' is not baked into .gitlab-ci.yml: {SCHEDULE_IN_GITLAB}"]),
        ("none", True, []),
    ],
)
def test_a_schedule_without_github_is_said_or_refused(ci, refused, said):
    """GitHub Actions takes the schedule in its workflow; GitLab keeps schedules in its UI; no pipeline takes none."""
    found = problems({**DEFAULTS, "ci": ci, "schedule": "0 3 * * 1"})
    assert found == (
        [
            "schedule: '0 3 * * 1' is not allowed: ci none bakes no pipeline to run on a schedule: leave it empty, "
            "or answer ci github, gitlab or both"
        ]
        if refused
        else []
    )
    assert notes({**DEFAULTS, "ci": ci, "schedule": "0 3 * * 1"}) == said
    assert problems({**DEFAULTS, "ci": ci, "schedule": ""}) == [] and notes({**DEFAULTS, "ci": ci}) == []


def test_endpoints_of_ones_own_beside_an_api_description_are_said_to_be_unused():
    described = {**DEFAULTS, "api_description": "docs/openapi.yaml"}
    assert notes(described) == [], "the default endpoints say nothing"
    assert notes({**described, "endpoints": "GET /,GET /products/{id} x3 , POST /cart"}) == [], "the same endpoints"
    assert notes({**described, "endpoints": "GET /x"}) == [
        "endpoints: 'GET /x' is not used: the users come from api_description (openapi.yaml); "
        "leave endpoints at its default, or api_description empty"
    ]
    assert notes({**DEFAULTS, "endpoints": "GET /x"}) == [], "without a description they are the users"


DOCUMENTS = Path(__file__).resolve().parent / "api_documents"


@pytest.mark.parametrize(
    ("source", "copy"),
    [
        ("", ""),
        (str(DOCUMENTS / "catalog-3.1.json"), "api/openapi.json"),
        (str(DOCUMENTS / "shop-3.0.yaml"), "api/openapi.yaml"),
        (str(DOCUMENTS / "pets-swagger-2.0.yaml"), "api/openapi.yaml"),
        (str(DOCUMENTS / "session.har"), ""),
        ("https://shop.example.com/openapi.yml?v=2", "api/openapi.yml"),
        ("https://shop.example.com/docs", "api/openapi.json"),
        ("https://shop.example.com/session.har", ""),
    ],
)
def test_the_copy_a_bake_keeps_is_named_as_the_importer_names_it(source, copy):
    assert api_copy(source) == copy


def test_a_recording_is_told_by_its_contents_not_its_name(tmp_path):
    recording = tmp_path / "session.json"
    recording.write_text((DOCUMENTS / "session.har").read_text())
    assert api_copy(str(recording)) == ""


@pytest.mark.parametrize(
    ("profile", "seconds", "minutes"),
    [("constant", 60, 30), ("ramp", 150, 30), ("steps", 300, 30), ("spike", 60, 30), ("soak", 60, 30),
     ("breakpoint", 1200, 40)],
)  # fmt: skip
def test_each_profile_lasts_what_its_settings_say_and_the_job_waits_for_it(profile, seconds, minutes):
    answers = {**DEFAULTS, "load_profile": profile}
    assert problems(answers) == []
    assert load_seconds(answers) == seconds and job_minutes(answers) == minutes


def test_an_unknown_profile_is_refused_with_the_six():
    assert problems({**DEFAULTS, "load_profile": "wave"}) == [
        "load_profile: 'wave' is not allowed: constant, ramp, steps, spike, soak, breakpoint"
    ]


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"load_profile": "spike", "run_time": "2s"}, "('0s' is not allowed: give --load-spike-at as a time span"),
        ({"load_profile": "breakpoint", "users": "10000"}, "('200000' is not allowed: give --load-max as users"),
    ],
)
def test_a_profile_its_answers_cannot_run_is_refused_by_the_runtimes_own_rule(answers, reason):
    found = problems({**DEFAULTS, **answers})
    assert len(found) == 1 and found[0].startswith(f"load_profile: {answers['load_profile']!r} is not allowed: ")
    assert reason in found[0] and found[0].endswith("another users or run_time, or another profile")


def test_a_profile_longer_than_a_github_hosted_job_is_refused_by_its_name():
    found = problems({**DEFAULTS, "load_profile": "breakpoint", "users": "1", "run_time": "1m"})
    assert found == []
    long = {**DEFAULTS, "load_profile": "ramp", "run_time": "5h40m"}
    assert problems(long) == [
        "load_profile: 'ramp' is not allowed: a GitHub-hosted job runs 6 hours at most, 20 minutes of them for "
        "installing, tests and the report: at most 5h40m with ci github or both"
    ]
    assert problems({**long, "ci": "gitlab"}) == []


def test_a_spawn_rate_is_not_held_against_a_profile_that_sets_its_own_users():
    assert problems({**DEFAULTS, "load_profile": "steps", "spawn_rate": "0.01"}) == []


def test_the_answers_profiles_are_the_runtimes():
    assert LOAD_PROFILES == profile_spec().PROFILES
    choices = json.loads((REPO / "cookiecutter.json").read_text())
    assert choices["load_profile"] == list(LOAD_PROFILES), "the first is the default"
    assert set(choices["__prompts__"]["load_profile"]) == {"__prompt__", *LOAD_PROFILES}


def conf_settings(lines: list[str]) -> dict[str, str]:
    """The ``key = value`` lines that are not commented out, as option names: ``load_max``."""
    return {
        key.strip().replace("-", "_"): value.strip()
        for key, _, value in (line.partition(" = ") for line in lines)
        if value and not key.startswith("#")
    }


def picked(answers: dict, settings: dict[str, str], profile: str):
    """The profile Locust builds from ``settings`` when LOCUST_LOAD_PROFILE (or a pipeline) picks ``profile``."""
    names = ("load_rate", "load_stages", "load_start", "load_step", "load_step_time", "load_max",
             "load_base", "load_peak", "load_spike_at", "load_spike_for")  # fmt: skip
    options = SimpleNamespace(
        load_profile=profile,
        num_users=int(answers["users"]),
        spawn_rate=float(answers["spawn_rate"]),
        run_time=60.0 * int(answers["run_time"].removesuffix("m")),
        **{name: settings.get(name, "") for name in names},
    )
    return profile_spec().build(options)


@pytest.mark.parametrize("answered", LOAD_PROFILES)
def test_locust_conf_holds_every_profiles_settings_so_any_can_be_picked(answered):
    """The pipelines' load_profile and LOCUST_LOAD_PROFILE offer all six: each runs on what locust.conf holds."""
    answers = {**DEFAULTS, "load_profile": answered, "run_time": "6m"}
    lines = [f"{key} = {value}" for key, value in profile_settings(answers)] + other_profile_lines(answers)
    settings = conf_settings(lines)
    assert len(settings) == len([line for line in lines if not line.startswith("#")]), "no setting twice"
    for profile in LOAD_PROFILES:
        built = picked(answers, settings, profile)
        assert (built is None) == (profile == "constant"), profile
        if built is not None:
            assert built.name == profile and built.unit == "users", built
    # A soak keeps its own windows (a twelfth of run-time) unless the answer is steps or breakpoint.
    assert ("load_step_time" in settings) == (answered in ("steps", "breakpoint"))
    assert picked(answers, settings, "steps").seconds <= (20 if answered == "breakpoint" else 5) * 60


def test_a_profile_the_answers_cannot_run_is_written_commented_out_with_why():
    """run_time 2s leaves no room for a spike: its lines are comments, the other profiles still run."""
    answers = {**DEFAULTS, "users": "1", "spawn_rate": "1", "run_time": "2s"}
    assert problems(answers) == [], "the answered profile, constant, runs"
    lines = other_profile_lines(answers)
    spike = lines[lines.index("# spike: five times the users a third into run-time, for a sixth of it") + 1 :]
    assert spike[0].startswith("# It cannot run with these users and run-time: '0s' is not allowed")
    assert spike[1:] == ["# load-base = 1", "# load-peak = 5", "# load-spike-at = 0s", "# load-spike-for = 0s"]
    assert "load-stages = 1m:1, 2s:1, 30s:0" in lines and "load-max = 5" in lines


@pytest.mark.parametrize("profile", LOAD_PROFILES)
def test_each_profile_bakes_its_locust_conf_and_the_others_settings(cookies, profile):
    result = cookies.bake(extra_context={"load_profile": profile, "run_time": "6m", "ci": "both"})
    assert result.exception is None and result.exit_code == 0, result.exception
    conf = (Path(result.project_path) / "locust.conf").read_text().splitlines()
    assert conf.count(f"load-profile = {profile}") == 1
    answers = {**DEFAULTS, "load_profile": profile, "run_time": "6m"}
    own = [f"{key} = {value}" for key, value in profile_settings(answers)]
    assert conf[conf.index(f"load-profile = {profile}") + 1 :][: len(own)] == own, "its own settings first"
    for line in other_profile_lines(answers):
        assert line in conf
    settings = conf_settings(conf)
    for other in LOAD_PROFILES:
        picked(answers, settings, other)  # raises ProfileError if locust.conf could not run it


REPO = Path(__file__).resolve().parents[1]


def cookiecutter_cli(tmp_path: Path, *args: str, out: str = "out") -> subprocess.CompletedProcess:
    """cookiecutter with a config of the test's own (its replay file in tmp_path/replay), output in tmp_path/out."""
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(json.dumps({"replay_dir": str(tmp_path / "replay"), "cookiecutters_dir": str(tmp_path / "cc")}))
    env = {k: v for k, v in os.environ.items() if k not in ("COOKIECUTTER_CONFIG", "VIRTUAL_ENV")}
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--config-file", str(config), "-o", str(tmp_path / out), *args],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, env=env,
    )  # fmt: skip


def test_an_unknown_profile_on_the_command_line_is_refused_before_anything_is_written(tmp_path):
    """Cookiecutter itself refuses a value outside a choice's options, before the hooks and before it
    writes anything: its one line names the value and the six (after a traceback, as for ci or deployment)."""
    result = cookiecutter_cli(tmp_path, "--no-input", str(REPO), "load_profile=wave")
    assert result.returncode != 0
    said = [line for line in result.stderr.splitlines() if "wave" in line]
    assert said == [
        "ValueError: wave provided for choice variable load_profile, but the choices are "
        "['constant', 'ramp', 'steps', 'spike', 'soak', 'breakpoint']."
    ], result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "replay").exists()


@pytest.mark.parametrize(
    ("answers", "refusal"),
    [
        ({"load_profile": "wave"}, "load_profile: 'wave' is not allowed: constant, ramp, steps, spike, soak, "),
        (
            {"load_profile": "spike", "run_time": "1s"},
            "load_profile: 'spike' is not allowed: its settings from users 10 and run_time '1s' cannot run (",
        ),
    ],
)
def test_a_bad_profile_that_reaches_the_hook_is_refused_with_one_line_and_nothing_written(tmp_path, answers, refusal):
    """A replay file (like .cruft.json for cruft) skips cookiecutter's own check of a choice: the
    pre-generate hook refuses the profile, and one that its answers cannot run, with one line each."""
    first = cookiecutter_cli(tmp_path, "--no-input", str(REPO))
    assert first.returncode == 0, first.stderr
    replay = json.loads((tmp_path / "replay" / f"{REPO.name}.json").read_text())
    replay["cookiecutter"].update(answers)
    bad = tmp_path / "bad-replay.json"
    bad.write_text(json.dumps(replay))
    result = cookiecutter_cli(tmp_path, "--replay-file", str(bad), str(REPO), out="refused")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ") and "not allowed" in line]
    assert len(errors) == 1 and errors[0].startswith(f"ERROR: {refusal}"), result.stderr
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").rglob("*")), "nothing written"
