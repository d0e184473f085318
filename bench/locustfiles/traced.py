"""The same users on tideways_locust, imported from the baked project (PYTHONPATH)."""

from locust import constant, task
from tideways_locust import FastHttpTidewaysUser, HttpTidewaysUser


class TracedHttpUser(HttpTidewaysUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")


class TracedFastHttpUser(FastHttpTidewaysUser):
    wait_time = constant(0)

    @task
    def index(self):
        self.client.get("/")
