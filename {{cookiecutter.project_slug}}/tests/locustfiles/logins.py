"""Logged-in users for the login tests: they load pages under /private, which need a login."""

from locust import constant

from tideways_locust import FastHttpTidewaysUser, HttpTidewaysUser


def account(user):
    user.client.get("/private/account")


def orders_with_documented_headers(user):
    user.client.get("/private/orders", headers=user.tidewaysProfilingHeaders())


class HttpLoginUser(HttpTidewaysUser):
    tasks = [account, orders_with_documented_headers]
    wait_time = constant(0.05)


class FastHttpLoginUser(FastHttpTidewaysUser):
    tasks = [account, orders_with_documented_headers]
    wait_time = constant(0.05)
