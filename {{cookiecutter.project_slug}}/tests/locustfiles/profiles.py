"""Users for the load-profile runs: one request a task, a short constant wait (a rate profile paces them)."""

from locust import constant, task

from tideways_locust import FastHttpTidewaysUser, HttpTidewaysUser, LoadProfile  # noqa: F401 - runs --load-profile


class ProfileUser(HttpTidewaysUser):
    wait_time = constant(0.1)

    @task
    def page(self):
        self.client.get("/profile")


class FastProfileUser(FastHttpTidewaysUser):
    wait_time = constant(0.1)

    @task
    def page(self):
        self.client.get("/profile")
