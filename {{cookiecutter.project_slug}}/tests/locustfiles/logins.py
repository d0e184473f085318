"""Logged-in users for the login tests: they load pages under /private, which need a login."""

from locust import constant

import thresholds  # noqa: F401 - the project's limits, as its locustfile has them
from tideways_locust import FastHttpTidewaysUser, HttpTidewaysUser


def account(user):
    user.client.get("/private/account")


def orders_with_documented_headers(user):
    user.client.get("/private/orders", headers=user.tidewaysProfilingHeaders())


def forbidden(user):
    user.client.get("/private/forbidden")


class HttpLoginUser(HttpTidewaysUser):
    tasks = [account, orders_with_documented_headers]
    wait_time = constant(0.05)


class FastHttpLoginUser(FastHttpTidewaysUser):
    tasks = [account, orders_with_documented_headers]
    wait_time = constant(0.05)


class ForbiddenUser(HttpTidewaysUser):
    """Loads a page every account is refused (403): each answer looks like a lost session."""

    tasks = [forbidden]
    wait_time = constant(0.05)
