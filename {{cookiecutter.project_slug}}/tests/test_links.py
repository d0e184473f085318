"""Links to a run's traces, and the options that make them."""

from __future__ import annotations

import argparse

import pytest

from tideways_locust.links import TidewaysProject, parse_environment, parse_project, without_userinfo
from tideways_locust.options import check_project, parse_ref_mode, parse_run_file


def test_the_run_link_lists_traces_by_correlation_id():
    project = parse_project(" acme/shop-production ")
    assert project == TidewaysProject("acme", "shop-production")
    assert project.traces_link("20261129T024100-3f9a") == (
        "https://app.tideways.io/o/acme/shop-production/traces?cid=20261129T024100-3f9a"
    )


def test_names_with_spaces_are_quoted_in_links_and_api_paths():
    project = parse_project("Acme Inc/Shop 2")
    assert project.traces_link("r-1") == "https://app.tideways.io/o/Acme%20Inc/Shop%202/traces?cid=r-1"
    assert project.api_path() == "Acme%20Inc/Shop%202"


@pytest.mark.parametrize("empty", ["", "  ", None])
def test_no_project_means_no_links(empty):
    assert parse_project(empty) is None
    assert check_project(empty or "") == ""


@pytest.mark.parametrize(
    "bad", ["acme", "acme/", "/shop", "acme/shop/x", "acme/sh?op", "a/b#c", "acme/<b>", "acme/ shop", "acme/sh\nop"]
)
def test_a_bad_project_is_refused_naming_it_and_the_form(bad):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        check_project(bad)
    assert repr(bad) in str(error.value) and "ORGANIZATION/PROJECT" in str(error.value)


@pytest.mark.parametrize(("good", "value"), [("production", "production"), (" staging ", "staging"), ("qa-2", "qa-2")])
def test_environments(good, value):
    assert parse_environment(good) == value


@pytest.mark.parametrize("bad", ["", "pro duction", "prod/x", "x" * 65])
def test_a_bad_environment_is_refused(bad):
    with pytest.raises(argparse.ArgumentTypeError, match="not allowed"):
        parse_environment(bad)


def test_ref_modes():
    assert parse_ref_mode("RUN") == "run" and parse_ref_mode("request") == "request"
    with pytest.raises(argparse.ArgumentTypeError) as error:
        parse_ref_mode("trace")
    assert "'trace'" in str(error.value) and "run" in str(error.value) and "request" in str(error.value)


def test_the_run_file_may_go_into_a_folder_that_is_made_later(tmp_path):
    assert parse_run_file(str(tmp_path / "reports" / "run.json")) == str(tmp_path / "reports" / "run.json")
    with pytest.raises(argparse.ArgumentTypeError, match="folder exists or can be made"):
        parse_run_file(str(tmp_path))


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("https://user:s3cret@shop.example.com:8443/base?x=1", "https://shop.example.com:8443/base?x=1"),
        ("http://token@127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://a:b@c@shop.example.com", "https://shop.example.com"),
        ("https://shop.example.com/@user/page", "https://shop.example.com/@user/page"),
        ("https://shop.example.com", "https://shop.example.com"),
        ("", ""),
        (None, None),
    ],
)
def test_a_host_is_shown_without_its_credentials(host, shown):
    assert without_userinfo(host) == shown
