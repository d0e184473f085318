"""Users whose every request is still out when a short run stops: the target holds each one
for ``SLOW_SECONDS`` (an environment variable, default 0.6) before it answers."""

import os

from locust import constant

from tideways_locust import FastHttpTidewaysUser, HttpTidewaysUser

PATH = f"/slow?sleep={float(os.environ.get('SLOW_SECONDS', '0.6'))}"


def slow_request(user):
    user.client.get(PATH, name="/slow")


class HttpSlow(HttpTidewaysUser):
    tasks = [slow_request]
    wait_time = constant(0)


class FastHttpSlow(FastHttpTidewaysUser):
    tasks = [slow_request]
    wait_time = constant(0)
