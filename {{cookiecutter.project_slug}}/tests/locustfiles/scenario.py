"""Every way a user sends a request, for the end-to-end tests.

``OTHER_ORIGIN`` (an environment variable) is a second target: requests to it
must never carry a profiling header.
"""

import os

from locust import constant

from tideways_locust import PROFILER_HEADER, FastHttpTidewaysUser, HttpTidewaysUser

OTHER_ORIGIN = os.environ.get("OTHER_ORIGIN", "http://127.0.0.1:9")
VERBS = ("get", "post", "put", "patch", "delete", "head", "options")


def every_way_to_send(user):
    for verb in VERBS:
        getattr(user.client, verb)(f"/verbs/{verb}")
    user.client.request("GET", "/request")
    if hasattr(user, "rest"):
        with user.rest("POST", "/rest", json={"id": 1}):
            pass
    else:  # HttpUser has rest() since Locust 2.46.6
        user.client.post("/rest", json={"id": 1})
    user.client.get("/caller-headers", headers={"X-Caller": "kept", "Accept": "text/plain"})
    # As in Tideways' documentation: the caller passes the header itself.
    explicit = user.tidewaysProfilingHeaders()
    user.client.get("/explicit", headers={**explicit, "X-Expected-Profiler": explicit.get(PROFILER_HEADER, "none")})
    user.client.get(f"{OTHER_ORIGIN}/elsewhere")
    user.client.get(f"{OTHER_ORIGIN}/elsewhere-explicit", headers=user.tidewaysProfilingHeaders())


class HttpScenario(HttpTidewaysUser):
    tasks = [every_way_to_send]
    wait_time = constant(0.02)


class FastHttpScenario(FastHttpTidewaysUser):
    tasks = [every_way_to_send]
    wait_time = constant(0.02)
