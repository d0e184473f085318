"""Users each with a traced request still out when the test stops the run.

Each task sends ``/answered``, which the target answers at once, then ``/held?hold=1``,
which the target holds until it is stopped: once it has received one held request a
user, the test stops the run, and every user is in the middle of one.
"""

from locust import constant

from tideways_locust import FastHttpTidewaysUser, HttpTidewaysUser


def answered_then_held(user):
    user.client.get("/answered")
    user.client.get("/held?hold=1", name="/held")


class HttpHeld(HttpTidewaysUser):
    tasks = [answered_then_held]
    wait_time = constant(0)


class FastHttpHeld(FastHttpTidewaysUser):
    tasks = [answered_then_held]
    wait_time = constant(0)
