"""The baseline: plain Locust users, as fast as they go (no wait), no tideways_locust."""

from locust import FastHttpUser, HttpUser, constant, task


class PlainHttpUser(HttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")


class PlainFastHttpUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")
