"""The profiling headers go with the request Locust sends, never with a redirect's hops.

Both clients follow redirects keeping the caller's headers (only ``Authorization``
is dropped on the way to another origin), so a traced request that the
application redirects to a CDN or a payment provider would carry a valid
``X-Tideways-Profiler`` there, and one redirected within the origin would be
traced twice: once as counted, once more uncounted. Two targets on 127.0.0.1, at two ports, are two
origins: the one under test answers ``?redirect=CODE&to=LOCATION``.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

import tideways_locust
from tests.conftest import in_process_user

pytestmark = pytest.mark.locust_hooks  # run against every supported Locust (README: Locust versions)

CODES = ["301", "302", "303", "307", "308"]
CLIENTS = ["HttpTidewaysUser", "FastHttpTidewaysUser"]


def redirect(code: str, to: str) -> str:
    return f"/from?redirect={code}&to={quote(to, safe='')}"


def sends(user, code: str, to: str) -> None:
    """Every way a user sends a request that is redirected, each traced (rate 100)."""
    user.client.get(redirect(code, to))
    user.client.get(redirect(code, to), headers={"X-Caller": "kept"})
    with user.client.get(redirect(code, to), catch_response=True) as response:
        response.success()
    user.client.get(redirect(code, to), headers=user.tidewaysProfilingHeaders())
    user.client.post(redirect(code, to), data="payload")


def no_trace_header(records: list[dict]) -> bool:
    return all("x-tideways-profiler" not in r["headers"] and "x-tideways-ref" not in r["headers"] for r in records)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("code", CODES)
def test_a_redirect_to_another_origin_gets_no_trace_header(start_target, client, code):
    target, other = start_target(), start_target()
    user, _report = in_process_user(getattr(tideways_locust, client), target.url, 100.0)
    sends(user, code, f"{other.url}/landing?x=1")
    first_hops = target.records()
    assert len(first_hops) == 5 and all(r["verdict"] == "accepted" for r in first_hops), "the origin is traced"
    landed = other.records()
    assert len(landed) == 5 and [r["path"] for r in landed] == ["/landing?x=1"] * 5
    assert no_trace_header(landed)
    assert [r["headers"].get("x-caller") for r in landed] == [None, "kept", None, None, None], "other headers stay"


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_a_redirect_within_the_origin_is_traced_once_as_counted(start_target, client, code, absolute):
    """The application traces each request that carries a valid header, so a header on the hop too
    would be two traces of one Locust request: only the first hop carries it."""
    target = start_target()
    user, report = in_process_user(getattr(tideways_locust, client), target.url, 100.0)
    sends(user, code, f"{target.url}/landing" if absolute else "/landing")
    records = target.records()
    landings = [r for r in records if r["path"] == "/landing"]
    assert len(records) == 10 and len(landings) == 5
    first_hops = [r for r in records if r["path"] != "/landing"]
    assert all(r["verdict"] == "accepted" for r in first_hops)
    assert no_trace_header(landings), "the hop the redirect leads to carries no header"
    assert report.traced == 5 == sum(r["verdict"] == "accepted" for r in records)


@pytest.mark.parametrize("client", CLIENTS)
def test_a_chain_that_leaves_and_comes_back_sends_no_header_after_leaving(start_target, client):
    target, other = start_target(), start_target()
    user, _report = in_process_user(getattr(tideways_locust, client), target.url, 100.0)
    back = f"{target.url}/back"
    user.client.get(redirect("302", f"{other.url}{redirect('302', back)}"))
    assert no_trace_header(other.records()) and len(other.records()) == 1
    hops = target.records()
    assert [r["path"] for r in hops][-1] == "/back" and hops[0]["verdict"] == "accepted"
    assert no_trace_header(hops[1:]), "once it has left the origin, the request stays untraced"
